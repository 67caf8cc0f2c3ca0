"""The hourly upkeep of a shared store (server/operations/upkeep.py).

Tables rewritten in key order (``Store.reorder``): on PostgreSQL a copy of
the files then no longer shows which report came first, nor rows deleted
since; a table in use is skipped, not waited for; one node does it at a
time. SQLite keeps its tables so already and does nothing. The shared blob
folder's orphans go once no node can still be working on them."""

from __future__ import annotations

import asyncio
import os
import secrets
import time

import asyncpg

from crypto.encoding import new_item_id
from server.operations.upkeep import reorder_once, sweep_once
from server.storage.blobstore import BlobStore
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


def test_the_shared_blob_folder_loses_only_what_no_node_can_still_be_writing(pg_cluster, pg_database, tmp_path):
    """A dead upload's temp file (untouched for a day) and an unnamed blob renamed into place
    over an hour ago go; a growing upload, a fresh unnamed blob and every committed blob stay."""

    async def run():
        from server.storage.postgresql import open_store

        args = pg_cluster.connect_args(pg_database)
        store, other = await open_store(**args), await open_store(**args)
        in_two_hours = BlobStore(tmp_path / "blobs", clock=lambda: time.time() + 2 * 3600)
        in_two_hours.prepare()
        try:
            await _fill(store)
            committed = await store.item_ids()
            for item_id in committed:
                in_two_hours.path(item_id).parent.mkdir(exist_ok=True)
                in_two_hours.path(item_id).write_bytes(b"sealed")
            orphan = in_two_hours.path(new_item_id())
            orphan.parent.mkdir(exist_ok=True)
            orphan.write_bytes(b"renamed into place, its row never committed")
            dead, growing = in_two_hours.tmp / "dead.part", in_two_hours.tmp / "growing.part"
            dead.write_bytes(b"killed mid-upload")
            long_ago = time.time() - 2 * 86_400
            os.utime(dead, (long_ago, long_ago))
            growing.write_bytes(b"still arriving")
            async with other.exclusive("sweep-blobs"):
                assert await sweep_once(store, in_two_hours) is None  # another node is at it
            assert await sweep_once(store, in_two_hours) == 2
            assert not orphan.exists() and not dead.exists() and growing.exists()
            assert all(in_two_hours.path(i).exists() for i in committed)
            fresh = BlobStore(tmp_path / "blobs")  # now: the same folder, an unnamed blob just renamed
            late = fresh.path(new_item_id())
            late.parent.mkdir(exist_ok=True)
            late.write_bytes(b"another node's, about to commit")
            assert await sweep_once(store, fresh) == 0 and late.exists()
        finally:
            await other.close()
            await store.close()

    asyncio.run(run())
