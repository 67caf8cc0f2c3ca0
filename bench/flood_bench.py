"""Floods with real logins beside them: the share of real reporter and staff logins that get in.

Run::

    .venv/bin/python bench/flood_bench.py [--quick]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
One fresh data folder and a real ``wbs serve`` with the default mailbox KDF
(``kdf_t = 3``, ``kdf_m_kib = 65536``) and every other setting at its
default (2 KDF workers; places for 6 logins, 2 account creations and 2
staff jobs; 20 new accounts a minute; 120 failed logins a minute before
failures slow down). Five reporter accounts and eight staff members
(``wbs staff add``; their TOTP codes computed here) are made first.

The real logins: 20 reporter logins with the right passphrase, two visitors
at a time, and 8 staff logins (password and a fresh TOTP code), all at
once (the staff two at a time too); a login "gets in" when it is answered
303 to its mailbox or staff page. Every other answer (503 busy, 429)
counts as locked out.

- Reference: the real logins on the idle server.
- Submission flood: 8 loops in a process of their own send new reports
  (each a new account) as fast as they are answered; the real logins start
  once the flood has had 16 answers and run beside it. Target: >= 80 % of
  the reporter logins and >= 80 % of the staff logins get in.
- The same with the new-account rate lifted (``new_accounts_per_minute``
  1,000,000): the pool's lanes alone. Same target.
- Bad-login flood: 8 loops of wrong logins, each with a new random codename
  (the per-account throttle never engages), until the real logins are done;
  the real logins start once 125 wrong logins have been answered, i.e. past
  the overall budget of 120 failures a minute, where each further failure
  waits ``login_tarpit_seconds`` (2 s) for its answer. Same target. Before
  that point a flood this size keeps the login lane full and real logins
  are answered "busy": see docs/threat-model.md.

Printed for each: the share that got in, the real logins' median and
maximum time, and the flood's answers (200 = a report stored or a wrong
login answered, 503 = refused as busy, 429 = throttled) and rate.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    REAL_KDF,
    Client,
    Server,
    emit,
    make_workdir,
    median,
    remove_tree,
    report_fields,
    submit_report,
    summary_row,
    verdict,
    wbs,
)

FLOODERS = 8
REPORTERS = 5
REPORTER_LOGINS = 20
STAFF_MEMBERS = 8
SHARE_TARGET = 0.8
FLOOD_LIMIT = 240.0  # seconds: no flood outlives this, whatever happens


class StaffMember:
    """A staff account made with ``wbs staff add``; its TOTP codes computed here, each step used once."""

    def __init__(self, server: Server, name: str) -> None:
        import pyotp

        out = wbs("staff", "add", name, "--role", "handler", "--config", str(server.config), cwd=server.home).stdout
        self.name = name
        self.password = re.search(r"one-time password: (\S+)", out).group(1)  # type: ignore[union-attr]
        uri = re.search(r"(otpauth://\S+)", out).group(1)  # type: ignore[union-attr]
        self.totp = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])
        self.last_step = 0
        self.port = server.staff_port

    def code(self) -> str:
        """The next unused step the server accepts (now - 1 .. now + 1), waiting for one if need be."""
        while True:
            now = int(time.time() // 30)
            step = max(self.last_step + 1, now)
            if step <= now + 1:
                self.last_step = step
                return self.totp.at(step * 30)
            time.sleep(1)

    def login(self) -> tuple[bool, float, int]:
        client = Client(self.port, timeout=120)
        csrf = client.get("/staff/login").csrf
        fields = {"csrf_token": csrf, "username": self.name, "password": self.password, "totp": self.code()}
        start = time.perf_counter()
        response = client.post("/staff/login", fields)
        return response.status == 303 and response.headers.get("Location") == "/staff/password", \
            time.perf_counter() - start, response.status


def reporter_login(port: int, codename: str, passphrase: str) -> tuple[bool, float, int]:
    client = Client(port, timeout=120)
    csrf = client.get("/login").csrf
    start = time.perf_counter()
    response = client.post("/login", {"csrf_token": csrf, "codename": codename, "passphrase": passphrase})
    return (response.status == 303 and response.headers.get("Location") == "/mailbox", time.perf_counter() - start,
            response.status)


@dataclass
class Logins:
    reporters: list[tuple[bool, float, int]] = field(default_factory=list)  # got in, seconds, status
    staff: list[tuple[bool, float, int]] = field(default_factory=list)

    def share(self, who: str) -> float:
        results = getattr(self, who)
        return sum(ok for ok, _, _ in results) / len(results)

    def line(self, who: str) -> str:
        results = getattr(self, who)
        times = [t for _, t, _ in results]
        got_in = sum(ok for ok, _, _ in results)
        others = collections.Counter(status for ok, _, status in results if not ok)
        return (f"{got_in:2d}/{len(results)} got in ({100 * got_in / len(results):5.1f} %), "
                f"median {median(times) * 1e3:7.1f} ms, max {max(times) * 1e3:7.1f} ms"
                + (" ; others: " + ", ".join(f"{n} x {s}" for s, n in sorted(others.items())) if others else ""))


def real_logins(server: Server, accounts: list[tuple[str, str]], staff: list[StaffMember]) -> Logins:
    """20 reporter logins, two at a time, and one login of each staff member, two at a time, all at once."""
    out = Logins()
    turns = [accounts[i % len(accounts)] for i in range(REPORTER_LOGINS)]

    def reporter_visitor(share: list[tuple[str, str]]) -> None:
        for codename, passphrase in share:
            out.reporters.append(reporter_login(server.port, codename, passphrase))

    def staff_visitor(members: list[StaffMember]) -> None:
        for member in members:
            out.staff.append(member.login())

    threads = [threading.Thread(target=reporter_visitor, args=(turns[i::2],)) for i in range(2)]
    threads += [threading.Thread(target=staff_visitor, args=(staff[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FLOOD_LIMIT)
    return out


# ----------------------------------------------------------------- the flood, in a process of its own


def flood_child(port: int, kind: str, threads: int, signal_after: int) -> None:
    """Loop ``kind`` (submit | login) in ``threads`` threads until stdin closes; prints the answers.

    Prints "ready" after ``signal_after`` answers (wrong logins answered as such, for a login flood).
    """
    from crypto.mailbox import format_codename, generate_codename, generate_passphrase

    stop = threading.Event()
    answers: collections.Counter[int] = collections.Counter()
    lock = threading.Lock()
    signalled = threading.Event()
    deadline = time.monotonic() + FLOOD_LIMIT

    def one(client: Client, csrf: str) -> int:
        if kind == "submit":
            return client.post_multipart("/submit", report_fields(csrf)).status
        return client.post("/login", {"csrf_token": csrf, "codename": format_codename(generate_codename()),
                                      "passphrase": generate_passphrase("id")}).status

    def loop() -> None:
        client = Client(port, timeout=120)
        csrf = client.get("/submit" if kind == "submit" else "/login").csrf
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                status = one(client, csrf)
            except OSError:
                status = 0  # a connection error
            with lock:
                answers[status] += 1
                counted = answers[200] if kind == "login" else sum(answers.values())
                if counted >= signal_after and not signalled.is_set():
                    signalled.set()
                    print("ready", flush=True)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    sys.stdin.read()  # until the parent closes it
    stop.set()
    for worker in workers:
        worker.join(timeout=120)
    print(json.dumps({str(k): v for k, v in answers.items()}), flush=True)


class Flood:
    def __init__(self, server: Server, kind: str, ready_after: int) -> None:
        self.command = [sys.executable, str(Path(__file__).resolve()), "--flood", str(server.port), kind,
                        str(FLOODERS), str(ready_after)]
        self.answers: dict[int, int] = {}

    def __enter__(self) -> "Flood":
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the flood did not get under way")
        self.ready = time.perf_counter() - self.started
        return self

    def __exit__(self, *exc: object) -> None:
        out, _ = self.process.communicate(timeout=180)
        self.seconds = time.perf_counter() - self.started
        self.answers = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}

    def line(self) -> str:
        total = sum(self.answers.values())
        parts = ", ".join(f"{n} x {s or 'connection error'}" for s, n in sorted(self.answers.items()))
        return f"{total} in {self.seconds:.1f} s ({total / self.seconds:.1f}/s): {parts}"


# ----------------------------------------------------------------- the run


@dataclass
class Scenario:
    name: str
    figure: str
    flood: str  # "submit" or "login"
    ready_after: int
    settings: dict[str, object]


SCENARIOS = (
    Scenario("submission flood", "submission flood", "submit", 2 * FLOODERS, {}),
    Scenario("submission flood, new-account rate lifted", "lanes alone", "submit",
             2 * FLOODERS, {"new_accounts_per_minute": 1_000_000}),
    Scenario("bad-login flood past the overall budget", "bad-login flood", "login", 125, {}),
)


def prepare(server: Server) -> tuple[list[tuple[str, str]], list[StaffMember]]:
    accounts = []
    for _ in range(REPORTERS):
        receipt = submit_report(server.client())
        if receipt.status != 200:
            raise RuntimeError(f"a report answered {receipt.status}")
        accounts.append((receipt.element_text("codename"), receipt.element_text("passphrase")))
    staff = [StaffMember(server, f"petugas{i}") for i in range(STAFF_MEMBERS)]
    return accounts, staff


def run_scenario(scenario: Scenario, quick: bool) -> tuple[Logins, Logins, Flood]:
    work = make_workdir("flood")
    try:
        server = Server.create(work / "srv", **REAL_KDF, **scenario.settings)
        with server:
            server.start()
            accounts, staff = prepare(server)
            reference = real_logins(server, accounts, staff)
            time.sleep(0 if quick else 2)
            with Flood(server, scenario.flood, scenario.ready_after) as flood:
                loaded = real_logins(server, accounts, staff)
    finally:
        remove_tree(work)
    return reference, loaded, flood


def report(scenario: Scenario, reference: Logins, loaded: Logins, flood: Flood) -> list[dict]:
    print(f"{scenario.name} ({FLOODERS} loops; the real logins began after {flood.ready:.1f} s of flood):")
    for who in ("reporters", "staff"):
        print(f"  {who:9} idle   {reference.line(who)}")
        print(f"  {who:9} flood  {loaded.line(who)}")
    print(f"  the flood's answers: {flood.line()}")
    rows = []
    for who, label in (("reporters", "reporter"), ("staff", "staff")):
        share = loaded.share(who)
        met = share >= SHARE_TARGET
        print(f"  {label} logins that got in: {100 * share:.0f} %, target >= {100 * SHARE_TARGET:.0f} %: {verdict(met)}")
        rows.append(summary_row("flood", f"{scenario.figure}: {label} logins in, %", f"{100 * share:.0f}",
                                reference=f"idle {100 * reference.share(who):.0f} %",
                                ratio=share / reference.share(who) if reference.share(who) else None,
                                target=f">= {100 * SHARE_TARGET:.0f} %", met=met))
    print()
    return rows


def run(quick: bool, only: Sequence[str]) -> None:
    print(f"WBS floods with real logins beside them (default mailbox KDF, default limits), python {sys.version.split()[0]}")
    print()
    rows, details = [], {}
    chosen = [s for s in SCENARIOS if (not only or s.flood in only) and not (quick and s.settings)]
    for scenario in chosen:
        reference, loaded, flood = run_scenario(scenario, quick)
        rows += report(scenario, reference, loaded, flood)
        details[scenario.figure] = {"flood": flood.answers, "seconds": flood.seconds,
                                    "reporters": loaded.share("reporters"), "staff": loaded.share("staff")}
    print("TARGETS: " + "; ".join(f"{r['figure']} >= {100 * SHARE_TARGET:.0f} %: "
                                   f"{verdict(r['met'])} ({r['value']} %)" for r in rows))
    emit(rows, **details)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="without the lanes-alone scenario, no pause between the reference and the flood")
    parser.add_argument("--only", default="", help="submit and/or login (comma-separated)")
    parser.add_argument("--flood", nargs=4, metavar=("PORT", "KIND", "THREADS", "READY_AFTER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.flood:
        port, kind, threads, ready_after = args.flood
        flood_child(int(port), kind, int(threads), int(ready_after))
    else:
        run(args.quick, [k for k in args.only.split(",") if k])
    return 0


if __name__ == "__main__":
    sys.exit(main())
