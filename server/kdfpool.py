"""Argon2id off the event loop, in a pool of its own with a bounded queue.

argon2-cffi releases the GIL, so derivations run in parallel with the loop.
Each derivation holds ``m_kib`` of memory; the pool's size times that is the
most the server spends on them. Logins fail fast with ``Busy`` when every
slot is taken; a report being submitted may wait a while for one, so its
typed text is not thrown away for a passing peak.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from .errors import Busy

T = TypeVar("T")


class KdfPool:
    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kdf")
        self._slots = asyncio.Semaphore(workers + queue)

    async def run(self, fn: Callable[..., T], *args: object, wait: float = 0.0) -> T:
        """Run ``fn(*args)`` in the pool; raise ``Busy`` if no slot frees within ``wait`` seconds."""
        if wait <= 0:
            if self._slots.locked():
                raise Busy()
            await self._slots.acquire()
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=wait)
            except asyncio.TimeoutError:
                raise Busy() from None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
