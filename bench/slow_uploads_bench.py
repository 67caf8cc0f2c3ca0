"""200 uploads at Tor speed against one server: its threads, its memory, and the home page meanwhile.

Run::

    .venv/bin/python bench/slow_uploads_bench.py [--quick] [--uploads N]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
A real ``wbs serve`` (fresh data folder, cheap KDF, the default upload
settings except ``upload_idle_seconds = 15`` so that the run ends sooner).
First the idle figures: its thread count and RSS, and 200 ``GET /`` one
after another (a fresh connection each, as Tor Browser's circuits often
are) for the idle p99. Then 200 reporters, each on its own connection,
driven by a process of its own (so the measuring one shares no GIL with it),
send a report whose file is declared as 8 MiB: the text fields, then
1.25 MiB of the file (256 KiB with ``--quick``) at 20 KB/s each, paced by
one thread in 2 KB pieces every 0.1 s, and then nothing more. Meanwhile
``GET /`` is timed the same way, and the server's ``Threads`` and
``VmRSS`` (``/proc/PID/status``) are sampled (threads after each ``GET /``, RSS every 50 ms) until every
upload has been answered or closed. Reported: the peak thread count, the
RSS growth at its peak over the idle RSS, the home page's p99 under load
over its idle p99, how the uploads were answered (503 beyond the cap, 408
when abandoned after the idle timeout) and what is left in ``blobs/tmp``.

Targets (issue 12): threads <= 80, RSS growth <= 384 MiB, home p99 <= 3x idle.
Before the shared sealing pool and the upload cap the same load held 409
threads and 557 MB.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import multiprocessing
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHEAP_KDF, KiB, MiB, REPORT, Client, RssSampler, Server, emit, make_workdir, percentile, remove_tree,
    summary_row, verdict,
)

UPLOADS = 200
RATE = 20_000  # bytes a second, each
TICK = 0.1
DECLARED = 8 * MiB
IDLE_SECONDS = 15.0
HOME_SAMPLES = 200
TARGET_THREADS = 80
TARGET_RSS_MIB = 384
TARGET_P99_RATIO = 3.0


def proc_threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise KeyError("Threads")


class SlowUpload:
    """One report on a raw non-blocking socket: headers and text now, the file a little at a time."""

    BOUNDARY = "wbsbench" + "5" * 24

    def __init__(self, port: int, cookies: str, csrf: str, to_send: int) -> None:
        b = self.BOUNDARY
        head = b"".join(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in [("csrf_token", csrf), *REPORT.items()])
        head += (f'--{b}\r\nContent-Disposition: form-data; name="attachments"; filename="rekaman.mp4"\r\n'
                 "Content-Type: video/mp4\r\n\r\n").encode()
        length = len(head) + DECLARED + len(f"\r\n--{b}--\r\n")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
                          f"Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {length}\r\n"
                          "Connection: close\r\n\r\n".encode() + head)
        self.sock.setblocking(False)
        self.left = to_send
        self.reply = b""
        self.closed = False

    def send(self, data: bytes) -> None:
        if self.closed or self.left <= 0:
            return
        try:
            self.left -= self.sock.send(data[: self.left])
        except BlockingIOError:
            pass
        except OSError:
            self.closed = True

    def poll(self) -> None:
        """Take whatever the server has said; note when it closed."""
        if self.closed:
            return
        try:
            while chunk := self.sock.recv(65536):
                self.reply += chunk
            self.closed = True
        except BlockingIOError:
            pass
        except OSError:
            self.closed = True

    @property
    def status(self) -> int | None:
        return int(self.reply.split(b" ", 2)[1]) if self.reply.startswith(b"HTTP/1.1 ") else None

    def close(self) -> None:
        self.sock.close()


def get_home(client: Client) -> float:
    """One ``GET /`` on a new connection; seconds to its answer."""
    started = time.perf_counter()
    if client.get("/").status != 200:
        raise RuntimeError("GET / did not answer 200")
    return time.perf_counter() - started


def drive_uploads(port: int, cookies: str, csrf: str, uploads: int, per_upload: int, out: Connection) -> None:
    """In a process of its own (no GIL shared with the measuring one): open the
    uploads, say so, pace them until the server has answered or closed every
    one, then send back their statuses."""
    conns = [SlowUpload(port, cookies, csrf, per_upload) for _ in range(uploads)]
    out.send("open")
    piece = os.urandom(int(RATE * TICK))
    deadline = time.perf_counter() + per_upload / RATE + IDLE_SECONDS + 60
    while time.perf_counter() < deadline and not all(c.closed for c in conns):
        for conn in conns:
            conn.send(piece)
            conn.poll()
        time.sleep(TICK)
    out.send([c.status for c in conns])
    for conn in conns:
        conn.close()


def run(uploads: int, per_upload: int, max_uploads: int | None) -> None:
    work = make_workdir("slowup")
    settings: dict[str, object] = {"upload_idle_seconds": IDLE_SECONDS, **CHEAP_KDF}
    if max_uploads is not None:
        settings["max_uploads"] = max_uploads
    try:
        server = Server.create(work / "srv", **settings)
        with server:
            server.start()
            client = server.client()
            idle = []
            for _ in range(HOME_SAMPLES):
                idle.append(get_home(client))
                time.sleep(0.02)
            threads_idle = proc_threads(server.pid)
            rss_idle = server.rss_kib()
            page = client.get("/submit")
            cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            mine, theirs = multiprocessing.get_context("fork").Pipe()
            driver = multiprocessing.get_context("fork").Process(
                target=drive_uploads, args=(server.port, cookies, page.csrf, uploads, per_upload, theirs))
            started = time.perf_counter()
            driver.start()
            if mine.recv() != "open":
                raise RuntimeError("the uploads did not open")
            busy: list[float] = []
            threads_peak = threads_idle
            with RssSampler(server.pid, interval=0.05) as sampler:
                while not mine.poll():
                    busy.append(get_home(client))
                    threads_peak = max(threads_peak, proc_threads(server.pid))
                    time.sleep(0.02)
            statuses = mine.recv()
            driver.join()
            seconds = time.perf_counter() - started
            time.sleep(1)
            left = list((server.data / "blobs" / "tmp").iterdir())
            threads_after = proc_threads(server.pid)
    finally:
        remove_tree(work)

    idle_p99, busy_p99 = percentile(idle, 99), percentile(busy, 99)
    growth_mib = (sampler.peak_kib - rss_idle) / 1024
    counts = {s: statuses.count(s) for s in sorted(set(statuses), key=str)}
    cap = f"max_uploads = {max_uploads}" if max_uploads is not None else "max_uploads at its default"
    print(f"WBS: {uploads} uploads at {RATE // 1000} KB/s, {per_upload // KiB} KiB each then silence "
          f"(upload_idle_seconds = {IDLE_SECONDS:g}, {cap}); {seconds:.0f} s")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print(f"  threads          idle {threads_idle:4d}   peak {threads_peak:4d}   after {threads_after:4d}")
    print(f"  RSS MiB          idle {rss_idle / 1024:6.1f} peak {sampler.peak_kib / 1024:6.1f} "
          f"growth {growth_mib:6.1f}")
    print(f"  GET / p99 ms     idle {idle_p99 * 1000:6.1f} under load {busy_p99 * 1000:6.1f} "
          f"({len(busy)} requests; median {percentile(busy, 50) * 1000:.1f})")
    print(f"  uploads answered {counts}   (None: closed without an answer)")
    print(f"  left in blobs/tmp: {len(left)}")
    print()
    ratio = busy_p99 / idle_p99 if idle_p99 > 0 else float("nan")
    rows = [
        summary_row("slow_uploads", "server threads, peak", str(threads_peak), reference=f"idle {threads_idle}",
                    target=f"<= {TARGET_THREADS}", met=threads_peak <= TARGET_THREADS),
        summary_row("slow_uploads", "RSS growth MiB", f"{growth_mib:.1f}", reference=f"idle {rss_idle / 1024:.1f}",
                    target=f"<= {TARGET_RSS_MIB}", met=growth_mib <= TARGET_RSS_MIB),
        summary_row("slow_uploads", "home p99 ms under load", f"{busy_p99 * 1000:.1f}",
                    reference=f"idle {idle_p99 * 1000:.1f}", ratio=ratio, target=f"<= {TARGET_P99_RATIO:g}x idle",
                    met=ratio <= TARGET_P99_RATIO),
        summary_row("slow_uploads", "temp files left", str(len(left)), target="0", met=not left),
    ]
    print("TARGETS: " + "; ".join(f"{r['figure']} {r['target']}: {verdict(r['met'])} ({r['value']})" for r in rows))
    emit(rows, statuses={str(k): v for k, v in counts.items()}, seconds=seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="256 KiB per upload instead of 1.25 MiB")
    parser.add_argument("--uploads", type=int, default=UPLOADS)
    parser.add_argument("--max-uploads", type=int, help="the server's cap (default: its default); as many as"
                        " --uploads shows what the shared sealing pool alone bounds")
    args = parser.parse_args(argv)
    run(args.uploads, 256 * KiB if args.quick else 1280 * KiB, args.max_uploads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
