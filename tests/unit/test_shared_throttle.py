"""Login throttles and the new-account budget in the database the nodes share
(``SharedLoginThrottle``, ``SharedRate``): two stores on one database, as two
nodes, on both engines (``open_store``), with one injected clock.

The rules are those of the in-memory throttle (tests/unit/test_throttle.py):
a refused attempt spends nothing, failures past the overall budget are held
for the tarpit and nobody is refused for it. What differs is the grain: the
database keeps whole minutes, so an account's wait ends at a minute's start
(never before its delay), and the last 60 s are estimated from two per-minute
counts.
"""

from __future__ import annotations

import pytest

from server.defences.throttle import SharedLoginThrottle, SharedRate, failure_key
from server.errors import TooManyAttempts

from aio import run

START = 29_000_000 * 60.0  # a minute's start
SECRET = bytes(range(32))
TARPIT = 2.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def throttle(store, clock: Clock, *, free: int = 5, budget: int = 120,  # type: ignore[no-untyped-def]
             scope: str = "login") -> SharedLoginThrottle:
    return SharedLoginThrottle(store, scope=scope, secret=SECRET, failures_before_delay=free, max_delay=3600,
                               global_per_minute=budget, tarpit_seconds=TARPIT, clock=clock)


async def two_nodes(open_store, clock: Clock, **kwargs):  # type: ignore[no-untyped-def]
    a, b = await open_store(), await open_store()
    return (a, b), throttle(a, clock, **kwargs), throttle(b, clock, **kwargs)


async def close(*stores) -> None:  # type: ignore[no-untyped-def]
    for store in stores:
        await store.close()


@run
async def test_failures_on_one_node_delay_the_account_on_the_other(open_store):
    clock = Clock()
    stores, one, two = await two_nodes(open_store, clock)
    try:
        for node in (one, two, one, two):
            await node.check(b"a")
            await node.failed(b"a")
        await two.check(b"a")  # four failures: still free
        await one.failed(b"a")  # the fifth, on node 1, starts a wait of 30 s
        for node in (one, two):
            with pytest.raises(TooManyAttempts):
                await node.check(b"a")
        await two.check(b"other")  # another account never waits for this one
        clock.now += 29
        with pytest.raises(TooManyAttempts):
            await two.check(b"a")
        clock.now += 31  # the wait ends at the start of the minute after its 30 s
        await two.check(b"a")
        await two.failed(b"a")  # the sixth, on node 2: 60 s, for node 1 too
        clock.now += 59
        with pytest.raises(TooManyAttempts):
            await one.check(b"a")
        clock.now += 1
        await one.check(b"a")
    finally:
        await close(*stores)


@run
async def test_a_success_on_one_node_starts_the_count_afresh_on_both(open_store):
    clock = Clock()
    stores, one, two = await two_nodes(open_store, clock)
    try:
        for _ in range(4):
            await one.failed(b"a")
        await two.succeeded(b"a")
        for _ in range(4):  # a count kept across the success would be at 8: refused since the fifth
            await one.check(b"a")
            await one.failed(b"a")
        await two.failed(b"a")
        with pytest.raises(TooManyAttempts):
            await one.check(b"a")
    finally:
        await close(*stores)


@run
async def test_refused_checks_spend_nothing_and_the_budget_is_the_deployments(open_store):
    clock = Clock()
    stores, one, two = await two_nodes(open_store, clock, free=1, budget=3)
    try:
        assert await one.failed(b"locked") == 0.0  # its account waits; one of the 3 overall failures used
        for _ in range(100):
            with pytest.raises(TooManyAttempts):
                await two.check(b"locked")
        assert [await two.failed(b"x"), await one.failed(b"y")] == [0.0, 0.0]
        assert await two.failed(b"z") == TARPIT  # the fourth failure in the minute, over both nodes
        await one.check(b"real")  # over the budget a login still runs; a success is free
        await one.succeeded(b"real")
    finally:
        await close(*stores)


@run
async def test_the_overall_budget_counts_the_last_minute(open_store):
    clock = Clock()
    stores, one, two = await two_nodes(open_store, clock, budget=3)
    try:
        assert [await node.failed(b"%d" % n) for n, node in enumerate((one, two, one, two))] == [0.0] * 3 + [TARPIT]
        # 45 s into the next minute: the previous one's last 15 s are within 60 s, so a quarter of its four count
        clock.now += 105
        assert [await two.failed(b"a"), await one.failed(b"b"), await two.failed(b"c")] == [0.0, 0.0, TARPIT]
        clock.now += 60  # the first four have left; a quarter of the three that followed them count
        assert [await one.failed(b"d"), await two.failed(b"e")] == [0.0, 0.0]
        assert await one.failed(b"f") == TARPIT
    finally:
        await close(*stores)


@run
async def test_reporters_and_staff_throttles_are_apart(open_store):
    clock = Clock()
    stores, reporters, _ = await two_nodes(open_store, clock, free=1, budget=1)
    staff = throttle(stores[1], clock, free=1, budget=1, scope="staff")
    try:
        await reporters.failed(b"kepala")
        with pytest.raises(TooManyAttempts):
            await reporters.check(b"kepala")
        await staff.check(b"kepala")
        assert await staff.failed(b"kepala") == 0.0  # the staff's budget: its first failure
        assert await reporters.failed(b"other") == TARPIT
    finally:
        await close(*stores)


@run
async def test_rows_hold_keyed_hashes_and_minutes_only_and_are_swept(open_store):
    clock = Clock()
    stores, one, _ = await two_nodes(open_store, clock, free=1)
    lookup = bytes(range(100, 132))
    try:
        await one.failed(lookup)
        rows = await stores[0]._all("SELECT * FROM login_failures")
        assert [bytes(r["id"]) for r in rows] == [failure_key(lookup, SECRET, b"login")]
        assert lookup not in bytes(rows[0]["id"])
        assert rows[0]["wait_until"] == (START + 30) // 60 + 1  # the minute after the 30 s wait
        day_end = (START // 86_400 + 2) * 1440
        assert rows[0]["forget_after"] == day_end  # the count: until the end of the next day
        clock.now += 60
        await stores[1].sweep_live_state(int(clock.now // 60))
        rows = await stores[0]._all("SELECT wait_until, failures FROM login_failures")
        assert [tuple(r) for r in rows] == [(0, 1)]  # the wait has passed: its minute is no longer kept
        assert len(await stores[0]._all("SELECT * FROM rate_windows")) == 1
        clock.now += 120
        await stores[1].sweep_live_state(int(clock.now // 60))
        assert await stores[0]._all("SELECT * FROM rate_windows") == []
        clock.now = day_end * 60
        await stores[0].sweep_live_state(int(clock.now // 60))
        assert await stores[0]._all("SELECT * FROM login_failures") == []
    finally:
        await close(*stores)


@run
async def test_new_accounts_share_one_budget_and_refusals_spend_none(open_store):
    clock = Clock()
    a, b = await open_store(), await open_store()
    one, two = SharedRate(a, 4, clock=clock), SharedRate(b, 4, clock=clock)
    try:
        assert [await node.take() for node in (one, two, one, two, one, two)] == [True] * 4 + [False] * 2
        await two.give_back()
        assert await one.take() and not await two.take()
        for _ in range(50):
            assert not await one.take()
        clock.now += 90  # 30 s into the next minute: half of the previous one counts, two of its four
        assert [await two.take(), await one.take(), await two.take()] == [True, True, False]
    finally:
        await close(a, b)
