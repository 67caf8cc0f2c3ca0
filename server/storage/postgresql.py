"""The PostgreSQL engine (docs/storage.md): asyncpg, the numbered migrations of
``migrations/postgresql/`` (twins of SQLite's) applied once, and the store's
``?`` placeholders numbered as PostgreSQL wants them.

The server opens it when ``wbs.toml`` has a ``database_url``
(``server.storage.opening``). A tenant sharing the top-level database lives
in a schema of its own: its connections' ``search_path`` is that schema
alone, and migrating creates it. What still differs from SQLite is listed in
docs/storage.md ("Where the PostgreSQL engine stands").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timezone, tzinfo
from functools import lru_cache
from typing import AsyncIterator, Iterator, Sequence

import asyncpg

from server.errors import Conflict, DiskFull, StoreError
from server.storage.engines import Row, Table, Tx, migrations
from server.storage.store import AlertState, Store

MIGRATIONS = "server.storage.migrations.postgresql"
# pg_advisory_xact_lock's key while migrating: nodes starting together migrate once.
MIGRATION_LOCK = 0x5742_5300_0000_0001
POOL_SIZE = 4
# A pool keeps no connection at rest: each tenant's store has a pool of its own, and hundreds of
# tenants' idle connections would use up the server's max_connections (docs/performance.md).
POOL_IDLE_SECONDS = 60.0
# PostgreSQL-only tables beside the migrated ones: the version applied, and the instance secret's check value
BOOKKEEPING_TABLES = ("schema_version", "instance_check")
# How long a table's rewrite in key order waits for the transactions using it before it skips a round.
REORDER_LOCK_TIMEOUT = "2s"
INSTANCE_CHECK_LABEL = b"wbs/1 instance secret check"
# The schemas the server names: tenant_<slug> (server.tenants), nothing that needs more quoting than "..."
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")


def quoted_schema(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise StoreError(f"{schema!r} is not a schema name the server makes")
    return f'"{schema}"'


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """The store's ``?`` placeholders as ``$1, $2, ...``, leaving quoted literals alone."""
    out, count, quoted = [], 0, False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            count += 1
            out.append(f"${count}")
        else:
            out.append(ch)
    return "".join(out)


