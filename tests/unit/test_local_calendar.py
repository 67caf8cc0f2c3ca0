"""The local calendar: the Pawukon days of the Bali list, cuti bersama, and the Inspektorat's holidays_file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from keytools import deadlines as keytools_deadlines
from keytools.cases import Case
from keytools.errors import UsageError
from server.config import load_config
from server.errors import ConfigError
from server.staff.deadlines import CalendarState, next_deadline
from workdays import BALI, CUTI_BERSAMA, LOCAL, NATIONAL, CalendarError, bali_list, default_calendar, load_calendar
from workdays.pawukon import CYCLE_DAYS, cycle_day, days_at

# Galungan (Wednesday of Dungulan) as sources from 2007 to 2025 name it: ANTARA 2007, 2012, 2013;
# SE Gubernur Bali 7/2023 (2024) and 16/2024 (2025). Not one is used to compute the others.
GALUNGAN_IN_SOURCES = [date(2007, 6, 27), date(2012, 2, 1), date(2012, 8, 29), date(2013, 3, 27),
                       date(2013, 10, 23), date(2024, 9, 25), date(2025, 4, 23), date(2025, 11, 19)]
# Other Pawukon days the same sources give, with the names of bali.toml.
NAMED_IN_SOURCES = [
    (date(2013, 1, 12), "Hari Raya Saraswati"), (date(2013, 1, 16), "Hari Raya Pagerwesi"),
    (date(2013, 8, 10), "Hari Raya Saraswati"), (date(2013, 8, 14), "Hari Raya Pagerwesi"),
    (date(2012, 6, 16), "Hari Raya Saraswati"), (date(2012, 6, 20), "Hari Raya Pagerwesi"),
    (date(2025, 2, 8), "Hari Raya Saraswati"), (date(2025, 2, 12), "Hari Raya Pagerwesi"),
    (date(2025, 9, 6), "Hari Raya Saraswati"),
    (date(2024, 9, 24), "Penampahan Galungan"), (date(2024, 9, 26), "Umanis Galungan"),
    (date(2024, 10, 4), "Penampahan Kuningan"), (date(2024, 10, 5), "Hari Raya Kuningan"),
    (date(2025, 5, 3), "Hari Raya Kuningan"), (date(2025, 11, 29), "Hari Raya Kuningan"),
    (date(2012, 1, 31), "Penampahan Galungan"), (date(2012, 2, 2), "Umanis Galungan"),
]


def waiting_case(created_day: str) -> Case:
    return Case(report_code="WBS-AB2CD-EF3GH", mailbox_pk="", status="received", created_day=created_day,
                status_history=[{"status": "received", "day": created_day}], as_of=created_day)


def holidays_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "libur.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the Pawukon ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("galungan", GALUNGAN_IN_SOURCES)
def test_every_galungan_in_the_sources_is_on_the_cycle_of_the_anchor(galungan):
    anchor = bali_list().galungan
    assert galungan.weekday() == 2  # Buda, Wednesday
    assert (galungan - anchor).days % CYCLE_DAYS == 0
    assert cycle_day(galungan, anchor) == 73
    assert list(days_at(0, anchor, galungan - timedelta(days=209), galungan)) == [galungan]


@pytest.mark.parametrize("day, name", NAMED_IN_SOURCES)
def test_the_pawukon_days_of_the_default_list_match_the_sources(day, name):
    holiday = default_calendar().holidays_of(day.year)[day]
    assert name in holiday.name and BALI in holiday.kinds


def test_the_cycle_positions_of_the_holy_days():
    anchor = date(2025, 4, 23)
    assert cycle_day(anchor + timedelta(days=10), anchor) == 83  # Kuningan: Saturday of the 12th wuku
    assert cycle_day(date(2025, 2, 8), anchor) == 209  # Saraswati: the cycle's last day, Saturday of Watugunung
    assert cycle_day(date(2025, 2, 12), anchor) == 3  # Pagerwesi: Wednesday of Sinta, the first wuku
    assert cycle_day(date(2025, 2, 9), anchor) == 0  # Sunday of Sinta starts the cycle
    assert list(days_at(10, anchor, date(2025, 1, 1), date(2025, 12, 31))) == [date(2025, 5, 3), date(2025, 11, 29)]
    assert list(days_at(0, anchor, date(2025, 4, 24), date(2025, 11, 18))) == []


def test_the_default_list_is_dated_and_every_galungan_of_a_year_is_off():
    assert bali_list().checked == date(2026, 12, 2)
    calendar = default_calendar()
    for year in range(2020, 2031):
        galungans = [d for d, h in calendar.holidays_of(year).items() if "Hari Raya Galungan" in h.name]
        assert 1 <= len(galungans) <= 2 and all(d.weekday() == 2 for d in galungans)
        assert not any(calendar.is_working_day(d) for d in galungans)
        assert not any(calendar.is_working_day(d - timedelta(days=1)) for d in galungans)  # Penampahan


# -- national days and cuti bersama --------------------------------------------------------------------------------


def test_cuti_bersama_is_not_a_working_day_and_is_named_as_such():
    calendar = default_calendar()
    christmas_eve = calendar.holidays_of(2026)[date(2026, 12, 24)]  # cuti bersama Natal 2026, a Thursday
    assert christmas_eve.kinds == (CUTI_BERSAMA,) and "Cuti Bersama" in christmas_eve.label("id")
    assert "Joint Holiday" in christmas_eve.label("en")
    assert not calendar.is_working_day(date(2026, 12, 24))
    assert calendar.holidays_of(2026)[date(2026, 12, 25)].kinds == (NATIONAL,)
    # Wednesday 23 December + 1 working day: (24 cuti bersama, 25 Christmas, weekend) Monday 28th.
    assert calendar.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)
    both = calendar.holidays_of(2026)[date(2026, 3, 18)]  # cuti bersama Nyepi, and Tawur Kesanga in Bali
    assert both.kinds == (CUTI_BERSAMA, BALI) and "Tawur Kesanga" in both.name


def test_upcoming_lists_named_days_in_order_within_the_window():
    calendar = default_calendar()
    days = calendar.upcoming(date(2026, 12, 2), count=5, within_days=60)
    assert [h.day for h in days] == [date(2026, 12, 24), date(2026, 12, 25), date(2027, 1, 1), date(2027, 1, 5),
                                     date(2027, 1, 12)]
    assert days[-1].label("id") == "Penampahan Galungan"
    assert calendar.upcoming(date(2026, 12, 2), count=5, within_days=21) == []
    assert len(calendar.upcoming(date(2026, 12, 24), count=2)) == 2


# -- holidays_file ----------------------------------------------------------------------------------------------------

LOCAL_FILE = """\
[[holiday]]
date = 2026-11-24
name = "Libur Pemerintah Kabupaten Klungkung"
name_en = "Klungkung regency day off"

