"""The desk's pure parts: the loopback rule, the idle lock on an injected clock, and the
deadlines it shows (the server's numbers and calendar, without importing the server)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crypto.keyring import new_keyring
from keytools.cases import Case, ItemRecord
from keytools.deadlines import ACKNOWLEDGE_WORKING_DAYS, FEEDBACK_DAYS, case_deadlines
from keytools.desk.config import DeskConfig, loopback_addr
from keytools.desk.state import DeskState
from keytools.errors import UsageError
from server.config import Config
from server.staff.deadlines import next_deadline

RING = new_keyring("Inspektorat")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("addr, expected", [
    ("127.0.0.1:8090", ("127.0.0.1", 8090)),
    ("127.8.9.10:1", ("127.8.9.10", 1)),
    ("localhost:8090", ("127.0.0.1", 8090)),
    ("[::1]:8090", ("::1", 8090)),
])
def test_loopback_addresses_are_taken(addr, expected):
    assert loopback_addr(addr) == expected


@pytest.mark.parametrize("addr", ["0.0.0.0:8090", "[::]:8090", "10.0.0.1:8090", "128.0.0.1:80", "example.org:80",
                                  "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:http", ":8090"])
def test_other_addresses_are_refused(addr):
    with pytest.raises(UsageError):
        loopback_addr(addr)


def desk(clock: FakeClock) -> DeskState:
    return DeskState(DeskConfig(keyring=Path("k"), cases=Path("c")), clock=clock)


def test_keyring_only_for_the_session_that_unlocked_it():
    state = desk(FakeClock())
    assert state.keyring_for(None) is None
    token = state.unlocked(RING)
    assert state.keyring_for(token) is RING
    assert state.keyring_for("") is None and state.keyring_for(token[:-1] + "x") is None
    assert state.keyring_for("ünïcode") is None
    second = state.unlocked(RING)
    assert state.keyring_for(token) is None and state.keyring_for(second) is RING


def test_idle_lock_at_fifteen_minutes_and_activity_keeps_it_open():
    clock = FakeClock()
    state = desk(clock)
    token = state.unlocked(RING)
    clock.now += 15 * 60 - 1
    assert state.keyring_for(token) is RING  # a request is activity: the 15 minutes start again
    clock.now += 15 * 60 - 1
    assert state.is_unlocked
    clock.now += 1
    assert not state.is_unlocked  # 15 minutes idle exactly: locked, even without a request
    assert state.keyring_for(token) is None


def test_lock_drops_the_keyring():
    state = desk(FakeClock())
    token = state.unlocked(RING)
    state.lock()
    assert state.keyring_for(token) is None and not state.is_unlocked


def test_deadline_numbers_are_the_servers_defaults():
    assert ACKNOWLEDGE_WORKING_DAYS == Config.acknowledge_working_days
    assert FEEDBACK_DAYS == Config.feedback_days


def case(created: str, status: str = "received", history: list | None = None) -> Case:
    return Case(report_code="WBS-AB2CD-EF3GH", mailbox_pk="A" * 43 + "=", status=status, created_day=created,
                status_history=history or [{"status": "received", "day": created}], as_of="2026-12-01T00:00:00Z")


@pytest.mark.parametrize("created", ["2026-03-16", "2026-12-22", "2026-08-14", "2026-11-27"])
def test_acknowledgement_deadline_is_the_servers_across_weekends_and_holidays(created):
    """Nyepi (19 March 2026), Christmas, 17 August and plain weekends: the same day as the staff pages."""
    day = date.fromisoformat(created)
    server = next_deadline(day, [("received", created)], None, day,
                           acknowledge_working_days=Config.acknowledge_working_days,
                           feedback_days=Config.feedback_days)
    mine = case_deadlines(case(created))
    assert server.kind == "acknowledge" and mine.acknowledge == server.due
    assert (mine.acknowledge - day).days > ACKNOWLEDGE_WORKING_DAYS  # weekends at least are skipped


def test_acknowledged_by_a_status_or_a_reply_the_server_holds():
    moved = case("2026-11-20", "verification", [{"status": "received", "day": "2026-11-20"},
                                                {"status": "verification", "day": "2026-11-23"}])
    assert case_deadlines(moved).acknowledge is None and case_deadlines(moved).feedback == date(2027, 2, 18)
    replied = case("2026-11-20")
    reply = ItemRecord(item_id="a" * 32, kind="reply", file="thread/x.json", created_day="2026-11-21",
                       envelope_sha256="0" * 64)
    replied.items[reply.item_id] = reply
    assert case_deadlines(replied).acknowledge is None
    reply.source = "local"  # written here, not yet imported: the server has not seen it
    assert case_deadlines(replied).acknowledge is not None
    closed = case("2026-11-20", "closed_proven")
    assert case_deadlines(closed).feedback is None
    assert case_deadlines(case("2026-01-05")).overdue(date(2026, 12, 1))