async def migrate(conn: asyncpg.Connection, schema: str = "") -> int:
    """Apply the migrations this database (or ``schema``, made if missing, which the connection's
    ``search_path`` names) lacks, all in one transaction under an advisory lock (PostgreSQL's DDL is
    transactional); returns the version now."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            if schema:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted_schema(schema)}")
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            await conn.execute("CREATE TABLE IF NOT EXISTS instance_check"
                               " (id BIGINT PRIMARY KEY CHECK (id = 1), mac BYTEA NOT NULL)")
            version = await conn.fetchval("SELECT version FROM schema_version")
            if version is None:
                version = 0
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            for number, script in migrations(MIGRATIONS):
                if number > version:
                    await conn.execute(script)
                    version = number
            await conn.execute("UPDATE schema_version SET version = $1", version)
            return version
    except asyncpg.PostgresError as exc:
        raise StoreError(f"cannot migrate the PostgreSQL database: {_one_line(exc)}") from None


def instance_check(secret: bytes) -> bytes:
    """A check value of the instance secret: a keyed BLAKE2b of a fixed label, which tells whether two
    nodes hold the same secret and nothing about the secret itself."""
    return hashlib.blake2b(INSTANCE_CHECK_LABEL, key=secret, digest_size=32).digest()


async def agree_on_instance(conn: asyncpg.Connection, secret: bytes, secret_name: str = "instance.secret") -> None:
    """Record the check value of this node's instance secret if none is yet; refuse a node whose
    secret differs from the one recorded. Every node must share the secret: account lookups are keyed
    with it, so a codename made through one node would not log in through another."""
    mine = instance_check(secret)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO instance_check (id, mac) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                               mine)
            recorded = await conn.fetchval("SELECT mac FROM instance_check WHERE id = 1")
    except asyncpg.PostgresError as exc:
        raise StoreError(f"cannot check the instance secret in PostgreSQL: {_one_line(exc)}") from None
    if not hmac.compare_digest(bytes(recorded), mine):
        raise StoreError(f"this node's {secret_name} is not the one this database was first used with: copy"
                         f" {secret_name} from the first node to this one (codenames made through one node must"
                         " log in through every node)")


@contextmanager
def _typed_errors() -> Iterator[None]:
    """A write's driver errors as the project's: a refused constraint (or a trigger's refusal) is
    ``Conflict``, named by its constraint, never by the row's values (PostgreSQL's detail line quotes
    them); a full disk is ``DiskFull``."""
    try:
        yield
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.RaiseError) as exc:
        named = getattr(exc, "constraint_name", None) or _one_line(exc)
        raise Conflict(f"the database refused the change: {named}") from None
    except asyncpg.DiskFullError:
        raise DiskFull() from None


class _PostgresTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        status = await self._conn.execute(numbered(sql), *args)
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            await self._conn.executemany(numbered(sql), rows)

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return await self._conn.fetch(numbered(sql), *args)


class PostgresEngine:
    """A pool of connections. Writes are READ COMMITTED transactions, one at a time
    per process (as with SQLite). Between nodes, the store's read-then-write steps
    stay correct because each locks the row it depends on (the report, the account)
    before it reads, and rows of several reports are locked in code order: a writer
    waits for the other node's transaction instead of failing and being retried
    (docs/storage.md, "Transactions and locking")."""

    shared = True  # every node of a deployment uses the same database
    keep_ids = "OVERRIDING SYSTEM VALUE"  # the audit's seq is GENERATED ALWAYS

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, dsn: str | None = None, *, schema: str = "", size: int = POOL_SIZE,
                      **connect: object) -> "PostgresEngine":
        """A pool on ``dsn`` (or the ``connect`` arguments), as it is: nothing migrated or written. With
        ``schema``, every connection's ``search_path`` is that schema alone, so every query stays inside it."""
        if schema:
            settings = dict(connect.pop("server_settings", None) or {})  # type: ignore[call-overload]
            connect["server_settings"] = {**settings, "search_path": quoted_schema(schema)}
        pool = None
        try:
            pool = await asyncpg.create_pool(dsn, min_size=0, max_size=size,
                                             max_inactive_connection_lifetime=POOL_IDLE_SECONDS, **connect)
            async with pool.acquire():  # a pool of no connections at rest connects only now: fail here, clearly
                pass
            return cls(pool)
        except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            if pool is not None:
                await pool.close()
            raise StoreError(f"cannot connect to PostgreSQL: {_one_line(exc)}") from None

    @classmethod
    async def open(cls, dsn: str | None = None, *, schema: str = "", instance_secret: bytes | None = None,
                   secret_name: str = "instance.secret", **connect: object) -> "PostgresEngine":
        """``connect``, then migrate (``schema`` made if missing); with ``instance_secret``, a node whose
        secret is not the deployment's is refused (``agree_on_instance``)."""
        engine = await cls.connect(dsn, schema=schema, **connect)
        try:
            async with engine._pool.acquire() as conn:
                await migrate(conn, schema)
                if instance_secret is not None:
                    await agree_on_instance(conn, instance_secret, secret_name)
        except BaseException:
            await engine.close()
            raise
        return engine

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock, self._pool.acquire() as conn:
            with _typed_errors():
                async with conn.transaction(isolation="read_committed"):
                    yield _PostgresTx(conn)

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return await self._pool.fetch(numbered(sql), *args)

    async def statement(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """A transaction of its own at READ COMMITTED, whatever the database's default,
        and without the process's write lock: live state (sessions, throttles)
        written on every login does not queue behind the store's transactions."""
        with _typed_errors():
            async with self._pool.acquire() as conn, conn.transaction(isolation="read_committed"):
                return await conn.fetch(numbered(sql), *args)

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """A session-level advisory lock on ``name`` within the current schema, held on a
        connection of its own while the block runs: one node of the deployment gets it,
        the others get False at once. A node that dies loses its connection, and the lock."""
        async with self._pool.acquire() as conn:
            key = await conn.fetchval("SELECT hashtextextended(current_schema() || '/' || $1, 0)", name)
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
            try:
                yield bool(got)
            finally:
                if got:
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)

    async def reorder(self) -> list[str]:
        """``CLUSTER`` every table of the schema on its primary key: PostgreSQL appends rows
        in the order they come and leaves deleted ones in place until ``VACUUM``; a
        rewrite in key order (random ids) leaves neither, as SQLite's tables keep them.

        ``CLUSTER`` locks its table against every reader while it rewrites it
        (milliseconds for tables of metadata); one that waits more than
        ``REORDER_LOCK_TIMEOUT`` for a transaction using the table gives up, and
        the table waits for the next round, so requests never queue behind it.
        """
        done = []
        async with self._pool.acquire() as conn:
            tables = await conn.fetch(
                "SELECT t.relname AS name, i.relname AS key FROM pg_index x"
                " JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid"
                " WHERE x.indisprimary AND t.relnamespace = current_schema()::regnamespace"
                " AND NOT t.relname = ANY($1::text[]) ORDER BY t.relname", list(BOOKKEEPING_TABLES))
            for table in tables:
                try:
                    async with conn.transaction():
                        await conn.execute(f"SET LOCAL lock_timeout = '{REORDER_LOCK_TIMEOUT}'")
                        await conn.execute(f'CLUSTER "{table["name"]}" USING "{table["key"]}"')
                except asyncpg.LockNotAvailableError:
                    continue
                done.append(table["name"])
        return done

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """REPEATABLE READ, read only: one moment for every statement, while nodes go on writing."""
        async with self._pool.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                yield _PostgresTx(conn)

    async def tables(self) -> list[Table]:
        names = [r[0] for r in await self._pool.fetch(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
            " AND c.relkind = 'r' AND NOT c.relname = ANY($1::text[]) ORDER BY c.relname",
            list(BOOKKEEPING_TABLES))]
        columns: dict[str, list[str]] = {name: [] for name in names}
        for r in await self._pool.fetch(
                "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
                " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"):
            if r[0] in columns:
                columns[r[0]].append(r[1])
        keys = await self._pool.fetch(
            "SELECT child.relname AS child, parent.relname AS parent, a.attname AS col, pa.attname AS ref"
            " FROM pg_constraint k"
            " JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid"
            " CROSS JOIN LATERAL unnest(k.conkey, k.confkey) AS pair(attnum, refnum)"
            " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = pair.attnum"
            " JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = pair.refnum"
            " WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace")
        return [
            Table(name, tuple(columns[name]),
                  frozenset(k["parent"] for k in keys if k["child"] == name and k["parent"] != name),
                  tuple((k["col"], k["ref"]) for k in keys if k["child"] == name == k["parent"]))
            for name in names
        ]

    async def schema_version(self) -> int:
        return int(await self._pool.fetchval("SELECT version FROM schema_version"))

    async def after_copy(self, db: Tx, table: Table) -> None:
        """Each identity column's sequence set to the largest value copied (left alone if none)."""
        for (column,) in await db.fetch(
                "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ?"
                " AND a.attidentity <> ''", (table.name,)):
            await db.fetch(f'SELECT setval(pg_get_serial_sequence(?, ?), (SELECT MAX("{column}") FROM "{table.name}"))',
                           (table.name, column))


