"""Retention (server/operations/retention.py) at its boundary, with "today" passed in.

A case in a final status keeps its items for ``retention_days`` whole days
after its last status change; on the day that many days have passed they are
purged. One day earlier, they stay. Each test runs on both engines, SQLite
and PostgreSQL (``open_store``); what is left is read through the store.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from crypto.encoding import new_item_id
from server.operations.retention import purge_expired
from server.storage.blobstore import BlobStore
from server.storage.store import Account, NewItem, Store

TODAY = date(2026, 12, 1)
RETENTION_DAYS = 30
CREATED = "2026-01-05"


async def _new_case(store: Store, blobs: BlobStore, code: str, statuses: list[tuple[str, date]]) -> list[str]:
    """A report with two items (their blobs on disk) and the given status changes."""
    items = []
    for kind in ("report", "attachment"):
        item_id = new_item_id()
        path = blobs.path(item_id)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_bytes(secrets.token_bytes(64))
        items.append(NewItem(item_id, kind, "reporter", None, 64, "0" * 64))
    account = Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                      secrets.token_bytes(32), CREATED)
    await store.create_report(account=account, account_id=account.id, code=code, status="received", day=CREATED,
                              items=items)
    for status, day in statuses:
        await store.status_change_with_audit(code, status, day.isoformat(), "kepala")
    return [i.item_id for i in items]


def _closed(days_ago: int, status: str = "closed_unproven") -> list[tuple[str, date]]:
    day = TODAY - timedelta(days=days_ago)
    return [("verification", day - timedelta(days=10)), (status, day)]


CASES = {
    # code: (status changes, purged?)
    "WBS-AT-LIMIT": (_closed(RETENTION_DAYS), True),
    "WBS-DAY-BEFORE": (_closed(RETENTION_DAYS - 1), False),
    "WBS-REJECTED-AT-LIMIT": (_closed(RETENTION_DAYS, "rejected"), True),
    "WBS-CLOSED-TODAY": (_closed(0, "closed_proven"), False),
    "WBS-LONG-AGO": (_closed(400, "referred"), True),
    "WBS-STILL-OPEN": ([("investigation", TODAY - timedelta(days=400))], False),
}


@dataclass
class PurgeRun:
    ids: dict[str, list[str]]
    count: int
    blobs: BlobStore
    items_left: dict[str, int]
    audit: list[tuple]
    history: int  # status changes of WBS-AT-LIMIT


def _purge_run(open_store, tmp_path: Path, retention_days: int, today: date) -> PurgeRun:
    async def run() -> PurgeRun:
        store = await open_store()
        try:
            ids = {code: await _new_case(store, blobs, code, statuses) for code, (statuses, _) in CASES.items()}
            count = await purge_expired(store, blobs, retention_days, today=today)
            left = {r[0]: r[1] for r in await store._all("SELECT report_code, COUNT(*) FROM items GROUP BY report_code")}
            audit = [tuple(r) for r in await store._all(
                "SELECT day, actor, report_code, detail FROM audit WHERE action = 'purge' ORDER BY report_code")]
            history = (await store._all("SELECT COUNT(*) FROM status_history WHERE report_code = 'WBS-AT-LIMIT'"))[0][0]
            return PurgeRun(ids, count, blobs, left, audit, history)
        finally:
            await store.close()

    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    return asyncio.run(run())


def test_purged_on_the_day_the_period_ends_and_not_the_day_before(open_store, tmp_path):
    run = _purge_run(open_store, tmp_path, RETENTION_DAYS, TODAY)
    purged = {code for code, (_, gone) in CASES.items() if gone}
    assert run.count == len(purged)
    assert run.items_left == {code: 2 for code in CASES if code not in purged}
    for code, item_ids in run.ids.items():
        on_disk = [run.blobs.path(i).exists() for i in item_ids]
        assert on_disk == [code not in purged] * 2, code
    assert run.audit == [(TODAY.isoformat(), "retention", code, "2 item(s)") for code in sorted(purged)]
    assert run.history == 3  # the status history stays


@pytest.mark.parametrize("today, expected", [
    (TODAY - timedelta(days=1), {"WBS-LONG-AGO"}),
    (TODAY + timedelta(days=1), {"WBS-AT-LIMIT", "WBS-REJECTED-AT-LIMIT", "WBS-LONG-AGO", "WBS-DAY-BEFORE"}),
])
def test_the_injected_day_moves_the_boundary(open_store, tmp_path, today, expected):
    run = _purge_run(open_store, tmp_path, RETENTION_DAYS, today)
    assert set(CASES) - set(run.items_left) == expected


def test_retention_zero_keeps_everything(open_store, tmp_path):
    run = _purge_run(open_store, tmp_path, 0, TODAY + timedelta(days=10_000))
    assert run.count == 0 and set(run.items_left) == set(CASES)
