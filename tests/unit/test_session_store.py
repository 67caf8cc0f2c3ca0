"""The in-memory reporter session store beyond expiry on access: its sweep, and wiping keys.

tests/unit/test_sessions.py checks expiry as a request sees it (``get``);
here the store's own housekeeping is checked, on a fake clock.
tests/unit/test_shared_sessions.py checks the database's store.
"""

from __future__ import annotations

from server.defences.sessions import SessionStore

from aio import run

IDLE, LIFETIME = 900.0, 7200.0
SECRET = bytes(range(32))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@run
async def test_a_session_holds_its_account_a_long_random_id_and_the_key():
    store = SessionStore(IDLE, LIFETIME, FakeClock())
    first, second = await store.create("acct-1", SECRET), await store.create("acct-2", SECRET)
    assert first.account_id == "acct-1"
    assert bytes(first.private_key) == SECRET
    assert len(first.sid) >= 43  # 32 random bytes, URL-safe base64
    assert first.sid != second.sid
    assert await store.get(first.sid) is first


@run
async def test_the_sweep_ends_sessions_past_a_limit_and_keeps_those_at_it():
    clock = FakeClock()
    store = SessionStore(IDLE, LIFETIME, clock)
    start = clock.now
    busy = await store.create("busy", SECRET)
    idle_at_limit = None
    while clock.now - start < LIFETIME:
        clock.now += 300
        await store.get(busy.sid)
        if clock.now - start == LIFETIME - IDLE:
            idle_at_limit = await store.create("idle", SECRET)  # never touched again
    assert idle_at_limit is not None
    assert clock.now - start == LIFETIME  # busy: at its lifetime exactly; idle: at its idle limit exactly
    await store.sweep()
    assert len(store) == 2
    clock.now += 0.001
    await store.sweep()
    assert len(store) == 0
    assert bytes(idle_at_limit._secret) == bytes(32) and bytes(busy._secret) == bytes(32)


@run
async def test_ending_nothing_changes_nothing():
    store = SessionStore(IDLE, LIFETIME, FakeClock())
    session = await store.create("acct", SECRET)
    for sid in (None, "", "unknown"):
        await store.end(sid)
    assert len(store) == 1
    assert bytes(session._secret) == SECRET


@run
async def test_closing_ends_and_wipes_every_session():
    store = SessionStore(IDLE, LIFETIME, FakeClock())
    sessions = [await store.create(f"acct-{i}", SECRET) for i in range(3)]
    await store.close()
    assert len(store) == 0
    for s in sessions:
        assert bytes(s._secret) == bytes(32) and await store.get(s.sid) is None
