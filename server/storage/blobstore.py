"""Ciphertext files: ``DATA/blobs/ab/<item_id>.wbse``, written atomically.

An envelope is first written to ``blobs/tmp/`` (mode 0600), fsync'd, then
renamed into place and its folder fsync'd. A blob becomes part of a report
only when the database transaction that lists it commits; anything else
found at start-up (temp files, blobs no row names) is an orphan of a crash
and is removed: at once when this process is the only one writing the
folder (SQLite), only once it is old when other nodes share it (``sweep``).
Every path is built from a checked item id, so nothing can point outside
the store. The methods here do blocking I/O: the server calls them from its
I/O thread pool.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

_ITEM_ID = re.compile(r"[0-9a-f]{32}\Z")
DAY_SECONDS = 24 * 60 * 60
_NOATIME = getattr(os, "O_NOATIME", 0)
# With a shared blob folder, what another node may still be writing: a temp file is an upload in progress
# as long as it grows (one stalled longer than upload_idle_seconds, a minute by default, is abandoned, and
# its file removed), so one untouched for a day is dead; a blob no row names may be one another node has
# just renamed into place, its transaction not yet committed, so it goes only an hour after that rename.
SHARED_TEMP_GRACE_SECONDS = DAY_SECONDS
SHARED_ORPHAN_GRACE_SECONDS = 60 * 60


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def no_room(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


WRITEBACK_BYTES = 8 * 1024 * 1024
_FADVISE = hasattr(os, "posix_fadvise")  # Linux; elsewhere the final fsync does it all


class TempBlob:
    """A file being written in ``blobs/tmp``; hashes what passes through.

    Every ``WRITEBACK_BYTES`` the bytes written so far are handed to the disk
    (``POSIX_FADV_DONTNEED`` starts their writeback and lets the page cache
    drop them once clean), so a large upload is written out while it arrives
    rather than all at once in the final ``fsync``, and ciphertext nobody
    will read soon does not crowd the page cache.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        # Ciphertext comes in pieces of 64 KiB or more, which pass the buffer by:
        # it gathers only the small ones, and costs each open upload 64 KiB, not 1 MiB.
        self._file = os.fdopen(fd, "wb", buffering=64 * 1024)
        self._digest = hashlib.sha256()
        self._written_back = 0
        self.size = 0

    def write(self, data: bytes | bytearray) -> int:
        self._digest.update(data)
        self._file.write(data)
        self.size += len(data)
        if self.size - self._written_back >= WRITEBACK_BYTES and _FADVISE:
            self._file.flush()
            os.posix_fadvise(self._file.fileno(), self._written_back, self.size - self._written_back,
                             os.POSIX_FADV_DONTNEED)
            self._written_back = self.size
        return len(data)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def finish(self) -> None:
        """Flush and fsync: after this the bytes are durable under the temp name."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        """Remove the file. Unlinked first: closing flushes what is still
        buffered, which fails on a full disk, and must not keep the file."""
        self.path.unlink(missing_ok=True)
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                pass  # the buffered tail of a file that no longer has a name


class BlobStore:
    def __init__(self, root: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self._clock = clock

    def prepare(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tmp.mkdir(mode=0o700, exist_ok=True)

    def path(self, item_id: str) -> Path:
        if not _ITEM_ID.match(item_id):
            raise ValueError("not an item id")
        return self.root / item_id[:2] / f"{item_id}.wbse"

    def new_temp(self) -> TempBlob:
        return TempBlob(self.tmp / f"{secrets.token_hex(16)}.part")

    def commit(self, temp: TempBlob, item_id: str) -> None:
        """Move a finished temp blob to its final name, durably, its times set to the day."""
        final = self.path(item_id)
        folder = final.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, exist_ok=True)
            fsync_dir(self.root)
        os.replace(temp.path, final)
        self._to_the_day(final, folder, self.tmp, self.root)
        fsync_dir(folder)
        fsync_dir(self.tmp)

    def _to_the_day(self, *paths: Path) -> None:
        """Access and modification times at midnight UTC: the database keeps days only, and
        so do the files (the inode change time cannot be set; see docs/threat-model.md)."""
        midnight = int(self._clock() // DAY_SECONDS) * DAY_SECONDS
        for path in paths:
            os.utime(path, (midnight, midnight))

    def remove(self, item_id: str) -> None:
        self.path(item_id).unlink(missing_ok=True)

    def open(self, item_id: str) -> BinaryIO:
        """Read a blob without moving its access time off the day (``O_NOATIME``: we own the files)."""
        path = self.path(item_id)
        try:
            fd = os.open(path, os.O_RDONLY | _NOATIME)
        except PermissionError:  # another user's process (a backup run as root may not be the owner)
            fd = os.open(path, os.O_RDONLY)
        return os.fdopen(fd, "rb")

    def exists(self, item_id: str) -> bool:
        return self.path(item_id).is_file()

    def temp_files(self) -> list[Path]:
        """What ``blobs/tmp`` holds: uploads in progress, or left by a crash or a failure."""
        try:
            return sorted(self.tmp.iterdir())
        except FileNotFoundError:
            return []

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def sweep(self, known: Iterable[str], *, shared: bool = False) -> int:
        """Remove temp files and blobs that no database row names; returns how many.

        ``shared``: other nodes write this folder too (a shared store), so only what
        none of them can still be working on goes: temp files not written for
        ``SHARED_TEMP_GRACE_SECONDS``, and unnamed blobs renamed into place (their
        inode change time: the modification time is set to the day) more than
        ``SHARED_ORPHAN_GRACE_SECONDS`` ago.
        """
        known_ids = set(known)
        now = self._clock()
        removed = 0
        for path in self.tmp.iterdir():
            if not shared or self._older(path, now, SHARED_TEMP_GRACE_SECONDS, changed=False):
                path.unlink(missing_ok=True)
                removed += 1
        for folder in self.root.iterdir():
            if folder == self.tmp or not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.suffix != ".wbse" or path.stem not in known_ids:
                    if not shared or self._older(path, now, SHARED_ORPHAN_GRACE_SECONDS, changed=True):
                        path.unlink(missing_ok=True)
                        removed += 1
        return removed

    @staticmethod
    def _older(path: Path, now: float, seconds: float, *, changed: bool) -> bool:
        """Whether ``path`` was last modified (``changed``: had its inode changed) more than ``seconds``
        before ``now``; a file another node removed meanwhile is not to be removed again."""
        try:
            info = path.stat()
        except FileNotFoundError:
            return False
        return now - (info.st_ctime if changed else info.st_mtime) > seconds
