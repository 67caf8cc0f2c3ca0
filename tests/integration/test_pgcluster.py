"""The tests' throwaway PostgreSQL (tests/pgcluster.py): unprivileged, socket
only, a database of its own per test, and nothing left behind, even when the
test run is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from pgcluster import PgCluster, start_cluster

TESTS = Path(__file__).resolve().parents[1]


async def _fetch(cluster: PgCluster, database: str, sql: str):
    conn = await asyncpg.connect(**cluster.connect_args(database))
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_server_runs_unprivileged_in_its_own_folder_without_tcp(pg_cluster, pg_database):
    assert _uid_of(pg_cluster.pid) != 0
    assert _uid_of(pg_cluster.pid) == pg_cluster.owner_uid == pg_cluster.data.stat().st_uid
    assert pg_cluster.root.stat().st_mode & 0o077 == 0
    rows = asyncio.run(_fetch(pg_cluster, pg_database, "SHOW listen_addresses"))
    assert rows[0][0] == ""


def test_each_test_database_starts_empty_and_is_its_own(pg_cluster, pg_database):
    asyncio.run(_fetch(pg_cluster, pg_database, "CREATE TABLE t AS SELECT 1 AS x"))
    other = pg_cluster.create_database()
    try:
        tables = asyncio.run(_fetch(pg_cluster, other, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        assert tables == []
        assert [r[0] for r in asyncio.run(_fetch(pg_cluster, pg_database, "SELECT x FROM t"))] == [1]
    finally:
        pg_cluster.drop_database(other)
    names = asyncio.run(_fetch(pg_cluster, "postgres", "SELECT datname FROM pg_database"))
    assert other not in {r[0] for r in names}


def test_stopping_ends_the_server_and_removes_its_folder(pg_cluster):
    cluster = start_cluster()
    pid = cluster.pid
    assert _alive(pid) and cluster.root.is_dir()
    cluster.stop()
    assert not _alive(pid)
    assert not cluster.root.exists()


def test_a_killed_test_run_takes_its_server_down_with_it(pg_cluster):
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; sys.path.insert(0, sys.argv[1]); from pgcluster import start_cluster;"
         "c = start_cluster(); print(c.pid, c.root, flush=True); time.sleep(600)", str(TESTS)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        pid_text, root = child.stdout.readline().split()
        pid = int(pid_text)
        assert _alive(pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not _alive(pid)
    finally:
        subprocess.run(["rm", "-rf", root], check=False)
