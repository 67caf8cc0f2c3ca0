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

On one machine (SQLite) these limits live in memory. When nodes share a
PostgreSQL database, logins and new accounts are limited in it instead
(``SharedLoginThrottle``, ``SharedRate``), so a flood spread over the nodes
meets one limit: per-account failures under a keyed hash of the lookup (it
joins to no table), the overall and new-account budgets as counts per minute.
Tor circuit ids are each node's own and stay in its memory (``CircuitLimit``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict, deque
from typing import Callable, Protocol

from server.errors import TooManyAttempts
from server.storage.store import Store

MAX_TRACKED = 100_000
MAX_CIRCUITS = 10_000
WINDOW = 60.0
DAY = 86_400.0


class LoginLimiter(Protocol):
    """What a login asks of its throttle, in memory or shared by the nodes."""

    async def check(self, lookup: bytes) -> None:
        """Raise ``TooManyAttempts`` if this account must still wait; spends nothing either way."""

    async def failed(self, lookup: bytes) -> float:
        """Count a failure; return how long to hold its answer (the tarpit once over the overall budget)."""

    async def succeeded(self, lookup: bytes) -> None: ...


def account_delay(failures: int, free: int, max_delay: float) -> float:
    """How long an account waits after its ``failures``-th failure in a row: 30 s doubling, at most ``max_delay``."""
    return min(max_delay, 30.0 * 2 ** (failures - free)) if failures >= free else 0.0


class LoginThrottle:
    """``LoginLimiter`` in this process's memory (one machine)."""

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

    async def check(self, lookup: bytes) -> None:
        _, until = self._failures.get(lookup, (0, 0.0))
        if self._clock() < until:
            raise TooManyAttempts()

    async def failed(self, lookup: bytes) -> float:
        now = self._clock()
        count, _ = self._failures.pop(lookup, (0, 0.0))
        count += 1
        delay = account_delay(count, self._free, self._max_delay)
        self._failures[lookup] = (count, now + delay)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        while self._recent and now - self._recent[0] > WINDOW:
            self._recent.popleft()
        self._recent.append(now)
        over_budget = len(self._recent) == self._recent.maxlen
        return self._tarpit if over_budget else 0.0

    async def succeeded(self, lookup: bytes) -> None:
        self._failures.pop(lookup, None)


class _SharedWindow:
    """Events of one ``scope`` in the shared database, counted per minute.

    How many came in the last 60 s is estimated from this minute's count and
    the previous minute's, the latter weighted by the share of it still
    within 60 s. Only counts are stored, per whole minute, and the sweep
    deletes those older than the previous minute.
    """

    def __init__(self, store: Store, scope: str, clock: Callable[[], float]) -> None:
        self._store = store
        self._scope = scope
        self._clock = clock

    async def add(self, delta: int = 1) -> float:
        """Count ``delta`` events now (-1 gives one back); the estimate for the last 60 s after it."""
        now = self._clock()
        minute = int(now // WINDOW)
        current, previous = await self._store.count_rate_event(self._scope, minute, delta)
        return current + previous * (1.0 - (now - minute * WINDOW) / WINDOW)


def failure_key(lookup: bytes, secret: bytes, scope: bytes) -> bytes:
    """The row id of an account's failures: keyed by the instance secret, so the database
    alone cannot join it to ``accounts.lookup`` (or to a staff username)."""
    return hashlib.blake2b(lookup, key=secret, digest_size=32, person=b"wbs-fail-" + scope).digest()


class SharedLoginThrottle:
    """``LoginLimiter`` in the database the nodes share (PostgreSQL): a failure on one
    node delays the account on every node, and the overall budget is the deployment's.

    Stored times are whole minutes: an account's wait ends at the start of a
    minute (never earlier than its delay, at most a minute later), and is
    cleared by the sweep once it has passed; its failure count is forgotten at
    the end of the day after the last failure (kept so that waiting out a delay
    does not bring the free failures back). Rows are not capped like
    ``MAX_TRACKED`` in memory: each costs a failed login, a key derivation, and
    goes within two days; nor can a flood of other lookups push one out.
    """

    def __init__(
        self,
        store: Store,
        *,
        scope: str,
        secret: bytes,
        failures_before_delay: int,
        max_delay: float,
        global_per_minute: int,
        tarpit_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._scope = scope.encode("ascii")
        self._secret = secret
        self._free = failures_before_delay
        self._max_delay = max_delay
        self._budget = global_per_minute
        self._tarpit = tarpit_seconds
        self._clock = clock
        self._recent = _SharedWindow(store, f"{scope}_failures", clock)

    def _key(self, lookup: bytes) -> bytes:
        return failure_key(lookup, self._secret, self._scope)

    async def check(self, lookup: bytes) -> None:
        if self._clock() < await self._store.login_wait(self._key(lookup)) * WINDOW:
            raise TooManyAttempts()

    async def failed(self, lookup: bytes) -> float:
        now = self._clock()
        key = self._key(lookup)
        forget = (int(now // DAY) + 2) * int(DAY // WINDOW)
        count = await self._store.count_login_failure(key, forget)
        delay = account_delay(count, self._free, self._max_delay)
        if delay:
            await self._store.hold_login(key, -int(-(now + delay) // WINDOW))
        over_budget = await self._recent.add() > self._budget
        return self._tarpit if over_budget else 0.0

    async def succeeded(self, lookup: bytes) -> None:
        await self._store.forget_login_failures(self._key(lookup))


def login_throttle(store: Store, secret: bytes, *, scope: str, **limits: float) -> LoginLimiter:
    """The database's throttle when other nodes share it (``scope`` keeps reporters' and
    staff's apart), this process's memory otherwise. ``limits``: ``LoginThrottle``'s."""
    if store.shared:
        return SharedLoginThrottle(store, scope=scope, secret=secret, **limits)  # type: ignore[arg-type]
    return LoginThrottle(**limits)  # type: ignore[arg-type]


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


class AccountRate(Protocol):
    """The server-wide budget of new accounts, in memory or shared by the nodes."""

    async def take(self) -> bool:
        """Spend one if there is one; False, and nothing spent, if not."""

    async def give_back(self) -> None:
        """Return one whose attempt was refused further on."""


class LocalRate:
    """``AccountRate`` in this process's memory: a ``RateLimit`` with one key."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = RateLimit(per_minute, clock=clock)

    async def take(self) -> bool:
        return self._limit.take()

    async def give_back(self) -> None:
        self._limit.give_back()


class SharedRate:
    """``AccountRate`` in the database the nodes share: at most ``per_minute`` in any 60 s
    (estimated from per-minute counts, as the login budget), for the deployment as a
    whole. Like the bucket it replaces, a minute's worth may come at once."""

    def __init__(self, store: Store, per_minute: int, *, scope: str = "new_accounts",
                 clock: Callable[[], float] = time.time) -> None:
        self._per_minute = per_minute
        self._window = _SharedWindow(store, scope, clock)

    async def take(self) -> bool:
        if await self._window.add() > self._per_minute:
            await self._window.add(-1)
            return False
        return True

    async def give_back(self) -> None:
        await self._window.add(-1)


def account_rate(store: Store, per_minute: int) -> AccountRate:
    return SharedRate(store, per_minute) if store.shared else LocalRate(per_minute)


class CircuitLimit:
    """``RateLimit`` per Tor circuit id, the opaque ``request[CIRCUIT]``.

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
