"""100 reports at once: all stored, none lost, none answered 5xx; reports per second.

Run::

    .venv/bin/python bench/reports_bench.py [--quick] [--reports 100]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
Twice, each time on a fresh data folder and a real ``wbs serve``: once with
the cheap KDF (``kdf_t = 1``, ``kdf_m_kib = 8``: the server's own work), once
with the default mailbox KDF (``kdf_t = 3``, ``kdf_m_kib = 65536``; each new
report derives its mailbox key, so Argon2id bounds the rate; the default
pool of 2 workers and 2 places for account creation, submissions waiting up
to ``kdf_wait_seconds`` = 60 s for a place). The server-wide new-account
rate (``new_accounts_per_minute``, 20) is lifted: 100 new accounts at once
is the load measured here, not what the server lets one client do
(``flood_bench.py`` measures that).

Each report is a visitor of its own (a thread here): ``GET /submit`` for its
CSRF cookie and token, then, all released together by a barrier, one
``POST /submit`` of the report form with a 16 KiB attachment. Reports/s =
reports / (last answer - release). Reference, same server, just before: the
same submission made one after another (10 with the cheap KDF, 4 with the
default one); ratio = concurrent / sequential rate. With the default KDF the
Argon2id bound is printed too: derivations/s of 2 threads in this process.

Then the server is stopped and every 200 answer's report code is looked up
in the database (read-only) and in the manifest of ``wbs export --all``.
Target: every report answered 200, stored, and exported; no 5xx.
"""

from __future__ import annotations

import argparse
import collections
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHEAP_KDF,
    KiB,
    REAL_KDF,
    Server,
    emit,
    make_workdir,
    remove_tree,
    report_fields,
    submit_report,
    summary_row,
    verdict,
    wbs,
)

REPORTS = 100
ATTACHMENT = os.urandom(16 * KiB)
SEQUENTIAL = {"cheap": 10, "default": 4}


def concurrent_reports(server: Server, count: int) -> tuple[list[int], list[str], float, list[str]]:
    """(statuses, report codes, seconds, errors) of ``count`` visitors submitting at once."""
    clients = [server.client(timeout=300) for _ in range(count)]
    tokens = [c.get("/submit").csrf for c in clients]
    barrier = threading.Barrier(count + 1)
    statuses: list[int] = [0] * count
    codes: list[str] = []
    errors: list[str] = []
    finished: list[float] = []
    lock = threading.Lock()

    def visitor(i: int) -> None:
        fields = report_fields(tokens[i], [("bukti.jpg", ATTACHMENT)])
        barrier.wait()
        try:
            response = clients[i].post_multipart("/submit", fields)
        except OSError as exc:
            with lock:
                errors.append(type(exc).__name__)
                finished.append(time.perf_counter())
            return
        with lock:
            statuses[i] = response.status
            finished.append(time.perf_counter())
            if response.status == 200:
                codes.append(response.element_text("report-code"))

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    return statuses, codes, max(finished) - start, errors


def sequential_rate(server: Server, count: int) -> tuple[float, list[str]]:
    codes = []
    start = time.perf_counter()
    for _ in range(count):
        response = submit_report(server.client(), [("bukti.jpg", ATTACHMENT)])
        if response.status != 200:
            raise RuntimeError(f"a sequential report answered {response.status}")
        codes.append(response.element_text("report-code"))
    return count / (time.perf_counter() - start), codes


def kdf_bound() -> float:
    """Derivations per second of 2 threads (the default pool) running the default mailbox KDF."""
    import secrets

    from crypto.kdf import MAILBOX_DEFAULT
    from crypto.mailbox import derive_mailbox_key, generate_codename, generate_passphrase

    per_thread = 4

    def work() -> None:
        for _ in range(per_thread):
            derive_mailbox_key(generate_codename(), generate_passphrase("id"), secrets.token_bytes(16), MAILBOX_DEFAULT)

    threads = [threading.Thread(target=work) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 2 * per_thread / (time.perf_counter() - start)


def stored_codes(server: Server) -> set[str]:
    db = sqlite3.connect(f"file:{server.data / 'wbs.sqlite3'}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT code FROM reports")}
    finally:
        db.close()


