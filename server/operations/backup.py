"""``wbs backup DEST`` and ``wbs restore SRC``: a consistent copy of a data
folder while the server runs, and a restore that refuses a damaged copy.

A backup holds the database (through SQLite's online backup API, so it is
one consistent moment), every blob that moment names (blobs never change
once written), the instance secret and the installed public key file, and
``backup.json`` listing every file with its sha256. A store on PostgreSQL is
written into the backup as the same SQLite file, from one REPEATABLE READ
moment of it (``store.snapshot_into_sqlite``), and its blobs are read from
``blob_dir`` if set: a backup is the same whatever the engine, ``wbs restore``
makes a single-machine data folder of it, and ``wbs migrate-store`` can move
that into PostgreSQL again. Like the live folder, it holds only ciphertext and
metadata, and it needs the same care: it carries the instance secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from pathlib import Path

from crypto.encoding import format_day, utc_now

from server.config import Config
from server.errors import StoreError
from server.storage.blobstore import fsync_dir
from server.storage.datafolder import DataFolder
from server.storage.opening import blob_root, open_store
from server.storage.store import database_item_ids, snapshot_database, snapshot_into_sqlite

BACKUP_FORMAT = "wbs-backup/1"
MANIFEST = "backup.json"
BLOCK = 1024 * 1024


def sha256_of(path: Path) -> str:
    """Blocking: the SHA-256 of a file, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))


def backup(folder: DataFolder, dest: Path, config: Config | None = None) -> dict:
    """Write a backup into ``dest`` (a new or empty folder); returns its manifest.

    ``config``: where the store and the blobs are, when not in the data folder
    (``database_url``, ``blob_dir``); without it, the data folder's own.
    """
    folder.require()
    blobs = blob_root(config, folder) if config is not None else folder.blobs
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise StoreError(f"{dest} is not empty; a backup goes into a new folder")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = DataFolder(dest)
    if config is not None and config.database_url:
        ids = asyncio.run(_snapshot_postgresql(config, folder, target.database))
    else:
        ids = snapshot_database(folder.database, target.database)
    for item_id in sorted(ids):
        source = blobs / item_id[:2] / f"{item_id}.wbse"
        copy = target.blobs / item_id[:2] / f"{item_id}.wbse"
        copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            shutil.copyfile(source, copy)
        except FileNotFoundError:
            raise StoreError(f"blob {item_id} is missing from the store") from None
    shutil.copyfile(folder.secret_file, target.secret_file)
    os.chmod(target.secret_file, 0o600)
    if folder.public_keys.exists():
        shutil.copyfile(folder.public_keys, target.public_keys)
    files = {
        str(path.relative_to(dest)): sha256_of(path)
        for path in sorted(dest.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest = {"format": BACKUP_FORMAT, "created_day": format_day(utc_now()), "items": len(ids), "files": files}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _fsync_tree(dest)
    return manifest


async def _snapshot_postgresql(config: Config, folder: DataFolder, target: Path) -> set[str]:
    store = await open_store(config, folder)
    try:
        return await snapshot_into_sqlite(store, target)
    finally:
        await store.close()


def verify(src: Path) -> dict:
    """Check a backup completely: manifest, every checksum, every item's blob present."""
    src = Path(src)
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise StoreError(f"{src} has no readable {MANIFEST}: not a WBS backup") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise StoreError(f"{src}/{MANIFEST} is not a {BACKUP_FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise StoreError("the backup manifest lists no files")
    present = {str(p.relative_to(src)) for p in src.rglob("*") if p.is_file() and p.name != MANIFEST}
    if present != set(files):
        raise StoreError("the backup's files differ from its manifest (missing or extra files)")
    for name, expected in files.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise StoreError(f"the backup manifest names an unsafe path: {name}")
        if sha256_of(src / name) != expected:
            raise StoreError(f"{name} is damaged (checksum mismatch)")
    backup_folder = DataFolder(src)
    if not backup_folder.initialized or not backup_folder.database.exists():
        raise StoreError("the backup lacks the database or the instance secret")
    for item_id in database_item_ids(backup_folder.database):
        if f"blobs/{item_id[:2]}/{item_id}.wbse" not in files:
            raise StoreError(f"the backup lacks the blob of item {item_id}")
    return manifest


def restore(src: Path, data_dir: Path) -> dict:
    """Restore a verified backup into ``data_dir``, which must not exist yet."""
    manifest = verify(src)
    data_dir = Path(data_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise StoreError(f"{data_dir} is not empty; restore into a new folder")
    staging = data_dir.with_name(f".{data_dir.name}.restoring")
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(src, staging, ignore=shutil.ignore_patterns(MANIFEST))
    os.chmod(staging, 0o700)
    _fsync_tree(staging)
    if data_dir.exists():
        data_dir.rmdir()
    os.replace(staging, data_dir)
    return manifest
