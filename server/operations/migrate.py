"""``wbs migrate-store --to postgresql://...``: move a single-machine store (SQLite, in the
data folder) into a new, empty PostgreSQL database, then check the copy item by item.

Every table of the schema is copied in dependency order, from one moment of the
SQLite file, in one PostgreSQL transaction (all or nothing), the audit's seq values
kept. Then the copy is checked: every row of every table read again from both sides
and compared, and every item's blob found with the size and sha256 its row gives.
The blobs are not moved: they are checked where ``wbs.toml`` puts them (``blob_dir``,
else the data folder's ``blobs/``).

The server must be stopped first: nothing tells reliably whether another process
has the SQLite file open, and what it writes after the copy's moment would not be in
PostgreSQL. A write between the copy and the check makes the check fail. The command
never edits ``wbs.toml``: the operator sets ``database_url`` (before, for a tenant, whose
place in the database ``wbs.toml`` decides; ``cli._migration_schema``), and from then on
the SQLite file is not used (keep it until the new store has served for a while; then
delete it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from server.config import DATABASE_SCHEMES, check_database_url
from server.errors import ConfigError, TransferError
from server.operations.backup import sha256_of
from server.storage.blobstore import BlobStore
from server.storage.store import Store, Transfer

SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class Moved:
    rows: dict[str, int]  # per table, in the order copied; equal on both sides
    blobs: int  # items whose blob was found as its row says


def check_url(url: str) -> None:
    """A ``postgresql://`` URL without a password (on a command line it would sit in the shell's
    history and in ``ps``), as ``database_url`` must be."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError("--to must be a postgresql:// URL, e.g. postgresql://wbs@/wbs?host=/run/postgresql")
    check_database_url(url, "--to")


def check_blobs(blobs: BlobStore, items: list[tuple[str, int, str]]) -> None:
    """Blocking: each item's blob present, with the size and sha256 of its row; else one
    ``TransferError`` naming how many differ and the first few."""
    problems = []
    for item_id, size, sha256 in items:
        path = blobs.path(item_id)
        try:
            found = path.stat().st_size
        except FileNotFoundError:
            problems.append(f"{item_id}: missing")
            continue
        if found != size:
            problems.append(f"{item_id}: {found} bytes, the database says {size}")
        elif sha256_of(path) != sha256:
            problems.append(f"{item_id}: its sha256 differs from the database's")
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS]) + ("; ..." if len(problems) > SHOWN_PROBLEMS else "")
        raise TransferError(f"{len(problems)} blob(s) in {blobs.root} do not match their items: {shown}")


async def migrate_store(source: Store, target: Store, blobs: BlobStore) -> Moved:
    """Copy ``source`` into ``target`` (empty, or refused) and check the copy; raises
    ``TransferError`` when anything differs."""
    transfer = Transfer(source, target)
    tables = await transfer.tables()
    await transfer.require_empty_target(tables)
    await transfer.copy(tables)
    try:
        rows = await transfer.verify(tables)
        items = await transfer.items()
        await asyncio.to_thread(check_blobs, blobs, items)
    except TransferError as exc:
        raise TransferError(f"{exc}.\nThe PostgreSQL database now holds a copy that is not the store: drop it and"
                            " create it empty again, stop the server if it was running, and run migrate-store"
                            " again") from None
    return Moved(rows, len(items))
