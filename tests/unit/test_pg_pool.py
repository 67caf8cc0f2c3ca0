"""A PostgreSQL store keeps no connection at rest: with hundreds of tenants, each
with a pool of its own, idle connections would use up the server's
``max_connections`` before any load (docs/performance.md, "More than one machine")."""

from __future__ import annotations

import asyncio

import asyncpg

from server.storage import postgresql


async def _backends(conn: asyncpg.Connection, database: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database)


def test_an_idle_store_lets_its_connections_go(pg_cluster, pg_database, monkeypatch):
    monkeypatch.setattr(postgresql, "POOL_IDLE_SECONDS", 0.2)

    async def run():
        args = pg_cluster.connect_args(pg_database)
        watcher = await asyncpg.connect(**args)
        store = await postgresql.open_store(**args)
        try:
            await asyncio.gather(*(store.item_ids() for _ in range(8)))  # several connections at once
            assert await _backends(watcher, pg_database) >= 1
            for _ in range(100):  # the pool closes each after its idle time
                if await _backends(watcher, pg_database) == 0:
                    break
                await asyncio.sleep(0.05)
            assert await _backends(watcher, pg_database) == 0
            assert await store.item_ids() == set()  # and connects again when needed
        finally:
            await store.close()
            await watcher.close()

    asyncio.run(run())
