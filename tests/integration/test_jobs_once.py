"""Once-per-deployment jobs: several nodes on one store, each running the retention purge and the
daily digest, purge each case once and send one digest (``Store.exclusive``).

On PostgreSQL the two nodes are two stores on one database (each with its own pool, as two
``wbs serve`` processes have); on SQLite one process owns the data folder, so both "nodes" are
tasks of that process on one store, and the lock is the process's own.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from conftest import ROOT
import storefill
from server.config import load_config, zone_of
from server.errors import JobRunning
from server.operations.alerts import DIGEST_LOCK, DigestSchedule, send_digest
from server.operations.retention import PURGE_LOCK, purge_expired
from server.storage.blobstore import BlobStore
from server.storage.store import Account, Retention, Store
from test_alerts import alerts_table, smtp_server

CASES = ("WBS-AAAAA-00001", "WBS-AAAAA-00002", "WBS-AAAAA-00003")
TODAY = date(2026, 12, 2)


def blob_store(tmp_path: Path) -> BlobStore:
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    return blobs


def an_account() -> Account:
    return Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 1, 8, 1,
                   secrets.token_bytes(32), "2026-01-05")


async def new_report(store: Store, blobs: BlobStore, account: Account, code: str) -> list[str]:
    return await storefill.new_report(store, blobs, account, code, "2026-01-05")


async def two_nodes(open_store) -> tuple[Store, Store]:
    first = await open_store()
    return first, (await open_store() if first.shared else first)


async def close(first: Store, second: Store) -> None:
    if second is not first:
        await second.close()
    await first.close()


def test_two_nodes_purging_at_once_purge_each_case_once(open_store, tmp_path):
    blobs = blob_store(tmp_path)

    async def run() -> tuple[list, list[str], list[tuple[str, str]]]:
        first, second = await two_nodes(open_store)
        try:
            ids = []
            for code in CASES:
                ids += await new_report(first, blobs, an_account(), code)
                await first.status_change_with_audit(code, "closed_proven", "2026-01-05", "kepala")
            results = await asyncio.gather(purge_expired(first, blobs, 30, today=TODAY),
                                           purge_expired(second, blobs, 30, today=TODAY), return_exceptions=True)
            audit = await first._all("SELECT report_code, action, detail FROM audit WHERE action = 'purge'")
            return results, ids, sorted((r[0], r[2]) for r in audit)
        finally:
            await close(first, second)

    results, ids, purges = asyncio.run(run())
    # One node purged all three; the other found the lock held and did nothing.
    assert sorted(map(type, results), key=str) == sorted([int, JobRunning], key=str)
    assert [r for r in results if isinstance(r, int)] == [3]
    assert purges == [(code, "2 item(s)") for code in CASES]
    assert not any(blobs.exists(i) for i in ids)


def test_a_purge_finding_a_case_already_purged_writes_no_audit_line(open_store, tmp_path):
    """'wbs purge' beside a server's daily purge (SQLite: two processes, no shared lock): the
    second to reach a case finds it empty and leaves no 'purge:0 item(s)' line."""
    blobs = blob_store(tmp_path)

    async def run() -> tuple[int, int]:
        store = await open_store()
        try:
            await new_report(store, blobs, an_account(), CASES[0])
            await store.status_change_with_audit(CASES[0], "rejected", "2026-01-05", "kepala")
            first = await purge_expired(store, blobs, 30, today=TODAY)
            assert await Retention(store).purge_items(CASES[0], TODAY.isoformat(), "wbs-cli") == []
            lines = await store._all("SELECT COUNT(*) FROM audit WHERE action = 'purge'")
            return first, lines[0][0]
        finally:
            await store.close()

    assert asyncio.run(run()) == (1, 1)


def test_two_nodes_at_the_digest_time_send_one_mail(open_store, tmp_path):
    """Both schedules tick at 07:30 together: one mail. A minute later the other node finds it
    sent (read inside the lock). The next day 'wbs alerts send' and a schedule at once: one mail."""
    with smtp_server() as (port, inbox):
        path = tmp_path / "wbs.toml"
        path.write_text(f'data_dir = "{tmp_path}"\n' + alerts_table(port, send_at="07:30"))
        config = load_config(path)
        zone = zone_of(config)
        at = datetime(TODAY.year, TODAY.month, TODAY.day, 7, 30, tzinfo=zone)

        async def run() -> tuple[list[int], list]:
            first, second = await two_nodes(lambda: open_store(zone))
            try:
                one, other = DigestSchedule(first, config), DigestSchedule(second, config)
                counts = []
                await asyncio.gather(one.tick(at), other.tick(at))
                counts.append(len(inbox.mails))
                await asyncio.gather(one.tick(at + timedelta(minutes=1)), other.tick(at + timedelta(minutes=1)))
                counts.append(len(inbox.mails))
                sent_by_hand = await asyncio.gather(
                    send_digest(second, config, TODAY + timedelta(days=1), at + timedelta(days=1)),
                    one.tick(at + timedelta(days=1)), return_exceptions=True)
                await one.tick(at + timedelta(days=1, minutes=1))
                counts.append(len(inbox.mails))
                return counts, sent_by_hand
            finally:
                await close(first, second)

        counts, sent_by_hand = asyncio.run(run())
    assert counts == [1, 1, 2]
    assert not any(isinstance(r, Exception) and not isinstance(r, JobRunning) for r in sent_by_hand)


def test_wbs_alerts_send_while_another_node_sends_is_refused(open_store, tmp_path):
    async def run() -> None:
        first, second = await two_nodes(open_store)
        path = tmp_path / "wbs.toml"
        path.write_text(f'data_dir = "{tmp_path}"\n' + alerts_table(1, send_at="07:30"))
        config = load_config(path)
        try:
            async with first.exclusive(DIGEST_LOCK) as got:
                assert got
                with pytest.raises(JobRunning, match="sending the daily digest right now"):
                    await send_digest(second, config, TODAY, datetime.now().astimezone())
            assert (await first.alert_state()).failures == 0  # nothing was attempted
        finally:
            await close(first, second)

    asyncio.run(run())


HOLDER = """
import asyncio, sys
from server.storage.postgresql import open_store

