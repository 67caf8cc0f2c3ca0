"""How reporters' pages read and write dates: day first, months in words."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from server.i18n import long_date
from server.reporter.forms import incident_day
from server.reporter.reporting import sealed_time


@pytest.mark.parametrize("typed, day", [
    ("17/08/2026", "2026-08-17"), ("1/2/2026", "2026-02-01"), ("01-02-2026", "2026-02-01"),
    ("17.08.2026", "2026-08-17"), ("17 / 08 / 2026", "2026-08-17"), ("2026-08-17", "2026-08-17"),
    ("29/02/2028", "2028-02-29"),
])
def test_a_real_day_written_day_first_is_read(typed, day):
    assert incident_day(typed) == day


@pytest.mark.parametrize("typed", ["29/02/2026", "31/04/2026", "13/13/2026", "0/1/2026", "08/17", "2026/08/17",
                                   "17/08/26", "kemarin", "17/08/2026x", "１７/08/2026"])
def test_anything_else_is_refused(typed):
    assert incident_day(typed) is None


def test_long_dates_in_both_languages():
    assert long_date("id", "2026-12-01") == "1 Desember 2026"
    assert long_date("en", "2026-12-01") == "1 December 2026"
    assert long_date("id", "2026-08-17T03:14:15Z") == "17 Agustus 2026"
    for odd in ("", "2026-13-01", "2026-00-10", "kemarin", "2026/12/01"):
        assert long_date("id", odd) == odd


def test_sealed_times_carry_the_day_only():
    late = datetime(2026, 12, 1, 21, 27, 59, 123456, tzinfo=timezone.utc)
    assert sealed_time(late) == "2026-12-01T00:00:00Z"


def test_the_configured_zone_decides_the_day(tmp_path):
    import asyncio
    from zoneinfo import ZoneInfo

    from server.config import Config
    from server.storage.store import Store

    assert Config().timezone == "Asia/Makassar"

    async def days() -> tuple[str, str]:
        wita = await Store.open(tmp_path / "wita.sqlite", ZoneInfo(Config().timezone))
        utc = await Store.open(tmp_path / "utc.sqlite")
        before_eight = datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)  # 07:30 WITA on 1 December
        try:
            return wita.today(before_eight), utc.today(before_eight)
        finally:
            await wita.close()
            await utc.close()

    assert asyncio.run(days()) == ("2026-12-01", "2026-11-30")


@pytest.mark.parametrize("name", ["WITA", "Asia/Nowhere", "../etc/passwd", ""])
def test_a_zone_the_system_does_not_know_is_a_config_error(name):
    from dataclasses import replace

    from server.config import Config, check
    from server.errors import ConfigError

    with pytest.raises(ConfigError, match="timezone"):
        check(replace(Config(), timezone=name))
