"""The start-up sweep of the blob folder: everything unfinished goes when one process
owns the folder (SQLite); only what no node can still be working on when nodes share it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from crypto.encoding import new_item_id
from server.storage.blobstore import SHARED_ORPHAN_GRACE_SECONDS, SHARED_TEMP_GRACE_SECONDS, BlobStore

HOUR = 60 * 60


def _blob(blobs: BlobStore, data: bytes = b"sealed") -> str:
    item_id = new_item_id()
    temp = blobs.new_temp()
    temp.write(data)
    temp.finish()
    blobs.commit(temp, item_id)
    return item_id


def _temp(blobs: BlobStore, seconds_ago: float) -> Path:
    temp = blobs.new_temp()
    temp.write(b"part of an upload")
    temp.finish()
    when = time.time() - seconds_ago
    os.utime(temp.path, (when, when))
    return temp.path


def _store(tmp_path: Path, later: float = 0.0) -> BlobStore:
    """The folder as seen ``later`` seconds from now (the clock decides what is old)."""
    blobs = BlobStore(tmp_path / "blobs", clock=lambda: time.time() + later)
    blobs.prepare()
    return blobs


def test_one_process_removes_every_orphan_at_once(tmp_path):
    blobs = _store(tmp_path)
    kept, orphan = _blob(blobs), _blob(blobs)
    fresh = _temp(blobs, 0)
    assert blobs.sweep({kept}) == 2
    assert blobs.exists(kept) and not blobs.exists(orphan) and not fresh.exists()


def test_shared_temp_files_go_only_once_untouched_for_a_day(tmp_path):
    blobs = _store(tmp_path)
    writing = _temp(blobs, 10)
    stalled = _temp(blobs, SHARED_TEMP_GRACE_SECONDS - HOUR)
    dead = _temp(blobs, SHARED_TEMP_GRACE_SECONDS + HOUR)
    assert blobs.sweep(set(), shared=True) == 1
    assert writing.exists() and stalled.exists() and not dead.exists()


def test_shared_orphans_go_only_an_hour_after_their_rename(tmp_path):
    """Another node renames a blob into place before its transaction commits: the blob's inode
    change time (its modification time is set to the day) says how long ago that was."""
    made = _store(tmp_path)
    named, orphan = _blob(made), _blob(made)
    os.utime(made.path(orphan), (0, 0))  # an old modification time is not an old rename
    assert _store(tmp_path, later=SHARED_ORPHAN_GRACE_SECONDS - 60).sweep({named}, shared=True) == 0
    assert made.exists(orphan)
    assert _store(tmp_path, later=SHARED_ORPHAN_GRACE_SECONDS + 60).sweep({named}, shared=True) == 1
    assert made.exists(named) and not made.exists(orphan)


def test_shared_files_another_node_removed_meanwhile_are_no_error(tmp_path):
    blobs = _store(tmp_path, later=2 * SHARED_TEMP_GRACE_SECONDS)
    gone = _temp(blobs, 0)
    gone.unlink()
    assert BlobStore._older(gone, time.time(), 1, changed=False) is False
    assert blobs.sweep(set(), shared=True) == 0
