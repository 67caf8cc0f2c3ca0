"""Tasks that must run in order, sharing a thread pool with everyone else.

A file's blocks are sealed one after another (the envelope is a stream), but
a thread for each upload would let a crowd of slow uploads take hundreds of
threads and their stacks. A ``SerialChain`` keeps one file's tasks in order
on a pool that every upload shares: at most one task of a chain is queued
in or running on the pool at a time, and when it ends the next one is
submitted, so a long chain never keeps a worker from the other chains.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Executor, Future
from typing import Any, Callable


class SerialChain:
    """Run the callables given to ``submit`` one at a time, in order, on a shared executor."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future, Callable[..., Any], tuple[Any, ...]]] = deque()
        self._busy = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        with self._lock:
            self._queue.append((future, fn, args))
            if self._busy:
                return future
            self._busy = True
        self._pool.submit(self._step)
        return future

    def _step(self) -> None:
        with self._lock:
            future, fn, args = self._queue.popleft()
        if future.set_running_or_notify_cancel():
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)
        with self._lock:
            if not self._queue:
                self._busy = False
                return
        self._pool.submit(self._step)
