"""``wbs migrate-store``: a single-machine store with a row in every table moved into PostgreSQL
and read back through the PostgreSQL store; a copy that differs (a row, a blob) caught by the
check; and ``wbs backup`` of a PostgreSQL store, restored, and moved back again.

The store made here has rows in every table of the schema, and the first test fails if a
table is empty or not copied: a migration that adds a table must add its rows here.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
from datetime import timezone
from pathlib import Path

import pytest

from conftest import wbs
from crypto.encoding import new_item_id
from server.errors import TransferError
from server.operations.backup import verify
from server.operations.migrate import check_blobs, migrate_store
from server.storage.blobstore import BlobStore
from server.storage.datafolder import DataFolder
from server.storage.postgresql import open_store
from server.storage.store import LIVE_STATE_TABLES, Account, NewItem, Retention, StaffMember, Store, Transfer

FIRST, SECOND, THIRD = "WBS-KLK26-00001", "WBS-KLK26-00002", "WBS-KLK26-00003"
BUNDLE = "b1" * 32


def account(day: str) -> Account:
    return Account(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(16), 3, 65536, 4,
                   secrets.token_bytes(32), day)


class Items:
    """New items whose envelopes (random bytes of random sizes) are in the blob store already."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def __call__(self, kind: str, author: str, parent: NewItem | None = None) -> NewItem:
        item_id = new_item_id()
        data = secrets.token_bytes(1024 + secrets.randbelow(4096))
        path = self.blobs.path(item_id)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(data)
        return NewItem(item_id, kind, author, parent.item_id if parent else None, len(data),
                       hashlib.sha256(data).hexdigest())


async def fill(store: Store, blobs: BlobStore) -> None:
    """A row in every table: accounts with two reports and one, items of each kind (attachments
    pointing at their item), status changes, a reply bundle, what a reporter has seen, an export,
    staff, the digest's state, audit lines, and a case purged."""
    item = Items(blobs)
    one, two = account("2026-11-20"), account("2026-11-21")
    report = item("report", "reporter")
    await store.create_report(account=one, account_id=one.id, code=FIRST, status="received", day="2026-11-20",
                              items=[report, item("attachment", "reporter", report)])
    await store.create_report(account=None, account_id=one.id, code=SECOND, status="received", day="2026-11-21",
                              items=[item("report", "reporter")])
    await store.create_report(account=two, account_id=two.id, code=THIRD, status="received", day="2026-11-21",
                              items=[item("report", "reporter")])
    message = item("message", "reporter")
    await store.add_items(FIRST, "2026-11-22", [message, item("attachment", "reporter", message)])
    await store.status_change_with_audit(FIRST, "verification", "2026-11-23", "kepala")
    await store.add_items_with_audit(FIRST, "2026-11-24", [item("reply", "staff")], "kepala", "reply")
    await store.import_replies("2026-11-25", [(SECOND, item("reply", "keyholder"), "investigation")],
                               [("2026-11-25", "wbs-cli", SECOND, "import:1 reply")], bundle_id=BUNDLE)
    await store.mark_seen(FIRST, 2)
    await store.mark_exported([report.item_id], [("2026-11-25", "wbs-cli", None, "export:1 report")])
    await store.add_staff(StaffMember(secrets.token_hex(16), "kepala", "admin", "$argon2id$hash", "BASE32SECRET",
                                      0, False, False, "2026-11-19"),
                          [("2026-11-19", "wbs-cli", None, "user_add:kepala (admin)")])
    await store.use_totp_step((await store.staff_by_name("kepala")).id, 59_000_123)
    await store.record_alert_failure("2026-11-26", "refused")
    await store.record_alert_sent("2026-11-27", "2026-11-26")
    await store.status_change_with_audit(THIRD, "closed_unproven", "2026-11-26", "kepala")
    for item_id in await Retention(store).purge_items(THIRD, "2026-11-28", "retention"):
        blobs.remove(item_id)


