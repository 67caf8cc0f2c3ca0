"""Reading a file of non-working days: the shipped Bali list and the Inspektorat's ``holidays_file``.

The form (TOML)::

    [[holiday]]
    date = 2026-12-28
    name = "Cuti bersama Pemerintah Kabupaten Klungkung"
    name_en = "Klungkung regency joint leave"   # optional; else ``name``

    [[working_day]]                                # a day that is worked after all,
    date = 2026-12-24                              # e.g. a cuti bersama the regency
    name = "Cuti bersama Natal dibatalkan"         # cancelled
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 64 * 1024
MAX_DAYS = 1000
MAX_NAME_CHARS = 120
FIRST_YEAR, LAST_YEAR = 2000, 2100


class CalendarError(ValueError):
    """A file of days that cannot be used; the message says where and why, in plain words."""


@dataclass(frozen=True)
class NamedDay:
    day: dt.date
    name: str
    name_en: str


@dataclass(frozen=True)
class DayFile:
    holidays: tuple[NamedDay, ...]
    working_days: tuple[NamedDay, ...]
    raw: dict[str, Any]  # the whole table, for the Bali list's own keys


def read_day_file(path: Path, *, extra_keys: frozenset[str] = frozenset()) -> DayFile:
    """The days in ``path``; any fault is a ``CalendarError`` naming the file and the entry."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CalendarError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise CalendarError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CalendarError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - {"holiday", "working_day"} - extra_keys)
    if unknown:
        raise CalendarError(f"{path}: unknown key(s) {', '.join(unknown)}; use [[holiday]] or [[working_day]]")
    holidays = _days(path, raw, "holiday")
    working = _days(path, raw, "working_day")
    if len(holidays) + len(working) > MAX_DAYS:
        raise CalendarError(f"{path}: more than {MAX_DAYS} days")
    both = {d.day for d in holidays} & {d.day for d in working}
    if both:
        raise CalendarError(f"{path}: {min(both)} is both a holiday and a working day")
    return DayFile(holidays, working, raw)


def _days(path: Path, raw: dict[str, Any], key: str) -> tuple[NamedDay, ...]:
    entries = raw.get(key, [])
    if not isinstance(entries, list):
        raise CalendarError(f"{path}: {key} must be a list of tables, written [[{key}]]")
    out: dict[dt.date, NamedDay] = {}
    for n, entry in enumerate(entries, 1):
        where = f"{path}: [[{key}]] number {n}"
        out_day = named_day(entry, where)
        if out_day.day in out:
            raise CalendarError(f"{where}: {out_day.day} is listed twice")
        out[out_day.day] = out_day
    return tuple(sorted(out.values(), key=lambda d: d.day))


def named_day(entry: Any, where: str, *, dated: bool = True) -> NamedDay:
    """One entry's date and names, checked (``dated=False``: no date wanted, the day is a placeholder)."""
    if not isinstance(entry, dict):
        raise CalendarError(f"{where}: not a table")
    wanted = {"name", "name_en"} | ({"date"} if dated else {"offset"})
    unknown = sorted(set(entry) - wanted)
    if unknown:
        raise CalendarError(f"{where}: unknown key(s) {', '.join(unknown)}")
    day = dt.date(FIRST_YEAR, 1, 1)
    if dated:
        day = entry.get("date")
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise CalendarError(f"{where}: date must be a day written like 2026-12-28 (no quotes, no time)")
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise CalendarError(f"{where}: {day} is outside {FIRST_YEAR}..{LAST_YEAR}")
    name = entry.get("name")
    name_en = entry.get("name_en", name)
    for label, value in (("name", name), ("name_en", name_en)):
        if not isinstance(value, str) or not value.strip():
            raise CalendarError(f"{where}: {label} must be a non-empty text in quotes")
        if len(value) > MAX_NAME_CHARS or not value.isprintable():
            raise CalendarError(f"{where}: {label} must be one line of at most {MAX_NAME_CHARS} characters")
    return NamedDay(day, name.strip(), name_en.strip())
