"""The KDF pool: bounded, polite when full, below the event loop's priority,
and in lanes: a full lane refuses its own jobs only, and threads go to the
lanes in turn."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from server.defences.kdfpool import CREATE, LOGIN, REFUSAL_WAIT, STAFF, KdfPool
from server.errors import Busy


def _priority() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_kdf_threads_run_below_the_event_loop() -> None:
    async def main() -> tuple[int, int]:
        pool = KdfPool(1, {LOGIN: 1})
        try:
            return await pool.run(_priority)
        finally:
            pool.close()

    policy, nice = asyncio.run(main())
    assert policy == os.SCHED_IDLE or nice == 19
    # The caller's thread is left as it was.
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_full_lane_refuses_after_a_short_wait() -> None:
    release = threading.Event()

    async def main() -> float:
        pool = KdfPool(1, {LOGIN: 1})
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
        pool = KdfPool(1, {LOGIN: 1})
        try:
            first = asyncio.ensure_future(pool.run(time.sleep, 0.1))
            await asyncio.sleep(0.02)
            second = await pool.run(int, "7", wait=2.0)
            await first
            return second
        finally:
            pool.close()

    assert asyncio.run(main()) == 7


class Jobs:
    """Blocking jobs that record the order they ran in and wait to be let go."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.gates: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}

    def job(self, name: str):  # type: ignore[no-untyped-def]
        self.gates[name], self.started[name] = threading.Event(), threading.Event()

        def run() -> str:
            self.order.append(name)
            self.started[name].set()
            assert self.gates[name].wait(10)
            return name

        return run

    async def until_started(self, name: str) -> None:
        for _ in range(500):
            if self.started[name].is_set():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{name} never started")


def test_full_creation_lane_leaves_logins_and_staff_their_places() -> None:
    jobs = Jobs()

    async def main() -> None:
        pool = KdfPool(1, {LOGIN: 2, CREATE: 2, STAFF: 1})
        try:
            creations = [asyncio.ensure_future(pool.run(jobs.job(f"c{i}"), lane=CREATE, wait=30)) for i in range(4)]
            await jobs.until_started("c0")
            # c0 runs, c1 waits for the thread, c2 and c3 wait for a place in their lane.
            login = asyncio.ensure_future(pool.run(jobs.job("login"), lane=LOGIN))
            staff = asyncio.ensure_future(pool.run(jobs.job("staff"), lane=STAFF))
            await asyncio.sleep(0.2)
            assert not login.done() and not staff.done(), "admitted: they wait for the thread, not refused"
            with pytest.raises(Busy):  # the staff lane's one place is taken
                await pool.run(int, lane=STAFF)
            for name in ("c0", "login", "c1", "staff", "c2", "c3"):
                await jobs.until_started(name)
                jobs.gates[name].set()
            assert [await t for t in creations] == ["c0", "c1", "c2", "c3"]
            assert await login == "login" and await staff == "staff"
        finally:
            pool.close()

    asyncio.run(main())
    # The thread went to the lanes in turn: login and staff did not wait behind every creation.
    assert jobs.order == ["c0", "login", "c1", "staff", "c2", "c3"]


def test_a_caller_that_leaves_does_not_lose_the_thread() -> None:
    jobs = Jobs()

    async def main() -> int:
        pool = KdfPool(1, {LOGIN: 3})
        try:
            first = asyncio.ensure_future(pool.run(jobs.job("first")))
            await jobs.until_started("first")
            leaving = asyncio.ensure_future(pool.run(jobs.job("never")))
            await asyncio.sleep(0.05)
            leaving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await leaving
            jobs.gates["first"].set()
            await first
            return await asyncio.wait_for(pool.run(int, "5"), timeout=5)
        finally:
            pool.close()

    assert asyncio.run(main()) == 5
    assert jobs.order == ["first"]


def test_threads_bound_concurrency_across_lanes() -> None:
    running = []
    peak = []
    lock = threading.Lock()

    def job() -> None:
        with lock:
            running.append(1)
            peak.append(len(running))
        time.sleep(0.02)
        with lock:
            running.pop()

    async def main() -> None:
        pool = KdfPool(2, {LOGIN: 6, CREATE: 6, STAFF: 6})
        try:
            await asyncio.gather(*(pool.run(job, lane=lane, wait=10) for lane in (LOGIN, CREATE, STAFF)
                                   for _ in range(6)))
        finally:
            pool.close()

    asyncio.run(main())
    assert len(peak) == 18 and max(peak) == 2
