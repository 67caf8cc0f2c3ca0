"""What the daily digest says: four counts and the days they cover, nothing else.

The mail goes every day, also when every count is zero, so its existence says
nothing about what happened. It never holds a report code, a category or any
text of a report, and its size hardly varies: the subject is fixed, the
counts are padded to a fixed width, the days are ISO dates. The body is in
Bahasa Indonesia with the same text in English below, so no setting changes it.

"New" is counted in whole days, because the store keeps days, not times. The
digest sent on day D counts what arrived from the first day after the days
the previous digest counted, through D - 1:

- the previous digest was sent on day P (it counted through P - 1): this one
  counts P .. D - 1, so every day is counted once, also across days the
  server was down;
- no digest was sent before: it counts D - 1 only;
- a second digest on the same day D (``wbs alerts send`` again) counts the
  same days as the first.

What arrives on day D itself, before or after the sending, is in the digest
of the next day. Deadlines are as of D: due within two working days
(``deadlines.SOON_DAYS``) or past due, as the staff dashboard shows them.
"""

from __future__ import annotations

import secrets
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Callable

from locales import N_, translate

from server.config import AlertsConfig, Config, calendar_of
from server.staff.workflow import case_rows
from server.storage.store import AlertState, Store


def _subject(message: str) -> str:
    """The same subject every day and for every reader: both languages."""
    return "WBS: " + " / ".join(translate(lang, message) for lang in ("id", "en"))


SUBJECT = _subject(N_("daily digest"))
TRIAL_SUBJECT = _subject(N_("test message"))

COUNT_WIDTH = 6
LABEL_WIDTH = 39  # a count's label and its dots: every count starts in the same column
TEXT_WIDTH = 70


@dataclass(frozen=True)
class Digest:
    day: date  # the day it is sent
    first: date  # the first day "new" counts
    last: date  # the last day "new" counts (the day before ``day``)
    new_reports: int
    new_messages: int
    due_soon: int
    overdue: int


def covered_days(state: AlertState, today: date) -> tuple[date, date]:
    """The first and last day the digest of ``today`` counts as new (the module says why)."""
    last = today - timedelta(days=1)
    if state.sent_day == today.isoformat() and state.covered_from:
        first = date.fromisoformat(state.covered_from)
    elif state.sent_day and state.sent_day < today.isoformat():
        first = date.fromisoformat(state.sent_day)
    else:
        first = last
    return min(first, last), last


async def gather(store: Store, config: Config, today: date) -> Digest:
    """The counts of the digest of ``today``, from the store's metadata only."""
    first, last = covered_days(await store.alert_state(), today)
    reports, messages = await store.digest_counts(first.isoformat(), last.isoformat())
    rows = await case_rows(store, today, acknowledge_working_days=config.acknowledge_working_days,
                           feedback_days=config.feedback_days, calendar=calendar_of(config))
    states = [r.deadline.state for r in rows if r.deadline is not None]
    return Digest(today, first, last, reports, messages, states.count("soon"), states.count("overdue"))


def _count(n: int) -> str:
    return f"{n:>{COUNT_WIDTH}}"


def _row(label: str, n: int) -> str:
    return f"{label} {'.' * (LABEL_WIDTH - len(label))} {_count(n)}"


def _in_each_language(section: Callable[[str], list[str]]) -> str:
    """The same text in Bahasa Indonesia, then in English below: no setting changes a mail."""
    return "\n--\n\n".join("\n".join(section(lang)) + "\n" for lang in ("id", "en"))


def body(digest: Digest, instance_name: str) -> str:
    d, first, last = digest.day.isoformat(), digest.first.isoformat(), digest.last.isoformat()

    def section(lang: str) -> list[str]:
        return [
            translate(lang, N_("WBS daily digest - %(name)s"), name=instance_name),
            translate(lang, N_("Date: %(day)s"), day=d),
            "",
            _row(translate(lang, N_("New reports")), digest.new_reports),
            _row(translate(lang, N_("New messages from reporters")), digest.new_messages),
            _row(translate(lang, N_("Deadlines within 2 working days")), digest.due_soon),
            _row(translate(lang, N_("Overdue deadlines")), digest.overdue),
            "",
            translate(lang, N_('"New": arrived from %(first)s to %(last)s.'), first=first, last=last),
            *textwrap.wrap(translate(lang, N_("This digest is sent every day, also when nothing happened, and holds no "
                                              "report code, category or content. The details are on the staff site.")),
                           TEXT_WIDTH),
        ]
    return _in_each_language(section)


def trial_body(instance_name: str) -> str:
    def section(lang: str) -> list[str]:
        return [
            translate(lang, N_("WBS test message - %(name)s"), name=instance_name),
            "",
            *textwrap.wrap(translate(lang, N_("This message was sent by 'wbs alerts test'. If you can read it, the "
                                              "daily digest can reach this address.")), TEXT_WIDTH),
        ]
    return _in_each_language(section)


def _message(alerts: AlertsConfig, subject: str, text: str, now: datetime) -> EmailMessage:
    """A plain-text mail with the headers a mail server expects and nothing that names this machine:
    the Message-ID is random (not the time and process id ``make_msgid`` would put in it)."""
    domain = alerts.from_addr.rpartition("@")[2]
    message = EmailMessage()
    message["From"] = alerts.from_addr
    message["To"] = ", ".join(alerts.to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{secrets.token_hex(16)}@{domain}>"
    message.set_content(text)
    return message


def digest_message(alerts: AlertsConfig, digest: Digest, instance_name: str, now: datetime) -> EmailMessage:
    return _message(alerts, SUBJECT, body(digest, instance_name), now)


def trial_message(alerts: AlertsConfig, instance_name: str, now: datetime) -> EmailMessage:
    return _message(alerts, TRIAL_SUBJECT, trial_body(instance_name), now)
