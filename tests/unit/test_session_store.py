"""The reporter session store beyond expiry on access: its sweep, and wiping keys.

tests/unit/test_sessions.py checks expiry as a request sees it (``get``);
here the store's own housekeeping is checked, on a fake clock.
"""

from __future__ import annotations

from server.defences.sessions import SessionStore

IDLE, LIFETIME = 900.0, 7200.0
SECRET = bytes(range(32))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_holds_its_account_a_long_random_id_and_the_key():
    store = SessionStore(IDLE, LIFETIME, FakeClock())
    first, second = store.create("acct-1", SECRET), store.create("acct-2", SECRET)
    assert first.account_id == "acct-1"
    assert bytes(first.private_key) == SECRET
    assert len(first.sid) >= 43  # 32 random bytes, URL-safe base64
    assert first.sid != second.sid
    assert store.get(first.sid) is first


def test_the_sweep_ends_sessions_past_a_limit_and_keeps_those_at_it():
    clock = FakeClock()
    store = SessionStore(IDLE, LIFETIME, clock)
    idle_at_limit = store.create("idle", SECRET)
    busy = store.create("busy", SECRET)
    for _ in range(int(LIFETIME // 600)):
        clock.now += 600
        store.get(busy.sid)
    assert clock.now - busy.created == LIFETIME  # at its lifetime exactly
    idle_at_limit.seen = clock.now - IDLE  # at its idle limit exactly
    store.sweep()
    assert len(store) == 2
    clock.now += 0.001
    store.sweep()
    assert len(store) == 0
    assert bytes(idle_at_limit._secret) == bytes(32) and bytes(busy._secret) == bytes(32)


def test_ending_nothing_changes_nothing():
    store = SessionStore(IDLE, LIFETIME, FakeClock())
    session = store.create("acct", SECRET)
    for sid in (None, "", "unknown"):
        store.end(sid)
    assert len(store) == 1
    assert bytes(session._secret) == SECRET


def test_end_all_ends_and_wipes_every_session():
    store = SessionStore(IDLE, LIFETIME, FakeClock())
    sessions = [store.create(f"acct-{i}", SECRET) for i in range(3)]
    store.end_all()
    assert len(store) == 0
    assert all(bytes(s._secret) == bytes(32) and store.get(s.sid) is None for s in sessions)
