"""Argon2id off the event loop, in a pool of its own, in lanes that cannot starve each other.

argon2-cffi releases the GIL, so derivations run in parallel with the loop.
Each derivation holds ``m_kib`` of memory; the pool's thread count times
that is the most the server spends on them, however many wait.

Work comes in lanes (reporter logins, account creation, staff), each with
its own number of places: jobs running or waiting for a thread. A lane that
is full refuses its next job with ``Busy`` after ``wait`` seconds; other
lanes are not touched. A thread that frees up goes to the next lane in
turn that has a job waiting, so a job waits at most for the derivations
already running and one turn of each other lane. This is what keeps a flood
of new reports (a report may wait up to a minute for a place, so its typed
text is not thrown away for a passing peak) from taking the capacity logins
need: creation can fill only its own places, and its queue does not stand
in front of a login.

Two more things keep a flood from slowing every other page:

- each KDF thread lowers its own scheduling priority when it starts
  (``SCHED_IDLE``, or nice 19 where that is refused). Linux schedules threads
  one by one and lowering needs no privilege, so the event loop keeps its
  CPU while derivations take what is left; on a busy machine logins slow
  down instead of pages.
- a job waits for a place, first come first served, before it answers
  "busy": ``wait`` seconds and at least ``REFUSAL_WAIT``. A login waits up
  to ``kdf_login_wait_seconds`` (1 s), so a person queues behind a flood's
  attempts instead of racing every retry for the place that frees up, and
  still hears "busy" quickly; a script retrying in a loop makes a few
  attempts a second instead of hundreds for the loop to parse.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Mapping, TypeVar

from server.errors import Busy

T = TypeVar("T")

REFUSAL_WAIT = 0.05
LOGIN = "login"  # reporter logins
CREATE = "create"  # new reports without a session: a new account each
STAFF = "staff"  # staff logins and password changes


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


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(fn)
    except RuntimeError:  # the loop is closed: the server is stopping
        pass


class KdfPool:
    def __init__(self, workers: int, lanes: Mapping[str, int]) -> None:
        """``workers`` threads; ``lanes`` maps each lane's name to its places (running or waiting)."""
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="kdf", initializer=lower_thread_priority)
        self._idle = workers
        self._places = {name: asyncio.Semaphore(places) for name, places in lanes.items()}
        self._queues: dict[str, deque[asyncio.Future[None]]] = {name: deque() for name in lanes}
        self._order = list(lanes)
        self._next = 0

    async def run(self, fn: Callable[..., T], *args: object, lane: str = LOGIN, wait: float = 0.0) -> T:
        """Run ``fn(*args)`` in ``lane``; raise ``Busy`` if the lane has no place within ``wait`` seconds."""
        places = self._places[lane]
        if places.locked():
            try:
                await asyncio.wait_for(places.acquire(), timeout=max(wait, REFUSAL_WAIT))
            except asyncio.TimeoutError:
                raise Busy() from None
        else:
            await places.acquire()
        try:
            await self._thread(lane)
            job = self._executor.submit(fn, *args)
            loop = asyncio.get_running_loop()
            # The thread is handed on when the job ends, not when its caller stops waiting.
            job.add_done_callback(lambda _: _call_soon(loop, self._hand_on))
            return await asyncio.wrap_future(job)
        finally:
            places.release()

    async def _thread(self, lane: str) -> None:
        """Wait for this lane's turn at a free thread."""
        if self._idle and not any(self._queues.values()):
            self._idle -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[lane].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._hand_on()  # given a thread just as the caller left: pass it on
            elif turn in self._queues[lane]:
                self._queues[lane].remove(turn)
            raise

    def _hand_on(self) -> None:
        """A thread is free: give it to the next lane in turn that has a job waiting."""
        for i in range(len(self._order)):
            lane = self._order[(self._next + i) % len(self._order)]
            queue = self._queues[lane]
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    self._next = (self._next + i + 1) % len(self._order)
                    turn.set_result(None)
                    return
        self._idle += 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
