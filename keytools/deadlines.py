"""A case's two deadlines as the workstation sees them, on the server's calendar.

The numbers are the server's defaults (``Config.acknowledge_working_days``
and ``Config.feedback_days``; a test keeps them equal) and the working-day
calendar is the shared ``workdays`` package, so the desk, the reader and the
staff pages name the same day for the same case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable

from workdays import add_working_days

from .cases import Case
from .labels import FINAL_STATUSES

ACKNOWLEDGE_WORKING_DAYS = 7
FEEDBACK_DAYS = 90


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
        acknowledge=None if acknowledged(case) else add_working_days(created, ACKNOWLEDGE_WORKING_DAYS),
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
