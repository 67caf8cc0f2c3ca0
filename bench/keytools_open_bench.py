"""``wbs-keytools open`` of an export holding one large attachment: peak memory and speed.

Run::

    .venv/bin/python bench/keytools_open_bench.py [--sizes 64M,1G] [--repeats 2] [--quick] [--real-kdf]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
In a temporary folder (``$WBS_BENCH_TMP`` or the system temp dir), a
child process writes a keyring, a report, and an attachment of SIZE bytes (an 8 MiB
random pool repeated) sealed to the organisation key with ``EnvelopeWriter``,
then an export bundle of the two with ``write_export_bundle`` — byte for
byte what ``wbs export`` writes.

open: ``python -m keytools.cli open BUNDLE --keyring K --cases DIR
--passphrase-file P`` as its own process, into a fresh cases folder each
time; wall time from spawn to exit (start-up and the HTML reader included)
and the child's ``ru_maxrss`` from ``wait4``. It checks the envelope's sha256
and the ZIP CRC while it streams, decrypts 64 KiB at a time into a temp
file beside the case, hashes the plaintext, fsyncs and renames.

Reference (same run, same files): a child process that reads the
attachment's envelope straight from the bundle file (at the stored entry's
offset), opens the stanza with ``crypto_box_seal_open``, pulls each 65,553-byte
chunk with ``crypto_secretstream_xchacha20poly1305_pull`` and writes each
piece to a file, fsync'ed at the end: the least any opener must do.

The two alternate, ``--repeats`` times each; each side's MB/s (10^6 plaintext
bytes per second) is its best run, RSS its worst. The keyring's Argon2id cost
is written in the file (PROTOCOL.md §2.2), and here it is ``TEST_CHEAPEST``:
the real cost (256 MiB for about a second) is a fixed price paid before the
first byte, not part of streaming; ``--real-kdf`` writes the real cost
instead, to show that price in RSS too.

Each size gets a bundle of its own. Targets: open's MB/s at least 0.6 x the
reference's at the largest size (1 GiB); its ru_maxrss under 100 MiB and
flat in the size (at most 16 MiB between 64 MiB and 1 GiB). Every child's ru_maxrss includes this
process's RSS at the fork (Linux carries it across exec), so the inputs are
made in a child of their own and this process stays small: its RSS, the
floor of every figure, is printed first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Sequence

BENCH = Path(__file__).resolve().parent
CODE = Path(os.environ.get("WBS_BENCH_CODE") or BENCH.parent).resolve()
if str(CODE) not in sys.path:
    sys.path.insert(0, str(CODE))

MiB = 1024 * 1024
POOL = 8 * MiB
RSS_TARGET_MIB = 100
RATIO_TARGET = 0.6
RSS_SPREAD_TARGET_MIB = 16
PASSPHRASE = "frasa sandi untuk pengukuran saja"
CODE_ = "WBS-BENCH-0PEN0"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


# ------------------------------------------------------------------ inputs


def make_inputs(folder: Path, size: int, real_kdf: bool) -> dict:
    from nacl.public import PrivateKey

    from crypto.encoding import new_item_id
    from crypto.envelope import EnvelopeWriter
    from crypto.export_bundle import ExportItem, ExportReport, write_export_bundle
    from crypto.items import AttachmentRef, recipients_for, report_plaintext, seal_json
    from crypto.kdf import KEYRING_DEFAULT, TEST_CHEAPEST
    from crypto.keyring import new_keyring, write_keyring

    ring = new_keyring("Inspektorat Daerah Kabupaten Klungkung")
    (folder / "org.key").write_bytes(write_keyring(ring, PASSPHRASE, kdf=KEYRING_DEFAULT if real_kdf else TEST_CHEAPEST))
    (folder / "pass.txt").write_text(PASSPHRASE + "\n")
    mailbox = PrivateKey.generate()
    org = [k.public for k in ring.keys]
    pool = os.urandom(POOL)
    att_id, report_id = new_item_id(), new_item_id()
    digest = hashlib.sha256()
    with open(folder / "attachment.wbse", "wb") as out:
        writer = EnvelopeWriter(out, recipients_for("attachment", org, None))
        left = size
        while left:
            block = memoryview(pool)[: min(left, POOL)]
            writer.write(block)
            digest.update(block)
            left -= len(block)
        writer.close()
    ref = AttachmentRef(att_id, "rekaman-cctv.mp4", "video/mp4", size, digest.hexdigest())
    report = report_plaintext(report_code=CODE_, submitted_at="2026-11-28T08:00:00Z", lang="id", category="pengadaan",
                              what="Pengadaan fiktif", who="Panitia", where="Dinas", when="2026", how="Mark-up",
                              attachments=[ref])
    envelope = seal_json(report, recipients_for("report", org, bytes(mailbox.public_key)))
    import io

    items = [ExportItem(report_id, "report", None, "2026-11-28", lambda: io.BytesIO(envelope)),
             ExportItem(att_id, "attachment", report_id, "2026-11-28", lambda: open(folder / "attachment.wbse", "rb"))]
    with open(folder / "export.zip", "wb") as dst:
        write_export_bundle(dst, [ExportReport(CODE_, "received", "2026-11-28", [("received", "2026-11-28")],
                                               bytes(mailbox.public_key), items)],
                            org_key_ids=[k.key_id for k in ring.active])
    (folder / "attachment.wbse").unlink()
    with zipfile.ZipFile(folder / "export.zip") as archive:
        info = archive.getinfo(f"items/{att_id}.wbse")
    with open(folder / "export.zip", "rb") as f:
        f.seek(info.header_offset)
        name_len, extra_len = struct.unpack("<HH", f.read(30)[26:30])
    (folder / "org.sk").write_bytes(ring.newest.enc_sk)  # only for the reference child
    return {"offset": info.header_offset + 30 + name_len + extra_len, "length": info.file_size,
            "sha256": digest.hexdigest(), "att_id": att_id}


# ------------------------------------------------------------------ the reference child


def reference_child(folder: Path, offset: int, length: int) -> None:
    from nacl.bindings import (
        crypto_box_seal_open,
        crypto_secretstream_xchacha20poly1305_init_pull,
        crypto_secretstream_xchacha20poly1305_pull,
        crypto_secretstream_xchacha20poly1305_state,
    )
    from nacl.public import PrivateKey

    from crypto.envelope import CHUNK_BYTES, read_header

    key = PrivateKey((folder / "org.sk").read_bytes())
    with open(folder / "export.zip", "rb") as src, open(folder / "reference.out", "wb") as out:
        src.seek(offset)
        header = read_header(src)
        file_key = crypto_box_seal_open(header.stanzas[0][1], bytes(key.public_key), bytes(key))
        state = crypto_secretstream_xchacha20poly1305_state()
        crypto_secretstream_xchacha20poly1305_init_pull(state, header.ss_header, file_key)
        left = length - len(header.raw)
        ad = header.raw
        while left > 0:
            chunk = src.read(min(CHUNK_BYTES, left))
            left -= len(chunk)
            piece, _ = crypto_secretstream_xchacha20poly1305_pull(state, chunk, ad)
            ad = None
            out.write(piece)
        out.flush()
        os.fsync(out.fileno())


# ------------------------------------------------------------------ measuring


def run_child(command: Sequence[str]) -> tuple[float, float, str]:
    """Wall seconds, ru_maxrss in MiB, and stderr of a child process.

    The figure includes this (small, stdlib-only) process's RSS at the fork:
    its floor, printed as "parent RSS" in the header."""
    env = dict(os.environ, PYTHONPATH=str(CODE))
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    err = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[2:4]} failed ({process.returncode}): {err}")
    return seconds, usage.ru_maxrss / 1024, err  # Linux: ru_maxrss is in KiB


def measure_open(folder: Path, n: int, expected_sha: str) -> tuple[float, float]:
    cases = folder / f"kasus-{n}"
    seconds, rss, _ = run_child([sys.executable, "-m", "keytools.cli", "open", str(folder / "export.zip"),
                                 "--keyring", str(folder / "org.key"), "--cases", str(cases),
                                 "--passphrase-file", str(folder / "pass.txt")])
    meta = json.loads((cases / CODE_ / "case.json").read_text())
    [att] = [i for i in meta["items"] if i["kind"] == "attachment"]
    if att["sha256"] != expected_sha or att["flags"]:
        raise RuntimeError("open gave the wrong attachment")
    shutil.rmtree(cases)
    return seconds, rss


def measure_reference(folder: Path, offset: int, length: int) -> tuple[float, float]:
    seconds, rss, _ = run_child([sys.executable, __file__, "--reference-child", str(folder), str(offset), str(length)])
    (folder / "reference.out").unlink()
    return seconds, rss


def alternate(size: int, repeats: int, sides: Sequence[tuple[str, Callable[[int], tuple[float, float]]]],
              *, memory: str = "ru_maxrss MiB") -> dict[str, list[tuple[float, float]]]:
    """Each side in turn, ``repeats`` times, a row printed per run: (seconds, MiB) of every run by side."""
    print(f"{'run':<12} {'side':<10} {'seconds':>8} {'MB/s':>8} {memory:>14}")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in sides}
    for n in range(repeats):
        for name, measure in sides:
            seconds, mib = measure(n)
            runs[name].append((seconds, mib))
            print(f"{n + 1:<12} {name:<10} {seconds:8.2f} {size / 1e6 / seconds:8.1f} {mib:14.1f}", flush=True)
    return runs


def measure_size(size: int, repeats: int, real_kdf: bool) -> dict[str, float]:
    """Make one bundle of ``size``, then open it and run the reference, taking turns."""
    base = os.environ.get("WBS_BENCH_TMP") or None
    with tempfile.TemporaryDirectory(prefix="wbs-keytools-bench-", dir=base) as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        # In a child: this process stays small, and a child forked from it starts from
        # its RSS (Linux carries the pre-exec peak into the child's ru_maxrss).
        made = subprocess.run([sys.executable, __file__, "--inputs-child", str(folder), str(size),
                               "1" if real_kdf else "0"], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONPATH=str(CODE)))
        inputs = json.loads(made.stdout)
        print(f"\nkeytools open: one attachment of {size / MiB:.0f} MiB in a "
              f"{os.path.getsize(folder / 'export.zip') / MiB:.0f} MiB bundle (made in "
              f"{time.perf_counter() - started:.1f} s); keyring KDF {'real (256 MiB)' if real_kdf else 'TEST_CHEAPEST'};"
              f" {repeats} run(s) each, alternating")
        print(f"this process's RSS (the floor of every child's ru_maxrss): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")
        runs = alternate(size, repeats, [
            ("reference", lambda n: measure_reference(folder, inputs["offset"], inputs["length"])),
            ("open", lambda n: measure_open(folder, n, inputs["sha256"])),
        ])
        opens, refs = runs["open"], runs["reference"]
    result = {"size": size, "open_mbs": max(size / 1e6 / s for s, _ in opens),
              "ref_mbs": max(size / 1e6 / s for s, _ in refs),
              "open_rss": max(r for _, r in opens), "ref_rss": max(r for _, r in refs)}
    print(f"open: best {result['open_mbs']:.1f} MB/s, worst ru_maxrss {result['open_rss']:.1f} MiB; reference: best "
          f"{result['ref_mbs']:.1f} MB/s, worst ru_maxrss {result['ref_rss']:.1f} MiB; "
          f"ratio {result['open_mbs'] / result['ref_mbs']:.2f}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="64M,1G",
                        help="attachment sizes; the throughput target is held at the largest (default 64M,1G)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side (default 2)")
    parser.add_argument("--quick", action="store_true", help="16 MiB and 256 MiB, one run of each side")
    parser.add_argument("--real-kdf", action="store_true", help="write the keyring with the real 256 MiB Argon2id cost")
    parser.add_argument("--reference-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--inputs-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference_child:
        folder, offset, length = args.reference_child
        reference_child(Path(folder), int(offset), int(length))
        return 0
    if args.inputs_child:
        folder, size, real = args.inputs_child
        print(json.dumps(make_inputs(Path(folder), int(size), real == "1")))
        return 0
    sizes = [parse_size(x) for x in ("16M,256M" if args.quick else args.sizes).split(",")]
    repeats = 1 if args.quick else args.repeats
    results = [measure_size(size, repeats, args.real_kdf) for size in sizes]
    largest = results[-1]
    ratio = largest["open_mbs"] / largest["ref_mbs"]
    rss = [r["open_rss"] for r in results]
    spread = max(rss) - min(rss)

    def verdict(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    label = f"{largest['size'] // MiB} MiB attachment"
    print(f"\nthroughput ({label}): open {largest['open_mbs']:.1f} MB/s, raw read+pull+write "
          f"{largest['ref_mbs']:.1f} MB/s, ratio {ratio:.2f} (open also checks the ZIP CRC-32 and the manifest's "
          "sha256 of the envelope, and hashes the plaintext to compare it with the report's sha256; the reference "
          "does none of these)")
    print("open ru_maxrss by size: " + ", ".join(f"{r['size'] // MiB} MiB: {r['open_rss']:.1f} MiB" for r in results))
    print(f"TARGETS: open MB/s >= {RATIO_TARGET} x ref: {verdict(ratio >= RATIO_TARGET)} "
          f"({largest['open_mbs']:.1f}, reference {largest['ref_mbs']:.1f} MB/s, ratio {ratio:.2f}, {label}); "
          f"open ru_maxrss < {RSS_TARGET_MIB} MiB: {verdict(max(rss) < RSS_TARGET_MIB)} "
          f"({max(rss):.1f} MiB, reference {largest['ref_rss']:.1f} MiB, {label}); "
          f"open ru_maxrss flat (max - min <= {RSS_SPREAD_TARGET_MIB} MiB): "
          f"{verdict(len(results) > 1 and spread <= RSS_SPREAD_TARGET_MIB)} "
          f"(spread {spread:.1f} MiB, {min(rss):.1f}..{max(rss):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
