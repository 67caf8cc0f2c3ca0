"""Tables rewritten in key order (``Store.reorder``, server/operations/reorder.py):
on PostgreSQL a copy of the files then no longer shows which report came first,
nor rows deleted since; a table in use is skipped, not waited for; one node
does it at a time. SQLite keeps its tables so already and does nothing."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from crypto.encoding import new_item_id
from server.operations.reorder import reorder_once
from server.storage.store import Account, NewItem, Store

DAY = "2026-12-02"
# Codes in the reverse of their key order, as reports may arrive.
CODES = [f"WBS-{n:04d}" for n in range(40, 0, -1)]


async def _fill(store: Store) -> None:
    account = Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                      secrets.token_bytes(32), DAY)
    for n, code in enumerate(CODES):
        item = NewItem(new_item_id(), "report", "reporter", None, 4096, "0" * 64)
        await store.create_report(account=account if n == 0 else None, account_id=account.id, code=code,
                                  status="received", day=DAY, items=[item])


async def _physical_order(conn: asyncpg.Connection) -> list[str]:
    return [r[0] for r in await conn.fetch("SELECT code FROM reports ORDER BY ctid")]


async def _dead_rows_left(conn: asyncpg.Connection, code: str) -> bool:
    """Whether the table's file still holds a deleted row (its page read raw, as a thief would)."""
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    pages = await conn.fetchval("SELECT pg_relation_size('reports') / current_setting('block_size')::int")
    needle = code.encode()
    for page in range(pages):
        raw = await conn.fetchval("SELECT get_raw_page('reports', $1)", page)
        if needle in raw:
            return True
    return False


def test_reorder_leaves_rows_in_key_order_and_no_deleted_row(pg_cluster, pg_database):
    async def run():
        from server.storage.postgresql import open_store

        args = pg_cluster.connect_args(pg_database)
        store = await open_store(**args)
        conn = await asyncpg.connect(**args)
        try:
            await _fill(store)
            assert await _physical_order(conn) == CODES  # as they came
            await conn.execute("DELETE FROM reports WHERE code = 'WBS-0007'")
            assert await _dead_rows_left(conn, "WBS-0007")
            rewritten = await reorder_once(store)
            assert rewritten is not None and {"reports", "items", "accounts", "status_history"} <= set(rewritten)
            expected = sorted(c for c in CODES if c != "WBS-0007")
            assert await _physical_order(conn) == expected
            assert not await _dead_rows_left(conn, "WBS-0007")
        finally:
            await conn.close()
            await store.close()

    asyncio.run(run())


def test_a_table_in_use_is_skipped_and_one_node_reorders_at_a_time(pg_cluster, pg_database):
    async def run():
        from server.storage.postgresql import open_store

        args = pg_cluster.connect_args(pg_database)
        first, second = await open_store(**args), await open_store(**args)
        reader = await asyncpg.connect(**args)
        try:
            await _fill(first)
            async with reader.transaction():  # a long request reading the reports
                await reader.fetch("SELECT code FROM reports")
                rewritten = await first.reorder()
                assert "reports" not in rewritten and "items" in rewritten
            async with first.exclusive("reorder-tables"):
                assert await reorder_once(second) is None
            assert "reports" in (await reorder_once(second) or [])
        finally:
            await reader.close()
            await first.close()
            await second.close()

    asyncio.run(run())


def test_sqlite_keeps_its_tables_in_key_order_itself(tmp_path):
    async def run():
        store = await Store.open(tmp_path / "wbs.sqlite3")
        try:
            await _fill(store)
            assert await reorder_once(store) == []
        finally:
            await store.close()

    asyncio.run(run())
