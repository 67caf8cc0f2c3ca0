"""Keeping and deleting: the retention period for closed cases, and a
reporter's own deletion of their account."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta


from server.errors import JobRunning
from server.staff.deadlines import FINAL_STATUSES
from server.storage.blobstore import BlobStore
from server.storage.store import Retention, Store

log = logging.getLogger("wbs")
DAY_SECONDS = 24 * 60 * 60
RETRY_SECONDS = 60 * 60  # after a failed purge (the database unreachable, out of connections...)
PURGE_LOCK = "retention-purge"  # Store.exclusive: one node of a deployment purges at a time


async def purge_expired(store: Store, blobs: BlobStore, retention_days: int, *, today: date | None = None,
                        actor: str = "retention") -> int:
    """Delete the items of cases final for longer than ``retention_days``; returns how many cases.

    Under the deployment's purge lock: while another node purges, ``JobRunning``, at once.
    """
    if retention_days <= 0:
        return 0
    today = today or date.fromisoformat(store.today())
    before = (today - timedelta(days=retention_days)).isoformat()
    retention = Retention(store)
    async with store.exclusive(PURGE_LOCK) as got:
        if not got:
            raise JobRunning("another node of this deployment is running the retention purge right now")
        purged = 0
        for code in await retention.expired_reports(FINAL_STATUSES, before):
            ids = await retention.purge_items(code, today.isoformat(), actor)
            if ids:
                purged += 1
            await asyncio.to_thread(_remove, blobs, ids)
    return purged


async def delete_account(store: Store, blobs: BlobStore, account_id: str) -> None:
    ids = await Retention(store).delete_account(account_id, store.today())
    await asyncio.to_thread(_remove, blobs, ids)


def _remove(blobs: BlobStore, ids: list[str]) -> None:
    for item_id in ids:
        blobs.remove(item_id)


async def daily_purge(store: Store, blobs: BlobStore, retention_days: int, *,
                      retry_seconds: float = RETRY_SECONDS) -> None:
    """The server's own daily task: purge at start-up, then once a day. Every node of a deployment
    runs it; while one purges, the others skip that day's round (what it purges is then gone,
    and a later round the same day finds nothing more to do). A round that fails is tried
    again after ``retry_seconds``, not a day later."""
    while True:
        wait: float = DAY_SECONDS
        try:
            count = await purge_expired(store, blobs, retention_days)
            if count:
                log.info("retention: purged the items of %d closed case(s)", count)
        except JobRunning:
            pass
        except Exception as exc:  # keep serving; say what failed, never what it held
            log.error("retention purge failed: %s", type(exc).__name__)
            wait = retry_seconds
        await asyncio.sleep(wait)
