"""The PostgreSQL engine (docs/storage.md), so far its schema only: the numbered
migrations of ``migrations/postgresql/``, twins of SQLite's, applied once.

Not on the server's runtime path yet: ``wbs.toml`` has no ``database_url``.
"""

from __future__ import annotations

import asyncpg

from server.errors import StoreError
from server.storage.store import _migrations

MIGRATIONS = "server.storage.migrations.postgresql"
# pg_advisory_xact_lock's key while migrating: nodes starting together migrate once.
MIGRATION_LOCK = 0x5742_5300_0000_0001


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the migrations this database lacks, all in one transaction under an
    advisory lock (PostgreSQL's DDL is transactional); returns the version now."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            version = await conn.fetchval("SELECT version FROM schema_version")
            if version is None:
                version = 0
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            for number, script in _migrations(MIGRATIONS):
                if number > version:
                    await conn.execute(script)
                    version = number
            await conn.execute("UPDATE schema_version SET version = $1", version)
            return version
    except asyncpg.PostgresError as exc:
        raise StoreError(f"cannot migrate the PostgreSQL database: {exc}") from None