async def live_state(store: Store) -> None:
    """A row in each table of live state, which a copy leaves behind (minutes since the epoch)."""
    minute = 29_400_000
    await store.add_reporter_session(secrets.token_bytes(32), secrets.token_bytes(80), minute + 30, minute + 240,
                                     cap=100)
    await store.add_staff_session(secrets.token_bytes(32), (await store.staff_by_name("kepala")).id, minute + 30,
                                  minute + 480)
    await store.count_login_failure(secrets.token_bytes(32), minute + 600)
    await store.count_rate_event("login", minute)


async def view(store: Store) -> dict:
    """What the store's public queries answer, every table's content through them."""
    reports = await store.all_reports()
    accounts = sorted({r.account_id for r in reports})
    items = {r.code: await store.items_of_report(r.code) for r in reports}
    audit, _ = await store.audit_page(limit=1000)
    return {
        "reports": reports,
        "history": await store.all_status_history(),
        "items": items,
        "accounts": [await store.account(a) for a in accounts],
        "answers": [await store.answers_of_account(a) for a in accounts],
        "audit": [tuple(r) for r in audit],
        "staff": await store.all_staff(),
        "alerts": await store.alert_state(),
        "bundle": await store.bundle_imported(BUNDLE),
        "purged": await store.purge_days([THIRD]),
        "counts": await store.counts(),
    }


def schema_tables(path: Path) -> set[str]:
    """The SQLite schema's tables, read with the standard library (not with what copies them)."""
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} - {"sqlite_sequence"}
    finally:
        db.close()


def table_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in schema_tables(path)}
    finally:
        db.close()


def data_folder(root: Path) -> DataFolder:
    folder = DataFolder(root)
    folder.initialize()
    return folder


def filled_folder(root: Path) -> DataFolder:
    folder = data_folder(root)

    async def run() -> None:
        store = await Store.open(folder.database)
        try:
            await fill(store, BlobStore(folder.blobs))
        finally:
            await store.close()

    asyncio.run(run())
    return folder


async def open_both(folder: DataFolder, url: str) -> tuple[Store, Store]:
    return await Store.open(folder.database), await open_store(url)


def test_every_table_moves_and_reads_back_the_same_through_postgresql(pg_cluster, pg_database, tmp_path):
    folder = filled_folder(tmp_path / "data")
    assert LIVE_STATE_TABLES <= schema_tables(folder.database)
    rows = {name: n for name, n in table_counts(folder.database).items() if name not in LIVE_STATE_TABLES}
    empty = sorted(name for name, n in rows.items() if n == 0)
    assert not empty, f"fill() writes no row into {empty}: a new table needs rows in this test"
    url = pg_cluster.url(pg_database)

    done = wbs("migrate-store", "--data", str(folder.root), "--to", url)
    listed = {}
    for line in done.stdout.splitlines()[1:]:
        if not line.startswith("  "):
            break
        name, count, _ = line.split()
        listed[name] = int(count)
    assert listed == rows  # every table of the schema, each with all its rows
    assert "verified" in done.stdout and "database_url" in done.stdout

    async def read_back() -> tuple[dict, dict, int, int]:
        source, target = await open_both(folder, url)
        try:
            before, after = await view(source), await view(target)
            last = before["audit"][0][0]
            await target.audit(("2026-12-01", "kepala", None, "login"))
            newest, _ = await target.audit_page(limit=1)
            return before, after, last, newest[0]["seq"]
        finally:
            await source.close()
            await target.close()

    before, after, last, newest = asyncio.run(read_back())
    assert after == before
    assert after["items"][FIRST][1].parent_id == after["items"][FIRST][0].item_id
    assert after["purged"] == {THIRD: "2026-11-28"} and after["bundle"] == "2026-11-25"
    assert newest == last + 1  # the audit's seq goes on where SQLite's stopped

    again = wbs("migrate-store", "--data", str(folder.root), "--to", url, check=False)
    assert again.returncode == 1 and "not empty" in again.stderr and "nothing was copied" in again.stderr


