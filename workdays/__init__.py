"""Working days (hari kerja) in Indonesia: Monday to Friday, without the
public holidays of the ``holidays`` package's calendar for ``ID``.

Both halves count deadlines in working days: the server for its staff pages
(``server/deadlines.py``) and the offline workstation for its reader and
desk (``keytools/deadlines.py``). Neither may import the other, and
``crypto/`` is the protocol layer, so this pure calendar arithmetic lives
in its own package that imports only the standard library and ``holidays``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


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
