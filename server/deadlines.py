"""Case deadlines in working days (hari kerja): Monday to Friday, without
Indonesia's public holidays (the ``holidays`` package's calendar for ``ID``).

Two deadlines run from the day a report arrives: acknowledge it (leave
``received``, or answer) within ``acknowledge_working_days`` working days,
and give feedback (reach a final status) within ``feedback_days`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

FINAL_STATUSES = ("referred", "closed_proven", "closed_unproven", "rejected")
SOON_DAYS = 2


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: date, count: int) -> date:
    """The day ``count`` working days after ``start`` (``start`` itself not counted)."""
    day = start
    left = count
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    if end <= start:
        return 0
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n)))


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
