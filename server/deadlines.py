"""Case deadlines in working days (hari kerja; the calendar is ``workdays``,
shared with the offline workstation).

Two deadlines run from the day a report arrives: acknowledge it (leave
``received``, or answer) within ``acknowledge_working_days`` working days,
and give feedback (reach a final status) within ``feedback_days`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from workdays import add_working_days, is_working_day, working_days_between

__all__ = ["FINAL_STATUSES", "Deadline", "add_working_days", "is_working_day", "next_deadline", "working_days_between"]

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
) -> Deadline | None:
    """The first deadline not yet met, with how close it is; None when all are met."""
    statuses = [s for s, _ in history]
    acknowledged = any(s != "received" for s in statuses) or first_reply is not None
    if not acknowledged:
        due = add_working_days(created, acknowledge_working_days)
        kind = "acknowledge"
    elif not any(s in FINAL_STATUSES for s in statuses):
        due = created + timedelta(days=feedback_days)
        kind = "feedback"
    else:
        return None
    if today > due:
        state = "overdue"
    elif working_days_between(today, due) <= SOON_DAYS:
        state = "soon"
    else:
        state = "ok"
    return Deadline(kind, due, state)
