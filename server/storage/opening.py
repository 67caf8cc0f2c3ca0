"""The store and the blob folder a configuration names, for the server and every command.

``database_url`` empty: SQLite in the data folder (``DATA/wbs.sqlite3``), as
always; otherwise PostgreSQL, in the tenant's schema when the tenant shares
the top-level database (``Config.database_schema``). ``blob_dir`` empty: the
data folder's ``blobs/``.
"""

from __future__ import annotations

from pathlib import Path

from server.config import Config, zone_of
from server.errors import StoreError
from server.storage.datafolder import DataFolder
from server.storage.store import Store


async def open_store(config: Config, folder: DataFolder) -> Store:
    """The store of ``config`` and its data folder, migrated. A PostgreSQL server that cannot be
    reached or used is a one-line ``StoreError``."""
    zone = zone_of(config)
    if not config.database_url:
        return await Store.open(folder.database, zone)
    from server.storage.postgresql import open_store as open_postgresql

    try:
        return await open_postgresql(config.database_url, zone, schema=config.database_schema,
                                     instance_secret=folder.instance_secret(), secret_name=str(folder.secret_file))
    except StoreError as exc:
        raise StoreError(f"{exc} (database_url {config.database_url})") from None


def blob_root(config: Config, folder: DataFolder) -> Path:
    """The folder holding the ciphertext envelopes: ``blob_dir``, or the data folder's ``blobs/``."""
    return Path(config.blob_dir) if config.blob_dir else folder.blobs


def engine_description(config: Config, folder: DataFolder) -> str:
    """Where the metadata lives, for logs and ``wbs check`` (a URL here never holds a password)."""
    if not config.database_url:
        return f"SQLite, {folder.database}"
    schema = f", schema {config.database_schema}" if config.database_schema else ""
    return f"PostgreSQL, {config.database_url}{schema}"