[[working_day]]
date = 2026-12-24
name = "Cuti bersama Natal tidak berlaku"
"""


def test_a_local_file_adds_days_off_and_takes_one_back(tmp_path):
    calendar = load_calendar(holidays_file(tmp_path, LOCAL_FILE))
    assert not calendar.is_working_day(date(2026, 11, 24))
    assert calendar.holidays_of(2026)[date(2026, 11, 24)].kinds == (LOCAL,)
    assert calendar.holidays_of(2026)[date(2026, 11, 24)].label("en") == "Klungkung regency day off"
    assert calendar.is_working_day(date(2026, 12, 24)) and date(2026, 12, 24) not in calendar.holidays_of(2026)
    assert (len(calendar.local_holidays), len(calendar.local_working_days)) == (1, 1)
    # Friday 20 November + 7 working days: 23, (24 local), 25, 26, 27, 30, 1 and 2 December.
    assert calendar.add_working_days(date(2026, 11, 20), 7) == date(2026, 12, 2)
    assert default_calendar().add_working_days(date(2026, 11, 20), 7) == date(2026, 12, 1)


def test_server_and_keytools_count_the_same_local_day(tmp_path):
    path = holidays_file(tmp_path, LOCAL_FILE)
    config = load_config(None, holidays_file=str(path))
    server_due = next_deadline(date(2026, 11, 20), [("received", "2026-11-20")], None, date(2026, 11, 20),
                               acknowledge_working_days=7, feedback_days=90,
                               calendar=CalendarState(config.holidays_file).current()).due
    case = waiting_case("2026-11-20")
    try:
        keytools_deadlines.use_holidays_file(str(path))
        keytools_due = keytools_deadlines.case_deadlines(case).acknowledge
    finally:
        keytools_deadlines.use_holidays_file(None)
    assert server_due == keytools_due == date(2026, 12, 2)
    assert keytools_deadlines.case_deadlines(case).acknowledge == date(2026, 12, 1)


def test_galungan_is_skipped_by_both_halves():
    # Wednesday 10 June 2026 + 7 working days: 11, 12, 15, (16 Islamic New Year and Penampahan Galungan,
    # 17 Galungan, 18 Umanis Galungan), 19, 22, 23, 24.
    server_due = next_deadline(date(2026, 6, 10), [("received", "2026-06-10")], None, date(2026, 6, 10),
                               acknowledge_working_days=7, feedback_days=90).due
    case = waiting_case("2026-06-10")
    assert server_due == keytools_deadlines.case_deadlines(case).acknowledge == date(2026, 6, 24)


@pytest.mark.parametrize("text, says", [
    ("[[holiday]]\ndate = 2026-11-24\n", "name must be a non-empty text"),
    ('[[holiday]]\ndate = "2026-11-24"\nname = "x"\n', "date must be a day written like 2026-12-28"),
    ('[[holiday]]\ndate = 2026-11-24T08:00:00\nname = "x"\n', "no time"),
    ('[[holiday]]\ndate = 1999-11-24\nname = "x"\n', "outside 2000..2100"),
    ('[[holiday]]\ndate = 2026-11-24\nname = "x"\n[[holiday]]\ndate = 2026-11-24\nname = "y"\n', "listed twice"),
    ('[[holiday]]\ndate = 2026-11-24\nname = "x"\n[[working_day]]\ndate = 2026-11-24\nname = "y"\n',
     "both a holiday and a working day"),
    ('[[holiday]]\ndate = 2026-11-24\nname = "x"\nnama = "y"\n', "unknown key(s) nama"),
    ('[[libur]]\ndate = 2026-11-24\nname = "x"\n', "unknown key(s) libur"),
    ('holiday = "2026-11-24"\n', "must be a list of tables"),
    ('[[holiday]]\ndate = 2026-11-24\nname = "a\\nb"\n', "one line"),
    ("[[holiday]\ndate = 2026-11-24\n", "not valid TOML"),
])
def test_a_malformed_file_is_refused_with_the_reason(tmp_path, text, says):
    path = holidays_file(tmp_path, text)
    with pytest.raises(CalendarError) as caught:
        load_calendar(path)
    assert says in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(ConfigError, match="holidays_file: "):
        load_config(None, holidays_file=str(path))
    with pytest.raises(UsageError, match="holidays file: "):
        keytools_deadlines.use_holidays_file(str(path))


def test_a_missing_unreadable_or_huge_file_is_refused(tmp_path):
    with pytest.raises(CalendarError, match="cannot be read"):
        load_calendar(tmp_path / "tidak-ada.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[[holiday]]\ndate = 2026-11-24\nname = "Hari \xe9"\n')
    with pytest.raises(CalendarError, match="not UTF-8"):
        load_calendar(bad)
    huge = holidays_file(tmp_path, "# " + "x" * 70_000 + "\n")
    with pytest.raises(CalendarError, match="larger than 64 KiB"):
        load_calendar(huge)


def test_the_running_server_keeps_the_last_good_calendar_when_the_file_goes_bad(tmp_path):
    path = holidays_file(tmp_path, LOCAL_FILE)
    state = CalendarState(str(path))
    assert not state.current().is_working_day(date(2026, 11, 24)) and state.error is None
    path.write_text('[[holiday]]\ndate = 2026-11-25\nname = "x"\n\n[[holiday]\n', encoding="utf-8")
    assert not state.current().is_working_day(date(2026, 11, 24))  # still the last good one
    assert "not valid TOML" in state.error
    path.write_text('[[holiday]]\ndate = 2026-11-25\nname = "Libur baru"\n', encoding="utf-8")
    calendar = state.current()
    assert state.error is None and calendar.is_working_day(date(2026, 11, 24))
    assert not calendar.is_working_day(date(2026, 11, 25))
    with pytest.raises(CalendarError):
        CalendarState(str(tmp_path / "tidak-ada.toml"))
    assert CalendarState("").current() is default_calendar()


@pytest.mark.parametrize("doc", ["deploy.en.md", "deploy.id.md"])
def test_the_example_file_in_the_deploy_guide_is_valid(tmp_path, doc):
    text = (Path(__file__).resolve().parents[2] / "docs" / doc).read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    calendar = load_calendar(holidays_file(tmp_path, example))
    assert not calendar.is_working_day(date(2027, 2, 10)) and calendar.is_working_day(date(2027, 12, 24))


def test_the_daily_digest_counts_deadlines_on_the_same_calendar(tmp_path):
    import asyncio
    import os

    from crypto.encoding import new_item_id
    from server.operations.digest import gather
    from server.storage.store import Account, Store

    async def digest_of(config):
        store = await Store.open(tmp_path / f"wbs-{len(os.listdir(tmp_path))}.sqlite3")
        try:
            account = Account(id=new_item_id(), lookup=os.urandom(32), salt=os.urandom(16), kdf_t=1, kdf_m_kib=8,
                              kdf_p=1, mailbox_pk=os.urandom(32), created_day="2026-11-20")
            await store.create_report(account=account, account_id=account.id, code="WBS-AB2CD-EF3GH",
                                      status="received", day="2026-11-20", items=[])
            return await gather(store, config, date(2026, 12, 2))
        finally:
            await store.close()

    # Due 1 December on the shared calendar; 2 December when the local file takes 24 November off.
    plain = asyncio.run(digest_of(load_config(None)))
    local = asyncio.run(digest_of(load_config(None, holidays_file=str(holidays_file(tmp_path, LOCAL_FILE)))))
    assert (plain.due_soon, plain.overdue) == (0, 1)
    assert (local.due_soon, local.overdue) == (1, 0)
