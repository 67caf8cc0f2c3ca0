"""The store's queries that no other store test reaches directly, on both engines
(SQLite and PostgreSQL, ``open_store``): accounts and reports, the reporter's
unread answers, exports, the staff's case lists, the digest's state and counts,
staff changes."""

from __future__ import annotations

import asyncio
import secrets

from crypto.encoding import new_item_id
from server.storage.store import Account, NewItem, StaffMember, Store

DAY, NEXT, LATER = "2026-11-28", "2026-11-29", "2026-12-02"


def _account() -> Account:
    return Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                   secrets.token_bytes(32), DAY)


def _item(kind: str, author: str = "reporter") -> NewItem:
    return NewItem(new_item_id(), kind, author, None, 4096, "0" * 64)


async def _two_cases(store: Store) -> tuple[Account, NewItem]:
    """Report A (first of its account) with a reply and a status change; report B of the same account."""
    account = _account()
    first = _item("report")
    await store.create_report(account=account, account_id=account.id, code="WBS-A", status="received",
                              day=DAY, items=[first, _item("attachment")])
    await store.create_report(account=None, account_id=account.id, code="WBS-B", status="received",
                              day=NEXT, items=[_item("report")])
    await store.add_items_with_audit("WBS-A", NEXT, [_item("reply", "keyholder")], "kepala", "reply")
    await store.status_change_with_audit("WBS-A", "verification", NEXT, "kepala")
    await store.add_items("WBS-B", LATER, [_item("message")])
    return account, first


def test_answers_and_what_the_reporter_has_seen(open_store):
    async def go():
        store = await open_store()
        try:
            account, _ = await _two_cases(store)
            before = await store.answers_of_account(account.id)
            await store.mark_seen("WBS-A", 2)
            await store.mark_seen("WBS-A", 1)
            await store.mark_seen("WBS-B", -3)
            after = await store.answers_of_account(account.id)
            found = await store.find_account(account.lookup) == await store.account(account.id) == account
            mine = [r.code for r in await store.reports_of_account(account.id)]
            await store.set_status("WBS-B", "investigation", LATER)
            return (before, after, found, mine, await store.report("WBS-B"), await store.status_history("WBS-B"),
                    len(await store.item_ids()), await store.report("WBS-C"))
        finally:
            await store.close()

    before, after, found, mine, report, history, items, missing = asyncio.run(go())
    assert before == {"WBS-A": (2, 0), "WBS-B": (0, 0)}
    assert after == {"WBS-A": (2, 1), "WBS-B": (0, 0)}
    assert found and mine == ["WBS-B", "WBS-A"]
    assert (report.status, report.created_day, report.updated_day) == ("investigation", NEXT, LATER)
    assert history == [("received", NEXT), ("investigation", LATER)]
    assert items == 5 and missing is None


def test_exports_and_the_staff_case_lists(open_store):
    async def go():
        store = await open_store()
        try:
            _, first = await _two_cases(store)
            unexported = await store.unexported_reporter_items()
            codes = await store.report_codes(unexported_only=True)
            await store.mark_exported([i.item_id for i in await store.items_of_report("WBS-A")],
                                      audit=[(LATER, "kepala", None, "export:1 report(s)")])
            return (unexported, codes, await store.report_codes(unexported_only=True),
                    await store.report_codes(unexported_only=False), await store.first_reply_day(),
                    await store.all_status_history(), (await store.item(first.item_id)).exported,
                    [r.code for r in await store.all_reports()], await store.counts(),
                    [(r["actor"], r["action"], r["detail"]) for r in (await store.audit_page(limit=1))[0]])
        finally:
            await store.close()

    (unexported, codes, after, every, replies, history, exported, listed, counts, newest) = asyncio.run(go())
    assert unexported == {"WBS-A": 1, "WBS-B": 2}
    assert codes == ["WBS-A", "WBS-B"] and after == ["WBS-B"] and every == ["WBS-A", "WBS-B"]
    assert replies == {"WBS-A": NEXT}
    assert history == {"WBS-A": [("received", DAY), ("verification", NEXT)], "WBS-B": [("received", NEXT)]}
    assert exported is True and listed == ["WBS-A", "WBS-B"]
    assert counts == {"accounts": 1, "reports": 2, "items": 5}
    assert newest == [("kepala", "export", "1 report(s)")]


def test_the_digest_state_and_counts(open_store):
    async def go():
        store = await open_store()
        try:
            await _two_cases(store)
            empty = await store.alert_state()
            await store.record_alert_failure(NEXT, "refused")
            await store.record_alert_failure(LATER, "auth")
            failing = await store.alert_state()
            await store.record_alert_sent(LATER, DAY)
            return (empty, failing, await store.alert_state(), await store.digest_counts(DAY, NEXT),
                    await store.digest_counts(LATER, LATER))
        finally:
            await store.close()

    empty, failing, sent, counted, later = asyncio.run(go())
    assert (empty.sent_day, empty.failures) == (None, 0)
    assert (failing.failed_day, failing.failures, failing.reason) == (LATER, 2, "auth")
    assert (sent.sent_day, sent.covered_from, sent.failed_day, sent.failures, sent.reason) == (LATER, DAY, None, 0, "")
    assert counted == (2, 0) and later == (0, 1)


def test_staff_changes_and_lists(open_store):
    async def go():
        store = await open_store()
        try:
            member = StaffMember(id="s" * 32, username="kepala", role="admin", password_hash="h", totp_secret="S",
                                 totp_last_step=0, must_change=True, disabled=False, created_day=DAY)
            await store.add_staff(member, audit=[(DAY, "setup", None, "staff_added:kepala")])
            await store.update_staff(member.id, audit=[(NEXT, "kepala", None, "password_changed")],
                                     must_change=False, disabled=True, password_hash="h2")
            return await store.staff_by_id(member.id), await store.staff_by_name("tamu"), await store.all_staff()
        finally:
            await store.close()

    changed, nobody, everyone = asyncio.run(go())
    assert (changed.must_change, changed.disabled, changed.password_hash) == (False, True, "h2")
    assert nobody is None and [m.username for m in everyone] == ["kepala"]


def test_a_deployment_wide_lock_is_held_by_one_store_at_a_time(open_store):
    """``exclusive``: the first holder gets it, a second opener of the same database
    (another node, with PostgreSQL) is told no at once, and gets it once released."""

    async def run():
        first = await open_store()
        second = await open_store() if first.shared else first
        try:
            async with first.exclusive("purge") as got:
                assert got
                async with second.exclusive("purge") as again:
                    assert not again
                async with second.exclusive("digest") as other:
                    assert other
            async with second.exclusive("purge") as later:
                assert later
        finally:
            if second is not first:
                await second.close()
            await first.close()

    asyncio.run(run())
