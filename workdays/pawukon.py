"""The Balinese Pawukon: a 210-day cycle of 30 weeks (wuku) of 7 days.

Galungan is Wednesday (Buda) of the wuku Dungulan, the 11th week; the holy
days around it, Kuningan, Saraswati and Pagerwesi, stand at fixed distances
from it in the same cycle. So one known Galungan fixes every later and
earlier one: they come exactly 210 days apart, for ever, with no leap rule.

Day numbers in the cycle count from 0, Sunday (Redite) of Sinta, the first
wuku. Galungan is day 73 (10 weeks and 3 days); Kuningan, Saturday of the
wuku Kuningan, day 83; Saraswati, Saturday of Watugunung (the last wuku),
day 209; Pagerwesi, Wednesday of Sinta, day 3.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterator

CYCLE_DAYS = 210
GALUNGAN_DAY = 73  # Buda Kliwon Dungulan


def cycle_day(day: date, galungan: date) -> int:
    """Where ``day`` stands in the cycle (0 = Sunday of Sinta), given any one Galungan."""
    return (GALUNGAN_DAY + (day - galungan).days) % CYCLE_DAYS


def days_at(offset: int, galungan: date, first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last`` (both included) that is ``offset`` days from a Galungan."""
    step = timedelta(days=CYCLE_DAYS)
    start = galungan + timedelta(days=offset)
    cycles = (first - start).days // CYCLE_DAYS
    day = start + cycles * step
    while day <= last:
        if day >= first:
            yield day
        day += step
