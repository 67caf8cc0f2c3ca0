"""An export holding one large attachment imported through the keyholder desk: memory and speed.

Run::

    .venv/bin/python bench/desk_import_bench.py [--sizes 64M,1G] [--repeats 2] [--quick]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
The inputs are ``keytools_open_bench.py``'s, made the same way in a child
process: a keyring (``TEST_CHEAPEST`` written in the file), a report and an
attachment of SIZE bytes, in an export bundle byte for byte as ``wbs
export`` writes it.

desk: a ``wbs-keytools desk`` process on loopback, started once per size,
unlocked over HTTP. Each run streams the bundle from its file to ``POST
/import`` as a browser does (multipart, 1 MiB blocks, chunked), into a
fresh cases folder (the desk is restarted per run); wall time from the
first byte sent to the result page. The desk streams the upload to a file
beside the cases, then opens it exactly as ``wbs-keytools open`` does. Its
peak memory is ``VmHWM`` from ``/proc/PID/status`` after the import
(start-up and the unlocked keyring included).

Reference (same run, same files): ``keytools_open_bench.py``'s reference
child, which reads the attachment's envelope straight from the bundle,
decrypts it chunk by chunk and writes the plaintext: the least any opener
must do. The desk does more (it receives the whole bundle over a socket and
writes it to disk before opening it): the two run one after the other
(a ZIP is read from its end), so if each went at ``open``'s 0.6 of the
reference, the whole would go at 0.3.

The two alternate, ``--repeats`` times each; MB/s (10^6 plaintext bytes per
second) is each side's best run, memory the desk's worst. Targets: the
desk's MB/s at least 0.3 x the reference's at the largest size; its peak
under 150 MiB and flat in the size (at most 16 MiB between the sizes).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from keytools_open_bench import CODE, CODE_, MiB, alternate, measure_reference, parse_size  # noqa: E402

RATIO_TARGET = 0.3
RSS_TARGET_MIB = 150
RSS_SPREAD_TARGET_MIB = 16
BLOCK = MiB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Desk:
    def __init__(self, folder: Path, cases: Path) -> None:
        self.port = free_port()
        self.log = open(folder / f"desk-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keytools.cli", "desk", "--keyring", str(folder / "org.key"), "--cases", str(cases),
             "--addr", f"127.0.0.1:{self.port}", "--passphrase-file", str(folder / "pass.txt")],
            stdout=self.log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(CODE)))
        self.cookies: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the desk did not start")

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=all_headers, encode_chunked=body is not None and
                     not isinstance(body, bytes))
        response = conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";")[0]
        conn.close()
        return response.status, data

    def csrf(self, path: str) -> str:
        _, page = self.request("GET", path)
        return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()

    def unlock(self) -> None:
        token = self.csrf("/unlock")
        status, _ = self.request("POST", "/unlock", urlencode({"csrf_token": token, "passphrase": ""}).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise RuntimeError(f"unlock: {status}")

    def import_bundle(self, bundle: Path) -> float:
        token = self.csrf("/import")
        boundary = "----bench" + secrets.token_hex(8)

        def blocks():
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
                   f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="export.zip"\r\n'
                   "Content-Type: application/zip\r\n\r\n").encode()
            with open(bundle, "rb") as src:
                while block := src.read(BLOCK):
                    yield block
            yield f"\r\n--{boundary}--\r\n".encode()

        started = time.perf_counter()
        status, page = self.request("POST", "/import", blocks(),
                                    {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        seconds = time.perf_counter() - started
        if status != 200 or b"import-result" not in page:
            raise RuntimeError(f"import: {status} {page[:300]!r}")
        return seconds

    def peak_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def measure_desk(folder: Path, n: int, expected_sha: str) -> tuple[float, float]:
    cases = folder / f"kasus-{n}"
    desk = Desk(folder, cases)
    try:
        desk.unlock()
        seconds = desk.import_bundle(folder / "export.zip")
        peak = desk.peak_mib()
    finally:
        desk.stop()
    meta = json.loads((cases / CODE_ / "case.json").read_text())
    [att] = [i for i in meta["items"] if i["kind"] == "attachment"]
    if att["sha256"] != expected_sha or att["flags"]:
        raise RuntimeError("the desk gave the wrong attachment")
    shutil.rmtree(cases)
    return seconds, peak


def measure_size(size: int, repeats: int) -> dict[str, float]:
    base = os.environ.get("WBS_BENCH_TMP") or None
    with tempfile.TemporaryDirectory(prefix="wbs-desk-bench-", dir=base) as tmp:
        folder = Path(tmp)
        made = subprocess.run([sys.executable, str(BENCH / "keytools_open_bench.py"), "--inputs-child", str(folder),
                               str(size), "0"], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONPATH=str(CODE)))
        inputs = json.loads(made.stdout)
        print(f"\ndesk import: one attachment of {size / MiB:.0f} MiB in a "
              f"{os.path.getsize(folder / 'export.zip') / MiB:.0f} MiB bundle; {repeats} run(s) each, alternating")
        runs = alternate(size, repeats, [
            ("reference", lambda n: measure_reference(folder, inputs["offset"], inputs["length"])),
            ("desk", lambda n: measure_desk(folder, n, inputs["sha256"])),
        ], memory="peak MiB")
        desks, refs = runs["desk"], runs["reference"]
    return {"size": size, "desk_mbs": max(size / 1e6 / s for s, _ in desks),
            "ref_mbs": max(size / 1e6 / s for s, _ in refs), "desk_rss": max(r for _, r in desks)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="64M,1G", help="attachment sizes (default 64M,1G)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side (default 2)")
    parser.add_argument("--quick", action="store_true", help="16 MiB and 256 MiB, one run of each side")
    args = parser.parse_args(argv)
    sizes = [parse_size(x) for x in ("16M,256M" if args.quick else args.sizes).split(",")]
    repeats = 1 if args.quick else args.repeats
    results = [measure_size(size, repeats) for size in sizes]
    largest = results[-1]
    ratio = largest["desk_mbs"] / largest["ref_mbs"]
    rss = [r["desk_rss"] for r in results]
    spread = max(rss) - min(rss)

    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    label = f"{largest['size'] // MiB} MiB attachment"
    print("\ndesk peak memory by size: " + ", ".join(f"{r['size'] // MiB} MiB: {r['desk_rss']:.1f} MiB"
                                                    for r in results))
    print(f"TARGETS: desk import MB/s >= {RATIO_TARGET} x ref: {verdict(ratio >= RATIO_TARGET)} "
          f"({largest['desk_mbs']:.1f}, reference {largest['ref_mbs']:.1f} MB/s, ratio {ratio:.2f}, {label}); "
          f"desk peak < {RSS_TARGET_MIB} MiB: {verdict(max(rss) < RSS_TARGET_MIB)} ({max(rss):.1f} MiB, {label}); "
          f"desk peak flat (max - min <= {RSS_SPREAD_TARGET_MIB} MiB): "
          f"{verdict(len(results) > 1 and spread <= RSS_SPREAD_TARGET_MIB)} "
          f"(spread {spread:.1f} MiB, {min(rss):.1f}..{max(rss):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
