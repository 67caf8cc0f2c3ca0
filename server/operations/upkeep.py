"""Hourly upkeep of a store other nodes share (PostgreSQL), once per deployment.

- **Tables in key order.** SQLite stores WBS's tables in key order (random
  ids) and overwrites deleted rows, so a copy of the file says nothing of
  which report came first within a day. PostgreSQL appends rows in the order
  they come and leaves deleted ones until ``VACUUM``: ``reorder_once``
  rewrites its tables in key order (``Store.reorder``), so a copy of its
  files shows the order of arrival of at most the last hour's rows
  (docs/storage.md, docs/threat-model.md).
- **Orphans in the shared blob folder.** A node killed during an upload
  leaves its temp file, and one killed between renaming a blob into place
  and committing its row leaves the blob; on one machine the next start
  removes them, but nodes of a deployment need not restart. ``sweep_once``
  removes what no node can still be working on (``BlobStore.sweep`` with
  ``shared``: temp files untouched for a day, unnamed blobs renamed over an
  hour ago).
"""

from __future__ import annotations

import asyncio
import logging

from server.storage.blobstore import BlobStore
from server.storage.store import Store

log = logging.getLogger("wbs")
UPKEEP_SECONDS = 60 * 60
REORDER_LOCK = "reorder-tables"
SWEEP_LOCK = "sweep-blobs"


async def reorder_once(store: Store) -> list[str] | None:
    """Rewrite the tables, unless another node is doing it (None then)."""
    async with store.exclusive(REORDER_LOCK) as got:
        if not got:
            return None
        return await store.reorder()


async def sweep_once(store: Store, blobs: BlobStore) -> int | None:
    """Remove the shared blob folder's orphans, unless another node is doing it (None then).

    The item ids are read before the folder is listed: a blob committed after
    that read is younger than the sweep's hour, so it stays.
    """
    async with store.exclusive(SWEEP_LOCK) as got:
        if not got:
            return None
        known = await store.item_ids()
        return await asyncio.to_thread(blobs.sweep, known, shared=True)


async def hourly_upkeep(store: Store, blobs: BlobStore, interval: float = UPKEEP_SECONDS) -> None:
    """The server's task on a shared store: every ``interval`` seconds, one node does each job."""
    while True:
        await asyncio.sleep(interval)
        try:
            await reorder_once(store)
        except Exception as exc:  # keep serving; the next round tries again
            log.error("reordering the tables failed: %s", type(exc).__name__)
        try:
            removed = await sweep_once(store, blobs)
            if removed:
                log.info("removed %d file(s) left in the shared blob folder by an interrupted upload", removed)
        except Exception as exc:
            log.error("sweeping the blob folder failed: %s", type(exc).__name__)
