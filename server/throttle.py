"""Login throttling, per account and overall.

Behind Tor there are no client addresses, so limits attach to what is
typed: the account lookup (the same for a known and an unknown codename, so
throttling tells nothing about which exist) and the server as a whole.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from typing import Callable

from .errors import TooManyAttempts

MAX_TRACKED = 100_000


class LoginThrottle:
    def __init__(
        self,
        *,
        failures_before_delay: int,
        max_delay: float,
        global_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = failures_before_delay
        self._max_delay = max_delay
        self._per_minute = global_per_minute
        self._clock = clock
        self._failures: OrderedDict[bytes, tuple[int, float]] = OrderedDict()
        self._recent: deque[float] = deque()

    def check(self, lookup: bytes) -> None:
        """Raise ``TooManyAttempts`` if this account or the server must wait."""
        now = self._clock()
        while self._recent and now - self._recent[0] > 60:
            self._recent.popleft()
        if len(self._recent) >= self._per_minute:
            raise TooManyAttempts()
        count, until = self._failures.get(lookup, (0, 0.0))
        if now < until:
            raise TooManyAttempts()
        self._recent.append(now)

    def failed(self, lookup: bytes) -> None:
        count, _ = self._failures.pop(lookup, (0, 0.0))
        count += 1
        delay = 0.0
        if count >= self._free:
            delay = min(self._max_delay, 30.0 * 2 ** (count - self._free))
        self._failures[lookup] = (count, self._clock() + delay)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, lookup: bytes) -> None:
        self._failures.pop(lookup, None)
