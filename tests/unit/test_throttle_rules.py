"""Edges of the login throttle and the token buckets, with a fake clock.

``test_throttle.py`` covers the everyday rules; these pin the boundaries
(a failure exactly a minute old, the memory bound on tracked accounts,
which key a full bucket table forgets) and the defaults a caller relies on.
"""

from __future__ import annotations

import pytest

from server.defences.throttle import MAX_TRACKED, WINDOW, CircuitLimit, LoginThrottle, RateLimit
from server.errors import TooManyAttempts

from aio import run


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@run
async def test_an_account_never_seen_may_try_even_at_the_clocks_start():
    clock = Clock(0.5)
    throttle = LoginThrottle(failures_before_delay=1, max_delay=60.0, global_per_minute=5, clock=clock)
    await throttle.check(b"never-seen")


@run
async def test_without_a_tarpit_an_exhausted_overall_budget_holds_no_answer():
    throttle = LoginThrottle(failures_before_delay=100, max_delay=60.0, global_per_minute=1, clock=Clock())
    assert await throttle.failed(b"a") == 0.0
    assert await throttle.failed(b"b") == 0.0


@run
async def test_a_failure_exactly_a_minute_old_still_counts_against_the_overall_budget():
    clock = Clock(100.0)
    throttle = LoginThrottle(failures_before_delay=100, max_delay=60.0, global_per_minute=1,
                             tarpit_seconds=5.0, clock=clock)
    assert await throttle.failed(b"a") == 0.0
    clock.now += WINDOW
    assert await throttle.failed(b"b") == 5.0
    clock.now += WINDOW + 0.001
    assert await throttle.failed(b"c") == 0.0


@run
async def test_the_oldest_account_is_forgotten_only_beyond_the_tracked_bound():
    clock = Clock()
    throttle = LoginThrottle(failures_before_delay=1, max_delay=60.0, global_per_minute=10, clock=clock)
    for n in range(MAX_TRACKED):
        await throttle.failed(n.to_bytes(4, "big"))
    with pytest.raises(TooManyAttempts):
        await throttle.check((0).to_bytes(4, "big"))
    await throttle.failed(b"one more")
    await throttle.check((0).to_bytes(4, "big"))
    for lookup in ((1).to_bytes(4, "big"), b"one more"):
        with pytest.raises(TooManyAttempts):
            await throttle.check(lookup)


def test_a_rate_limit_remembers_one_key_by_default():
    limit = RateLimit(1, clock=Clock())
    assert limit.take(b"a")
    assert limit.take(b"b")
    assert len(limit) == 1
    assert limit.take(b"a")


def test_the_least_recently_used_key_is_forgotten_first():
    limit = RateLimit(1, max_keys=2, clock=Clock())
    assert limit.take(b"a")
    assert limit.take(b"b")
    limit.give_back(b"a")
    assert limit.take(b"a")
    assert limit.take(b"c")
    assert not limit.take(b"a")
    assert limit.take(b"b")


def test_a_circuit_refills_on_the_clock_it_was_given():
    clock = Clock(1_000_000.0)
    limit = CircuitLimit(1, clock=clock)
    assert limit.take("circuit-1")
    assert not limit.take("circuit-1")
    clock.now += WINDOW
    assert limit.take("circuit-1")


def test_a_circuit_id_with_a_lone_surrogate_is_limited_like_any_other():
    limit = CircuitLimit(1, clock=Clock())
    assert limit.take("\ud800x")
    assert not limit.take("\ud800x")
    assert limit.take("\udfffx")
    limit.give_back("\ud800x")
    assert limit.take("\ud800x")