def exported_codes(server: Server) -> set[str]:
    from crypto.export_bundle import ExportBundle

    out = server.home / "all.zip"
    wbs("export", "--all", "--out", str(out), "--config", str(server.config), cwd=server.home, timeout=600)
    with open(out, "rb") as src:
        return {r["report_code"] for r in ExportBundle(src).reports}


def run_one(kdf: str, count: int) -> dict:
    # The burst is the measurement: the server-wide new-account rate (20 a minute) is lifted.
    settings = {**(CHEAP_KDF if kdf == "cheap" else REAL_KDF), "new_accounts_per_minute": 1_000_000}
    work = make_workdir(f"reports-{kdf}")
    try:
        server = Server.create(work / "srv", **settings)
        with server:
            server.start()
            submit_report(server.client())  # warm
            seq_rate, seq_codes = sequential_rate(server, SEQUENTIAL[kdf])
            statuses, codes, seconds, errors = concurrent_reports(server, count)
        stored = stored_codes(server)
        exported = exported_codes(server)
    finally:
        remove_tree(work)
    answers = collections.Counter(statuses)
    ok = answers.get(200, 0)
    lost = [c for c in codes if c not in stored or c not in exported]
    five = sum(n for s, n in answers.items() if s >= 500)
    all_good = ok == count and not lost and not five and not errors and len(set(codes)) == count \
        and set(seq_codes) <= stored
    return {
        "kdf": kdf, "count": count, "seconds": seconds, "rate": count / seconds, "seq_rate": seq_rate,
        "answers": {str(k): v for k, v in sorted(answers.items())}, "errors": errors, "lost": len(lost),
        "stored": len(stored), "exported": len(exported), "five": five, "ok": all_good,
    }


def run(count: int) -> None:
    print(f"WBS {count} concurrent reports (each with a 16 KiB attachment), cheap and default KDF")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; one thread per visitor, released together")
    print()
    results = [run_one("cheap", count)]
    bound = kdf_bound()
    results.append(run_one("default", count))
    head = (f"{'KDF':>8} | {'reports/s':>9} {'seconds':>7} | {'sequential/s':>12} {'ratio':>5} | "
            f"{'answers':>16} | {'in db':>5} {'exported':>8} {'lost':>4} | verdict")
    print(head)
    print("-" * len(head))
    for r in results:
        answers = " ".join(f"{n}x{s}" for s, n in r["answers"].items())
        if r["errors"]:
            answers += f" {len(r['errors'])}xconn"
        print(f"{r['kdf']:>8} | {r['rate']:9.1f} {r['seconds']:7.2f} | {r['seq_rate']:12.1f} "
              f"{r['rate'] / r['seq_rate']:5.2f} | {answers:>16} | {r['stored']:5d} {r['exported']:8d} {r['lost']:4d} | "
              f"{verdict(r['ok'])}")
    print(f"  (db and export also hold the warm-up and sequential reports; Argon2id bound with the default KDF:"
          f" {bound:.1f} derivations/s on 2 threads)")
    print()
    print("TARGETS: " + "; ".join(f"{r['kdf']} KDF all {count} stored, none lost, no 5xx: {verdict(r['ok'])}"
                                   for r in results))
    rows = []
    for r in results:
        rows.append(summary_row(
            "reports", f"{count} at once, {r['kdf']} KDF: reports/s", f"{r['rate']:.1f}",
            reference=f"sequential {r['seq_rate']:.1f}/s", ratio=r["rate"] / r["seq_rate"],
            target="all stored, none lost, no 5xx", met=r["ok"]))
    emit(rows, results=results, kdf_bound=bound)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reports", type=int, default=REPORTS)
    parser.add_argument("--quick", action="store_true", help="the same (it takes well under a minute)")
    run(parser.parse_args(argv).reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
