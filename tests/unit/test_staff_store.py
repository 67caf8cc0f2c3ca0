"""The staff side of the store: TOTP steps used once and in order, the audit
log append-only and paged, imported bundles and purged items remembered.
Each store test runs on both engines, SQLite and PostgreSQL (``open_store``)."""

from __future__ import annotations

import asyncio

import pytest

from server.staff.workflow import StaffSessions
from server.storage.store import Retention, StaffMember

DAY = "2026-11-28"


def run(coro):
    return asyncio.run(coro)


def _member(name="kepala") -> StaffMember:
    return StaffMember(id=name * 4, username=name, role="admin", password_hash="x", totp_secret="S",
                       totp_last_step=0, must_change=False, disabled=False, created_day=DAY)


def test_a_totp_step_is_used_once_and_never_an_older_one(open_store):
    async def go():
        store = await open_store()
        try:
            member = _member()
            await store.add_staff(member)
            results = [await store.use_totp_step(member.id, s) for s in (100, 100, 99, 101, 99, 100, 102)]
            return results
        finally:
            await store.close()

    assert run(go()) == [True, False, False, True, False, False, True]


def test_the_audit_log_is_append_only_and_pages_back_to_the_first_row(open_store):
    async def go():
        store = await open_store()
        try:
            await store.audit(*[(DAY, "kepala", None, f"login:{n}") for n in range(25)])
            pages, before = [], None
            while True:
                rows, older = await store.audit_page(limit=10, before=before)
                pages.append([r["detail"] for r in rows])
                if older is None:
                    break
                before = older
            for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
                with pytest.raises(Exception, match="append-only"):
                    async with store._transaction() as db:
                        await db.execute(sql)
            return pages, len(await store._all("SELECT seq FROM audit"))
        finally:
            await store.close()

    pages, rows = run(go())
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == [str(n) for n in reversed(range(25))]
    assert rows == 25


def test_imported_bundles_and_purged_items_are_remembered(open_store):
    async def go():
        store = await open_store()
        try:
            assert await store.bundle_imported("b" * 64) is None
            await store.import_replies(DAY, [], [], bundle_id="b" * 64)
            assert await store.bundle_imported("b" * 64) == DAY
            async with store._transaction() as db:
                await db.execute("INSERT INTO accounts VALUES ('a', ?, ?, 1, 8, 1, ?, ?)", (b"\0", b"\0", b"\0", DAY))
                await db.execute("INSERT INTO reports VALUES ('R1', 'a', 'closed_proven', ?, ?)", (DAY, DAY))
                await db.execute("INSERT INTO items (item_id, report_code, position, kind, author, size, sha256,"
                                 " created_day) VALUES (?, 'R1', 0, 'report', 'reporter', 1, 'x', ?)", ("1" * 32, DAY))
            ids = await Retention(store).purge_items("R1", DAY, "retention")
            assert ids == ["1" * 32]
            return await store.purged_items(["1" * 32, "2" * 32])
        finally:
            await store.close()

    assert run(go()) == {"1" * 32: DAY}


def test_staff_sessions_end_for_a_member_but_the_one_kept():
    async def go():
        clock = [0.0]
        sessions = StaffSessions(idle=600, lifetime=3600, clock=lambda: clock[0])
        a1, a2, a3, b = [await sessions.create(i) for i in ("a", "a", "a", "b")]
        await sessions.end_for("a", keep=a2.sid)
        assert await sessions.get(a1.sid) is None and await sessions.get(a3.sid) is None
        assert await sessions.get(a2.sid) is a2 and await sessions.get(b.sid) is b
        await sessions.end_for("a")
        assert await sessions.get(a2.sid) is None and await sessions.get(b.sid) is b

    run(go())

