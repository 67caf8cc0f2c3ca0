"""The desk's one secret state: the unlocked keyring, the browser session that
unlocked it, and the idle lock.

The keyring lives in this object only (never on disk, never in a cookie).
One browser session holds it: unlocking makes a random session token, and a
request without it is treated as locked. After ``lock_after_seconds``
without a request the keyring is dropped; ``clock`` is injectable so tests
cross that boundary without waiting. Python cannot wipe memory, so locking
drops every reference and leaves the rest to the collector.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Callable

from crypto.keyring import Keyring

from .config import DeskConfig

Clock = Callable[[], float]


class DeskState:
    def __init__(self, config: DeskConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._ring: Keyring | None = None
        self._session = ""
        self._last_seen = 0.0
        self.unlocking = False

    @property
    def is_unlocked(self) -> bool:
        self.expire()
        return self._ring is not None

    def expire(self) -> None:
        """Lock when the desk was idle for ``lock_after_seconds`` or more."""
        if self._ring is not None and self.clock() - self._last_seen >= self.config.lock_after_seconds:
            self.lock()

    def keyring_for(self, session: str | None) -> Keyring | None:
        """The keyring, for the session that unlocked it and while not idle; each use counts as activity."""
        self.expire()
        if self._ring is None or not session:
            return None
        if not hmac.compare_digest(session.encode("utf-8", "replace"), self._session.encode()):
            return None
        self._last_seen = self.clock()
        return self._ring

    def unlocked(self, ring: Keyring) -> str:
        """Hold ``ring``; returns the new session's token (any earlier session ends)."""
        self._ring = ring
        self._session = secrets.token_urlsafe(32)
        self._last_seen = self.clock()
        return self._session

    def lock(self) -> None:
        self._ring = None
        self._session = ""
