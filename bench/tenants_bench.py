"""What tenants cost: cold start, memory and reports/s of ``wbs serve`` with 1, 10 and 100 ``[[tenants]]``.

Run::

    .venv/bin/python bench/tenants_bench.py [--quick] [--tenants 1,10,100] [--reports 100]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
Each tenant is a whole WBS: ``wbs init`` makes every tenant's data folder,
and each gets an organisation key of its own (a fresh keyring per tenant;
its public file is installed in the tenant's folder as ``wbs keys install
--tenant`` does, in this process, to keep 100 installs cheap). Tenant i
answers on ``tNNN.onion`` (staff: ``staff.tNNN.onion``), report prefix
``TNNN``. Cheap KDF (the server's own work is measured, not Argon2id); the
new-account rate is lifted.

Reference, same run: the single-tenant server (no ``[[tenants]]``), one
data folder made by ``wbs init`` and ``wbs keys install``.

- Cold start: from spawning ``wbs serve`` until both listeners accept and
  ``GET /`` with the first tenant's Host answers 200 (polled every 5 ms);
  median of STARTS starts, the server stopped in between.
- Memory: VmRSS just after the last start, and again after one report per
  tenant (each tenant's pages rendered and a report sealed to its key):
  what a tenant costs once it has been used, not only configured. Per
  tenant = (RSS with N tenants - reference RSS) / N.
- Throughput: REPORTS real submissions (``GET /submit`` then a multipart
  ``POST /submit`` with a 16 KiB attachment, each with its tenant's Host
  header), WORKERS visitors at a time. On the 10-tenant server spread
  round-robin over the 10 tenants, and all on its first tenant; reference:
  the same load on the single-tenant server. The three loads run in turn,
  ROUNDS times (so a machine getting busier hurts none of them more), each
  on a fresh start of its server; the figure is each one's median. After the server stops, each
  tenant's database is read: every 200 answer must be a report stored in
  its own tenant's folder.

Targets, and why:

- 10-tenant throughput spread over the 10 tenants >= 0.8 x the same load
  on one of them (same server, same run): the listeners, pools and upload
  slots are shared, so a visitor's tenant should not matter; a fifth lost
  would mean a per-tenant cost worth finding (it found one: each tenant
  compiled every template again). The load on one tenant is also shown
  against the single-tenant server (the cost of routing by Host); that
  reference measured lower in most runs here, so it holds no target.
- Start with 100 tenants: at most 25 ms per tenant above the reference. A
  restart takes every tenant offline at once; 550 Inspektorats (every
  Inspektorat of Indonesia) would then add under 14 s.
- Memory with 100 tenants, each used once: at most 3 MiB per tenant above
  the reference, so 550 tenants fit in about 1.6 GiB on top of one WBS: a
  4 GiB machine, with Tor and the key derivations (64 MiB each) beside it.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHEAP_KDF,
    KiB,
    MiB,
    Server,
    emit,
    free_port,
    make_workdir,
    median,
    remove_tree,
    submit_report,
    summary_row,
    verdict,
    wbs,
)

TENANT_COUNTS = (1, 10, 100)
STARTS = {"full": 3, "quick": 2}
REPORTS = {"full": 100, "quick": 40}
ROUNDS = {"full": 3, "quick": 1}  # of the three loads, one after another: the median of each
WORKERS = 8
SPREAD = 10
ATTACHMENT = os.urandom(16 * KiB)
SETTINGS = {**CHEAP_KDF, "new_accounts_per_minute": 1_000_000}
THROUGHPUT_RATIO = 0.8
START_MS_PER_TENANT = 25.0
MIB_PER_TENANT = 3.0


def slug(i: int) -> str:
    return f"t{i:03d}"


def host(i: int) -> str:
    return f"{slug(i)}.onion"


def tenant_tables(count: int) -> str:
    return "".join(f'\n[[tenants]]\nslug = "{slug(i)}"\norg_name = "Inspektorat Daerah Kabupaten Uji {i}"\n'
                   f'hosts = ["{host(i)}"]\nstaff_hosts = ["staff.{host(i)}"]\nreport_prefix = "T{i:03d}"\n'
                   for i in range(count))


def tenant_server(home: Path, count: int, **settings: object) -> Server:
    """``wbs init`` of ``count`` tenants, each with an organisation key of its own; ``settings``: more of wbs.toml."""
    from crypto.keyring import new_keyring
    from server.storage.datafolder import DataFolder
    from server.tenants import tenant_folder

    home.mkdir(parents=True)
    server = Server(home, {"min_free_bytes": 0, **SETTINGS, **settings}, port=free_port(), staff_port=free_port(),
                    vhost=host(0))
    server.write_config()
    with open(server.config, "a") as out:
        out.write(tenant_tables(count))
    wbs("init", "--config", str(server.config), cwd=home)
    for i in range(count):
        ring = new_keyring(f"Inspektorat Daerah Kabupaten Uji {i}")
        DataFolder(tenant_folder(server.data, slug(i))).install_public_keys(ring.public_key_file())
    return server


def status_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "Threads"):
            fields[name] = int(value.split()[0])
    fields["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return fields


@dataclass
class Footprint:
    label: str
    tenants: int  # 0: the reference, no [[tenants]]
    starts: list[float]
    rss_start_kib: int
    rss_used_kib: int
    threads: int
    fds: int

    @property
    def start(self) -> float:
        return median(self.starts)


def footprint(server: Server, label: str, tenants: int, starts: int) -> Footprint:
    times = []
    for n in range(starts):
        times.append(server.start())
        if n < starts - 1:
            server.stop()
    before = status_kib(server.pid)
    for i in range(max(tenants, 1)):
        response = submit_report(server.client(vhost=host(i) if tenants else None), [("bukti.jpg", ATTACHMENT)])
        if response.status != 200:
            raise RuntimeError(f"a report to {label} tenant {i} answered {response.status}")
    after = status_kib(server.pid)
    server.stop()
    return Footprint(label, tenants, times, before["VmRSS"], after["VmRSS"], after["Threads"], after["fds"])


def load(server: Server, hosts: Sequence[str | None], count: int) -> tuple[float, dict[str | None, int], list[str]]:
    """``count`` reports, WORKERS at a time, report n to ``hosts[n % len(hosts)]``: (reports/s, 200s per host, problems)."""
    server.start()
    try:
        submit_report(server.client(vhost=hosts[0]))  # warm
        stored: dict[str | None, int] = {h: 0 for h in hosts}
        problems: list[str] = []
        lock = threading.Lock()
        todo = iter(range(count))

        def visitor() -> None:
            while True:
                with lock:
                    n = next(todo, None)
                if n is None:
                    return
                target = hosts[n % len(hosts)]
                try:
                    status = submit_report(server.client(vhost=target), [("bukti.jpg", ATTACHMENT)]).status
                except (OSError, RuntimeError) as exc:
                    status, detail = 0, type(exc).__name__
                with lock:
                    if status == 200:
                        stored[target] += 1
                    else:
                        problems.append(f"{target}: {status or detail}")

        threads = [threading.Thread(target=visitor) for _ in range(WORKERS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    return count / seconds, stored, problems


def reports_in(database: Path) -> int:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    finally:
        db.close()


def run(counts: Sequence[int], reports: int, starts: int, rounds: int) -> None:
    from server.tenants import tenant_folder

    work = make_workdir("tenants")
    try:
        reference = Server.create(work / "one", **SETTINGS)
        prints = [footprint(reference, "no [[tenants]]", 0, starts)]
        servers = {}
        for count in counts:
            servers[count] = tenant_server(work / f"t{count}", count)
            prints.append(footprint(servers[count], f"{count} tenant(s)", count, starts))
        used_once = int(SPREAD in servers)  # the footprint's one report per tenant
        spread_server = servers.get(SPREAD) or tenant_server(work / f"t{SPREAD}", SPREAD)
        loads = {"reference": (reference, [None]), "spread": (spread_server, [host(i) for i in range(SPREAD)]),
                 "one": (spread_server, [host(0)])}
        rates: dict[str, list[float]] = {name: [] for name in loads}
        problems: list[str] = []
        expected = {i: used_once for i in range(SPREAD)}  # the footprint's reports
        for _ in range(rounds):
            for name, (server, hosts) in loads.items():
                rate, stored, failed = load(server, hosts, reports)
                rates[name].append(rate)
                problems += failed
                if server is spread_server:
                    expected[0] += 1  # the warm-up report
                    for i in range(SPREAD):
                        expected[i] += stored.get(host(i), 0)
        found = {i: reports_in(tenant_folder(spread_server.data, slug(i)) / "wbs.sqlite3") for i in range(SPREAD)}
    finally:
        remove_tree(work)
    ref_rate, spread_rate, one_rate = (median(rates[name]) for name in ("reference", "spread", "one"))
    misplaced = {slug(i): (found[i], expected[i]) for i in found if found[i] != expected[i]}
    ref = prints[0]

    print(f"WBS tenants: cold start and memory with {', '.join(map(str, counts))} tenant(s), reports/s over"
          f" {SPREAD} tenants")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; cheap KDF; {starts} starts each (median);"
          f" {reports} reports of 16 KiB, {WORKERS} visitors at a time, {rounds} round(s) (median)")
    print()
    head = (f"{'server':>15} | {'cold start s':>12} {'ms/tenant':>9} | {'RSS start':>9} {'RSS used':>9}"
            f" {'MiB/tenant':>10} | {'threads':>7} {'fds':>5}")
    print(head)
    print("-" * len(head))
    for fp in prints:
        per_ms = per_mib = ""
        if fp.tenants:
            per_ms = f"{(fp.start - ref.start) * 1000 / fp.tenants:9.1f}"
            per_mib = f"{(fp.rss_used_kib - ref.rss_used_kib) / KiB / fp.tenants:10.2f}"
        print(f"{fp.label:>15} | {fp.start:12.2f} {per_ms:>9} | {fp.rss_start_kib / KiB:7.1f} M {fp.rss_used_kib / KiB:7.1f} M"
              f" {per_mib:>10} | {fp.threads:7d} {fp.fds:5d}")
    print("  RSS used: after one report to each tenant; MiB/tenant and ms/tenant: above the reference, per tenant")
    print()
    print(f"  reports/s, single-tenant server           : {ref_rate:6.1f}")
    print(f"  reports/s, {SPREAD} tenants, all on one       : {one_rate:6.1f}   / single-tenant {one_rate / ref_rate:.2f}")
    print(f"  reports/s, {SPREAD} tenants, spread round-robin: {spread_rate:6.1f}   / all on one {spread_rate / one_rate:.2f}"
          f"   (each round: " + ", ".join(f"{r:.1f}" for r in rates["spread"]) + " vs "
          + ", ".join(f"{r:.1f}" for r in rates["one"]) + ")")
    print(f"  answers other than 200: {len(problems)}{' (' + ', '.join(problems[:5]) + ')' if problems else ''};"
          f" tenants whose database does not hold exactly their reports: {misplaced or 'none'}")
    print()

    rows = []
    throughput_met = spread_rate / one_rate >= THROUGHPUT_RATIO and not problems and not misplaced
    rows.append(summary_row("tenants", f"reports/s spread over {SPREAD} tenants", f"{spread_rate:.1f}",
                            reference=f"all on one {one_rate:.1f}", ratio=spread_rate / one_rate,
                            target=f">= {THROUGHPUT_RATIO} x, all stored", met=throughput_met))
    rows.append(summary_row("tenants", f"reports/s, {SPREAD} tenants, all on one", f"{one_rate:.1f}",
                            reference=f"no tenants {ref_rate:.1f}", ratio=one_rate / ref_rate))
    targets = [f"reports/s spread over {SPREAD} tenants >= {THROUGHPUT_RATIO} x all on one: {verdict(throughput_met)}"
               f" ({spread_rate:.1f}/s, ratio {spread_rate / one_rate:.2f})"]
    for fp in prints[1:]:
        largest = fp.tenants == max(counts)
        per_ms = (fp.start - ref.start) * 1000 / fp.tenants
        per_mib = (fp.rss_used_kib - ref.rss_used_kib) / KiB / fp.tenants
        start_met = per_ms <= START_MS_PER_TENANT if largest else None
        mem_met = per_mib <= MIB_PER_TENANT if largest else None
        rows.append(summary_row("tenants", f"cold start, {fp.tenants} tenant(s), s", f"{fp.start:.2f}",
                                reference=f"no tenants {ref.start:.2f}", ratio=fp.start / ref.start,
                                target=f"<= {START_MS_PER_TENANT:.0f} ms/tenant more" if largest else "",
                                met=start_met))
        rows.append(summary_row("tenants", f"RSS, {fp.tenants} tenant(s) used once, MiB", f"{fp.rss_used_kib / KiB:.0f}",
                                reference=f"no tenants {ref.rss_used_kib / KiB:.0f}",
                                ratio=fp.rss_used_kib / ref.rss_used_kib,
                                target=f"<= {MIB_PER_TENANT:.0f} MiB/tenant more" if largest else "", met=mem_met))
        if largest:
            targets.append(f"{fp.tenants}-tenant cold start <= {START_MS_PER_TENANT:.0f} ms per tenant more:"
                           f" {verdict(start_met)} ({per_ms:.1f} ms, {fp.start:.2f} s)")
            targets.append(f"{fp.tenants}-tenant memory <= {MIB_PER_TENANT:.0f} MiB per tenant more:"
                           f" {verdict(mem_met)} ({per_mib:.2f} MiB, {fp.rss_used_kib / KiB:.0f} MiB)")
    print("TARGETS: " + "; ".join(targets))
    emit(rows, footprints=[fp.__dict__ for fp in prints], rates=rates)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{STARTS['quick']} starts each, {REPORTS['quick']} reports, {ROUNDS['quick']} round")
    parser.add_argument("--tenants", default=",".join(map(str, TENANT_COUNTS)), help="tenant counts, comma-separated")
    parser.add_argument("--reports", type=int, default=None, help="reports per throughput run")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    counts = sorted({int(n) for n in args.tenants.split(",")})
    run(counts, args.reports or REPORTS[mode], STARTS[mode], ROUNDS[mode])
    return 0


if __name__ == "__main__":
    sys.exit(main())