def test_a_row_changed_after_the_copy_and_a_damaged_blob_are_caught(pg_cluster, pg_database, tmp_path):
    folder = filled_folder(tmp_path / "data")
    blobs = BlobStore(folder.blobs)
    url = pg_cluster.url(pg_database)

    async def run() -> list[tuple[str, int, str]]:
        source, target = await open_both(folder, url)
        try:
            moved = await migrate_store(source, target, blobs)
            assert moved.blobs == sum(len(v) for v in (await view(source))["items"].values())
            transfer = Transfer(source, target)
            tables = await transfer.tables()
            await source.mark_seen(FIRST, 3)  # the server ran on after the copy
            with pytest.raises(TransferError, match="seen differs: 1 row"):
                await transfer.verify(tables)
            return await transfer.items()
        finally:
            await source.close()
            await target.close()

    items = asyncio.run(run())
    check_blobs(blobs, items)
    item_id, size, _ = items[0]
    with open(blobs.path(item_id), "r+b") as blob:
        blob.truncate(size - 1)
    with pytest.raises(TransferError, match=f"1 blob.* {item_id}: {size - 1} bytes"):
        check_blobs(blobs, items)
    second = items[1][0]
    data = bytearray(blobs.path(second).read_bytes())
    data[0] ^= 1
    blobs.path(second).write_bytes(bytes(data))
    with pytest.raises(TransferError, match=f"2 blob.*{second}: its sha256 differs"):
        check_blobs(blobs, items)


def test_a_missing_blob_fails_the_command_which_says_what_to_do(pg_cluster, pg_database, tmp_path):
    folder = filled_folder(tmp_path / "data")

    async def first_item() -> str:
        store = await Store.open(folder.database)
        try:
            return (await store.items_of_report(FIRST))[0].item_id
        finally:
            await store.close()

    gone = asyncio.run(first_item())
    BlobStore(folder.blobs).remove(gone)
    failed = wbs("migrate-store", "--data", str(folder.root), "--to", pg_cluster.url(pg_database), check=False)
    assert failed.returncode == 1
    assert f"{gone}: missing" in failed.stderr and "drop it and create it empty again" in failed.stderr


@pytest.mark.parametrize("url, said", [
    ("sqlite:///var/wbs.sqlite3", "must be a postgresql:// URL"),
    ("postgresql://wbs:rahasia@db.internal/wbs", "must not carry a password"),
])
def test_the_target_must_be_a_postgresql_url_without_a_password(tmp_path, url, said):
    folder = data_folder(tmp_path / "data")
    failed = wbs("migrate-store", "--data", str(folder.root), "--to", url, check=False)
    assert failed.returncode == 1 and said in failed.stderr
    assert "rahasia" not in failed.stderr


def test_a_folder_without_a_sqlite_store_has_nothing_to_move(pg_cluster, pg_database, tmp_path):
    folder = data_folder(tmp_path / "data")  # made, but its store never opened (database_url from the start)
    failed = wbs("migrate-store", "--data", str(folder.root), "--to", pg_cluster.url(pg_database), check=False)
    assert failed.returncode == 1 and "nothing to move" in failed.stderr
    assert not folder.database.exists()


