"""Sessions in the database the nodes share (``DatabaseSessions``, ``DatabaseStaffSessions``).

Each test opens the store twice, as two nodes would, and runs on both engines
(``open_store``): PostgreSQL is where the server uses these stores; SQLite
holds the same tables and runs the same queries. Clocks are injected: the
database's times are whole minutes, so ``START`` is a minute's start.
"""

from __future__ import annotations

import secrets

from server.defences.sessions import ROW_PERSON, DatabaseSessions, cookie_secret, derived, session_store
from server.defences.throttle import account_rate, login_throttle
from server.errors import TooManyAttempts
from server.staff.workflow import DatabaseStaffSessions, staff_session_store
from server.storage.store import StaffMember

from aio import run

IDLE, LIFETIME = 900.0, 7200.0
START = 29_000_000 * 60.0
ACCOUNT = secrets.token_hex(16)
DAY = "2026-12-02"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def nodes(open_store, clock: Clock, **kwargs):  # type: ignore[no-untyped-def]
    """Two nodes' stores on one database, and a session store on each."""
    a, b = await open_store(), await open_store()
    return (a, b), *(DatabaseSessions(store, IDLE, LIFETIME, clock, **kwargs) for store in (a, b))


async def close(*stores) -> None:  # type: ignore[no-untyped-def]
    for store in stores:
        await store.close()


def flattened(rows) -> bytes:  # type: ignore[no-untyped-def]
    """Every value of every row, as bytes (integers and text as their text)."""
    out = b""
    for row in rows:
        for value in tuple(row):
            out += bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode() + b"|"
    return out


