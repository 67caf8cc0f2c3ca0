"""Nodes on one PostgreSQL agree on the instance secret: a node with another
secret is refused at start-up, before it could make codenames the others cannot log in with."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace

import asyncpg
import pytest

from server.config import Config
from server.errors import StoreError
from server.storage.datafolder import DataFolder
from server.storage.opening import open_store
from server.storage.postgresql import instance_check


def folder(path) -> DataFolder:
    made = DataFolder(path)
    made.initialize()
    return made


async def open_and_close(config: Config, data: DataFolder) -> None:
    store = await open_store(config, data)
    await store.close()


def test_a_node_with_another_secret_is_refused(tmp_path, pg_cluster, pg_database):
    config = Config(database_url=pg_cluster.url(pg_database))
    first, second = folder(tmp_path / "node1"), folder(tmp_path / "node2")
    asyncio.run(open_and_close(config, first))
    asyncio.run(open_and_close(config, first))
    with pytest.raises(StoreError) as refused:
        asyncio.run(open_and_close(config, second))
    message = str(refused.value)
    assert f"this node's {second.secret_file} is not the one this database was first used with" in message
    assert "copy" in message and "from the first node" in message
    shutil.copy(first.secret_file, second.secret_file)
    asyncio.run(open_and_close(config, second))


def test_the_check_value_is_not_the_secret(tmp_path, pg_cluster, pg_database):
    config = Config(database_url=pg_cluster.url(pg_database))
    data = folder(tmp_path / "node1")
    asyncio.run(open_and_close(config, data))

    async def recorded() -> bytes:
        conn = await asyncpg.connect(**pg_cluster.connect_args(pg_database))
        try:
            return await conn.fetchval("SELECT mac FROM instance_check")
        finally:
            await conn.close()
    mac = asyncio.run(recorded())
    secret = data.instance_secret()
    assert mac == instance_check(secret) and len(mac) == 32
    assert secret not in mac and mac != instance_check(bytes(32))


def test_each_tenant_schema_keeps_its_own_check(tmp_path, pg_cluster, pg_database):
    """Tenants have secrets of their own; sharing a database must not make them disagree."""
    config = Config(database_url=pg_cluster.url(pg_database))
    alpha, beta = folder(tmp_path / "alpha"), folder(tmp_path / "beta")
    asyncio.run(open_and_close(replace(config, database_schema="tenant_alpha"), alpha))
    asyncio.run(open_and_close(replace(config, database_schema="tenant_beta"), beta))
    with pytest.raises(StoreError, match="is not the one this database was first used with"):
        asyncio.run(open_and_close(replace(config, database_schema="tenant_alpha"), beta))
