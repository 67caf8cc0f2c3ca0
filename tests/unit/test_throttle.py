"""Rate limits with an injected clock: per-account delays, the overall
failure budget, new-account and per-circuit buckets."""

from __future__ import annotations

import pytest

from server.defences.throttle import CircuitLimit, LoginThrottle, RateLimit
from server.errors import TooManyAttempts

from aio import run


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def throttle(clock: FakeClock, *, free: int = 5, budget: int = 120, tarpit: float = 2.0) -> LoginThrottle:
    return LoginThrottle(failures_before_delay=free, max_delay=3600, global_per_minute=budget,
                         tarpit_seconds=tarpit, clock=clock)


async def fail(t: LoginThrottle, lookup: bytes, times: int) -> list[float]:
    delays = []
    for _ in range(times):
        await t.check(lookup)
        delays.append(await t.failed(lookup))
    return delays


@run
async def test_delay_starts_after_the_free_failures_and_doubles() -> None:
    clock = FakeClock()
    t = throttle(clock)
    await fail(t, b"a", 4)
    await t.check(b"a")  # four failures: still free
    await t.failed(b"a")  # the fifth starts a 30 s wait
    with pytest.raises(TooManyAttempts):
        await t.check(b"a")
    clock.advance(29.9)
    with pytest.raises(TooManyAttempts):
        await t.check(b"a")
    clock.advance(0.2)
    await t.check(b"a")
    await t.failed(b"a")  # the sixth: 60 s
    clock.advance(59.9)
    with pytest.raises(TooManyAttempts):
        await t.check(b"a")
    clock.advance(0.2)
    await t.check(b"a")
    await t.check(b"other")  # another account never waits for this one


@run
async def test_success_starts_the_count_afresh() -> None:
    clock = FakeClock()
    t = throttle(clock)
    await fail(t, b"a", 4)
    await t.check(b"a")
    await t.succeeded(b"a")
    await fail(t, b"a", 4)  # a count kept across the success would be at 8: refused since the fifth
    await t.check(b"a")
    await t.failed(b"a")
    with pytest.raises(TooManyAttempts):
        await t.check(b"a")


@run
async def test_refused_checks_spend_nothing() -> None:
    clock = FakeClock()
    t = throttle(clock, free=1, budget=3)
    await t.failed(b"locked")  # one failure: its account waits 30 s; one of the 3 overall failures used
    for _ in range(1000):
        with pytest.raises(TooManyAttempts):
            await t.check(b"locked")
    assert [await t.failed(b"x"), await t.failed(b"y")] == [0.0, 0.0]
    assert await t.failed(b"z") == 2.0  # the fourth failure in the minute: over the budget


@run
async def test_only_failures_spend_the_overall_budget_and_nobody_is_refused_for_it() -> None:
    clock = FakeClock()
    t = throttle(clock, budget=10, tarpit=2.0)
    for n in range(500):  # successes are free
        await t.check(b"real%d" % n)
        await t.succeeded(b"real%d" % n)
    delays = [d for n in range(30) for d in await fail(t, b"flood%d" % n, 1)]
    assert delays == [0.0] * 10 + [2.0] * 20
    await t.check(b"real")  # over the budget, a login still runs: its answer, if wrong, is slow
    await t.succeeded(b"real")


@run
async def test_overall_budget_is_per_minute() -> None:
    clock = FakeClock()
    t = throttle(clock, budget=3, tarpit=1.5)
    assert [await t.failed(b"%d" % n) for n in range(4)] == [0.0, 0.0, 0.0, 1.5]
    clock.advance(30)
    assert await t.failed(b"a") == 1.5  # the first four are less than a minute old
    clock.advance(30.1)
    assert await t.failed(b"b") == 0.0  # the first four have left the window: 2 in the last minute
    assert await t.failed(b"c") == 0.0
    assert await t.failed(b"d") == 1.5


def test_rate_limit_bucket() -> None:
    clock = FakeClock()
    limit = RateLimit(6, clock=clock)  # 6 a minute: one every 10 s, six at once at most
    assert [limit.take() for _ in range(7)] == [True] * 6 + [False]
    clock.advance(9.9)
    assert not limit.take()
    clock.advance(0.2)
    assert limit.take() and not limit.take()
    limit.give_back()
    assert limit.take() and not limit.take()
    clock.advance(3600)
    assert [limit.take() for _ in range(7)] == [True] * 6 + [False]  # saves up one minute's worth only


def test_rate_limit_refusals_are_free() -> None:
    clock = FakeClock()
    limit = RateLimit(1, clock=clock)
    assert limit.take()
    for _ in range(100):
        assert not limit.take()
        clock.advance(0.5)
    assert not limit.take()  # 50 s after the token was spent
    clock.advance(10)
    assert limit.take()  # 60 s: the next token is there; the refusals spent none of it


def test_circuit_limit_per_circuit_and_bounded() -> None:
    clock = FakeClock()
    circuits = CircuitLimit(2, max_circuits=3, clock=clock)
    assert [circuits.take("a") for _ in range(3)] == [True, True, False]
    assert circuits.take("b") and circuits.take("b") and not circuits.take("b")
    assert all(circuits.take(None) for _ in range(100))  # no circuit id: not limited here
    circuits.give_back("a")
    assert circuits.take("a") and not circuits.take("a")
    for name in ("c", "d", "e"):  # three newer circuits push the oldest out of memory
        assert circuits.take(name)
    assert circuits.take("b")  # forgotten: a fresh bucket
    assert len(circuits) == 3