def test_a_backup_of_a_postgresql_store_restores_and_moves_back(pg_cluster, pg_database, tmp_path):
    """wbs backup on PostgreSQL (blobs in blob_dir) writes the usual backup, one SQLite file; wbs
    restore makes a single-machine folder of it, which migrate-store moves into PostgreSQL again."""
    folder = data_folder(tmp_path / "data")
    url = pg_cluster.url(pg_database)
    shared = tmp_path / "shared"
    config = tmp_path / "wbs.toml"
    config.write_text(f'data_dir = "{folder.root}"\ndatabase_url = "{url}"\nblob_dir = "{shared}"\n')
    again = pg_cluster.create_database()
    try:
        async def make() -> None:
            store = await open_store(url)
            try:
                await fill(store, BlobStore(shared))
                await live_state(store)
            finally:
                await store.close()

        asyncio.run(make())
        assert not folder.database.exists()
        wbs("backup", "--config", str(config), str(tmp_path / "backup"))
        manifest = verify(tmp_path / "backup")
        copied = table_counts(tmp_path / "backup" / "wbs.sqlite3")
        assert {name: copied[name] for name in LIVE_STATE_TABLES} == dict.fromkeys(LIVE_STATE_TABLES, 0)
        assert "wbs.sqlite3" in manifest["files"]
        assert not [name for name in manifest["files"] if name.startswith("wbs.sqlite3-")]  # one file, no WAL
        refused = wbs("restore", "--config", str(config), str(tmp_path / "backup"), check=False)
        assert refused.returncode == 1 and "migrate-store" in refused.stderr
        restored = DataFolder(tmp_path / "restored")
        wbs("restore", "--data", str(restored.root), str(tmp_path / "backup"))
        wbs("migrate-store", "--data", str(restored.root), "--to", pg_cluster.url(again))

        async def views() -> list[dict]:
            stores = [await open_store(url), await Store.open(restored.database), await open_store(pg_cluster.url(again))]
            try:
                tables = await Transfer(stores[0], stores[2]).tables()
                await Transfer(stores[0], stores[2]).verify(tables)  # every row, the audit's seq included
                return [await view(store) for store in stores]
            finally:
                for store in stores:
                    await store.close()

        original, single, moved = asyncio.run(views())
        assert original == single == moved
        assert manifest["items"] == sum(len(v) for v in original["items"].values())
    finally:
        pg_cluster.drop_database(again)


def test_tenants_move_into_their_schemas_of_the_database_wbs_toml_names(pg_cluster, pg_database, tmp_path):
    url = pg_cluster.url(pg_database)
    config = tmp_path / "wbs.toml"
    tenants = "".join(f'\n[[tenants]]\nslug = "{slug}"\norg_name = "Inspektorat {slug}"\nhosts = ["{slug}.onion"]\n'
                      f'staff_hosts = ["staff.{slug}.onion"]\nreport_prefix = "{slug[:3].upper()}"\n'
                      for slug in ("alpha", "beta"))
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n' + tenants)
    folders = {slug: filled_folder(tmp_path / "data" / "tenants" / slug) for slug in ("alpha", "beta")}
    first = wbs("migrate-store", "--config", str(config), "--tenant", "alpha", "--to", url, check=False)
    assert first.returncode == 1 and "say first where tenant 'alpha' will live" in first.stderr
    config.write_text(f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{url}"\n' + tenants)
    for slug in folders:
        done = wbs("migrate-store", "--config", str(config), "--tenant", slug, "--to", url)
        assert f"schema tenant_{slug}:" in done.stdout and "wbs.toml names this database already" in done.stdout
    other = wbs("migrate-store", "--config", str(config), "--tenant", "alpha", "--to", url + "x", check=False)
    assert other.returncode == 1 and "names another database" in other.stderr

    async def views() -> list[tuple[dict, dict]]:
        pairs = []
        for slug, folder in folders.items():
            source, target = await Store.open(folder.database), await open_store(url, schema=f"tenant_{slug}")
            try:
                pairs.append((await view(source), await view(target)))
            finally:
                await source.close()
                await target.close()
        return pairs

    (alpha, alpha_moved), (beta, beta_moved) = asyncio.run(views())
    assert alpha == alpha_moved and beta == beta_moved and alpha["accounts"] != beta["accounts"]


def test_the_backup_is_refused_a_target_that_is_not_new(pg_cluster, pg_database, tmp_path):
    """The copy goes only into a new file: a leftover database in the way is not merged into."""
    from server.storage.store import snapshot_into_sqlite

    async def run() -> None:
        store = await open_store(pg_cluster.url(pg_database), timezone.utc)
        leftover = await Store.open(tmp_path / "wbs.sqlite3")
        await leftover.audit(("2026-12-01", "wbs-cli", None, "login"))
        await leftover.close()
        try:
            with pytest.raises(TransferError, match=r"not empty: audit \(1 row"):
                await snapshot_into_sqlite(store, tmp_path / "wbs.sqlite3")
        finally:
            await store.close()

    asyncio.run(run())
