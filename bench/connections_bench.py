"""Both listeners while 2,000 idle connections are held on the reporter side, at a 1,024 open-file soft limit.

Run::

    .venv/bin/python bench/connections_bench.py [--quick]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
A real ``wbs serve`` (fresh data folder) started under ``prlimit`` with the
soft open-file limit systemd gives a service that sets none: 1,024. Two
cases: the hard limit 1,024 too (the server cannot raise it: its connection
caps shrink to fit and a full reporter side pushes out idle connections),
and the hard limit 524,288, systemd's default, or this process's own hard
limit when that is lower (raised at start: every idle connection is held).

The reference is the latency of ``GET /`` on each listener with nothing
else connected: N sequential requests, each on a new connection (as Tor
Browser's often are), after 5 untimed ones. Then this process opens 2,000
TCP connections to the reporter listener that send nothing (in batches of
100, 50 ms apart, so the kernel's listen queue does not drop them) and,
while they are held, measures N more ``GET /`` on each listener, the two
alternating. A request that fails or takes more than 10 s counts as a
failure. The figure is the slowest answer (and the median) under the flood,
per listener. Target: every ``GET /`` answered, the slowest within 2 s, on
both listeners, in both cases. Also shown: the server's open descriptors
while the connections are held, and the lines it logged during the run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CHEAP_KDF, Server, emit, make_workdir, median, remove_tree, summary_row, verdict  # noqa: E402

IDLE = 2000
SOFT = 1024
SYSTEMD_HARD = 524288  # systemd's default hard limit; this process's own hard limit when lower (prlimit cannot raise it)
REQUESTS = 40
QUICK_REQUESTS = 15
TARGET_SECONDS = 2.0
GIVE_UP_SECONDS = 10.0


def get_home(port: int) -> float | None:
    """Seconds for one ``GET /`` on a new connection; None when it fails or takes longer than GIVE_UP_SECONDS."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=GIVE_UP_SECONDS)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        if response.status not in (200, 303):
            return None
    except OSError:
        return None
    finally:
        conn.close()
    return time.perf_counter() - started


def open_idle(port: int, count: int) -> list[socket.socket]:
    socks = []
    for i in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        socks.append(sock)
        if i % 100 == 99:
            time.sleep(0.05)
    return socks


def measure(server: Server, n: int) -> dict[str, list[float | None]]:
    times: dict[str, list[float | None]] = {"reporter": [], "staff": []}
    for _ in range(n):
        times["reporter"].append(get_home(server.port))
        times["staff"].append(get_home(server.staff_port))
    return times


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def run_case(label: str, hard: int, n: int, prlimit: str) -> list[dict]:
    work = make_workdir("connections")
    rows = []
    try:
        server = Server.create(work, **CHEAP_KDF)
        server.prefix = (prlimit, f"--nofile={SOFT}:{hard}")
        with server:
            server.start()
            for _ in range(5):
                measure(server, 1)
            idle = measure(server, n)
            attackers = open_idle(server.port, IDLE)
            try:
                time.sleep(1.0)
                held = open_descriptors(server.pid)
                flood = measure(server, n)
            finally:
                for sock in attackers:
                    sock.close()
            log_lines = len((work / "server.log").read_text(errors="replace").splitlines())
        print(f"\n{label}: soft {SOFT}, hard {hard}; {IDLE} idle connections held; server descriptors {held};"
              f" server log {log_lines} lines")
        print(f"  {'listener':<10} {'idle median':>12} {'idle max':>10} {'flood median':>13} {'flood max':>10}"
              f" {'failed':>7}  verdict")
        for side in ("reporter", "staff"):
            ok_idle = [t for t in idle[side] if t is not None]
            ok_flood = [t for t in flood[side] if t is not None]
            failed = len(flood[side]) - len(ok_flood)
            worst = max(ok_flood) if ok_flood else float("nan")
            met = failed == 0 and worst <= TARGET_SECONDS
            flood_ms = f"{median(ok_flood) * 1000:>11.1f}ms {worst * 1000:>8.1f}ms" if ok_flood else f"{'-':>13} {'-':>10}"
            print(f"  {side:<10} {median(ok_idle) * 1000:>10.1f}ms {max(ok_idle) * 1000:>8.1f}ms {flood_ms}"
                  f" {failed:>7}  {verdict(met)}")
            rows.append(summary_row(
                "connections", f"{side} GET / max, {IDLE} idle, {label}",
                (f"{worst:.3f} s" if ok_flood else "none") + (f", {failed} failed" if failed else ""),
                reference=f"idle max {max(ok_idle):.3f} s", ratio=worst / max(ok_idle) if ok_flood else None,
                target=f"all answered, <= {TARGET_SECONDS:g} s", met=met))
        rows.append(summary_row("connections", f"server log lines, {label}", str(log_lines)))
    finally:
        remove_tree(work)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REQUESTS} requests per listener, not {REQUESTS}")
    args = parser.parse_args(argv)
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise SystemExit("prlimit is not installed (Debian package util-linux)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < IDLE + 100:  # this process holds the idle connections
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    high = SYSTEMD_HARD if hard == resource.RLIM_INFINITY else min(SYSTEMD_HARD, hard)
    rows = []
    for case_hard in (SOFT, high):
        rows += run_case(f"hard {case_hard}", case_hard, QUICK_REQUESTS if args.quick else REQUESTS, prlimit)
    emit(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
