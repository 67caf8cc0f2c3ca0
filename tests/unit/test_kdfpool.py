"""The KDF pool: bounded, polite when full, and below the event loop's priority."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from server.errors import Busy
from server.kdfpool import REFUSAL_WAIT, KdfPool


def _priority() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_kdf_threads_run_below_the_event_loop() -> None:
    async def main() -> tuple[int, int]:
        pool = KdfPool(workers=1, queue=0)
        try:
            return await pool.run(_priority)
        finally:
            pool.close()

    policy, nice = asyncio.run(main())
    assert policy == os.SCHED_IDLE or nice == 19
    # The caller's thread is left as it was.
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_full_pool_refuses_after_a_short_wait() -> None:
    release = threading.Event()

    async def main() -> float:
        pool = KdfPool(workers=1, queue=0)
        try:
            busy = asyncio.ensure_future(pool.run(release.wait, 5))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            with pytest.raises(Busy):
                await pool.run(int)
            waited = time.monotonic() - started
            release.set()
            await busy
            return waited
        finally:
            pool.close()

    waited = asyncio.run(main())
    assert REFUSAL_WAIT * 0.9 <= waited < 1.0


def test_slot_freed_during_the_wait_is_taken() -> None:
    async def main() -> int:
        pool = KdfPool(workers=1, queue=0)
        try:
            first = asyncio.ensure_future(pool.run(time.sleep, 0.1))
            await asyncio.sleep(0.02)
            second = await pool.run(int, "7", wait=2.0)
            await first
            return second
        finally:
            pool.close()

    assert asyncio.run(main()) == 7
