"""What a refused write looks like to the store's callers, on both engines
(``open_store``): a constraint is ``Conflict``, a full disk ``DiskFull``, never a
driver's own exception; the transaction leaves nothing behind, and the next works."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from crypto.encoding import new_item_id
from server.errors import Conflict, DiskFull
from server.storage.store import Account, NewItem, StaffMember, Store

DAY = "2026-11-28"


def _account() -> Account:
    return Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                   secrets.token_bytes(32), DAY)


def _item(kind: str = "report") -> NewItem:
    return NewItem(new_item_id(), kind, "reporter", None, 4096, "0" * 64)


def _staff(name: str) -> StaffMember:
    return StaffMember(secrets.token_hex(16), name, "admin", "hash", "SECRET", 0, True, False, DAY)


async def _report(store: Store, code: str) -> Account:
    account = _account()
    await store.create_report(account=account, account_id=account.id, code=code, status="received", day=DAY,
                              items=[_item()])
    return account


def test_a_refused_constraint_is_a_conflict_and_stores_nothing(open_store):
    async def run():
        store = await open_store()
        try:
            await _report(store, "WBS-A")
            newcomer = _account()
            with pytest.raises(Conflict, match="the database refused the change"):
                await store.create_report(account=newcomer, account_id=newcomer.id, code="WBS-A",
                                          status="received", day=DAY, items=[_item()])
            assert await store.account(newcomer.id) is None  # the whole transaction went
            with pytest.raises(Conflict):
                await store.add_items("WBS-GONE", DAY, [_item("message")])
            await store.add_staff(_staff("dewi"))
            with pytest.raises(Conflict):
                await store.add_staff(_staff("dewi"))
            await store.add_items("WBS-A", DAY, [_item("message")])  # the next write works
            assert [i.position for i in await store.items_of_report("WBS-A")] == [0, 1]
            assert (await store.counts())["accounts"] == 1
        finally:
            await store.close()

    asyncio.run(run())


async def _fill_up(store: Store) -> None:
    """Make the next write to ``seen`` fail as a full disk does: SQLite with a page budget
    already spent, PostgreSQL with a trigger raising its own disk-full error (SQLSTATE 53100)."""
    if store.shared:
        async with store._transaction() as db:
            await db.execute("CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS"
                             " $$BEGIN RAISE EXCEPTION 'no room' USING ERRCODE = 'disk_full'; END$$")
            await db.execute("CREATE TRIGGER full_disk BEFORE INSERT ON seen FOR EACH ROW EXECUTE FUNCTION"
                             " full_disk()")
    else:
        pages = (await store._all("PRAGMA page_count"))[0][0]
        await store._all(f"PRAGMA max_page_count = {pages}")


def test_a_full_disk_is_disk_full_on_both_engines(open_store):
    async def run():
        store = await open_store()
        try:
            await _report(store, "WBS-A")
            await _fill_up(store)
            with pytest.raises(DiskFull):
                for n in range(200):  # SQLite fills the pages it has left first
                    await store.mark_seen("WBS-A", n)
                    await store.audit(*[(DAY, "kepala", None, "x" * 2000)] * 20)
        finally:
            await store.close()

    asyncio.run(run())


def test_a_single_statement_refused_is_a_conflict_too(open_store):
    """``Engine.statement`` (live state: sessions, throttles) maps errors as transactions do."""
    async def run():
        store = await open_store()
        try:
            await _report(store, "WBS-A")
            insert = "INSERT INTO seen (report_code, answers) VALUES (?, ?)"
            await store._engine.statement(insert, ("WBS-A", 1))
            with pytest.raises(Conflict):
                await store._engine.statement(insert, ("WBS-A", 2))
            with pytest.raises(Conflict):
                await store._engine.statement(insert, ("WBS-GONE", 1))
        finally:
            await store.close()

    asyncio.run(run())
