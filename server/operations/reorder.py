"""Keeping PostgreSQL's tables in key order, once per deployment, every hour.

SQLite stores WBS's tables in key order (random ids) and overwrites deleted
rows, so a copy of the file says nothing of which report came first within
a day. PostgreSQL appends rows in the order they come and leaves deleted
ones until ``VACUUM``: this job rewrites its tables in key order
(``Store.reorder``), so a copy of its files shows the order of arrival of at
most the last hour's rows (docs/storage.md, docs/threat-model.md).
"""

from __future__ import annotations

import asyncio
import logging

from server.storage.store import Store

log = logging.getLogger("wbs")
REORDER_SECONDS = 60 * 60
LOCK = "reorder-tables"


async def reorder_once(store: Store) -> list[str] | None:
    """Rewrite the tables, unless another node is doing it (None then)."""
    async with store.exclusive(LOCK) as got:
        if not got:
            return None
        return await store.reorder()


async def hourly_reorder(store: Store, interval: float = REORDER_SECONDS) -> None:
    """The server's task on a shared store: every ``interval`` seconds, one node rewrites the tables."""
    while True:
        await asyncio.sleep(interval)
        try:
            await reorder_once(store)
        except Exception as exc:  # keep serving; the next round tries again
            log.error("reordering the tables failed: %s", type(exc).__name__)
