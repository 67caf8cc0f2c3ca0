"""A throwaway PostgreSQL cluster for one test run.

``initdb`` in a fresh temporary folder, then ``postgres`` listening on a Unix
socket in that folder only (no TCP), fsync off: nothing here is meant to
survive the run. PostgreSQL refuses to run as root, and CI runs as root, so
there the server runs as ``nobody`` (through ``setpriv``) in a folder owned
by it; anyone else runs it as themselves. Clients connect over the socket as
the cluster's superuser ``wbs`` (trust authentication: the socket's folder is
open to its owner only, and root). If the run is killed before its teardown,
the server still gets a fast shutdown (``setpriv --pdeathsig``).

Each test gets its own database, made by copying an empty template
(``CREATE DATABASE ... TEMPLATE``), which is cheap; the session's cluster is
stopped and its folder removed at the end of the run, whatever failed.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from skips import skip_or_fail

SUPERUSER = "wbs"
TEMPLATE = "wbs_template"
UNPRIVILEGED = "nobody"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class ClusterError(RuntimeError):
    pass


def server_bindir() -> Path | None:
    """The newest Debian PostgreSQL server installed (``initdb`` and ``postgres``), or None.

    The client (``psql``) alone is not enough: it comes without a server.
    """
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = Path(initdb).parent
        version = bindir.parent.name
        if version.isdigit() and (bindir / "postgres").is_file():
            found.append((int(version), bindir))
    return max(found)[1] if found else None


class PgCluster:
    """One PostgreSQL server in a temporary folder; ``start`` then ``stop``."""

    def __init__(self, bindir: Path, *, durable: bool = False, max_connections: int = 50) -> None:
        """``durable``: fsync and synchronous commits on, as a real deployment runs (for benchmarks)."""
        self.bindir = bindir
        self.durable = durable
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="wbs-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.port = 5432  # only names the socket file: nothing listens on TCP
        self._process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)
        self._as_user = ["setpriv", "--pdeathsig=INT"] if shutil.which("setpriv") else []
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                             "--pdeathsig=INT"]
        os.chmod(self.root, 0o700)

    @property
    def owner_uid(self) -> int:
        return self.root.stat().st_uid

    def url(self, database: str) -> str:
        """A ``postgresql://`` URL for ``database`` over the cluster's Unix socket."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def connect_args(self, database: str) -> dict[str, object]:
        return {"host": str(self.socket_dir), "port": self.port, "user": SUPERUSER, "database": database}

    def start(self) -> None:
        log = self.root / "initdb.log"
        with open(log, "wb") as out:
            done = subprocess.run(
                [*self._as_user, str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                 "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                cwd=self.root, stdout=out, stderr=subprocess.STDOUT, check=False,
            )
        if done.returncode != 0:
            raise ClusterError(f"initdb failed ({done.returncode}): {log.read_text(errors='replace')[-2000:]}")
        server_log = open(self.root / "postgres.log", "wb")
        try:
            self._process = subprocess.Popen(
                [*self._as_user, str(self.bindir / "postgres"), "-D", str(self.data),
                 "-k", str(self.socket_dir), "-p", str(self.port),
                 "-c", "listen_addresses=", "-c", "unix_socket_permissions=0700",
                 *([] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off",
                                            "-c", "full_page_writes=off"]),
                 "-c", f"max_connections={self.max_connections}", "-c", "shared_buffers=16MB"],
                cwd=self.root, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            server_log.close()
        self._wait_ready()
        asyncio.run(self._execute("postgres", f"CREATE DATABASE {TEMPLATE}"))

    def _wait_ready(self) -> None:
        """Ready when ``postmaster.pid``'s status line says so (PostgreSQL 10 and later)."""
        pidfile = self.data / "postmaster.pid"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise ClusterError(f"postgres exited ({self._process.returncode}): {self.server_log()}")
            try:
                lines = pidfile.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
            time.sleep(0.05)
        raise ClusterError(f"postgres not ready after {START_TIMEOUT:.0f} s: {self.server_log()}")

    def server_log(self) -> str:
        try:
            return (self.root / "postgres.log").read_text(errors="replace")[-2000:]
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def _execute(self, database: str, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(**self.connect_args(database))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def create_database(self) -> str:
        """A new empty database, copied from the template; returns its name."""
        name = f"wbs_test_{next(self._names)}"
        asyncio.run(self._execute("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        return name

    def drop_database(self, name: str) -> None:
        asyncio.run(self._execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def stop(self) -> None:
        """Fast shutdown (SIGINT), SIGKILL if it hangs, then the folder goes."""
        try:
            if self._process is not None and self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)
                try:
                    self._process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    os.killpg(self._process.pid, signal.SIGKILL)
                    self._process.wait()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    """A running cluster, or a skip (a failure under CI) when PostgreSQL is not installed."""
    bindir = server_bindir()
    if bindir is None:
        skip_or_fail("PostgreSQL's server is not installed (apt-get install postgresql)")
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        skip_or_fail("asyncpg is not installed (pip install -e '.[test]')")
    return started(PgCluster(bindir))


def started(cluster: PgCluster) -> PgCluster:
    """``cluster``, started; its folder removed if it does not start."""
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(pg_cluster: PgCluster):
    """The name of an empty database of its own for one test, dropped after it."""
    name = pg_cluster.create_database()
    try:
        yield name
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request, tmp_path):
    """An async function opening the store under test, once per engine: SQLite in
    ``tmp_path``, or PostgreSQL in a database of the test's own. Opening it again
    opens the same database."""
    from datetime import timezone

    from server.storage.store import Store

    if request.param == "sqlite":
        async def opener(zone=timezone.utc):
            return await Store.open(tmp_path / "wbs.sqlite3", zone)
        return opener
    from server.storage.postgresql import open_store as open_pg

    cluster = request.getfixturevalue("pg_cluster")
    database = request.getfixturevalue("pg_database")

    async def opener(zone=timezone.utc):
        return await open_pg(zone=zone, **cluster.connect_args(database))
    return opener
