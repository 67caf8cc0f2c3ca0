"""Reporter sessions: in memory on one machine, in the shared database on several.

A session holds the mailbox secret key and nothing else of the reporter's:
it dies with an idle timeout, an absolute lifetime, or logout. Both stores
have the same interface (``Sessions``); ``session_store`` picks one.

- ``SessionStore`` (SQLite: one process owns the data folder) keeps sessions
  in memory and nothing about them reaches the disk; a restart ends them.
  Python cannot promise that no copy of a key lingers in memory, but the
  session's own copy is overwritten when it ends.
- ``DatabaseSessions`` (PostgreSQL: several nodes) keeps each session as a
  row any node can read. The cookie carries a random 32-byte secret; the row
  is found by one hash of it and holds the account id and mailbox key sealed
  (``SecretBox``) under another, so the database alone (a copy, a backup, its
  administrator) shows neither who is logged in nor any key: only live
  sessions' idle and end minutes. Logout, expiry and the sweep delete rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey
from nacl.secret import SecretBox

from server.storage.store import Store

SESSION_COOKIE = "wbs_session"
MAX_SESSIONS = 10_000
SECRET_BYTES = 32
KEY_BYTES = 32  # a mailbox secret key
ROW_PERSON = b"wbs-session-row"
SEAL_PERSON = b"wbs-session-key"


@dataclass(eq=False)
class Session:
    """One reporter's session as a request sees it; ``sid`` is the cookie's value."""

    sid: str
    account_id: str
    _secret: bytearray

    @property
    def private_key(self) -> PrivateKey:
        return PrivateKey(bytes(self._secret))

    def wipe(self) -> None:
        for i in range(len(self._secret)):
            self._secret[i] = 0


class Sessions(Protocol):
    """What the server asks of a reporter session store."""

    async def create(self, account_id: str, secret_key: bytes) -> Session: ...

    async def get(self, sid: str | None) -> Session | None:
        """The live session for the cookie ``sid``, its idle time restarted; an expired one is ended."""

    async def end(self, sid: str | None) -> None: ...

    async def sweep(self) -> None:
        """End every session past its idle timeout or its lifetime."""

    async def close(self) -> None:
        """This process stops serving."""


@dataclass
class _Held:
    session: Session
    created: float
    seen: float


class SessionStore:
    """Reporter sessions in this process's memory only (one machine, SQLite)."""

    def __init__(self, idle: float, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle
        self._lifetime = lifetime
        self._clock = clock
        self._sessions: dict[str, _Held] = {}

    def _expired(self, held: _Held, now: float) -> bool:
        return now - held.seen > self._idle or now - held.created > self._lifetime

    async def create(self, account_id: str, secret_key: bytes) -> Session:
        await self.sweep()
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda held: held.seen)
            await self.end(oldest.session.sid)
        now = self._clock()
        session = Session(new_sid(), account_id, bytearray(secret_key))
        self._sessions[session.sid] = _Held(session, now, now)
        return session

    async def get(self, sid: str | None) -> Session | None:
        held = self._sessions.get(sid) if sid else None
        if held is None:
            return None
        now = self._clock()
        if self._expired(held, now):
            await self.end(sid)
            return None
        held.seen = now
        return held.session

    async def end(self, sid: str | None) -> None:
        held = self._sessions.pop(sid, None) if sid else None
        if held is not None:
            held.session.wipe()

    async def sweep(self) -> None:
        now = self._clock()
        for sid, held in list(self._sessions.items()):
            if self._expired(held, now):
                await self.end(sid)

    async def close(self) -> None:
        """Every session ends and its key is wiped: they lived in this process only."""
        for sid in list(self._sessions):
            await self.end(sid)

    def __len__(self) -> int:
        return len(self._sessions)


# Shared by the database stores (reporter and staff) -------------------------------------


def new_cookie() -> tuple[str, bytes]:
    """A cookie value and the 32 random bytes it carries (URL-safe base64 without padding: 43 characters)."""
    secret = secrets.token_bytes(SECRET_BYTES)
    return base64.urlsafe_b64encode(secret).rstrip(b"=").decode("ascii"), secret


def new_sid() -> str:
    return new_cookie()[0]


