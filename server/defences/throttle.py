"""Rate limits: logins per account and overall, new accounts, and per Tor circuit.

Behind Tor there are no client addresses, so limits attach to what is
typed: the account lookup (the same for a known and an unknown codename, so
throttling tells nothing about which exist) and the server as a whole.
Where Tor exports circuit ids (PROXY protocol, off by default), the
reporter listener also limits each circuit.

Nothing here refuses a person for what others did with the server's shared
budgets, except new accounts (see ``RateLimit``): a refused attempt spends no
budget, the overall login budget counts failures only, and past it failures
are answered slowly (``tarpit``) while right passphrases still get in at
once. A flooder that waits for its answers is slowed; a real login is not.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict, deque
from typing import Callable

from server.errors import TooManyAttempts

MAX_TRACKED = 100_000
MAX_CIRCUITS = 10_000
WINDOW = 60.0


class LoginThrottle:
    def __init__(
        self,
        *,
        failures_before_delay: int,
        max_delay: float,
        global_per_minute: int,
        tarpit_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``global_per_minute`` failed logins (all accounts together) a minute before failures are slowed."""
        self._free = failures_before_delay
        self._max_delay = max_delay
        self._tarpit = tarpit_seconds
        self._clock = clock
        self._failures: OrderedDict[bytes, tuple[int, float]] = OrderedDict()
        self._recent: deque[float] = deque(maxlen=global_per_minute + 1)

    def check(self, lookup: bytes) -> None:
        """Raise ``TooManyAttempts`` if this account must still wait; spends nothing either way."""
        _, until = self._failures.get(lookup, (0, 0.0))
        if self._clock() < until:
            raise TooManyAttempts()

    def failed(self, lookup: bytes) -> float:
        """Count a failure; return how long to hold its answer (the tarpit once over the overall budget)."""
        now = self._clock()
        count, _ = self._failures.pop(lookup, (0, 0.0))
        count += 1
        delay = 0.0
        if count >= self._free:
            delay = min(self._max_delay, 30.0 * 2 ** (count - self._free))
        self._failures[lookup] = (count, now + delay)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        while self._recent and now - self._recent[0] > WINDOW:
            self._recent.popleft()
        self._recent.append(now)
        over_budget = len(self._recent) == self._recent.maxlen
        return self._tarpit if over_budget else 0.0

    def succeeded(self, lookup: bytes) -> None:
        self._failures.pop(lookup, None)


class RateLimit:
    """A token bucket per key: ``per_minute`` tokens a minute, at most a minute's worth saved up.

    With one key it is a server-wide rate, e.g. for new accounts: sized for
    real use, it stops one client from creating hundreds of accounts a
    minute, but a patient flooder can still spend it and make everyone
    wait. At most ``max_keys`` keys are remembered (the least recently used
    is forgotten), in memory only.
    """

    def __init__(self, per_minute: int, *, max_keys: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / WINDOW
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)

    def _tokens(self, key: bytes, now: float) -> float:
        tokens, when = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - when) * self._rate)

    def _store(self, key: bytes, tokens: float, now: float) -> None:
        self._buckets.pop(key, None)
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)

    def take(self, key: bytes = b"") -> bool:
        """Spend one token if there is one; False, and nothing changed, if not."""
        now = self._clock()
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            return False
        self._store(key, tokens - 1.0, now)
        return True

    def give_back(self, key: bytes = b"") -> None:
        """Return a token whose attempt was refused further on."""
        now = self._clock()
        self._store(key, min(self._capacity, self._tokens(key, now) + 1.0), now)

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._buckets)


class CircuitLimit:
    """``RateLimit`` per Tor circuit id, the opaque ``request["circuit"]``.

    Circuit ids are kept only as keyed hashes (a key drawn at start-up), in
    memory, for at most ``max_circuits`` circuits; never stored or logged.
    Requests without a circuit id (the PROXY protocol off) are not limited here.
    """

    def __init__(self, per_minute: int, *, max_circuits: int = MAX_CIRCUITS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = RateLimit(per_minute, max_keys=max_circuits, clock=clock)
        self._key = secrets.token_bytes(32)

    def _id(self, circuit: str) -> bytes:
        return hashlib.blake2b(circuit.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16).digest()

    def take(self, circuit: str | None) -> bool:
        return circuit is None or self._limit.take(self._id(circuit))

    def give_back(self, circuit: str | None) -> None:
        if circuit is not None:
            self._limit.give_back(self._id(circuit))

    def __len__(self) -> int:
        return len(self._limit)
