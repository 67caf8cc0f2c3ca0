"""A reporter deleting their account, and the server's daily purge task, on a real store.

tests/unit/test_retention.py checks where the retention period ends; here:
deleting an account removes exactly its envelopes and says so in the audit
log, and the daily task purges at start-up, reports only a count, and keeps
running when a purge fails. Each test but the failing purge's (whose error is
the SQLite driver's) runs on both engines, SQLite and PostgreSQL (``open_store``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import date
from pathlib import Path

import storefill
from server.operations.retention import daily_purge, delete_account, purge_expired
from server.storage.blobstore import BlobStore
from server.storage.store import Account, Store


def blob_store(tmp_path: Path) -> BlobStore:
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    return blobs


async def new_report(store: Store, blobs: BlobStore, account: Account, code: str) -> list[str]:
    return await storefill.new_report(store, blobs, account, code, "2020-01-06")


def an_account() -> Account:
    return Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                   secrets.token_bytes(32), "2020-01-06")


async def audit_rows(store: Store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in await store._all("SELECT report_code, action FROM audit ORDER BY report_code")]


def test_deleting_an_account_removes_its_envelopes_and_nothing_else(open_store, tmp_path):
    blobs = blob_store(tmp_path)
    leaving, staying = an_account(), an_account()

    async def run() -> tuple[list[str], list[str], list[tuple[str, str]]]:
        store = await open_store()
        try:
            gone = await new_report(store, blobs, leaving, "WBS-AAAAA-00001")
            kept = await new_report(store, blobs, staying, "WBS-AAAAA-00002")
            await delete_account(store, blobs, leaving.id)
            return gone, kept, await audit_rows(store)
        finally:
            await store.close()

    gone, kept, audit = asyncio.run(run())
    assert not any(blobs.exists(i) for i in gone)
    assert all(blobs.exists(i) for i in kept)
    assert ("WBS-AAAAA-00001", "deleted_by_reporter") in audit
    assert not any(code == "WBS-AAAAA-00002" and action == "deleted_by_reporter" for code, action in audit)


def test_the_daily_task_purges_at_start_and_logs_only_a_count(open_store, tmp_path, caplog):
    blobs = blob_store(tmp_path)

    async def run() -> list[str]:
        store = await open_store()
        try:
            ids = await new_report(store, blobs, an_account(), "WBS-AAAAA-00003")
            await store.status_change_with_audit("WBS-AAAAA-00003", "rejected", "2020-01-07", "kepala")
            task = asyncio.create_task(daily_purge(store, blobs, 30))
            for _ in range(500):
                if not any(blobs.exists(i) for i in ids):
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            assert not task.done()  # now asleep until tomorrow
            task.cancel()
            return ids
        finally:
            await store.close()

    with caplog.at_level(logging.INFO, logger="wbs"):
        ids = asyncio.run(run())
    assert not any(blobs.exists(i) for i in ids)
    assert [r.getMessage() for r in caplog.records] == ["retention: purged the items of 1 closed case(s)"]


def test_the_daily_task_logs_nothing_when_nothing_expired(open_store, tmp_path, caplog):
    async def run() -> None:
        store = await open_store()
        try:
            task = asyncio.create_task(daily_purge(store, blob_store(tmp_path), 30))
            await asyncio.sleep(0.2)
            assert not task.done()
            task.cancel()
        finally:
            await store.close()

    with caplog.at_level(logging.INFO, logger="wbs"):
        asyncio.run(run())
    assert caplog.records == []


def test_a_failed_purge_is_logged_by_its_kind_and_the_task_lives_on(tmp_path, caplog):
    async def run() -> None:
        store = await Store.open(tmp_path / "wbs.sqlite3")
        await store.close()  # every query now fails
        task = asyncio.create_task(daily_purge(store, blob_store(tmp_path), 30))
        await asyncio.sleep(0.2)
        assert not task.done()
        task.cancel()

    with caplog.at_level(logging.INFO, logger="wbs"):
        asyncio.run(run())
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    # The exception's class only: its text could hold what the purge was working on.
    assert record.getMessage() == "retention purge failed: ValueError"


def test_a_failed_purge_is_tried_again_within_the_hour_not_the_next_day(tmp_path, caplog):
    async def run() -> None:
        store = await Store.open(tmp_path / "wbs.sqlite3")
        await store.close()  # every query now fails
        task = asyncio.create_task(daily_purge(store, blob_store(tmp_path), 30, retry_seconds=0.05))
        await asyncio.sleep(0.3)
        task.cancel()

    with caplog.at_level(logging.INFO, logger="wbs"):
        asyncio.run(run())
    assert len(caplog.records) >= 3  # tried again, and again, while it fails


def test_a_one_day_period_purges_a_case_closed_yesterday(open_store, tmp_path):
    blobs = blob_store(tmp_path)

    async def run() -> tuple[int, list[str]]:
        store = await open_store()
        try:
            ids = await new_report(store, blobs, an_account(), "WBS-AAAAA-00004")
            await store.status_change_with_audit("WBS-AAAAA-00004", "closed_proven", "2026-11-30", "kepala")
            return await purge_expired(store, blobs, 1, today=date(2026, 12, 1)), ids
        finally:
            await store.close()

    count, ids = asyncio.run(run())
    assert count == 1
    assert not any(blobs.exists(i) for i in ids)
