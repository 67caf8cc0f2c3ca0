"""The report and message forms: field names, bounds, and validation.

Validation returns every problem at once, keyed by field, as message keys of
``i18n``; the view re-shows the form with all typed text and each message
beside its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from locales import N_

from server.config import Config
from server.i18n import CATEGORIES

MAX_PERSONS = 5
PERSON_PARTS = ("name", "position", "unit")
REQUIRED = ("what", "who", "where", "when", "how")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
_DAY_FIRST = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\Z", re.ASCII)


def long_fields() -> tuple[str, ...]:
    return ("what", "who", "where", "when", "how", "evidence_note", "identity")


def short_fields() -> tuple[str, ...]:
    persons = tuple(f"person{i}_{p}" for i in range(1, MAX_PERSONS + 1) for p in PERSON_PARTS)
    return ("category", "loss_estimate", "incident_date", "confirm", "csrf_token") + persons


def report_field_limits(config: Config) -> dict[str, int]:
    """Every text field the report form may send, with its bound in characters."""
    limits = {name: config.max_text_chars for name in long_fields()}
    limits.update({name: config.max_short_chars for name in short_fields()})
    return limits


def message_field_limits(config: Config) -> dict[str, int]:
    return {"body": config.max_text_chars, "csrf_token": config.max_short_chars}


def clean_text(value: str) -> str:
    """Browsers send CRLF; keep LF, and drop NUL and other C0 controls but tab."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in "\n\t" or ord(ch) >= 32)


@dataclass
class ReportForm:
    values: dict[str, str]
    errors: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def persons(self) -> list[dict[str, str]]:
        result = []
        for i in range(1, MAX_PERSONS + 1):
            person = {p: self.get(f"person{i}_{p}").strip() for p in PERSON_PARTS}
            if any(person.values()):
                result.append(person)
        return result

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_report(values: dict[str, str], config: Config) -> ReportForm:
    limits = report_field_limits(config)
    form = ReportForm({k: clean_text(v) for k, v in values.items() if k in limits and k != "csrf_token"})
    for name, value in form.values.items():
        if len(value) > limits[name]:
            form.errors[name] = (N_("Too long: at most %(max)s characters."), {"max": limits[name]})
    for name in REQUIRED:
        if name not in form.errors and not form.get(name).strip():
            form.errors[name] = (N_("This field is required."), {})
    if form.get("category") not in CATEGORIES:
        form.errors["category"] = (N_("Choose one kind of wrongdoing."), {})
    typed = form.get("incident_date").strip()
    if typed:
        if incident_day(typed) is None:
            form.errors["incident_date"] = (N_("Write the date as day/month/year, for example 17/08/2026."), {})
    if form.get("confirm") != "1":
        form.errors["confirm"] = (N_("Tick this statement to send."), {})
    return form


def incident_day(typed: str) -> str | None:
    """A day written day-first (``17/08/2026``, ``17-8-2026``, ``17.08.2026``) or as
    ``2026-08-17``, as ``YYYY-MM-DD``; None when it is not a real calendar day.

    Day-first is how dates are written here; the field is plain text so the
    browser's locale (Tor Browser presents itself as en-US) cannot reorder it.
    """
    iso = _ISO_DATE.match(typed)
    match = _DAY_FIRST.match(typed)
    if iso:
        year, month, dom = (int(g) for g in iso.groups())
    elif match:
        dom, month, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        return date(year, month, dom).isoformat()
    except ValueError:
        return None


def validate_message(values: dict[str, str], config: Config, *, has_files: bool) -> ReportForm:
    """A message needs text, unless it only brings more files."""
    form = ReportForm({"body": clean_text(values.get("body", ""))})
    if len(form.get("body")) > config.max_text_chars:
        form.errors["body"] = (N_("Too long: at most %(max)s characters."), {"max": config.max_text_chars})
    elif not form.get("body").strip() and not has_files:
        form.errors["body"] = (N_("Write your message."), {})
    return form