async def hold():
    store = await open_store(sys.argv[1])
    async with store.exclusive(sys.argv[2]) as got:
        print("held" if got else "refused", flush=True)
        await asyncio.sleep(600)

asyncio.run(hold())
"""


def test_a_node_killed_while_holding_the_purge_lock_lets_the_next_round_run(pg_cluster, pg_database, tmp_path):
    """The advisory lock belongs to the holder's connection: SIGKILL the holder and PostgreSQL
    lets it go, so another node's next round purges."""
    from server.storage.postgresql import open_store

    blobs = blob_store(tmp_path)
    url = pg_cluster.url(pg_database)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url, PURGE_LOCK], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"

        async def round_while_held(store: Store) -> None:
            with pytest.raises(JobRunning):
                await purge_expired(store, blobs, 30, today=TODAY)

        async def run() -> tuple[int, list[str]]:
            store = await open_store(url)
            try:
                ids = await new_report(store, blobs, an_account(), CASES[0])
                await store.status_change_with_audit(CASES[0], "closed_unproven", "2026-01-05", "kepala")
                await round_while_held(store)
                holder.send_signal(signal.SIGKILL)
                await asyncio.to_thread(holder.wait, 30)
                for _ in range(200):  # the server notices the closed socket at once; allow it a moment
                    try:
                        return await purge_expired(store, blobs, 30, today=TODAY), ids
                    except JobRunning:
                        await asyncio.sleep(0.05)
                raise AssertionError("the dead node's lock was never released")
            finally:
                await store.close()

        count, ids = asyncio.run(run())
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
    assert count == 1
    assert not any(blobs.exists(i) for i in ids)

