"""Streams that overlap work with the caller: a write-behind and a read-ahead.

Sealing, opening, hashing and file I/O all release the GIL, so on two cores
a pipeline of threads runs them side by side: the caller seals or opens
while a second thread hashes and writes what came before, or reads and
hashes what comes next. Both classes keep at most ``depth`` batches in
flight, so memory stays bounded whatever the size, and hand any failure in
their thread back to the caller. Neither does I/O of its own: they work on
the streams they are given.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import BinaryIO, Callable

BATCH = 1024 * 1024
DEPTH = 4
_END = object()


class WriteBehind:
    """A write-only stream whose writes happen in a thread of its own.

    ``write`` takes ownership of the buffer it is given (the caller must not
    change it afterwards) and returns at once unless ``depth`` batches
    already wait. Small writes are gathered (without copying) into batches of
    about ``BATCH`` bytes. The thread passes each buffer, in order, to
    ``digest.update`` when a digest is given, then to ``dst.write``. The first
    failure is raised by the next ``write`` or by ``close``; after it, the
    remaining buffers are dropped.
    """

    def __init__(self, dst: BinaryIO, *, digest: "hashlib._Hash | None" = None, depth: int = DEPTH,
                 name: str = "write-behind") -> None:
        self._dst = dst
        self.digest = digest
        self.size = 0
        self._batch: list[bytes | bytearray | memoryview] = []
        self._batched = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._drain, name=name, daemon=True)
        self._thread.start()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed stream")
        if self._error is not None:
            raise self._error
        size = len(data)
        self.size += size
        self._batch.append(data)
        self._batched += size
        if self._batched >= BATCH:
            self._flush_batch()
        return size

    def seekable(self) -> bool:
        return False

    def _flush_batch(self) -> None:
        if self._batch:
            self._queue.put(self._batch)
            self._batch, self._batched = [], 0

    def _drain(self) -> None:
        while (batch := self._queue.get()) is not _END:
            if self._error is not None:
                continue
            try:
                for data in batch:  # type: ignore[attr-defined]
                    if self.digest is not None:
                        self.digest.update(data)
                    self._dst.write(data)
            except BaseException as exc:  # handed to the caller by write() or close()
                self._error = exc

    def close(self) -> None:
        """Write what is left and wait for the thread; raise the first failure."""
        if not self._closed:
            self._closed = True
            if self._error is None:
                self._flush_batch()
            self._queue.put(_END)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop after a failure elsewhere: drop what is not yet handed over, end the thread, raise nothing."""
        self._batch, self._batched = [], 0
        try:
            self.close()
        except BaseException:
            pass


class ReadAhead:
    """A read-only stream fed by a thread that reads ``src`` in blocks ahead of the caller.

    The thread calls ``check(block)`` on each block it reads (a hash, say)
    and ``done()`` at the end of ``src``; whatever either raises reaches the
    caller at the read that would have returned the block. One block is held
    back until the next has been read, so the caller never receives the last
    block of a stream whose ``done()`` fails. ``translate`` maps errors of
    ``src`` itself to the caller's own. ``close`` stops the thread.
    """

    def __init__(self, src: BinaryIO, *, check: Callable[[bytes], None], done: Callable[[], None],
                 translate: Callable[[BaseException], BaseException] | None = None,
                 block: int = BATCH, depth: int = DEPTH, name: str = "read-ahead") -> None:
        self._src = src
        self._check = check
        self._done = done
        self._translate = translate
        self._block_size = block
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._fill, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self) -> None:
        held: bytes | None = None
        try:
            while not self._stop.is_set():
                try:
                    data = self._src.read(self._block_size)
                except BaseException as exc:
                    if self._translate is None:
                        raise
                    raise self._translate(exc) from None
                if not data:
                    self._done()
                    if held is not None and not self._put(held):
                        return
                    self._put(_END)
                    return
                self._check(data)
                if held is not None and not self._put(held):
                    return
                held = data
        except BaseException as exc:  # handed to the caller at its next read
            self._put(exc)

    def _next_block(self) -> bool:
        if self._eof:
            return False
        item = self._queue.get()
        if item is _END:
            self._eof = True
            return False
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        self._current, self._pos = memoryview(item), 0  # type: ignore[arg-type]
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); b"" at the end."""
        if size < 0:
            parts = [bytes(self._current[self._pos:])]
            self._pos = len(self._current)
            while self._next_block():
                parts.append(bytes(self._current))
                self._pos = len(self._current)
            return b"".join(parts)
        if self._pos >= len(self._current) and not self._next_block():
            return b""
        end = min(self._pos + size, len(self._current))
        data = bytes(self._current[self._pos:end])
        self._pos = end
        return data

    def close(self) -> None:
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()
        self._src.close()
