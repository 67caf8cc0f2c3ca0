"""Case deadlines in working days (hari kerja; the calendar is ``workdays``,
shared with the offline workstation).

Two deadlines run from the day a report arrives: acknowledge it (leave
``received``, or answer) within ``acknowledge_working_days`` working days,
and give feedback (reach a final status) within ``feedback_days`` days.

The calendar in force is the shared one plus the Inspektorat's
``holidays_file``: ``CalendarState`` reads it at start-up and again when the
file changes, so an edit applies without a restart and a bad edit keeps the
last good calendar while the dashboard says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from datetime import date, timedelta
from pathlib import Path

from workdays import (Calendar, CalendarError, add_working_days, default_calendar, is_working_day, load_calendar,
                      working_days_between)

__all__ = ["FINAL_STATUSES", "CalendarState", "Deadline", "add_working_days", "is_working_day", "next_deadline",
           "working_days_between"]

FINAL_STATUSES = ("referred", "closed_proven", "closed_unproven", "rejected")
SOON_DAYS = 2


@dataclass(frozen=True)
class Deadline:
    kind: str  # "acknowledge" or "feedback"
    due: date
    state: str  # "overdue", "soon" or "ok"


def next_deadline(
    created: date,
    history: list[tuple[str, str]],
    first_reply: date | None,
    today: date,
    *,
    acknowledge_working_days: int,
    feedback_days: int,
    calendar: Calendar | None = None,
) -> Deadline | None:
    """The first deadline not yet met, with how close it is; None when all are met.

    ``calendar`` defaults to the shared one without a local file.
    """
    calendar = calendar or default_calendar()
    statuses = [s for s, _ in history]
    acknowledged = any(s != "received" for s in statuses) or first_reply is not None
    if not acknowledged:
        due = calendar.add_working_days(created, acknowledge_working_days)
        kind = "acknowledge"
    elif not any(s in FINAL_STATUSES for s in statuses):
        due = created + timedelta(days=feedback_days)
        kind = "feedback"
    else:
        return None
    if today > due:
        state = "overdue"
    elif calendar.working_days_between(today, due) <= SOON_DAYS:
        state = "soon"
    else:
        state = "ok"
    return Deadline(kind, due, state)


class CalendarState:
    """The calendar with ``holidays_file`` (empty: none), read again whenever the file changes.

    ``error`` is why the file's present contents cannot be used (the last
    good calendar stays in force), or None.
    """

    def __init__(self, holidays_file: str) -> None:
        self.path = holidays_file.strip()
        self.error: str | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._calendar = load_calendar(self.path)  # a bad file at start-up is the caller's CalendarError
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(Path(self.path))
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ino, st.st_size)

    def current(self) -> Calendar:
        if not self.path:
            return self._calendar
        stamp = self._stat()
        if stamp != self._stamp or (stamp is None and self.error is None):
            self._stamp = stamp
            try:
                self._calendar, self.error = load_calendar(self.path), None
            except CalendarError as exc:
                self.error = str(exc)
        return self._calendar
