"""Argon2id off the event loop, in a pool of its own with a bounded queue.

argon2-cffi releases the GIL, so derivations run in parallel with the loop.
Each derivation holds ``m_kib`` of memory; the pool's size times that is the
most the server spends on them. Logins fail fast with ``Busy`` when every
slot is taken; a report being submitted may wait a while for one, so its
typed text is not thrown away for a passing peak.

Two things keep a flood of logins from slowing every other page:

- each KDF thread lowers its own scheduling priority when it starts
  (``SCHED_IDLE``, or nice 19 where that is refused). Linux schedules threads
  one by one and lowering needs no privilege, so the event loop keeps its
  CPU while derivations take what is left; on a busy machine logins slow
  down instead of pages.
- a refusal waits ``REFUSAL_WAIT`` for a slot before it answers "busy". A
  person still gets an answer at once; a script retrying in a loop makes
  tens of attempts a second instead of hundreds for the loop to parse.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from .errors import Busy

T = TypeVar("T")

REFUSAL_WAIT = 0.05


def lower_thread_priority() -> None:
    """Make the calling thread yield the CPU to everything else in the process."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


class KdfPool:
    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="kdf", initializer=lower_thread_priority)
        self._slots = asyncio.Semaphore(workers + queue)

    async def run(self, fn: Callable[..., T], *args: object, wait: float = 0.0) -> T:
        """Run ``fn(*args)`` in the pool; raise ``Busy`` if no slot frees within ``wait`` seconds."""
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=max(wait, REFUSAL_WAIT))
            except asyncio.TimeoutError:
                raise Busy() from None
        else:
            await self._slots.acquire()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
