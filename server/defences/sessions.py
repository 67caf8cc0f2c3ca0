"""Reporter sessions, in memory only.

A session holds the mailbox secret key and nothing else of the reporter's:
it dies with an idle timeout, an absolute lifetime, logout, or a restart.
Python cannot promise that no copy of a key lingers in memory, but the
session's own copy is overwritten when it ends.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

from nacl.public import PrivateKey

SESSION_COOKIE = "wbs_session"
MAX_SESSIONS = 10_000


@dataclass(eq=False)
class Session:
    sid: str
    account_id: str
    _secret: bytearray
    created: float
    seen: float
    notice: str | None = field(default=None)

    @property
    def private_key(self) -> PrivateKey:
        return PrivateKey(bytes(self._secret))

    def wipe(self) -> None:
        for i in range(len(self._secret)):
            self._secret[i] = 0


class SessionStore:
    def __init__(self, idle: float, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle
        self._lifetime = lifetime
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self, account_id: str, secret_key: bytes) -> Session:
        self.sweep()
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.seen)
            self.end(oldest.sid)
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), account_id, bytearray(secret_key), now, now)
        self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session for ``sid``, touched; an expired one is ended."""
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = self._clock()
        if now - session.seen > self._idle or now - session.created > self._lifetime:
            self.end(sid)
            return None
        session.seen = now
        return session

    def end(self, sid: str | None) -> None:
        session = self._sessions.pop(sid, None) if sid else None
        if session is not None:
            session.wipe()

    def sweep(self) -> None:
        now = self._clock()
        for sid, session in list(self._sessions.items()):
            if now - session.seen > self._idle or now - session.created > self._lifetime:
                self.end(sid)

    def end_all(self) -> None:
        for sid in list(self._sessions):
            self.end(sid)

    def __len__(self) -> int:
        return len(self._sessions)