@dataclass(frozen=True)
class Probe:
    """What ``wbs check`` learns from a PostgreSQL store without changing it."""

    version: int | None  # the schema version applied; None: no WBS tables there yet
    latest: int  # the version this code migrates to
    secret_agrees: bool | None  # None: no node has recorded its instance secret's check value yet
    alert_state: AlertState | None  # None: no digest table yet


async def probe(dsn: str, *, schema: str = "", instance_secret: bytes, zone: tzinfo = timezone.utc) -> Probe:
    """Connect, and read the schema version, the instance check and the digest's state: read only,
    nothing migrated or recorded (a ``StoreError`` when the server cannot be reached or read)."""
    engine = await PostgresEngine.connect(dsn, schema=schema, size=1)
    latest = migrations(MIGRATIONS)[-1][0]
    try:
        async def has(table: str) -> bool:
            return (await engine.fetch("SELECT to_regclass(?) IS NOT NULL", (table,)))[0][0]

        version = (await engine.fetch("SELECT version FROM schema_version"))[0][0] if await has("schema_version") \
            else None
        agrees = None
        if await has("instance_check"):
            rows = await engine.fetch("SELECT mac FROM instance_check WHERE id = 1")
            agrees = hmac.compare_digest(bytes(rows[0][0]), instance_check(instance_secret)) if rows else None
        state = await Store(engine, zone).alert_state() if await has("alert_state") else None
    except asyncpg.PostgresError as exc:
        raise StoreError(f"cannot read the PostgreSQL database: {_one_line(exc)}") from None
    finally:
        await engine.close()
    return Probe(version, latest, agrees, state)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


async def open_store(dsn: str | None = None, zone: tzinfo = timezone.utc, *, schema: str = "",
                     instance_secret: bytes | None = None, secret_name: str = "instance.secret",
                     **connect: object) -> Store:
    """A ``Store`` on PostgreSQL (in ``schema``, if given), migrated; ``instance_secret``: see ``PostgresEngine.open``."""
    return Store(await PostgresEngine.open(dsn, schema=schema, instance_secret=instance_secret,
                                           secret_name=secret_name, **connect), zone)
