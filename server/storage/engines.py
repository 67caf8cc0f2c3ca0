"""What the store asks of a database engine (docs/storage.md), and SQLite's.

``Store`` writes its queries once, with ``?`` placeholders; an engine runs
them: reads, and write transactions through a ``Tx``. Rows are mappings that
also index by position (``sqlite3.Row``, ``asyncpg.Record``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, AsyncContextManager, AsyncIterator, Protocol, Sequence

import aiosqlite

from server.errors import Conflict, DiskFull, StoreError

MIGRATIONS = "server.storage.migrations"

Row = Any  # sqlite3.Row or asyncpg.Record: row["name"], row[0], dict(row)


def migrations(package: str = MIGRATIONS) -> list[tuple[int, str]]:
    """The numbered scripts of a migrations package (SQLite's by default), in order."""
    found = []
    for entry in resources.files(package).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


@dataclass(frozen=True)
class Table:
    """One table of the schema, as an engine's catalog describes it (for copying a store)."""

    name: str
    columns: tuple[str, ...]
    # Other tables this one's foreign keys point to: they are copied first.
    parents: frozenset[str] = frozenset()
    # Foreign keys into this same table, as (column, referenced column): items.parent_id.
    self_refs: tuple[tuple[str, str], ...] = ()


class Tx(Protocol):
    """One open write transaction."""

    async def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...


class Engine(Protocol):
    # True when other processes (other nodes) may use the same database at once
    shared: bool

    def transaction(self) -> AsyncContextManager[Tx]: ...

    def exclusive(self, name: str) -> AsyncContextManager[bool]:
        """Hold the deployment-wide lock ``name`` while the block runs, if no other
        process holds it: yields False (at once, without waiting) when one does."""

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    async def statement(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """One write statement committed on its own, outside any transaction: its
        ``RETURNING`` rows, if any. On PostgreSQL it runs at READ COMMITTED, so a
        statement that is atomic by itself (an upsert, a conditional update or
        delete) never fails because another node wrote the same row meanwhile."""

    async def close(self) -> None: ...

    async def reorder(self) -> list[str]:
        """Rewrite the tables whose files keep rows in the order they were written so
        that they hold them in key order (random ids) and no deleted rows; the names
        of the tables rewritten. A table in use is left for the next round."""

    # Copying a whole store (store.Transfer: wbs migrate-store, wbs backup) -----------------

    # What an INSERT says between its column list and VALUES to write the values it is
    # given into identity columns too (the audit's seq).
    keep_ids: str

    def snapshot(self) -> AsyncContextManager[Tx]:
        """A read-only transaction that sees one moment of the database throughout."""

    async def tables(self) -> list[Table]:
        """The schema's tables (the engine's own bookkeeping left out), in no set order."""

    async def schema_version(self) -> int:
        """The number of the last migration applied."""

    async def after_copy(self, db: Tx, table: Table) -> None:
        """After rows were written with their own ids: the next id comes after the largest."""


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        cur = await self._conn.execute(sql, args)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        async with self._conn.execute(sql, args) as cur:
            return list(await cur.fetchall())


class SqliteEngine:
    """SQLite through aiosqlite, WAL. One connection, one lock: every operation holds
    the lock for its statements (a transaction included), so coroutines never see
    each other's half-done work."""

    shared = False  # one process owns a data folder's database
    keep_ids = ""  # SQLite writes a given seq as it is, and AUTOINCREMENT moves past it

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._held: set[str] = set()

    @classmethod
    async def open(cls, path: Path) -> "SqliteEngine":
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA secure_delete=ON",
            "PRAGMA busy_timeout=10000",
        ):
            await conn.execute(pragma)
        engine = cls(conn)
        await engine._migrate()
        return engine

    async def close(self) -> None:
        await self._conn.close()

    async def _migrate(self) -> None:
        async with self._lock:
            version = (await (await self._conn.execute("PRAGMA user_version")).fetchone())[0]
            for number, script in migrations():
                if number <= version:
                    continue
                await self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
                )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction. A full disk is ``DiskFull``, a refused constraint
        ``Conflict``; whatever failed, no transaction stays open (SQLite may have
        rolled it back already), so the next write works as soon as there is room again."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteTx(self._conn)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        await self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"the database refused the change: {exc}") from None
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                    raise DiskFull() from None
                raise

    async def fetch(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        async with self._lock:
            async with self._conn.execute(sql, args) as cur:
                return list(await cur.fetchall())

    async def statement(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        async with self.transaction() as db:
            return await db.fetch(sql, args)

    async def reorder(self) -> list[str]:
        """Nothing to do: the tables are ``WITHOUT ROWID``, stored in key order, and
        ``secure_delete`` overwrites deleted rows (the audit's order is its ``seq``)."""
        return []

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """Within this process only: no other process opens this database."""
        if name in self._held:
            yield False
            return
        self._held.add(name)
        try:
            yield True
        finally:
            self._held.discard(name)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """A deferred read transaction: in WAL mode it reads one moment from its first
        statement on, while other processes may go on writing."""
        async with self._lock:
            await self._conn.execute("BEGIN")
            try:
                yield _SqliteTx(self._conn)
            finally:
                if self._conn.in_transaction:
                    await self._conn.execute("ROLLBACK")

    async def tables(self) -> list[Table]:
        async with self._lock:
            names = [r[0] for r in await self._conn.execute_fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                " ORDER BY name")]
            found = []
            for name in names:
                columns = tuple(r["name"] for r in await self._conn.execute_fetchall(
                    "SELECT name FROM pragma_table_info(?) ORDER BY cid", (name,)))
                keys = await self._conn.execute_fetchall(
                    'SELECT "table", "from", "to" FROM pragma_foreign_key_list(?)', (name,))
                found.append(Table(
                    name, columns,
                    frozenset(r[0] for r in keys if r[0] != name),
                    tuple((r[1], r[2]) for r in keys if r[0] == name),
                ))
            return found

    async def schema_version(self) -> int:
        async with self._lock:
            return (await self._conn.execute_fetchall("PRAGMA user_version"))[0][0]

    async def after_copy(self, db: Tx, table: Table) -> None:
        """Nothing to do: AUTOINCREMENT remembers the largest seq written, given or not."""
