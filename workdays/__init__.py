"""Working days (hari kerja) in Klungkung: Monday to Friday, without the
national holidays, the cuti bersama, Bali's regional holy days and the
Inspektorat's own list.

Both halves count deadlines in working days: the server for its staff pages
(``server/staff/deadlines.py``) and the offline workstation for its reader and
desk (``keytools/deadlines.py``). Neither may import the other, and
``crypto/`` is the protocol layer, so this pure calendar arithmetic lives
in its own package that imports only the standard library and ``holidays``.

A day is not a working day when it is a Saturday or Sunday, or it is in one
of four lists, in this order:

1. ``national``: the public holidays of the ``holidays`` package for ``ID``;
2. ``cuti_bersama``: that package's ``government`` category for ``ID``, the
   joint leave days of the yearly ministers' decree (SKB);
3. ``bali``: the Governor of Bali's holy days, from ``bali.toml`` shipped
   here (dated, with its sources), partly computed on the Pawukon cycle;
4. ``local``: the Inspektorat's ``holidays_file``, which may also name a day
   that is worked after all (``[[working_day]]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import holidays

from .dayfile import CalendarError, DayFile, NamedDay, named_day, read_day_file
from .pawukon import days_at

__all__ = [
    "BALI", "CUTI_BERSAMA", "LOCAL", "NATIONAL", "BaliList", "Calendar", "CalendarError", "Holiday",
    "add_working_days", "bali_list", "default_calendar", "is_working_day", "load_calendar", "working_days_between",
]

NATIONAL, CUTI_BERSAMA, BALI, LOCAL = "national", "cuti_bersama", "bali", "local"
_CATEGORY = {NATIONAL: "public", CUTI_BERSAMA: "government"}


@dataclass(frozen=True)
class Holiday:
    """A named non-working day; ``kinds`` says which list(s) it came from."""

    day: date
    name: str
    name_en: str
    kinds: tuple[str, ...]

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name


@dataclass(frozen=True)
class BaliList:
    checked: date
    galungan: date
    pawukon: tuple[tuple[int, NamedDay], ...]  # (days from Galungan, names)
    dated: tuple[NamedDay, ...]

    def days(self, year: int) -> list[NamedDay]:
        first, last = date(year, 1, 1), date(year, 12, 31)
        out = [d for d in self.dated if d.day.year == year]
        for offset, names in self.pawukon:
            out += [NamedDay(day, names.name, names.name_en) for day in days_at(offset, self.galungan, first, last)]
        return out


@lru_cache(maxsize=1)
def bali_list() -> BaliList:
    """The shipped ``bali.toml`` (a fault in it is a bug, and fails loudly)."""
    with resources.as_file(resources.files(__package__) / "bali.toml") as path:
        found = read_day_file(path, extra_keys=frozenset({"checked", "pawukon"}))
    raw: dict[str, Any] = found.raw
    pawukon = raw["pawukon"]
    days = tuple((int(d["offset"]), named_day(d, f"bali.toml [[pawukon.day]] {d.get('offset')}", dated=False))
                 for d in pawukon["day"])
    return BaliList(raw["checked"], pawukon["galungan"], days, found.holidays)


@lru_cache(maxsize=128)
def _library_days(year: int, kind: str) -> dict[date, tuple[str, str]]:
    def names(language: str) -> dict[date, str]:
        return dict(holidays.country_holidays("ID", years=year, categories=(_CATEGORY[kind],), language=language))

    ids, ens = names("id"), names("en_US")
    return {day: (name, ens.get(day, name)) for day, name in ids.items()}


class Calendar:
    """National days, cuti bersama, the Bali list, and optionally one local file (``local_path``)."""

    def __init__(self, local: DayFile | None = None, local_path: str = "") -> None:
        self.local_path = local_path
        self.local_holidays: tuple[NamedDay, ...] = local.holidays if local else ()
        self.local_working_days: tuple[NamedDay, ...] = local.working_days if local else ()
        self._worked = frozenset(d.day for d in self.local_working_days)
        self._years: dict[int, dict[date, Holiday]] = {}

    @property
    def bali_checked(self) -> date:
        return bali_list().checked

    @property
    def library_version(self) -> str:
        """The ``holidays`` release whose national days and cuti bersama are counted: a new year's
        cuti bersama arrive with an update of that package (or in the local file until then)."""
        return str(holidays.__version__)

    def holidays_of(self, year: int) -> dict[date, Holiday]:
        """Every named non-working day of ``year`` (days worked after all left out)."""
        found = self._years.get(year)
        if found is None:
            found = self._years[year] = self._collect(year)
        return found

    def _collect(self, year: int) -> dict[date, Holiday]:
        parts: dict[date, list[tuple[str, str, str]]] = {}
        for kind in (NATIONAL, CUTI_BERSAMA):
            for day, (name, name_en) in _library_days(year, kind).items():
                parts.setdefault(day, []).append((kind, name, name_en))
        for kind, days in ((BALI, bali_list().days(year)),
                           (LOCAL, [d for d in self.local_holidays if d.day.year == year])):
            for d in days:
                parts.setdefault(d.day, []).append((kind, d.name, d.name_en))
        out = {}
        for day, entries in sorted(parts.items()):
            if day in self._worked:
                continue
            kinds = tuple(dict.fromkeys(k for k, _, _ in entries))
            name = "; ".join(dict.fromkeys(n for _, n, _ in entries))
            name_en = "; ".join(dict.fromkeys(n for _, _, n in entries))
            out[day] = Holiday(day, name, name_en, kinds)
        return out

    def is_working_day(self, day: date) -> bool:
        if day in self._worked:
            return True
        return day.weekday() < 5 and day not in self.holidays_of(day.year)

    def add_working_days(self, start: date, count: int) -> date:
        """The day ``count`` working days after ``start`` (``start`` itself not counted)."""
        day = start
        left = count
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        if end <= start:
            return 0
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))

    def upcoming(self, start: date, *, count: int = 5, within_days: int = 60) -> list[Holiday]:
        """The next ``count`` named non-working days from ``start`` (included), at most ``within_days`` ahead."""
        last = start + timedelta(days=within_days)
        found: list[Holiday] = []
        for year in range(start.year, last.year + 1):
            found += [h for day, h in self.holidays_of(year).items() if start <= day <= last]
        return found[:count]


def load_calendar(path: str | Path | None) -> Calendar:
    """The calendar with the local file at ``path`` (None or empty: none); a bad file is a ``CalendarError``."""
    if not path or not str(path).strip():
        return default_calendar()
    return Calendar(read_day_file(Path(path)), str(path))


@lru_cache(maxsize=1)
def default_calendar() -> Calendar:
    """National days, cuti bersama and the Bali list, without a local file."""
    return Calendar()


def is_working_day(day: date) -> bool:
    return default_calendar().is_working_day(day)


def add_working_days(start: date, count: int) -> date:
    """The day ``count`` working days after ``start`` on the default calendar."""
    return default_calendar().add_working_days(start, count)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``, on the default calendar."""
    return default_calendar().working_days_between(start, end)


