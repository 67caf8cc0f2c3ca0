"""A case's two deadlines as the workstation sees them, on the server's calendar.

The numbers are the server's defaults (``Config.acknowledge_working_days``
and ``Config.feedback_days``; a test keeps them equal) and the working-day
calendar is the shared ``workdays`` package, so the desk, the reader and the
staff pages name the same day for the same case.

The server may also be given a ``holidays_file`` of the Inspektorat's own
days off; ``use_holidays_file`` (``wbs-keytools --holidays-file``, or
``$WBS_HOLIDAYS_FILE``) makes this workstation count the same days. It is
set once per run, before any deadline is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from workdays import Calendar, CalendarError, default_calendar, load_calendar

from .cases import Case
from .errors import UsageError
from .labels import FINAL_STATUSES

ACKNOWLEDGE_WORKING_DAYS = 7
FEEDBACK_DAYS = 90

_calendar: Calendar = default_calendar()


def use_holidays_file(path: str | None) -> Calendar:
    """Count deadlines with this extra-days file from now on (None or empty: the shared calendar alone)."""
    global _calendar
    try:
        _calendar = load_calendar(path)
    except CalendarError as exc:
        raise UsageError(f"holidays file: {exc}",
                         hint="use the same file as holidays_file in the server's wbs.toml") from None
    return _calendar


def calendar() -> Calendar:
    """The calendar deadlines are counted on in this run."""
    return _calendar


@dataclass(frozen=True)
class CaseDeadlines:
    acknowledge: date | None  # None once the case left "received" or the server holds a reply
    feedback: date | None  # None once the case reached a final status

    def overdue(self, today: date) -> bool:
        return any(due is not None and today > due for due in (self.acknowledge, self.feedback))


def acknowledged(case: Case) -> bool:
    """What the server counts: a status other than ``received``, or a reply it holds."""
    statuses = [step.get("status") for step in case.status_history] + [case.status]
    replied = any(r.kind == "reply" and r.source != "local" for r in case.items.values())
    return replied or any(s != "received" for s in statuses)


def case_deadlines(case: Case) -> CaseDeadlines:
    created = date.fromisoformat(case.created_day)
    final = case.status in FINAL_STATUSES or any(
        step.get("status") in FINAL_STATUSES for step in case.status_history)
    return CaseDeadlines(
        acknowledge=None if acknowledged(case) else _calendar.add_working_days(created, ACKNOWLEDGE_WORKING_DAYS),
        feedback=None if final else created + timedelta(days=FEEDBACK_DAYS),
    )


def acknowledge_lines(cases: Iterable[Case], today: date) -> list[str]:
    """What ``open`` prints: each case still waiting for its first answer, and by when."""
    lines = []
    for case in cases:
        due = case_deadlines(case).acknowledge
        if due is not None:
            late = ", OVERDUE" if today > due else ""
            lines.append(f"{case.report_code}: acknowledge by {due} "
                         f"({ACKNOWLEDGE_WORKING_DAYS} working days from {case.created_day}{late})")
    return lines
