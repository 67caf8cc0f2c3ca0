"""The report and message forms: which fields exist, their bounds, and what validation says.

A report form must re-show every typed field with every problem at once, so
each test checks the whole error dictionary, not one key of it.
"""

from __future__ import annotations

import pytest

from server.config import Config
from server.reporter.forms import (
    MAX_PERSONS,
    ReportForm,
    clean_text,
    long_fields,
    message_field_limits,
    report_field_limits,
    short_fields,
    validate_message,
    validate_report,
)
from server.i18n import CATEGORIES

SMALL = Config(max_text_chars=40, max_short_chars=30)


def complete_report(**changes: str) -> dict[str, str]:
    values = {
        "what": "Dana desa dipakai pribadi.",
        "who": "Bendahara",
        "where": "Kantor desa",
        "when": "Oktober",
        "how": "Kuitansi palsu",
        "category": "korupsi",
        "confirm": "1",
    }
    values.update(changes)
    return values


def test_field_names_cover_the_report_form():
    assert long_fields() == ("what", "who", "where", "when", "how", "evidence_note", "identity")
    persons = [f"person{i}_{part}" for i in range(1, 6) for part in ("name", "position", "unit")]
    assert short_fields() == ("category", "loss_estimate", "incident_date", "confirm", "csrf_token", *persons)
    assert MAX_PERSONS == 5


def test_report_limits_give_long_and_short_bounds():
    limits = report_field_limits(SMALL)
    assert set(limits) == set(long_fields()) | set(short_fields())
    assert {limits[name] for name in long_fields()} == {40}
    assert {limits[name] for name in short_fields()} == {30}


def test_message_limits():
    assert message_field_limits(SMALL) == {"body": 40, "csrf_token": 30}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("a\r\r\nb", "a\n\nb"),
        ("tab\there", "tab\there"),
        ("nul\x00bel\x07esc\x1b.", "nulbelesc."),
        ("\x1fspace \x20", "space  "),
        ("DEL\x7f and é, ü, ✓", "DEL\x7f and é, ü, ✓"),
        ("", ""),
    ],
)
def test_clean_text_keeps_lf_and_tab_and_drops_other_controls(raw, clean):
    assert clean_text(raw) == clean


def test_a_complete_report_is_accepted_with_its_text_cleaned():
    form = validate_report(complete_report(what="baris satu\r\nbaris dua\x00"), SMALL)
    assert form.ok
    assert form.errors == {}
    assert form.get("what") == "baris satu\nbaris dua"
    assert form.get("evidence_note") == ""


def test_unknown_fields_and_the_csrf_token_are_not_kept():
    form = validate_report(complete_report(csrf_token="t" * 20, stranger="x"), SMALL)
    assert form.ok
    assert "csrf_token" not in form.values
    assert "stranger" not in form.values


def test_an_empty_report_lists_every_problem_at_once():
    form = validate_report({}, SMALL)
    assert not form.ok
    assert form.errors == {
        "what": ("This field is required.", {}),
        "who": ("This field is required.", {}),
        "where": ("This field is required.", {}),
        "when": ("This field is required.", {}),
        "how": ("This field is required.", {}),
        "category": ("Choose one kind of wrongdoing.", {}),
        "confirm": ("Tick this statement to send.", {}),
    }


def test_blank_text_counts_as_missing():
    form = validate_report(complete_report(who=" \n\t "), SMALL)
    assert form.errors == {"who": ("This field is required.", {})}


@pytest.mark.parametrize("name", ["what", "evidence_note", "person5_unit", "loss_estimate", "who"])
def test_a_field_at_its_limit_passes_and_one_over_is_too_long(name):
    limit = report_field_limits(SMALL)[name]
    at_limit = validate_report(complete_report(**{name: "1" * limit}), SMALL)
    assert at_limit.errors.get(name, ("", {}))[0] != "Too long: at most %(max)s characters."
    over = validate_report(complete_report(**{name: "1" * (limit + 1)}), SMALL)
    assert over.errors[name] == ("Too long: at most %(max)s characters.", {"max": limit})


def test_a_required_field_over_its_limit_says_too_long_not_required():
    form = validate_report(complete_report(what="x" * 41), SMALL)
    assert form.errors == {"what": ("Too long: at most %(max)s characters.", {"max": 40})}


def test_the_limit_counts_characters_after_cleaning():
    form = validate_report(complete_report(what="x" * 40 + "\x00\x01"), SMALL)
    assert form.ok


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_known_category_is_accepted(category):
    assert validate_report(complete_report(category=category), SMALL).ok


@pytest.mark.parametrize("category", ["", "KORUPSI", "korupsi ", "other", "lainnya\x00x"])
def test_an_unknown_category_is_refused(category):
    form = validate_report(complete_report(category=category), SMALL)
    assert form.errors == {"category": ("Choose one kind of wrongdoing.", {})}


@pytest.mark.parametrize("date", ["", "28/11/2026", " 28-11-2026 ", "28.11.2026", "2026-11-28"])
def test_incident_date_is_optional_and_a_real_day_written_day_first(date):
    assert validate_report(complete_report(incident_date=date), SMALL).ok


@pytest.mark.parametrize("date", ["9999-99-99", "31/11/2026", "2026-11-28x", "2026-11-2", "2026/11/28", "kemarin",
                                  "2026-11-28\n1", "28/11/2026\n1"])
def test_a_badly_shaped_incident_date_is_refused(date):
    form = validate_report(complete_report(incident_date=date), SMALL)
    assert form.errors == {"incident_date": ("Write the date as day/month/year, for example 17/08/2026.", {})}


@pytest.mark.parametrize("confirm", ["", "0", "yes", "1 ", "11"])
def test_the_confirmation_must_be_exactly_one(confirm):
    form = validate_report(complete_report(confirm=confirm), SMALL)
    assert form.errors == {"confirm": ("Tick this statement to send.", {})}


def test_persons_keeps_only_filled_rows_in_order_and_stripped():
    form = validate_report(
        complete_report(person1_name=" Ani ", person2_position=" ", person3_unit="Dinas PU", person5_name="Budi"),
        SMALL,
    )
    assert form.persons == [
        {"name": "Ani", "position": "", "unit": ""},
        {"name": "", "position": "", "unit": "Dinas PU"},
        {"name": "Budi", "position": "", "unit": ""},
    ]


def test_a_form_without_persons_has_none():
    assert ReportForm({}).persons == []
    assert ReportForm({}).ok


def test_a_message_needs_text():
    form = validate_message({"body": " \r\n "}, SMALL, has_files=False)
    assert form.errors == {"body": ("Write your message.", {})}
    assert validate_message({}, SMALL, has_files=False).errors == {"body": ("Write your message.", {})}


def test_a_message_may_be_empty_when_it_brings_files():
    form = validate_message({"body": ""}, SMALL, has_files=True)
    assert form.ok
    assert form.get("body") == ""


def test_a_message_is_cleaned_and_bounded():
    ok = validate_message({"body": "a\r\n" + "b" * 38 + "\x00"}, SMALL, has_files=False)
    assert ok.ok
    assert ok.get("body") == "a\n" + "b" * 38
    over = validate_message({"body": "b" * 41}, SMALL, has_files=True)
    assert over.errors == {"body": ("Too long: at most %(max)s characters.", {"max": 40})}
    assert over.get("body") == "b" * 41
