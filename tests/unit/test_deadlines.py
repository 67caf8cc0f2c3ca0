from datetime import date

import pytest

from server.staff.deadlines import add_working_days, is_working_day, next_deadline, working_days_between

NYEPI_2026 = date(2026, 3, 19)  # Hari Suci Nyepi, a Thursday


def test_working_days_skip_weekends_public_holidays_cuti_bersama_and_bali_days():
    assert not is_working_day(NYEPI_2026)
    assert not is_working_day(date(2026, 3, 21))  # Saturday
    assert is_working_day(date(2026, 3, 17))
    assert not is_working_day(date(2026, 3, 18))  # cuti bersama before Nyepi; Tawur Kesanga in Bali
    assert not is_working_day(date(2026, 3, 20))  # cuti bersama Idul Fitri
    # Monday 16 March + 3 working days: 17, (18 to 24: Nyepi, Idul Fitri and their cuti bersama), 25, 26.
    assert add_working_days(date(2026, 3, 16), 3) == date(2026, 3, 26)
    assert add_working_days(date(2026, 3, 9), 3) == date(2026, 3, 12)
    assert working_days_between(date(2026, 3, 16), date(2026, 3, 25)) == 2
    # Galungan week 2026: Tue 16 June (Islamic New Year; Penampahan Galungan), Wed 17 Galungan, Thu 18 Umanis.
    assert add_working_days(date(2026, 6, 15), 1) == date(2026, 6, 19)
    assert add_working_days(date(2026, 8, 14), 1) == date(2026, 8, 18)  # 17 August, Independence Day


def test_next_deadline_states():
    created = date(2026, 3, 16)
    ack = next_deadline(created, [("received", "2026-03-16")], None, date(2026, 3, 17),
                        acknowledge_working_days=7, feedback_days=90)
    assert ack.kind == "acknowledge" and ack.state == "ok"
    assert ack.due == add_working_days(created, 7) and ack.due > date(2026, 3, 25)
    late = next_deadline(created, [("received", "2026-03-16")], None, date(2026, 4, 30),
                         acknowledge_working_days=7, feedback_days=90)
    assert late.state == "overdue"
    soon = next_deadline(created, [("received", "2026-03-16")], None, ack.due,
                         acknowledge_working_days=7, feedback_days=90)
    assert soon.state == "soon"
    replied = next_deadline(created, [("received", "2026-03-16")], date(2026, 3, 18), date(2026, 3, 20),
                            acknowledge_working_days=7, feedback_days=90)
    assert replied.kind == "feedback" and replied.due == date(2026, 6, 14)
    closed = next_deadline(created, [("received", "d"), ("verification", "d"), ("rejected", "d")], None,
                           date(2026, 9, 1), acknowledge_working_days=7, feedback_days=90)
    assert closed is None


def feedback_deadline(due: date, today: date):
    """The feedback deadline (calendar days from arrival) of an acknowledged, open case due on ``due``."""
    created = date(2026, 1, 5)
    return next_deadline(created, [("received", "2026-01-05"), ("verification", "2026-01-06")], None, today,
                         acknowledge_working_days=7, feedback_days=(due - created).days)


@pytest.mark.parametrize("today, due, state", [
    # Two working days or fewer left is "soon", counted in working days, not calendar days.
    (date(2026, 3, 5), date(2026, 3, 9), "soon"),  # Thursday -> Monday: Fri, Mon (the weekend is not counted)
    (date(2026, 3, 4), date(2026, 3, 9), "ok"),  # Wednesday -> Monday: Thu, Fri, Mon
    (date(2026, 3, 17), date(2026, 3, 25), "soon"),  # Tue -> Wed over Nyepi, Idul Fitri and cuti bersama: Wed
    (date(2026, 3, 16), date(2026, 3, 26), "ok"),  # Monday -> Thursday: Tue 17, Wed 25, Thu 26
    (date(2026, 6, 12), date(2026, 6, 19), "soon"),  # Fri -> Fri over Galungan (Tue to Thu): Mon, Fri
    (date(2026, 6, 11), date(2026, 6, 19), "ok"),  # Thu -> Fri: Fri 12, Mon 15, Fri 19
    (date(2026, 12, 23), date(2026, 12, 28), "soon"),  # Wed -> Mon over cuti bersama, Christmas and a weekend
    (date(2026, 12, 21), date(2026, 12, 28), "ok"),  # Mon -> Mon: Tue, Wed, Mon
    (date(2026, 8, 13), date(2026, 8, 18), "soon"),  # Thu -> Tue over a weekend and Independence Day (Mon)
    # Plain working weeks and the deadline day itself.
    (date(2026, 3, 11), date(2026, 3, 13), "soon"),  # Wednesday -> Friday
    (date(2026, 3, 10), date(2026, 3, 13), "ok"),  # Tuesday -> Friday
    (date(2026, 3, 9), date(2026, 3, 9), "soon"),
    (date(2026, 3, 10), date(2026, 3, 9), "overdue"),
])
def test_soon_counts_working_days_across_weekends_and_holidays(today, due, state):
    deadline = feedback_deadline(due, today)
    assert (deadline.kind, deadline.due, deadline.state) == ("feedback", due, state)


def test_acknowledge_deadline_soon_across_a_holiday_and_a_weekend():
    # Arrived Tuesday 10 March 2026; 7 working days are 11, 12, 13, 16, 17, (18 to 24 off) 25 and 26 March.
    created = date(2026, 3, 10)
    history = [("received", "2026-03-10")]

    def at(today: date):
        return next_deadline(created, history, None, today, acknowledge_working_days=7, feedback_days=90)

    assert at(date(2026, 3, 17)).due == date(2026, 3, 26)
    assert at(date(2026, 3, 17)).state == "soon"  # (18 to 24 off), Wed 25, Thu 26: two working days
    assert at(date(2026, 3, 16)).state == "ok"  # Tue 17, Wed 25, Thu 26: three
    assert at(date(2026, 3, 26)).state == "soon"
    assert at(date(2026, 3, 27)).state == "overdue"
