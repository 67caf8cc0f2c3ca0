"""Session expiry for reporters (server/defences/sessions.py) and staff (server/staff/workflow.py).

Each store is given a fake clock. A session survives ``idle`` seconds without
a request and no more; it survives ``lifetime`` seconds from its creation and
no more, however busy it is. Exactly at a limit it is still alive; a moment
later it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

import pytest

from server.defences.sessions import SessionStore
from server.staff.workflow import StaffSessions

from aio import run

IDLE = 900.0
LIFETIME = 7200.0
MOMENT = 0.001
SECRET = bytes(range(32))
START = 1000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Sessions:
    """One store on a fake clock, and how to open a session in it."""

    clock: FakeClock
    store: SessionStore | StaffSessions
    new: Callable[[], Awaitable[str]]


@pytest.fixture(params=["reporter", "staff"])
def sessions(request: pytest.FixtureRequest) -> Sessions:
    clock = FakeClock()
    if request.param == "reporter":
        reporters = SessionStore(IDLE, LIFETIME, clock=clock)

        async def reporter() -> str:
            return (await reporters.create("account-1", SECRET)).sid
        return Sessions(clock, reporters, reporter)
    staff = StaffSessions(IDLE, LIFETIME, clock=clock)

    async def member() -> str:
        return (await staff.create("staff-1")).sid
    return Sessions(clock, staff, member)


@run
async def test_idle_exactly_the_timeout_is_still_alive(sessions: Sessions):
    sid = await sessions.new()
    sessions.clock.advance(IDLE)
    assert await sessions.store.get(sid) is not None


@run
async def test_idle_a_moment_past_the_timeout_ends_the_session(sessions: Sessions):
    clock, store = sessions.clock, sessions.store
    sid, other = await sessions.new(), await sessions.new()
    clock.advance(IDLE - 10)
    assert await store.get(other) is not None  # touched: its idle time starts again
    clock.advance(10 + MOMENT)
    assert await store.get(sid) is None
    assert await store.get(other) is not None
    clock.advance(IDLE)  # ended sessions stay ended
    assert await store.get(sid) is None


@run
async def test_each_request_restarts_the_idle_timeout(sessions: Sessions):
    sid = await sessions.new()
    for _ in range(7):  # 7 x 900 s = 6300 s, under the lifetime
        sessions.clock.advance(IDLE)
        assert await sessions.store.get(sid) is not None


@run
async def test_lifetime_ends_even_a_busy_session(sessions: Sessions):
    clock, store = sessions.clock, sessions.store
    sid = await sessions.new()
    while clock.now - START < LIFETIME:
        clock.advance(min(IDLE / 2, LIFETIME - (clock.now - START)))
        assert await store.get(sid) is not None
    assert clock.now - START == LIFETIME  # alive at exactly the lifetime, seen just now
    clock.advance(MOMENT)
    assert await store.get(sid) is None


@run
async def test_an_expired_reporter_session_is_wiped_and_dropped():
    clock = FakeClock()
    store = SessionStore(IDLE, LIFETIME, clock=clock)
    session = await store.create("account-1", SECRET)
    assert bytes(session.private_key) == SECRET
    clock.advance(IDLE + MOMENT)
    assert await store.get(session.sid) is None
    assert len(store) == 0 and bytes(session._secret) == bytes(32)


@run
async def test_sweep_ends_idle_and_old_reporter_sessions_without_a_request():
    clock = FakeClock()
    store = SessionStore(IDLE, LIFETIME, clock=clock)
    idle = await store.create("a", SECRET)
    busy = await store.create("b", SECRET)
    clock.advance(IDLE / 2)
    fresh = await store.create("c", SECRET)
    await store.get(busy.sid)
    clock.advance(IDLE / 2 + MOMENT)
    await store.sweep()
    assert len(store) == 2 and bytes(idle._secret) == bytes(32)
    assert await store.get(busy.sid) is busy and await store.get(fresh.sid) is fresh


@run
async def test_unknown_and_empty_ids_are_no_session():
    clock = FakeClock()
    reporter, staff = SessionStore(IDLE, LIFETIME, clock=clock), StaffSessions(IDLE, LIFETIME, clock=clock)
    for store in (reporter, staff):
        for sid in (None, "", "x" * 43):
            assert await store.get(sid) is None
