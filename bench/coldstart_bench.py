"""Cold start of ``wbs serve`` on a store of 10,000 reports.

Run::

    .venv/bin/python bench/coldstart_bench.py [--reports 10000] [--quick]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
Seeding (untimed): a real ``wbs serve`` (cheap KDF) takes one report with a
16 KiB attachment over HTTP; then, with the server stopped, its rows are
cloned in SQLite until the store holds REPORTS reports: each clone a new
account (random id, lookup, salt, mailbox key), a new report code, its
status line, and two items with new random ids whose blobs are hard links
to the original envelopes under their own names (so the start-up sweep
walks REPORTS x 2 blob files, all known to the database).

Measured: from spawning ``wbs serve`` until both listeners accept a
connection and ``GET /`` answers 200 (polled every 5 ms), three times, the
server stopped in between; the figure is the median. Reference, same run:
the same on a fresh, empty data folder. Every file is in the page cache (a
start after a reboot also reads the database and the blob folders from
disk). Target: < 2 s.
"""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CHEAP_KDF, KiB, Server, emit, make_workdir, median, remove_tree, submit_report, summary_row, verdict  # noqa: E402

REPORTS = 10_000
STARTS = 3
TARGET_SECONDS = 2.0


def seed(server: Server, total: int) -> float:
    """Clone the one stored report until there are ``total``; returns the seconds it took."""
    from crypto.encoding import new_item_id
    from crypto.items import generate_report_code

    start = time.perf_counter()
    db = sqlite3.connect(server.data / "wbs.sqlite3", isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        account = dict(db.execute("SELECT * FROM accounts").fetchone())
        report = dict(db.execute("SELECT * FROM reports").fetchone())
        history = [dict(r) for r in db.execute("SELECT * FROM status_history")]
        items = [dict(r) for r in db.execute("SELECT * FROM items ORDER BY position")]
        codes = {report["code"]}
        blobs = server.data / "blobs"
        made_dirs: set[Path] = set()
        sources = {i["item_id"]: blobs / i["item_id"][:2] / f"{i['item_id']}.wbse" for i in items}
        db.execute("BEGIN IMMEDIATE")
        for _ in range(total - 1):
            acc = dict(account, id=secrets.token_hex(16), lookup=secrets.token_bytes(32),
                       salt=secrets.token_bytes(16), mailbox_pk=secrets.token_bytes(32))
            db.execute(f"INSERT INTO accounts ({', '.join(acc)}) VALUES ({', '.join('?' * len(acc))})",
                       tuple(acc.values()))
            code = generate_report_code()
            while code in codes:
                code = generate_report_code()
            codes.add(code)
            rep = dict(report, code=code, account_id=acc["id"])
            db.execute(f"INSERT INTO reports ({', '.join(rep)}) VALUES ({', '.join('?' * len(rep))})",
                       tuple(rep.values()))
            for h in history:
                row = dict(h, report_code=code)
                db.execute(f"INSERT INTO status_history ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                           tuple(row.values()))
            ids = {i["item_id"]: new_item_id() for i in items}
            for item in items:
                new_id = ids[item["item_id"]]
                row = dict(item, item_id=new_id, report_code=code,
                           parent_id=ids.get(item["parent_id"]) if item["parent_id"] else None)
                db.execute(f"INSERT INTO items ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                           tuple(row.values()))
                folder = blobs / new_id[:2]
                if folder not in made_dirs:
                    folder.mkdir(mode=0o700, exist_ok=True)
                    made_dirs.add(folder)
                target = folder / f"{new_id}.wbse"
                try:
                    os.link(sources[item["item_id"]], target)
                except OSError as exc:
                    if exc.errno != errno.EMLINK:
                        raise
                    shutil.copyfile(sources[item["item_id"]], target)  # a file takes 65,000 links at most
                    sources[item["item_id"]] = target
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    os.sync()
    return time.perf_counter() - start


def count_rows(server: Server) -> tuple[int, int]:
    db = sqlite3.connect(f"file:{server.data / 'wbs.sqlite3'}?mode=ro", uri=True)
    try:
        return (db.execute("SELECT COUNT(*) FROM reports").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
    finally:
        db.close()


def starts(server: Server, count: int) -> list[float]:
    times = []
    for _ in range(count):
        times.append(server.start())
        server.stop()
    return times


def run(total: int) -> None:
    work = make_workdir("coldstart")
    try:
        empty = Server.create(work / "empty", **CHEAP_KDF)
        full = Server.create(work / "full", **CHEAP_KDF)
        full.start()
        response = submit_report(full.client(), [("bukti.jpg", os.urandom(16 * KiB))])
        if response.status != 200:
            raise RuntimeError(f"the seed report answered {response.status}")
        full.stop()
        seed_seconds = seed(full, total)
        reports, items = count_rows(full)
        blob_files = sum(1 for _ in (full.data / "blobs").glob("??/*.wbse"))
        ref = starts(empty, STARTS)
        measured = starts(full, STARTS)
        after = sum(1 for _ in (full.data / "blobs").glob("??/*.wbse"))
        log = (full.home / "server.log").read_text(errors="replace")
    finally:
        remove_tree(work)
    if after != blob_files or "removed" in log:
        raise RuntimeError(f"the start-up sweep removed blobs ({blob_files} -> {after}): the seeding is wrong")
    value, reference = median(measured), median(ref)
    print(f"WBS cold start of `wbs serve` on {reports} reports ({items} items, {blob_files} blob files)")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; seeded in {seed_seconds:.1f} s (untimed);"
          " files in page cache")
    print("  measured: spawn -> both ports accept and GET / answers 200; median of "
          f"{STARTS} starts")
    print()
    print(f"  {reports:>6} reports : " + "  ".join(f"{t:5.2f} s" for t in measured) + f"   median {value:.2f} s")
    print(f"  empty store  : " + "  ".join(f"{t:5.2f} s" for t in ref) + f"   median {reference:.2f} s (reference)")
    print(f"  cost of the store: {value - reference:+.2f} s; ratio {value / reference:.2f}")
    print()
    print(f"TARGETS: cold start on {reports} reports < {TARGET_SECONDS:.0f} s: {verdict(value < TARGET_SECONDS)} "
          f"({value:.2f} s, max {max(measured):.2f} s)")
    emit([summary_row("cold start", f"wbs serve, {reports} reports, s", f"{value:.2f}",
                      reference=f"empty store {reference:.2f}", ratio=value / reference,
                      target=f"< {TARGET_SECONDS:.0f} s", met=value < TARGET_SECONDS)],
         starts=measured, empty_starts=ref, seed_seconds=seed_seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--reports", type=int, default=REPORTS)
    parser.add_argument("--quick", action="store_true", help="the same (seeding 10,000 reports takes seconds)")
    run(parser.parse_args(argv).reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
