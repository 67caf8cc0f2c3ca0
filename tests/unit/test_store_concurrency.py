"""Two nodes writing one report at once (PostgreSQL, READ COMMITTED): the store's
read-then-write steps lock the report first, so positions come out 0..n-1 with no
gap, no duplicate and no error; transactions touching several reports lock them in
code order, so they never deadlock. (SQLite's ``BEGIN IMMEDIATE`` serialises every
write of its one process: there is nothing to race there.)"""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from crypto.encoding import new_item_id
from server.errors import Conflict
from server.storage.postgresql import open_store
from server.storage.store import Account, NewItem, Retention, Store

DAY = "2026-11-28"
ROUNDS = 40


def _account() -> Account:
    return Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                   secrets.token_bytes(32), DAY)


def _item(kind: str = "message", author: str = "reporter") -> NewItem:
    return NewItem(new_item_id(), kind, author, None, 4096, "0" * 64)


async def _nodes(pg_cluster, pg_database) -> tuple[Store, Store]:
    connect = pg_cluster.connect_args(pg_database)
    return await open_store(**connect), await open_store(**connect)


async def _positions(store: Store, table: str, code: str) -> list[int]:
    return [r["position"] for r in await store._all(
        f"SELECT position FROM {table} WHERE report_code = ? ORDER BY position", (code,))]


def test_two_nodes_append_to_one_report_without_gaps_or_duplicates(pg_cluster, pg_database):
    async def run():
        one, two = await _nodes(pg_cluster, pg_database)
        try:
            account = _account()
            await one.create_report(account=account, account_id=account.id, code="WBS-A", status="received",
                                    day=DAY, items=[_item("report")])
            for n in range(ROUNDS):
                await asyncio.gather(
                    one.add_items("WBS-A", DAY, [_item(), _item("attachment")]),
                    two.add_items("WBS-A", DAY, [_item()]),
                    one.set_status("WBS-A", "verification", DAY),
                    two.status_change_with_audit("WBS-A", "investigation", DAY, "kepala"),
                    two.add_items_with_audit("WBS-A", DAY, [_item("reply", "keyholder")], "kepala", "reply"),
                )
            items = await _positions(one, "items", "WBS-A")
            statuses = await _positions(two, "status_history", "WBS-A")
            assert items == list(range(1 + 4 * ROUNDS))
            assert statuses == list(range(1 + 2 * ROUNDS))
        finally:
            await one.close()
            await two.close()

    asyncio.run(run())


def test_replies_to_several_reports_in_opposite_orders_do_not_deadlock(pg_cluster, pg_database):
    async def run():
        one, two = await _nodes(pg_cluster, pg_database)
        codes = [f"WBS-{c}" for c in "ABCD"]
        try:
            account = _account()
            await one.create_report(account=account, account_id=account.id, code=codes[0], status="received",
                                    day=DAY, items=[])
            for code in codes[1:]:
                await one.create_report(account=None, account_id=account.id, code=code, status="received",
                                        day=DAY, items=[])
            for n in range(ROUNDS):
                forward = [(code, _item("reply", "keyholder"), "verification") for code in codes]
                backward = [(code, _item("reply", "keyholder"), None) for code in reversed(codes)]
                await asyncio.gather(
                    one.import_replies(DAY, forward, [], bundle_id=f"f{n}"),
                    two.import_replies(DAY, backward, [], bundle_id=f"b{n}"),
                    one.add_items(codes[-1], DAY, [_item()]),
                )
            for code in codes:
                assert await _positions(one, "items", code) == list(range(2 * ROUNDS + (ROUNDS if code == codes[-1]
                                                                                         else 0)))
                assert await _positions(two, "status_history", code) == list(range(1 + ROUNDS))
        finally:
            await one.close()
            await two.close()

    asyncio.run(run())


def test_an_account_deleted_while_another_node_writes_leaves_no_item_behind(pg_cluster, pg_database):
    """Whatever commits first, the ids ``delete_account`` and ``purge_items`` return are every item
    they deleted: no blob is left that no row names, none is removed that a row still names."""
    async def run():
        one, two = await _nodes(pg_cluster, pg_database)
        try:
            for n in range(ROUNDS):
                account = _account()
                first, second, added = _item("report"), _item("report"), _item()
                await one.create_report(account=account, account_id=account.id, code=f"WBS-{n}A",
                                        status="closed_resolved", day=DAY, items=[first])
                deleted, created, appended, purged = await asyncio.gather(
                    Retention(one).delete_account(account.id, DAY),
                    two.create_report(account=None, account_id=account.id, code=f"WBS-{n}B", status="received",
                                      day=DAY, items=[second]),
                    two.add_items(f"WBS-{n}A", DAY, [added]),
                    Retention(two).purge_items(f"WBS-{n}A", DAY, "retention"),
                    return_exceptions=True,
                )
                assert not isinstance(deleted, BaseException) and not isinstance(purged, BaseException)
                # Writing to what is already gone fails (the report or account is no more); nothing else may.
                for result in (created, appended):
                    assert result is None or isinstance(result, Conflict), repr(result)
                written = {first.item_id} | {item.item_id for item, result in ((second, created), (added, appended))
                                             if result is None}
                assert written == set(deleted) | set(purged)
                assert await one.account(account.id) is None and not written & await one.item_ids()
        finally:
            await one.close()
            await two.close()

    asyncio.run(run())



async def _waiting(pg_cluster, pg_database, count: int) -> None:
    """Until ``count`` sessions of the database wait for a lock."""
    conn = await asyncpg.connect(**pg_cluster.connect_args(pg_database))
    try:
        for _ in range(500):
            if await conn.fetchval("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1"
                                   " AND wait_event_type = 'Lock'", pg_database) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"fewer than {count} session(s) waiting for a lock")
    finally:
        await conn.close()


def test_an_export_and_a_purge_of_one_case_do_not_deadlock(pg_cluster, pg_database):
    """The export marks items in id order, the purge deletes them in their order in the report, here the
    reverse. A third session holds the middle item until both wait for it: had the export locked items
    without their report, it would hold the first half, the purge the second, and each would wait for
    the other (PostgreSQL aborts one). Marking items locks their reports first, as a purge does, so the
    purge waits for the whole export."""
    async def run():
        one, two = await _nodes(pg_cluster, pg_database)
        holder = await asyncpg.connect(**pg_cluster.connect_args(pg_database))
        try:
            account = _account()
            # Stored in descending id order: the purge meets them from the end of the export's order.
            items = sorted([_item("attachment") for _ in range(61)], key=lambda i: i.item_id, reverse=True)
            await one.create_report(account=account, account_id=account.id, code="WBS-A", status="closed_resolved",
                                    day=DAY, items=items)
            middle = sorted(i.item_id for i in items)[len(items) // 2]
            hold = holder.transaction()
            await hold.start()
            await holder.execute("SELECT 1 FROM items WHERE item_id = $1 FOR UPDATE", middle)
            export = asyncio.create_task(one.mark_exported([i.item_id for i in items]))
            await _waiting(pg_cluster, pg_database, 1)
            purge = asyncio.create_task(Retention(two).purge_items("WBS-A", DAY, "retention"))
            await _waiting(pg_cluster, pg_database, 2)
            await hold.rollback()
            await export
            assert sorted(await purge) == sorted(i.item_id for i in items)
            assert await one.items_of_report("WBS-A") == []
        finally:
            await holder.close()
            await one.close()
            await two.close()

    asyncio.run(run())
