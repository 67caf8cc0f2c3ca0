"""Logins with the real Argon2id: the latency of one login, and the home page while logins flood in.

Run::

    .venv/bin/python bench/login_bench.py [--quick]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
One fresh data folder and a real ``wbs serve`` with the default mailbox KDF
(``kdf_t = 3``, ``kdf_m_kib = 65536``: 64 MiB, 3 passes) and the default KDF
pool (2 workers, queue 4). ``login_global_per_minute`` is lifted, so the
flood below keeps the Argon2id pool busy instead of being turned away by
the overall limit (which would measure the limit, not the load); each wrong
login uses a new random codename, so the per-account throttle never
engages either. One report is submitted first, for an account to log in to.

Login latency. The reference is one ``crypto.mailbox.derive_mailbox_key``
with ``MAILBOX_DEFAULT`` in this process. Reference and login take turns
(N times each, so machine drift hits both alike): a login is a fresh
visitor's ``GET /login`` (for the CSRF cookie and token, untimed) and the
timed ``POST /login`` of the right codename and passphrase, answered 303.
The figure is median(login) - median(derivation): what a login costs beyond
its one Argon2id run. Target < 20 ms.

Home page under a login flood. First the idle p99 of N sequential ``GET /``
(each a new connection, as the flood's are). Then 8 threads loop wrong
logins (each its own visitor with its own CSRF cookie) while a 9th measures
N more ``GET /``; the flood stops when the 9th is done. p99 is nearest-rank.
Target: p99 under load <= 3 x idle p99. The flood's answers are counted:
200 (a wrong login, after a full Argon2id run), 503 (the login places of
the KDF pool full: refused after waiting up to ``kdf_login_wait_seconds``,
1 s, for one), 429 (throttled).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    REAL_KDF,
    Client,
    Profile,
    Server,
    emit,
    make_workdir,
    median,
    percentile,
    remove_tree,
    submit_report,
    summary_row,
    verdict,
)

ATTACKERS = 8
LOGINS = 10
HOME_REQUESTS = 1000
QUICK_HOME_REQUESTS = 300
LATENCY_TARGET_MS = 20.0
P99_RATIO_TARGET = 3.0


def derive_seconds() -> float:
    """One ``derive_mailbox_key`` with the default mailbox KDF, in this process."""
    import secrets

    from crypto.kdf import MAILBOX_DEFAULT
    from crypto.mailbox import derive_mailbox_key, generate_codename, generate_passphrase

    codename, passphrase, salt = generate_codename(), generate_passphrase("id"), secrets.token_bytes(16)
    start = time.perf_counter()
    derive_mailbox_key(codename, passphrase, salt, MAILBOX_DEFAULT)
    return time.perf_counter() - start


def login_seconds(server: Server, codename: str, passphrase: str) -> float:
    client = server.client()
    csrf = client.get("/login").csrf
    start = time.perf_counter()
    response = client.post("/login", {"csrf_token": csrf, "codename": codename, "passphrase": passphrase})
    seconds = time.perf_counter() - start
    if response.status != 303 or response.headers.get("Location") != "/mailbox":
        raise RuntimeError(f"login answered {response.status}")
    return seconds


def home_latencies(client: Client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get("/")
        times.append(time.perf_counter() - start)
        if response.status != 200:
            raise RuntimeError(f"GET / answered {response.status}")
    return times


def flood_child(port: int, attackers: int) -> None:
    """In its own process: ``attackers`` threads loop wrong logins until stdin closes; prints the counts."""
    from crypto.mailbox import format_codename, generate_codename, generate_passphrase

    stop = threading.Event()
    answers: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()

    def attack() -> None:
        client = Client(port, timeout=60)
        csrf = client.get("/login").csrf
        while not stop.is_set():
            fields = {"csrf_token": csrf, "codename": format_codename(generate_codename()),
                      "passphrase": generate_passphrase("id")}
            try:
                status = client.post("/login", fields).status
            except OSError:
                status = 0  # a connection error
            with lock:
                answers[status] += 1

    threads = [threading.Thread(target=attack, daemon=True) for _ in range(attackers)]
    for thread in threads:
        thread.start()
    print("started", flush=True)
    sys.stdin.read()  # until the parent closes it
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    print(json.dumps({str(k): v for k, v in answers.items()}), flush=True)


class Flood:
    """The login loops, in a process of their own: the measuring thread shares no GIL with them."""

    def __init__(self, server: Server, attackers: int) -> None:
        self.command = [sys.executable, str(Path(__file__).resolve()), "--flood", str(server.port), str(attackers)]
        self.answers: dict[int, int] = {}

    def __enter__(self) -> "Flood":
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "started":
            raise RuntimeError("the login flood did not start")
        time.sleep(1.0)  # the pool fills and stays full
        return self

    def __exit__(self, *exc: object) -> None:
        out, _ = self.process.communicate(timeout=120)
        self.seconds = time.perf_counter() - self.started
        self.answers = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def run(quick: bool) -> None:
    home_requests = QUICK_HOME_REQUESTS if quick else HOME_REQUESTS
    work = make_workdir("login")
    try:
        server = Server.create(work / "srv", **REAL_KDF, login_global_per_minute=1_000_000)
        with server:
            server.start()
            receipt = submit_report(server.client())
            if receipt.status != 200:
                raise RuntimeError(f"the report answered {receipt.status}")
            codename, passphrase = receipt.element_text("codename"), receipt.element_text("passphrase")

            derive_seconds()  # warm: the first derivation also maps its 64 MiB
            login_seconds(server, codename, passphrase)
            refs, logins = [], []
            for _ in range(LOGINS):
                refs.append(derive_seconds())
                logins.append(login_seconds(server, codename, passphrase))

            home = server.client()
            home_latencies(home, 20)  # warm
            idle = home_latencies(home, home_requests)
            with Flood(server, ATTACKERS) as flood, Profile(server.pid, "login-flood"):
                loaded = home_latencies(home, home_requests)
    finally:
        remove_tree(work)

    ref_ms, login_ms = median(refs) * 1e3, median(logins) * 1e3
    extra_ms = login_ms - ref_ms
    idle_p99, loaded_p99 = percentile(idle, 99) * 1e3, percentile(loaded, 99) * 1e3
    ratio = loaded_p99 / idle_p99
    print("WBS logins with the real Argon2id (kdf_t=3, kdf_m_kib=65536, 2 KDF workers, queue 4)")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; the flood runs in a process of its own")
    print()
    print(f"Login latency (median of {LOGINS}, login and reference taking turns):")
    print(f"  POST /login (right passphrase, 303)    {login_ms:8.1f} ms   (min {min(logins) * 1e3:.1f}, max {max(logins) * 1e3:.1f})")
    print(f"  derive_mailbox_key in-process (ref)    {ref_ms:8.1f} ms   (min {min(refs) * 1e3:.1f}, max {max(refs) * 1e3:.1f})")
    print(f"  login - reference                      {extra_ms:8.1f} ms   target < {LATENCY_TARGET_MS:.0f} ms: "
          f"{verdict(extra_ms < LATENCY_TARGET_MS)}")
    print()
    print(f"GET / latency, {home_requests} sequential requests, each a new connection:")
    for name, values in (("idle", idle), (f"during {ATTACKERS} login loops", loaded)):
        print(f"  {name:26} p50 {percentile(values, 50) * 1e3:7.1f} ms  p90 {percentile(values, 90) * 1e3:7.1f} ms"
              f"  p99 {percentile(values, 99) * 1e3:7.1f} ms  max {max(values) * 1e3:7.1f} ms")
    answers = ", ".join(f"{count} x {status or 'connection error'}" for status, count in sorted(flood.answers.items()))
    total = sum(flood.answers.values())
    print(f"  flood: {total} login attempts in {flood.seconds:.1f} s ({total / flood.seconds:.1f}/s): {answers}")
    print(f"  p99 ratio {ratio:.2f}, target <= {P99_RATIO_TARGET:.0f} x idle: {verdict(ratio <= P99_RATIO_TARGET)}")
    print()
    print(f"TARGETS: login - derivation < {LATENCY_TARGET_MS:.0f} ms: {verdict(extra_ms < LATENCY_TARGET_MS)} "
          f"({extra_ms:.1f} ms); home p99 under flood <= {P99_RATIO_TARGET:.0f} x idle: "
          f"{verdict(ratio <= P99_RATIO_TARGET)} ({ratio:.2f})")
    emit(
        [
            summary_row("login", "POST /login - derivation, ms", f"{extra_ms:.1f}",
                        reference=f"derive {ref_ms:.1f} ms", target=f"< {LATENCY_TARGET_MS:.0f} ms",
                        met=extra_ms < LATENCY_TARGET_MS),
            summary_row("login flood", f"GET / p99 ms, {ATTACKERS} login loops", f"{loaded_p99:.1f}",
                        reference=f"idle p99 {idle_p99:.1f}", ratio=ratio,
                        target=f"<= {P99_RATIO_TARGET:.0f} x idle", met=ratio <= P99_RATIO_TARGET),
        ],
        login_ms=median(logins) * 1e3, derive_ms=median(refs) * 1e3, idle_p99_ms=idle_p99, loaded_p99_ms=loaded_p99,
        flood=flood.answers, flood_seconds=flood.seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_HOME_REQUESTS} home requests instead of {HOME_REQUESTS}")
    parser.add_argument("--flood", nargs=2, type=int, metavar=("PORT", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.flood:
        flood_child(*args.flood)
    else:
        run(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
