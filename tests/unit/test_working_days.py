"""Counting working days between two days: an empty or backwards span counts none."""

from __future__ import annotations

from datetime import date

from server.staff.deadlines import working_days_between

MONDAY = date(2026, 11, 30)


def test_no_working_days_from_a_day_to_itself_or_backwards():
    assert working_days_between(MONDAY, MONDAY) == 0
    assert working_days_between(date(2026, 12, 1), MONDAY) == 0
    assert working_days_between(MONDAY, date(2026, 12, 1)) == 1
