from datetime import date

from server.deadlines import add_working_days, is_working_day, next_deadline, working_days_between

NYEPI_2026 = date(2026, 3, 19)  # Hari Suci Nyepi, a Thursday


def test_working_days_skip_weekends_and_public_holidays():
    assert not is_working_day(NYEPI_2026)
    assert not is_working_day(date(2026, 3, 21))  # Saturday
    assert is_working_day(date(2026, 3, 18))
    # Monday 16 March + 3 working days: 17, 18, (19 Nyepi), 20 -> Friday 20th.
    assert add_working_days(date(2026, 3, 16), 3) == date(2026, 3, 20)
    assert add_working_days(date(2026, 3, 9), 3) == date(2026, 3, 12)
    assert working_days_between(date(2026, 3, 16), date(2026, 3, 20)) == 3
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
