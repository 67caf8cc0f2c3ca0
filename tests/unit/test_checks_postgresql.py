"""``wbs check`` with ``database_url``: it connects, reads the schema version, the
instance check and the digest's state, says where the metadata lives, changes
nothing, and leaves the SQLite file out of it."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import asyncpg

from crypto.keyring import new_keyring
from server.config import AlertsConfig, Config
from server.operations.checks import OK, PROBLEM, WARNING, _transport_findings, run_checks
from server.storage import postgresql
from server.storage.datafolder import DataFolder
from server.storage.engines import migrations
from server.storage.opening import open_store

ONION = "a" * 56 + ".onion"
ALERTS = AlertsConfig(smtp_host="mail.example.go.id", from_addr="wbs@example.go.id", to=("a@example.go.id",))


def _setup(tmp_path: Path, url: str) -> tuple[Config, DataFolder]:
    folder = DataFolder(tmp_path / "data")
    folder.initialize()
    folder.install_public_keys(new_keyring("Inspektorat Daerah Kabupaten Klungkung").public_key_file())
    return Config(data_dir=folder.root, onion_address=ONION, database_url=url), folder


def _check(config: Config):
    return run_checks(config, config_path=Path("/etc/wbs/wbs.toml"), euid=os.geteuid(),
                      disk_free=lambda _: 100 * 1024 ** 3, swaps=None)


def _messages(findings, level: str) -> list[str]:
    return [f.message for f in findings if f.level == level]


async def _use(config: Config, folder: DataFolder, fn=None) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(config, folder)
    try:
        if fn is not None:
            await fn(store)
    finally:
        await store.close()


def test_a_store_in_use_is_described_and_agrees(tmp_path, pg_cluster, pg_database):
    config, folder = _setup(tmp_path, pg_cluster.url(pg_database))
    asyncio.run(_use(config, folder))
    findings = _check(config)
    assert not _messages(findings, PROBLEM) and not _messages(findings, WARNING), findings
    ok = _messages(findings, OK)
    latest = migrations(postgresql.MIGRATIONS)[-1][0]
    assert f"metadata in PostgreSQL, {config.database_url} (schema version {latest})" in ok
    assert "this node's instance secret is the one the database was first used with" in ok
    assert not any("wbs.sqlite3" in f.message for f in findings)


def test_a_node_with_another_secret_is_a_problem(tmp_path, pg_cluster, pg_database):
    config, folder = _setup(tmp_path, pg_cluster.url(pg_database))
    other_config, other = _setup(tmp_path / "node2", config.database_url)
    asyncio.run(_use(other_config, other))
    problem, = _messages(_check(config), PROBLEM)
    assert problem.startswith(f"{folder.secret_file} is not the instance secret this database was first used with")
    assert "copy it from the first node" in problem


def test_a_new_database_is_a_warning_and_stays_untouched(tmp_path, pg_cluster, pg_database):
    config, _ = _setup(tmp_path, pg_cluster.url(pg_database))
    warning, = _messages(_check(replace(config, database_schema="tenant_alpha")), WARNING)
    assert "schema tenant_alpha holds no WBS tables yet" in warning

    async def tables() -> int:
        conn = await asyncpg.connect(**pg_cluster.connect_args(pg_database))
        try:
            return await conn.fetchval("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema"
                                       " NOT IN ('pg_catalog', 'information_schema')")
        finally:
            await conn.close()
    assert asyncio.run(tables()) == 0


def test_the_digest_state_is_read_from_postgresql(tmp_path, pg_cluster, pg_database):
    config, folder = _setup(tmp_path, pg_cluster.url(pg_database))
    config = replace(config, alerts=ALERTS)
    asyncio.run(_use(config, folder, lambda store: store.record_alert_sent("2026-11-27", "2026-11-26")))
    assert any("last sent on 2026-11-27" in m for m in _messages(_check(config), OK))


def test_a_database_that_cannot_be_reached_is_a_problem(tmp_path):
    config, _ = _setup(tmp_path, f"postgresql://wbs@/wbs?host={tmp_path / 'nowhere'}")
    problem, = _messages(_check(config), PROBLEM)
    assert problem.startswith(f"the metadata's database (PostgreSQL, {config.database_url}) cannot be used:"
                              " cannot connect to PostgreSQL")


def test_a_database_over_the_network_without_verified_tls_is_warned_about():
    assert _transport_findings("postgresql://wbs@db.internal/wbs")[0].message.startswith(
        "database_url reaches db.internal over the network without sslmode=verify-full")
    assert "10.0.0.5, db2" in _transport_findings("postgresql://wbs@10.0.0.5:5433,db2/wbs?sslmode=require")[0].message
    for quiet in ("postgresql://wbs@db.internal/wbs?sslmode=verify-full", "postgresql://wbs@/wbs?host=/run/postgresql",
                  "postgresql://wbs@localhost/wbs", "postgresql://wbs@[::1]:5432/wbs", "postgresql:///wbs"):
        assert _transport_findings(quiet) == [], quiet


def test_the_free_space_checked_is_blob_dirs(tmp_path):
    """New reports are refused by the free space where their files go: ``blob_dir`` when it is set."""
    config, _ = _setup(tmp_path, "")
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    config = replace(config, blob_dir=str(blobs))
    free = {blobs: 1024 ** 2, config.data_dir: 100 * 1024 ** 3}
    findings = run_checks(config, config_path=Path("/etc/wbs/wbs.toml"), euid=os.geteuid(),
                          disk_free=lambda path: free[Path(path)], swaps=None)
    problem, = _messages(findings, PROBLEM)
    assert problem.startswith("only 1 MiB free for blob_dir")
