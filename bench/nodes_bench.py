"""More than one machine: reports/s and upload MB/s of one ``wbs serve`` on SQLite,
one on PostgreSQL, and two on PostgreSQL, in one run.

Run::

    .venv/bin/python bench/nodes_bench.py [--quick] [--reports 200] [--size 256M] [--rounds 3]

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
A throwaway PostgreSQL cluster (``tests/pgcluster.py``'s ``PgCluster``:
``initdb`` in a temp folder, a Unix socket only) runs with fsync and
synchronous commits **on**, as a deployment runs it: SQLite's store commits
with ``synchronous=FULL``, and a cluster that did not flush its commits would
flatter PostgreSQL. Three deployments, each made by ``wbs init`` and ``wbs
keys install`` of a fresh organisation key, cheap KDF (the server's own
work is measured, not Argon2id), the new-account rate lifted:

- ``sqlite``: one node, the store in its data folder (the default);
- ``pg 1 node``: one node, ``database_url`` to a database of its own and
  ``blob_dir`` beside the data folder;
- ``pg 2 nodes``: two ``wbs serve`` of the same ``wbs.toml`` and data folder
  (the second names its ports with ``--reporter-addr`` and ``--staff-addr``),
  one database, one blob folder: the deployment of issue 18 on one machine.

Loads, each spread round-robin over the deployment's nodes:

- reports/s: REPORTS real submissions (``GET /submit``, then a multipart
  ``POST /submit`` with a 16 KiB attachment), WORKERS visitors at a time;
  reports / wall time.
- upload MB/s: UPLOADS uploads of SIZE at once (curl streaming the file,
  as ``evidence_bench.py`` does), 10^6 file bytes of all of them / the
  wall time until the last 200 answer (fsync and commit included).

Each round runs every load on every deployment in turn (the order rotating
from round to round, so a machine getting busier hurts none more), ROUNDS
rounds, each figure the median. Alongside each load, the CPU time used by the
nodes, by PostgreSQL (the postmaster and its backends, from
``/proc/PID/stat``) and by this process's visitors, per report or per MB,
and how many of the machine's CPUs were busy: where the next limit is. After
the last round the nodes stop and each database is counted: every 200 answer
must be a report stored.

Last, PostgreSQL with TENANTS ``[[tenants]]`` in one database (a schema
each, from the top-level ``database_url``), served by two nodes: the
connections they hold (``pg_stat_activity``) after each starts and after one
report to every tenant through each, the private memory of each backend
process (``smaps_rollup``), and the first node's start against the one-node
PostgreSQL deployment's: what docs/performance.md multiplies by 500 tenants.

Ratios, same run: PostgreSQL 1 node / SQLite (the cost of the network
database on one machine), PostgreSQL 2 nodes / PostgreSQL 1 node (what a
second process adds on the same machine). Held to no
target (on 2 CPUs, a second node adds a process, not a CPU; the figures say
where the time goes); the one target is that every report is stored and
every answer is 200.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHEAP_KDF,
    REPO,
    KiB,
    MiB,
    Server,
    emit,
    format_size,
    make_workdir,
    median,
    parse_size,
    remove_tree,
    submit_report,
    summary_row,
    verdict,
    write_random_file,
)
from evidence_bench import curl_upload  # noqa: E402
from tenants_bench import host, tenant_server  # noqa: E402

REPORTS = {"full": 200, "quick": 60}
SIZE = {"full": 256 * MiB, "quick": 64 * MiB}
ROUNDS = {"full": 3, "quick": 1}
WORKERS = 8
UPLOADS = 2
TENANTS = 10
MAX_CONNECTIONS = 200  # PostgreSQL's default is 100; room for TENANTS tenants on two nodes, whatever they open
ATTACHMENT = os.urandom(16 * KiB)
SETTINGS = {**CHEAP_KDF, "new_accounts_per_minute": 1_000_000}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pg_cluster():  # type: ignore[no-untyped-def]
    """A durable throwaway cluster, from the tests' own helper (one way to start PostgreSQL in this repository)."""
    sys.path.insert(0, str(REPO / "tests"))
    from pgcluster import PgCluster, server_bindir, started

    bindir = server_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server is not installed (apt-get install postgresql)")
    return started(PgCluster(bindir, durable=True, max_connections=MAX_CONNECTIONS))


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime + stime of ``pid`` (and of its children it has waited for, with ``children``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return used / CLOCK_TICKS


def postgres_cpu(postmaster: int) -> float:
    """The postmaster, its live backends and workers, and those that have exited."""
    total = cpu_seconds(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                    total += cpu_seconds(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return total


def backend_private_kib(postmaster: int, database: str) -> list[int]:
    """Private memory (smaps_rollup's Private_Clean + Private_Dirty) of each backend connected to ``database``."""
    sizes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != postmaster:
                continue
            if f" {database} ".encode() not in (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                continue
            private = 0
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    private += int(line.split()[1])
            sizes.append(private)
        except (OSError, ValueError, IndexError):
            continue
    return sizes


@dataclass
class Deployment:
    name: str
    nodes: list[Server]
    count: Callable[[], int]  # reports stored
    postmaster: int | None = None  # PostgreSQL's, for its CPU time
    start: float = 0.0  # seconds until the first node answered
    stored: int = 0  # 200 answers with a report
    problems: list[str] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    mbps: list[float] = field(default_factory=list)
    node_cpu_per_report: list[float] = field(default_factory=list)
    pg_cpu_per_report: list[float] = field(default_factory=list)
    node_cpu_per_mb: list[float] = field(default_factory=list)
    pg_cpu_per_mb: list[float] = field(default_factory=list)
    client_cpu_per_report: list[float] = field(default_factory=list)
    busy_reports: list[float] = field(default_factory=list)  # CPUs of the machine busy during the load
    busy_uploads: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)  # CPUs used by other processes, every load


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all but idle and iowait, /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds of the nodes, of PostgreSQL and of the whole machine while a block runs."""

    def __init__(self, nodes: Sequence[Server], postmaster: int | None) -> None:
        self.pids = [n.pid for n in nodes]
        self.postmaster = postmaster

    def _now(self) -> tuple[float, float, float, float, float]:
        own = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage,
                                                        (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
        return (sum(cpu_seconds(p) for p in self.pids),
                postgres_cpu(self.postmaster) if self.postmaster else 0.0, machine_busy(), time.perf_counter(), own)

    def __enter__(self) -> "CpuMeter":
        self.start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.nodes, self.postgres, self.client = end[0] - self.start[0], end[1] - self.start[1], end[4] - self.start[4]
        wall = end[3] - self.start[3]
        self.busy = (end[2] - self.start[2]) / wall  # CPUs busy on average
        # what neither the nodes, PostgreSQL nor this load's client (and its curl) used: other work on the machine
        self.other = max(0.0, self.busy - (self.nodes + self.postgres + self.client) / wall)


def reports_load(deployment: Deployment, count: int) -> None:
    nodes = deployment.nodes
    for node in nodes:
        if submit_report(node.client(), [("bukti.jpg", ATTACHMENT)]).status != 200:  # warm
            raise RuntimeError(f"{deployment.name}: the warm-up report failed")
        deployment.stored += 1
    lock = threading.Lock()
    todo = iter(range(count))
    ok = 0

    def visitor() -> None:
        nonlocal ok
        while True:
            with lock:
                n = next(todo, None)
            if n is None:
                return
            try:
                status = submit_report(nodes[n % len(nodes)].client(), [("bukti.jpg", ATTACHMENT)]).status
            except (OSError, RuntimeError) as exc:
                status, detail = 0, type(exc).__name__
            with lock:
                if status == 200:
                    ok += 1
                else:
                    deployment.problems.append(f"{deployment.name}, report: {status or detail}")

    threads = [threading.Thread(target=visitor) for _ in range(WORKERS)]
    with CpuMeter(nodes, deployment.postmaster) as cpu:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        seconds = time.perf_counter() - started
    deployment.stored += ok
    deployment.rates.append(count / seconds)
    deployment.node_cpu_per_report.append(cpu.nodes / count * 1000)
    deployment.pg_cpu_per_report.append(cpu.postgres / count * 1000)
    deployment.client_cpu_per_report.append(cpu.client / count * 1000)
    deployment.busy_reports.append(cpu.busy)
    deployment.other.append(cpu.other)


def upload_load(deployment: Deployment, src: Path) -> None:
    size = src.stat().st_size
    nodes = deployment.nodes
    results: list[tuple[int, float] | BaseException] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        node = nodes[n % len(nodes)]
        try:
            outcome: tuple[int, float] | BaseException = curl_upload(
                node, src, node.home / f"response-{n}.html", 60 + size / 10e6)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(UPLOADS)]
    os.sync()
    with CpuMeter(nodes, deployment.postmaster) as cpu:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=900)
        seconds = time.perf_counter() - started
    for outcome in results:
        if isinstance(outcome, BaseException) or outcome[0] != 200:
            deployment.problems.append(f"{deployment.name}, upload: {outcome}")
        else:
            deployment.stored += 1
    megabytes = UPLOADS * size / 1e6
    deployment.mbps.append(megabytes / seconds)
    deployment.node_cpu_per_mb.append(cpu.nodes / megabytes * 1000)
    deployment.pg_cpu_per_mb.append(cpu.postgres / megabytes * 1000)
    deployment.busy_uploads.append(cpu.busy)
    deployment.other.append(cpu.other)


def sqlite_count(server: Server) -> Callable[[], int]:
    def count() -> int:
        db = sqlite3.connect(f"file:{server.data / 'wbs.sqlite3'}?mode=ro", uri=True)
        try:
            return db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
        finally:
            db.close()
    return count


def pg_count(cluster: Any, database: str) -> Callable[[], int]:
    def count() -> int:
        import asyncpg

        async def fetch() -> int:
            conn = await asyncpg.connect(**cluster.connect_args(database))
            try:
                return await conn.fetchval("SELECT COUNT(*) FROM reports")
            finally:
                await conn.close()
        return asyncio.run(fetch())
    return count


async def _connections(cluster: Any, database: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(**cluster.connect_args(database))
    try:
        return await conn.fetchval("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1"
                                   " AND pid <> pg_backend_pid()", database)
    finally:
        await conn.close()


def tenant_connections(work: Path, cluster: Any, tenants: int) -> dict[str, int]:
    """PostgreSQL connections held by two nodes serving ``tenants`` tenants in one database (a schema each):
    after the first node starts, after the second, and after one report to every tenant through each."""
    database = cluster.create_database()
    first = tenant_server(work / "tenants", tenants, database_url=cluster.url(database))
    second = first.another_node()
    held = {}
    try:
        held["start ms"] = int(first.start() * 1000)
        held["1 node"] = asyncio.run(_connections(cluster, database))
        second.start()
        held["2 nodes"] = asyncio.run(_connections(cluster, database))
        for node in (first, second):
            for i in range(tenants):
                if submit_report(node.client(vhost=host(i))).status != 200:
                    raise RuntimeError(f"a report to tenant {i} answered otherwise than 200")
        held["2 nodes, all used"] = asyncio.run(_connections(cluster, database))
        private = backend_private_kib(cluster.pid, database)
        held["private KiB per backend, median"] = int(median(private)) if private else 0
    finally:
        first.stop()
        second.stop()
    return held


def deployments(work: Path, cluster: Any) -> list[Deployment]:
    one = Server.create(work / "sqlite", **SETTINGS)
    made = [Deployment("sqlite, 1 node", [one], sqlite_count(one))]
    for name, nodes in (("pg, 1 node", 1), ("pg, 2 nodes", 2)):
        database = cluster.create_database()
        home = work / name.replace(", ", "-").replace(" ", "")
        first = Server.create(home, database_url=cluster.url(database), blob_dir=str(home / "blobs"), **SETTINGS)
        made.append(Deployment(name, [first] + [first.another_node() for _ in range(nodes - 1)],
                               pg_count(cluster, database), cluster.pid))
    return made


def run(reports: int, size: int, rounds: int) -> None:
    work = make_workdir("nodes")
    cluster = pg_cluster()
    try:
        src = work / "evidence.bin"
        write_random_file(src, size)
        made = deployments(work, cluster)
        try:
            for deployment in made:
                deployment.start = deployment.nodes[0].start()
                for node in deployment.nodes[1:]:
                    node.start()
            for n in range(rounds):
                order = made[n % len(made):] + made[:n % len(made)]
                for deployment in order:
                    reports_load(deployment, reports)
                for deployment in order:
                    upload_load(deployment, src)
        finally:
            for deployment in made:
                for node in deployment.nodes:
                    node.stop()
        counted = {d.name: d.count() for d in made}
        held = tenant_connections(work, cluster, TENANTS)
    finally:
        cluster.stop()
        remove_tree(work)
    report(made, counted, reports, size, rounds, held)


def report(made: list[Deployment], counted: dict[str, int], reports: int, size: int, rounds: int,
           held: dict[str, int]) -> None:
    sqlite, pg1, pg2 = made
    print("WBS nodes: one node on SQLite, one on PostgreSQL, two on PostgreSQL (one database, one blob folder)")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; cheap KDF; PostgreSQL with fsync on;"
          f" {reports} reports of 16 KiB, {WORKERS} visitors at a time; {UPLOADS} uploads of {format_size(size)}"
          f" at once; {rounds} round(s) (median); loads spread round-robin over the nodes")
    print()
    head = (f"{'deployment':>14} | {'reports/s':>9} {'node ms':>7} {'pg ms':>6} {'load ms':>7} {'busy':>4} |"
            f" {'upload MB/s':>11}"
            f" {'node ms/MB':>10} {'pg ms/MB':>8} {'busy':>4} | {'stored':>6} {'answers':>7}")
    print(head)
    print("-" * len(head))
    for d in made:
        print(f"{d.name:>14} | {median(d.rates):9.1f} {median(d.node_cpu_per_report):7.1f}"
              f" {median(d.pg_cpu_per_report):6.1f} {median(d.client_cpu_per_report):7.1f}"
              f" {median(d.busy_reports):4.2f} | {median(d.mbps):11.1f}"
              f" {median(d.node_cpu_per_mb):10.2f} {median(d.pg_cpu_per_mb):8.2f} {median(d.busy_uploads):4.2f}"
              f" | {counted[d.name]:6d} {d.stored:7d}")
    print("  node ms / pg ms / load ms: CPU milliseconds per report (per MB uploaded) in the wbs processes / in"
          " PostgreSQL / in this benchmark's own visitors;"
          f" busy: CPUs of the machine's {os.cpu_count()} busy during the load (the load's own client included)")
    others = [o for d in made for o in d.other]
    print(f"  CPU used by other processes during the loads: {min(others):.2f}-{max(others):.2f} of a CPU"
          " (anything above ~0.05 skews every figure)")
    print("  every round, reports/s: " + "; ".join(f"{d.name} " + ", ".join(f"{r:.1f}" for r in d.rates) for d in made))
    print("  every round, upload MB/s: " + "; ".join(f"{d.name} " + ", ".join(f"{r:.1f}" for r in d.mbps)
                                                   for d in made))
    problems = [p for d in made for p in d.problems]
    lost = {d.name: (counted[d.name], d.stored) for d in made if counted[d.name] != d.stored}
    print(f"  answers other than 200: {len(problems)}{' (' + ', '.join(problems[:5]) + ')' if problems else ''};"
          f" deployments whose database does not hold exactly the reports answered 200: {lost or 'none'}")
    memory = held.pop("private KiB per backend, median")
    tenants_start = held.pop("start ms") / 1000
    per_tenant = (tenants_start - pg1.start) / TENANTS * 1000
    print(f"  start of one node: SQLite {sqlite.start:.2f} s, PostgreSQL {pg1.start:.2f} s, PostgreSQL with {TENANTS}"
          f" tenants {tenants_start:.2f} s ({per_tenant:.0f} ms more per tenant)")
    print(f"  PostgreSQL connections of {TENANTS} tenants in one database (a schema each), once the nodes started"
          " and after one report to every tenant through each node (all used): "
          + "; ".join(f"{when} {count} ({count / TENANTS:.1f} per tenant)" for when, count in held.items())
          + f"; private memory of each backend process: {memory / KiB:.1f} MiB (median)")
    print()

    rate = {d.name: median(d.rates) for d in made}
    mbps = {d.name: median(d.mbps) for d in made}
    rows = []
    for figure, unit in ((rate, "reports/s"), (mbps, f"{UPLOADS} x {format_size(size)} at once, MB/s")):
        rows.append(summary_row("nodes", f"{unit}, SQLite 1 node", f"{figure[sqlite.name]:.1f}"))
        rows.append(summary_row("nodes", f"{unit}, PostgreSQL 1 node", f"{figure[pg1.name]:.1f}",
                                reference=f"SQLite {figure[sqlite.name]:.1f}",
                                ratio=figure[pg1.name] / figure[sqlite.name]))
        rows.append(summary_row("nodes", f"{unit}, PostgreSQL 2 nodes", f"{figure[pg2.name]:.1f}",
                                reference=f"pg 1 node {figure[pg1.name]:.1f}",
                                ratio=figure[pg2.name] / figure[pg1.name]))
    for when, count in held.items():
        rows.append(summary_row("nodes", f"pg connections, {TENANTS} tenants, {when}", str(count),
                                reference=f"{count / TENANTS:.1f} per tenant"))
    rows.append(summary_row("nodes", "pg backend, private memory, MiB", f"{memory / KiB:.1f}"))
    rows.append(summary_row("nodes", f"start, PostgreSQL, {TENANTS} tenants, s", f"{tenants_start:.2f}",
                            reference=f"no tenants {pg1.start:.2f}", ratio=tenants_start / pg1.start))
    met = not problems and not lost
    rows.append(summary_row("nodes", "every answer 200, every report stored", f"{sum(counted.values())} reports",
                            target="all stored, none lost, no 5xx", met=met))
    print("TARGETS: every answer 200 and every report stored, on all three: " + verdict(met))
    emit(rows, connections=held, backend_private_kib=memory, rates={d.name: d.rates for d in made},
         mbps={d.name: d.mbps for d in made},
         cpu={d.name: {"node_ms_per_report": d.node_cpu_per_report, "pg_ms_per_report": d.pg_cpu_per_report,
                       "load_ms_per_report": d.client_cpu_per_report,
                       "node_ms_per_mb": d.node_cpu_per_mb, "pg_ms_per_mb": d.pg_cpu_per_mb,
                       "busy_reports": d.busy_reports, "busy_uploads": d.busy_uploads} for d in made})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{REPORTS['quick']} reports, uploads of {format_size(SIZE['quick'])}, one round")
    parser.add_argument("--reports", type=int, default=None, help="reports per load")
    parser.add_argument("--size", default=None, help="size of each upload, e.g. 64M")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    run(args.reports or REPORTS[mode], parse_size(args.size) if args.size else SIZE[mode], args.rounds or ROUNDS[mode])
    return 0


if __name__ == "__main__":
    sys.exit(main())
