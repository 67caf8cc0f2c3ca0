"""Importing a reply bundle (``server.staff.workflow.import_reply_bundle``) against a real database and blob store:
a status a reply sets must be one of the status keys, or nothing of the bundle is stored; a stale bundle
(imported before and its replies gone, or made before its case was purged) is refused.
Each test runs on both engines, SQLite and PostgreSQL (``open_store``)."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from crypto.encoding import new_item_id
from crypto.items import recipients_for, reply_plaintext, seal_json, sign_reply
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import ReplyEntry, build_reply_bundle
from server.i18n import STATUSES
from server.staff.workflow import BundleRejected, import_reply_bundle
from server.storage.blobstore import BlobStore
from server.storage.store import Account, Retention, Store

CODE = "WBS-AB12C-DE34F"
RING = new_keyring("Inspektorat Daerah Kabupaten Klungkung")
PUBLIC = parse_public_key_file(RING.public_key_file())
MAILBOX = PrivateKey(bytes(range(32)))


async def _run_io(fn, *args):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(fn, *args)


def bundle_setting(*statuses: str | None, now: datetime | None = None) -> tuple[bytes, list[str]]:
    """A reply bundle signed by the organisation key: one reply per status, in order."""
    entries = []
    for n, status in enumerate(statuses):
        reply = sign_reply(reply_plaintext(report_code=CODE, sent_at=f"2026-11-28T08:0{n}:00Z", body=f"Balasan {n}"),
                           RING.newest)
        entries.append(ReplyEntry(CODE, new_item_id(),
                                  seal_json(reply, recipients_for("reply", PUBLIC.keys, bytes(MAILBOX.public_key))),
                                  status))
    return build_reply_bundle(entries, RING.newest, now=now), [e.item_id for e in entries]


async def _store_with_case(open_store, tmp_path: Path, status: str = "received") -> tuple[Store, BlobStore]:
    """A database holding report CODE (no items yet), and an empty blob store."""
    store = await open_store()
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    account = Account(id=new_item_id(), lookup=os.urandom(32), salt=os.urandom(16), kdf_t=1, kdf_m_kib=8, kdf_p=1,
                      mailbox_pk=bytes(MAILBOX.public_key), created_day="2026-11-20")
    await store.create_report(account=account, account_id=account.id, code=CODE, status=status,
                              day="2026-11-20", items=[])
    return store, blobs


async def _import(open_store, tmp_path: Path, data: bytes, item_ids: list[str]) -> tuple[object, str, list, list]:
    store, blobs = await _store_with_case(open_store, tmp_path)
    try:
        try:
            outcome: object = await import_reply_bundle(store, blobs, _run_io, PUBLIC, data, "kepala")
        except BundleRejected as exc:
            outcome = exc
        report = await store.report(CODE)
        stored = [await store.item(i) for i in item_ids]
        return outcome, report.status, stored, await store.status_history(CODE)
    finally:
        await store.close()


@pytest.mark.parametrize("status", ["bogus", "closed", "open", "received_", "closed_proven_", "deleted", "a" * 40])
def test_a_status_outside_the_keys_is_refused_and_nothing_is_stored(open_store, tmp_path, status):
    assert status not in STATUSES
    data, item_ids = bundle_setting("investigation", status)  # the bad one comes second
    outcome, now, stored, history = asyncio.run(_import(open_store, tmp_path, data, item_ids))
    assert isinstance(outcome, BundleRejected), outcome
    assert outcome.reason == "staff.err.unknown_status" and outcome.values["status"] == status
    assert status in str(outcome) and item_ids[1] in str(outcome)
    assert now == "received" and [s for s, _ in history] == ["received"]
    assert stored == [None, None]
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_every_status_key_is_accepted(open_store, tmp_path, status):
    data, item_ids = bundle_setting(status)
    outcome, now, stored, _ = asyncio.run(_import(open_store, tmp_path, data, item_ids))
    assert not isinstance(outcome, BundleRejected), outcome
    assert now == status and all(item is not None for item in stored)


def test_a_bundle_imported_before_is_refused_once_its_replies_are_gone(open_store, tmp_path):
    data, (item_id,) = bundle_setting("closed_proven")

    async def go():
        store, blobs = await _store_with_case(open_store, tmp_path)
        try:
            first = await import_reply_bundle(store, blobs, _run_io, PUBLIC, data, "kepala")
            again = await import_reply_bundle(store, blobs, _run_io, PUBLIC, data, "kepala")
            async with store._transaction() as db:
                await db.execute("DELETE FROM items WHERE item_id = ?", (item_id,))
            with pytest.raises(BundleRejected) as refused:
                await import_reply_bundle(store, blobs, _run_io, PUBLIC, data, "kepala")
            audit = [tuple(r) for r in await store._all("SELECT action, detail FROM audit ORDER BY seq")]
            return first, again, refused.value, audit
        finally:
            await store.close()

    first, again, refused, audit = asyncio.run(go())
    assert (first.added, first.statuses, again.added, again.unchanged) == (1, 1, 0, 1)
    assert refused.reason == "staff.err.bundle_replayed" and "already imported on" in str(refused)
    assert audit[-1] == ("import_refused", "staff.err.bundle_replayed")


def test_a_bundle_made_before_its_case_was_purged_is_refused(open_store, tmp_path):
    def made_on(day: int) -> bytes:
        return bundle_setting("verification", now=datetime(2026, 11, day, 23, 59, tzinfo=timezone.utc))[0]

    async def go():
        store, blobs = await _store_with_case(open_store, tmp_path, "closed_proven")
        try:
            async with store._transaction() as db:
                await db.execute("INSERT INTO items (item_id, report_code, position, kind, author, size, sha256,"
                                 " created_day) VALUES (?, ?, 0, 'report', 'reporter', 1, 'x', ?)",
                                 ("1" * 32, CODE, "2026-11-20"))
            await Retention(store).purge_items(CODE, "2026-11-28", "retention")
            with pytest.raises(BundleRejected) as refused:
                await import_reply_bundle(store, blobs, _run_io, PUBLIC, made_on(27), "kepala")
            same_day = await import_reply_bundle(store, blobs, _run_io, PUBLIC, made_on(28), "kepala")
            later = await import_reply_bundle(store, blobs, _run_io, PUBLIC, made_on(29), "kepala")
            return refused.value, same_day, later
        finally:
            await store.close()

    refused, same_day, later = asyncio.run(go())
    assert refused.reason == "staff.err.made_before_purge"
    assert "made on 2026-11-27, before the content of report" in str(refused) and "deleted on 2026-11-28" in str(refused)
    assert same_day.added == later.added == 1