@run
async def test_a_session_made_on_one_node_is_found_on_another(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    key = secrets.token_bytes(32)
    try:
        made = await one.create(ACCOUNT, key)
        found = await two.get(made.sid)
        assert found is not None
        assert (found.sid, found.account_id, bytes(found.private_key)) == (made.sid, ACCOUNT, key)
    finally:
        await close(*stores)


@run
async def test_the_row_holds_neither_the_account_nor_the_key_nor_the_cookie(open_store):
    clock = Clock()
    stores, one, _ = await nodes(open_store, clock)
    key = secrets.token_bytes(32)
    try:
        made = await one.create(ACCOUNT, key)
        rows = await stores[0]._all("SELECT * FROM reporter_sessions")
        assert len(rows) == 1
        raw = flattened(rows)
        secret = cookie_secret(made.sid)
        assert secret is not None
        for clear in (ACCOUNT.encode(), bytes.fromhex(ACCOUNT), key, key.hex().encode(), secret, made.sid.encode()):
            assert clear not in raw
        # Only minutes: the idle and end limits, nothing finer and nothing else.
        assert sorted(dict(rows[0])) == ["end_by", "id", "idle_until", "sealed"]
        assert (rows[0]["idle_until"], rows[0]["end_by"]) == ((START + IDLE) // 60, (START + LIFETIME) // 60)
    finally:
        await close(*stores)


@run
async def test_a_wrong_cookie_finds_nothing_and_cannot_unwrap_another_sessions_row(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    try:
        made = await one.create(ACCOUNT, secrets.token_bytes(32))
        other = secrets.token_urlsafe(32)
        for sid in (other, made.sid[:-1] + ("A" if made.sid[-1] != "A" else "Q"), "", None, "x" * 43, made.sid + "="):
            assert await two.get(sid) is None
        # Someone who can write the database copies the sealed data under the row of a cookie of theirs:
        # the key sealing it comes from the first cookie, so theirs opens nothing.
        sealed, idle_until, end_by = await stores[0].reporter_session(derived(cookie_secret(made.sid), ROW_PERSON))
        await stores[1].add_reporter_session(derived(cookie_secret(other), ROW_PERSON), sealed, idle_until, end_by,
                                             cap=10)
        assert await two.get(other) is None
        assert (await two.get(made.sid)).account_id == ACCOUNT
    finally:
        await close(*stores)


@run
async def test_logout_on_one_node_deletes_the_row_for_every_node(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    try:
        made = await one.create(ACCOUNT, secrets.token_bytes(32))
        kept = await one.create("b" * 32, secrets.token_bytes(32))
        await two.end(made.sid)
        assert await one.get(made.sid) is None
        assert len(await stores[0]._all("SELECT id FROM reporter_sessions")) == 1
        assert await one.get(kept.sid) is not None
    finally:
        await close(*stores)


@run
async def test_a_request_on_either_node_keeps_the_session_alive_until_idle_or_lifetime(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    try:
        sid = (await one.create(ACCOUNT, secrets.token_bytes(32))).sid
        for node in (two, one, two, one, two, one, two, one):  # 8 x 840 s: under the lifetime
            clock.now += IDLE - 60  # the idle limit is counted in whole minutes, at most one early
            assert await node.get(sid) is not None
        clock.now = START + LIFETIME - 1
        assert await two.get(sid) is not None
        clock.now = START + LIFETIME
        assert await one.get(sid) is None
        assert await stores[1]._all("SELECT id FROM reporter_sessions") == []
    finally:
        await close(*stores)


@run
async def test_an_idle_session_ends_and_its_row_goes(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    try:
        sid = (await one.create(ACCOUNT, secrets.token_bytes(32))).sid
        clock.now += IDLE - 1
        assert await two.get(sid) is not None
        row = await stores[0]._one("SELECT idle_until FROM reporter_sessions")
        assert row["idle_until"] == (START + 2 * IDLE - 1) // 60  # moved on by the request
        clock.now += IDLE
        assert await one.get(sid) is None
        assert await stores[0]._all("SELECT id FROM reporter_sessions") == []
    finally:
        await close(*stores)


@run
async def test_requests_within_one_minute_write_nothing(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    try:
        sid = (await one.create(ACCOUNT, secrets.token_bytes(32))).sid
        writes = []
        original = stores[1]._engine.statement

        async def counted(sql, args=()):  # type: ignore[no-untyped-def]
            writes.append(sql)
            return await original(sql, args)

        stores[1]._engine.statement = counted  # type: ignore[method-assign]
        for _ in range(5):
            clock.now += 10
            assert await two.get(sid) is not None
        assert writes == []
        clock.now += 10  # a minute after the login: the idle limit moves to the next minute
        assert await two.get(sid) is not None
        assert len(writes) == 1
    finally:
        await close(*stores)


@run
async def test_the_sweep_on_any_node_deletes_expired_sessions_only(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock)
    try:
        idle = await one.create(ACCOUNT, secrets.token_bytes(32))
        clock.now += IDLE / 2
        busy = await one.create("b" * 32, secrets.token_bytes(32))
        clock.now += IDLE / 2
        await two.sweep()
        assert len(await stores[0]._all("SELECT id FROM reporter_sessions")) == 1
        assert await one.get(busy.sid) is not None and await one.get(idle.sid) is None
        await one.sweep()  # idempotent: a second node sweeping finds nothing more
        assert len(await stores[0]._all("SELECT id FROM reporter_sessions")) == 1
    finally:
        await close(*stores)


@run
async def test_past_the_cap_the_least_recently_used_session_ends(open_store):
    clock = Clock()
    stores, one, two = await nodes(open_store, clock, cap=3)
    try:
        first, second, third = [await one.create(f"{n}" * 32, secrets.token_bytes(32)) for n in range(3)]
        clock.now += 120
        assert await two.get(first.sid) is not None and await two.get(third.sid) is not None
        fourth = await two.create("4" * 32, secrets.token_bytes(32))
        assert await one.get(second.sid) is None
        for kept in (first, third, fourth):
            assert await one.get(kept.sid) is not None
        assert len(await stores[0]._all("SELECT id FROM reporter_sessions")) == 3
    finally:
        await close(*stores)


def _member(name: str) -> StaffMember:
    return StaffMember(id=name * 4, username=name, role="admin", password_hash="x", totp_secret="S",
                       totp_last_step=0, must_change=False, disabled=False, created_day=DAY)


@run
async def test_staff_sessions_work_on_every_node_and_end_for_ends_them_on_every_node(open_store):
    clock = Clock()
    a, b = await open_store(), await open_store()
    try:
        for name in ("kepala", "staf"):
            await a.add_staff(_member(name))
        one, two = DatabaseStaffSessions(a, IDLE, LIFETIME, clock), DatabaseStaffSessions(b, IDLE, LIFETIME, clock)
        first, kept, third = [await one.create("kepala" * 4) for _ in range(3)]
        colleague = await two.create("staf" * 4)
        assert (await two.get(first.sid)).staff_id == "kepala" * 4
        raw = flattened(await a._all("SELECT * FROM staff_sessions"))
        assert not any(cookie_secret(s.sid) in raw or s.sid.encode() in raw for s in (first, kept, third, colleague))
        await two.end_for("kepala" * 4, keep=kept.sid)  # a password change on node 2
        assert await one.get(first.sid) is None and await one.get(third.sid) is None
        assert await one.get(kept.sid) is not None and await one.get(colleague.sid) is not None
        await one.end_for("kepala" * 4)  # the member disabled on node 1
        assert await two.get(kept.sid) is None and await two.get(colleague.sid) is not None
        await two.end(colleague.sid)
        assert await one.get(colleague.sid) is None
        assert await a._all("SELECT id FROM staff_sessions") == []
        clock.now += 60
        late = await one.create("staf" * 4)
        clock.now += IDLE
        assert await two.get(late.sid) is None
        assert await a._all("SELECT id FROM staff_sessions") == []
    finally:
        await close(a, b)


@run
async def test_sessions_and_throttles_live_in_the_database_only_when_it_is_shared(open_store):
    """PostgreSQL: another node finds them. SQLite: one process owns the data folder,
    and nothing about sessions or throttles reaches its disk."""
    a, b = await open_store(), await open_store()
    try:
        await a.add_staff(_member("kepala"))
        reporters = [session_store(store, IDLE, LIFETIME) for store in (a, b)]
        staff = [staff_session_store(store, IDLE, LIFETIME) for store in (a, b)]
        throttles = [login_throttle(store, bytes(32), scope="login", failures_before_delay=1, max_delay=60,
                                    global_per_minute=10) for store in (a, b)]
        rates = [account_rate(store, 1) for store in (a, b)]
        reporter = await reporters[0].create(ACCOUNT, secrets.token_bytes(32))
        member = await staff[0].create("kepala" * 4)
        await throttles[0].failed(b"lookup")
        assert await rates[0].take()
        tables = ("reporter_sessions", "staff_sessions", "login_failures", "rate_windows")
        counts = [len(await a._all(f"SELECT * FROM {table}")) for table in tables]
        seen_by_b = [await reporters[1].get(reporter.sid) is not None, await staff[1].get(member.sid) is not None,
                     await rates[1].take()]
        try:
            await throttles[1].check(b"lookup")
            seen_by_b.append(False)
        except TooManyAttempts:
            seen_by_b.append(True)
        if a.shared:
            assert counts == [1, 1, 1, 2] and seen_by_b == [True, True, False, True]
        else:
            assert counts == [0, 0, 0, 0] and seen_by_b == [False, False, True, False]
            assert await reporters[0].get(reporter.sid) is reporter
    finally:
        await close(a, b)