def cookie_secret(sid: str | None) -> bytes | None:
    """The 32 bytes a cookie value carries, or None if it is not one ``new_sid`` could make."""
    if not sid or len(sid) != 43 or not sid.isascii():
        return None
    try:
        secret = base64.urlsafe_b64decode(sid + "=")
    except (binascii.Error, ValueError):
        return None
    # Only the canonical spelling: the last character's unused bits must be zero.
    return secret if base64.urlsafe_b64encode(secret).rstrip(b"=") == sid.encode("ascii") else None


def derived(secret: bytes, person: bytes) -> bytes:
    """A 32-byte value of the cookie's secret, one per purpose (``person``)."""
    return hashlib.blake2b(secret, digest_size=32, person=person).digest()


def minute_of(now: float) -> int:
    return int(now // 60)


def until_minute(now: float, seconds: float) -> int:
    """The minute a limit of ``seconds`` from ``now`` ends at, rounded down so that a
    session never outlives its configured limit, but never before the next minute."""
    return max(int((now + seconds) // 60), minute_of(now) + 1)


async def kept_alive(store: Store, kind: str, row_id: bytes, idle_until: int, end_by: int, now: float,
                     idle: float) -> bool:
    """Whether a session row is alive at ``now``: if not, it is deleted; if so, its idle
    limit moves on, written only when it moves to a later minute."""
    minute = minute_of(now)
    if minute >= idle_until or minute >= end_by:
        await store.end_session(kind, row_id)
        return False
    touched = until_minute(now, idle)
    if touched > idle_until:
        await store.touch_session(kind, row_id, touched)
    return True


class DatabaseSessions:
    """Reporter sessions in the shared database (PostgreSQL, several nodes).

    Its limits are whole minutes: a session ends at the start of the minute its
    idle timeout or lifetime falls in (at most a minute early, never late), and
    a request writes the row only when it moves the idle limit to a new minute.
    """

    def __init__(self, store: Store, idle: float, lifetime: float, clock: Callable[[], float] = time.time,
                 *, cap: int = MAX_SESSIONS) -> None:
        self._store = store
        self._idle = idle
        self._lifetime = lifetime
        self._clock = clock
        self._cap = cap

    async def create(self, account_id: str, secret_key: bytes) -> Session:
        sid, secret = new_cookie()
        sealed = SecretBox(derived(secret, SEAL_PERSON)).encrypt(bytes(secret_key) + account_id.encode("ascii"))
        now = self._clock()
        await self._store.add_reporter_session(derived(secret, ROW_PERSON), bytes(sealed),
                                               until_minute(now, self._idle), until_minute(now, self._lifetime),
                                               cap=self._cap)
        return Session(sid, account_id, bytearray(secret_key))

    async def get(self, sid: str | None) -> Session | None:
        secret = cookie_secret(sid)
        if not sid or secret is None:
            return None
        row_id = derived(secret, ROW_PERSON)
        found = await self._store.reporter_session(row_id)
        if found is None:
            return None
        sealed, idle_until, end_by = found
        try:
            opened = SecretBox(derived(secret, SEAL_PERSON)).decrypt(sealed)
        except CryptoError:
            return None
        if not await kept_alive(self._store, "reporter", row_id, idle_until, end_by, self._clock(), self._idle):
            return None
        return Session(sid, opened[KEY_BYTES:].decode("ascii"), bytearray(opened[:KEY_BYTES]))

    async def end(self, sid: str | None) -> None:
        secret = cookie_secret(sid)
        if secret is not None:
            await self._store.end_session("reporter", derived(secret, ROW_PERSON))

    async def sweep(self) -> None:
        """Expired rows of every kind of live state go (any node may run it; deletes are idempotent)."""
        await self._store.sweep_live_state(minute_of(self._clock()))

    async def close(self) -> None:
        """Nothing to end: the sessions live on for the other nodes (and this one, restarted)."""


def session_store(store: Store, idle: float, lifetime: float) -> Sessions:
    """The database's sessions when other nodes share it, this process's memory otherwise."""
    if store.shared:
        return DatabaseSessions(store, idle, lifetime)
    return SessionStore(idle, lifetime)
