"""SQLite's and PostgreSQL's migrations are twins (docs/storage.md): the same
files, the same tables, columns, keys and indexes, and the same rows refused
and deleted. PostgreSQL is the tests' throwaway cluster (tests/pgcluster.py)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from importlib import resources

import asyncpg
import pytest

from server.storage import postgresql
from server.storage.engines import MIGRATIONS, migrations
from server.storage.store import Store

# The newest migration's number: what a migrated database's version is.
LATEST = migrations(postgresql.MIGRATIONS)[-1][0]
PG_TYPES = {"TEXT": "text", "BLOB": "bytea", "INTEGER": "bigint"}
# What a rule's refusal raises: a constraint, or the audit log's trigger.
PG_REFUSALS = (asyncpg.IntegrityConstraintViolationError, asyncpg.RaiseError)


def _pg(sql: str) -> str:
    """SQLite's blob literal x'01' as PostgreSQL's bytea literal '\\x01'."""
    return re.sub(r"(?<![\w'])x'([0-9a-f]*)'", r"'\\x\1'", sql)


def _names(package: str) -> set[str]:
    return {e.name for e in resources.files(package).iterdir() if e.name.endswith(".sql")}


def _sqlite(tmp_path) -> sqlite3.Connection:
    path = tmp_path / "wbs.sqlite3"

    async def made() -> None:
        await (await Store.open(path)).close()

    asyncio.run(made())
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _sqlite_schema(db: sqlite3.Connection) -> dict[str, object]:
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    columns, indexes, keys = {}, set(), set()
    for t in tables:
        columns[t] = sorted((name, PG_TYPES[kind], bool(notnull) or pk > 0, pk)
                            for _, name, kind, notnull, _, pk in db.execute(f"PRAGMA table_info({t})"))
        for _, name, unique, origin, _ in db.execute(f"PRAGMA index_list({t})"):
            if origin != "pk":
                cols = tuple(r[2] for r in db.execute(f"PRAGMA index_info({name})"))
                indexes.add((t, cols, bool(unique)))
        for row in db.execute(f"PRAGMA foreign_key_list({t})"):
            keys.add((t, row[3], row[2], row[4], row[6]))
    return {"columns": columns, "indexes": indexes, "foreign keys": keys}


async def _pg_schema(conn: asyncpg.Connection) -> dict[str, object]:
    columns: dict[str, list] = {}
    primary = {(r["t"], r["c"]): r["n"] for r in await conn.fetch(
        "SELECT i.indrelid::regclass::text AS t, a.attname AS c, k.n FROM pg_index i,"
        " unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attnum = k.attnum WHERE i.indisprimary AND a.attrelid = i.indrelid"
        " AND NOT i.indrelid::regclass::text = ANY($1::text[])", list(postgresql.BOOKKEEPING_TABLES))}
    for r in await conn.fetch(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' AND NOT table_name = ANY($1::text[])", list(postgresql.BOOKKEEPING_TABLES)):
        columns.setdefault(r["table_name"], []).append(
            (r["column_name"], r["data_type"], r["is_nullable"] == "NO", primary.get((r["table_name"], r["column_name"]), 0)))
    indexes = set()
    for r in await conn.fetch(
        "SELECT i.indrelid::regclass::text AS t, i.indisunique AS u,"
        " array_agg(a.attname ORDER BY k.n) AS cols FROM pg_index i,"
        " unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attnum = k.attnum WHERE NOT i.indisprimary AND a.attrelid = i.indrelid"
        " AND i.indrelid::regclass::text IN (SELECT tablename FROM pg_tables WHERE schemaname = 'public')"
        " GROUP BY i.indexrelid, i.indrelid, i.indisunique"):
        indexes.add((r["t"], tuple(r["cols"]), r["u"]))
    keys = set()
    for r in await conn.fetch(
        "SELECT c.conrelid::regclass::text AS t, a.attname AS c, c.confrelid::regclass::text AS ft,"
        " fa.attname AS fc, c.confdeltype::text AS del FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
        " JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]"
        " WHERE c.contype = 'f'"):
        keys.add((r["t"], r["c"], r["ft"], r["fc"], {"c": "CASCADE", "a": "NO ACTION"}[r["del"]]))
    return {"columns": {t: sorted(c) for t, c in columns.items()}, "indexes": indexes, "foreign keys": keys}


async def _migrated(pg_cluster, database: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(**pg_cluster.connect_args(database))
    assert await postgresql.migrate(conn) == LATEST
    return conn


def test_every_migration_has_its_postgresql_twin():
    assert _names(MIGRATIONS) == _names(postgresql.MIGRATIONS)


def test_both_engines_hold_the_same_tables_columns_keys_and_indexes(tmp_path, pg_cluster, pg_database):
    lite = _sqlite_schema(_sqlite(tmp_path))

    async def go():
        conn = await _migrated(pg_cluster, pg_database)
        try:
            return await _pg_schema(conn)
        finally:
            await conn.close()

    pg = asyncio.run(go())
    assert sorted(lite["columns"]) == sorted(pg["columns"])
    for table in lite["columns"]:
        assert pg["columns"][table] == lite["columns"][table], table
    assert pg["indexes"] == lite["indexes"]
    assert pg["foreign keys"] == lite["foreign keys"]


SETUP = [
    "INSERT INTO accounts VALUES ('a1', x'01', x'02', 3, 65536, 1, x'03', '2026-11-28')",
    "INSERT INTO reports VALUES ('R1', 'a1', 'diterima', '2026-11-28', '2026-11-28')",
    "INSERT INTO status_history VALUES ('R1', 0, 'diterima', '2026-11-28')",
    "INSERT INTO items (item_id, report_code, position, kind, author, parent_id, size, sha256, created_day)"
    " VALUES ('i1', 'R1', 0, 'report', 'reporter', NULL, 4096, 'ab', '2026-11-28')",
    "INSERT INTO items (item_id, report_code, position, kind, author, parent_id, size, sha256, created_day)"
    " VALUES ('i2', 'R1', 1, 'attachment', 'reporter', 'i1', 8192, 'cd', '2026-11-28')",
    "INSERT INTO seen VALUES ('R1', 1)",
    "INSERT INTO audit (day, actor, action) VALUES ('2026-11-28', 'kepala', 'login')",
]
REFUSED = [
    "INSERT INTO items (item_id, report_code, position, kind, author, size, sha256, created_day)"
    " VALUES ('i3', 'R1', 2, 'note', 'reporter', 1, 'ef', '2026-11-28')",
    "INSERT INTO items (item_id, report_code, position, kind, author, size, sha256, created_day)"
    " VALUES ('i3', 'R1', 2, 'message', 'visitor', 1, 'ef', '2026-11-28')",
    "INSERT INTO items (item_id, report_code, position, kind, author, size, sha256, created_day)"
    " VALUES ('i3', 'R1', 1, 'message', 'reporter', 1, 'ef', '2026-11-28')",
    "INSERT INTO items (item_id, report_code, position, kind, author, size, sha256, created_day)"
    " VALUES ('i3', 'R9', 0, 'message', 'reporter', 1, 'ef', '2026-11-28')",
    "INSERT INTO staff (id, username, role, password_hash, totp_secret, created_day)"
    " VALUES ('s1', 'kepala', 'auditor', 'x', 'S', '2026-11-28')",
    "INSERT INTO seen VALUES ('R1', -1)",
    "INSERT INTO alert_state (id) VALUES (2)",
    "INSERT INTO accounts VALUES ('a2', x'01', x'02', 3, 65536, 1, x'03', '2026-11-28')",
    "UPDATE audit SET actor = 'someone else'",
    "DELETE FROM audit",
]
COUNTS = ("SELECT (SELECT COUNT(*) FROM reports) + (SELECT COUNT(*) FROM items)"
          " + (SELECT COUNT(*) FROM status_history) + (SELECT COUNT(*) FROM seen)")


@pytest.mark.parametrize("statement", REFUSED)
def test_both_engines_refuse_the_same_rows(tmp_path, pg_cluster, pg_database, statement):
    lite = _sqlite(tmp_path)
    for sql in SETUP:
        lite.execute(sql)
    with pytest.raises(sqlite3.IntegrityError):
        lite.execute(statement)

    async def go():
        conn = await _migrated(pg_cluster, pg_database)
        try:
            for sql in SETUP:
                await conn.execute(_pg(sql))
            with pytest.raises(PG_REFUSALS):
                await conn.execute(_pg(statement))
        finally:
            await conn.close()

    asyncio.run(go())


def test_deleting_an_account_deletes_its_reports_and_all_they_hold_on_both(tmp_path, pg_cluster, pg_database):
    lite = _sqlite(tmp_path)
    for sql in SETUP:
        lite.execute(sql)
    assert lite.execute(COUNTS).fetchone()[0] == 5
    lite.execute("DELETE FROM accounts WHERE id = 'a1'")
    assert lite.execute(COUNTS).fetchone()[0] == 0

    async def go():
        conn = await _migrated(pg_cluster, pg_database)
        try:
            for sql in SETUP:
                await conn.execute(_pg(sql))
            assert await conn.fetchval(COUNTS) == 5
            await conn.execute("DELETE FROM accounts WHERE id = 'a1'")
            assert await conn.fetchval(COUNTS) == 0
            assert await conn.fetchval("SELECT COUNT(*) FROM audit") == 1
        finally:
            await conn.close()

    asyncio.run(go())


def test_nodes_starting_together_migrate_once(pg_cluster, pg_database):
    async def go():
        conns = [await asyncpg.connect(**pg_cluster.connect_args(pg_database)) for _ in range(3)]
        try:
            versions = await asyncio.gather(*(postgresql.migrate(c) for c in conns))
            assert versions == [LATEST] * 3
            assert await postgresql.migrate(conns[0]) == LATEST
            assert await conns[0].fetchval("SELECT COUNT(*) FROM schema_version") == 1
        finally:
            for c in conns:
                await c.close()

    asyncio.run(go())
