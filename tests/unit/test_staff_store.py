"""The staff side of the store: TOTP steps used once and in order, the audit
log append-only and paged, imported bundles and purged items remembered."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from server.staff import StaffSessions
from server.storage import Retention, StaffMember, Store

DAY = "2026-11-28"


def run(coro):
    return asyncio.run(coro)


async def _store(tmp_path) -> Store:
    return await Store.open(tmp_path / "wbs.sqlite3")


def _member(name="kepala") -> StaffMember:
    return StaffMember(id=name * 4, username=name, role="admin", password_hash="x", totp_secret="S",
                       totp_last_step=0, must_change=False, disabled=False, created_day=DAY)


def test_a_totp_step_is_used_once_and_never_an_older_one(tmp_path):
    async def go():
        store = await _store(tmp_path)
        try:
            member = _member()
            await store.add_staff(member)
            results = [await store.use_totp_step(member.id, s) for s in (100, 100, 99, 101, 99, 100, 102)]
            return results
        finally:
            await store.close()

    assert run(go()) == [True, False, False, True, False, False, True]


def test_the_audit_log_is_append_only_and_pages_back_to_the_first_row(tmp_path):
    async def go():
        store = await _store(tmp_path)
        try:
            await store.audit(*[(DAY, "kepala", None, f"login:{n}") for n in range(25)])
            pages, before = [], None
            while True:
                rows, older = await store.audit_page(limit=10, before=before)
                pages.append([r["detail"] for r in rows])
                if older is None:
                    break
                before = older
            return pages
        finally:
            await store.close()

    pages = run(go())
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == [str(n) for n in reversed(range(25))]
    db = sqlite3.connect(tmp_path / "wbs.sqlite3")
    for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    db.close()


def test_imported_bundles_and_purged_items_are_remembered(tmp_path):
    async def go():
        store = await _store(tmp_path)
        try:
            assert await store.bundle_imported("b" * 64) is None
            await store.import_replies(DAY, [], [], bundle_id="b" * 64)
            assert await store.bundle_imported("b" * 64) == DAY
            db = store._conn
            await db.execute("INSERT INTO accounts VALUES ('a', x'00', x'00', 1, 8, 1, x'00', ?)", (DAY,))
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
    clock = [0.0]
    sessions = StaffSessions(idle=600, lifetime=3600, clock=lambda: clock[0])
    a1, a2, a3, b = (sessions.create(i) for i in ("a", "a", "a", "b"))
    sessions.end_for("a", keep=a2.sid)
    assert sessions.get(a1.sid) is None and sessions.get(a3.sid) is None
    assert sessions.get(a2.sid) is a2 and sessions.get(b.sid) is b
    sessions.end_for("a")
    assert sessions.get(a2.sid) is None and sessions.get(b.sid) is b


def test_a_bundle_imported_before_is_refused_once_its_replies_are_gone(tmp_path):
    from nacl.public import PrivateKey

    from crypto.encoding import new_item_id
    from crypto.items import recipients_for, reply_plaintext, seal_json, sign_reply
    from crypto.keyring import new_keyring
    from crypto.keys import parse_public_key_file
    from crypto.reply_bundle import ReplyEntry, build_reply_bundle
    from server.blobstore import BlobStore
    from server.staff import BundleRejected, import_reply_bundle
    from server.storage import Account

    code = "WBS-AB12C-DE34F"
    ring = new_keyring("Inspektorat")
    keys = parse_public_key_file(ring.public_key_file())
    mailbox = PrivateKey.generate()
    reply = sign_reply(reply_plaintext(report_code=code, sent_at="2026-11-28T08:00:00Z", body="Balasan."), ring.newest)
    entry = ReplyEntry(code, new_item_id(), seal_json(reply, recipients_for("reply", keys.keys, mailbox.public_key)),
                       "closed_proven")
    data = build_reply_bundle([entry], ring.newest)
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()

    async def run_io(fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def go():
        store = await _store(tmp_path)
        try:
            account = Account("a" * 32, b"l", b"s", 1, 8, 1, bytes(mailbox.public_key), DAY)
            await store.create_report(account=account, account_id=account.id, code=code, status="received",
                                      day=DAY, items=[])
            first = await import_reply_bundle(store, blobs, run_io, keys, data, "kepala")
            again = await import_reply_bundle(store, blobs, run_io, keys, data, "kepala")
            await store._conn.execute("DELETE FROM items WHERE item_id = ?", (entry.item_id,))
            with pytest.raises(BundleRejected) as refused:
                await import_reply_bundle(store, blobs, run_io, keys, data, "kepala")
            audit = [tuple(r) for r in await store._all("SELECT action, detail FROM audit ORDER BY seq")]
            return first, again, refused.value, audit
        finally:
            await store.close()

    first, again, refused, audit = run(go())
    assert (first.added, first.statuses, again.added, again.unchanged) == (1, 1, 0, 1)
    assert refused.key == "staff.err.bundle_replayed" and "already imported on" in str(refused)
    assert audit[-1] == ("import_refused", "staff.err.bundle_replayed")


def test_a_bundle_made_before_its_case_was_purged_is_refused(tmp_path):
    from datetime import datetime, timezone

    from nacl.public import PrivateKey

    from crypto.encoding import new_item_id
    from crypto.items import recipients_for, reply_plaintext, seal_json, sign_reply
    from crypto.keyring import new_keyring
    from crypto.keys import parse_public_key_file
    from crypto.reply_bundle import ReplyEntry, build_reply_bundle
    from server.blobstore import BlobStore
    from server.staff import BundleRejected, import_reply_bundle
    from server.storage import Account

    code = "WBS-AB12C-DE34F"
    ring = new_keyring("Inspektorat")
    keys = parse_public_key_file(ring.public_key_file())
    mailbox = PrivateKey.generate()

    def bundle(day: int) -> bytes:
        reply = sign_reply(reply_plaintext(report_code=code, sent_at="2026-11-01T08:00:00Z", body="B."), ring.newest)
        entry = ReplyEntry(code, new_item_id(), seal_json(reply, recipients_for("reply", keys.keys,
                                                                               mailbox.public_key)), "verification")
        return build_reply_bundle([entry], ring.newest, now=datetime(2026, 11, day, 23, 59, tzinfo=timezone.utc))

    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()

    async def run_io(fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def go():
        store = await _store(tmp_path)
        try:
            account = Account("a" * 32, b"l", b"s", 1, 8, 1, bytes(mailbox.public_key), DAY)
            await store.create_report(account=account, account_id=account.id, code=code, status="closed_proven",
                                      day="2026-01-02", items=[])
            await store._conn.execute("INSERT INTO items (item_id, report_code, position, kind, author, size, sha256,"
                                      " created_day) VALUES (?, ?, 0, 'report', 'reporter', 1, 'x', ?)",
                                      ("1" * 32, code, "2026-01-02"))
            await Retention(store).purge_items(code, "2026-11-28", "retention")
            with pytest.raises(BundleRejected) as refused:
                await import_reply_bundle(store, blobs, run_io, keys, bundle(27), "kepala")
            same_day = await import_reply_bundle(store, blobs, run_io, keys, bundle(28), "kepala")
            later = await import_reply_bundle(store, blobs, run_io, keys, bundle(29), "kepala")
            return refused.value, same_day, later
        finally:
            await store.close()

    refused, same_day, later = run(go())
    assert refused.key == "staff.err.made_before_purge"
    assert "made on 2026-11-27, before the content of report" in str(refused) and "deleted on 2026-11-28" in str(refused)
    assert same_day.added == later.added == 1
