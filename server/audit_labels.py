"""The audit log as a person reads it.

Audit rows store an action as a short English word and a detail the code
wrote (``export`` / ``1 report(s), 3 item(s)``): stable for the command line
and for anyone reading the database. The staff page shows each as a sentence
in the reader's language; a row of an action this module does not know (or a
detail of another shape) is shown as stored rather than hidden.
"""

from __future__ import annotations

import re
import string
from typing import Callable

from . import i18n

_COUNTS = re.compile(r"(\d+) report\(s\), (\d+) item\(s\)")
_ITEMS = re.compile(r"(\d+) item\(s\)")
_USER_ROLE = re.compile(r"(.+) \(([a-z_]+)\)")

# Actions without a detail worth showing: the sentence says it all.
_PLAIN = ("login", "logout", "login_failed", "totp_replay", "password_change", "reply_online", "deleted_by_reporter")


class _Blanks(dict):  # type: ignore[type-arg]
    """Fills a message's ``{fields}`` the audit row does not hold with an ellipsis."""

    def __missing__(self, key: str) -> str:
        return "\u2026"


def refusal_reason(lang: str, key: str) -> str:
    """A bundle refusal's message, without the values the audit row does not keep."""
    pair = i18n.MESSAGES.get(key)
    if pair is None:
        return key
    return string.Formatter().vformat(pair[i18n.pick(lang)], (), _Blanks())


def _user_add(lang: str, detail: str) -> str | None:
    match = _USER_ROLE.fullmatch(detail)
    if match is None:
        return None
    return i18n.t(lang, "staff.audit.user_add", name=match[1], role=i18n.role_label(lang, match[2]))


def _export(lang: str, detail: str) -> str | None:
    match = _COUNTS.fullmatch(detail)
    if match is None:
        return None
    return i18n.t(lang, "staff.audit.export", reports=i18n.number(lang, int(match[1])),
                  items=i18n.number(lang, int(match[2])))


def _purge(lang: str, detail: str) -> str | None:
    match = _ITEMS.fullmatch(detail)
    return i18n.t(lang, "staff.audit.purge", items=i18n.number(lang, int(match[1]))) if match else None


def _reply_import(lang: str, detail: str) -> str | None:
    if not detail:
        return i18n.t(lang, "staff.audit.reply_import")
    if detail.startswith("status "):
        return i18n.t(lang, "staff.audit.reply_import_status", status=i18n.status_label(lang, detail[7:]))
    return None


_DESCRIBE: dict[str, Callable[[str, str], str | None]] = {
    "user_add": _user_add,
    "user_disable": lambda lang, d: i18n.t(lang, "staff.audit.user_disable", name=d),
    "user_enable": lambda lang, d: i18n.t(lang, "staff.audit.user_enable", name=d),
    "user_reset": lambda lang, d: i18n.t(lang, "staff.audit.user_reset", name=d),
    "status": lambda lang, d: i18n.t(lang, "staff.audit.status", status=i18n.status_label(lang, d)),
    "reply_import": _reply_import,
    "import_refused": lambda lang, d: i18n.t(lang, "staff.audit.import_refused", reason=refusal_reason(lang, d)),
    "export": _export,
    "purge": _purge,
    "keys_install": lambda lang, d: i18n.t(lang, "staff.audit.keys_install", keys=d),
}

KNOWN_ACTIONS = frozenset(_PLAIN) | frozenset(_DESCRIBE)


def describe(lang: str, action: str, detail: str) -> str:
    """One audit row's action and detail as a sentence in ``lang``."""
    if action in _PLAIN and not detail:
        return i18n.t(lang, f"staff.audit.{action}")
    describe_detail = _DESCRIBE.get(action)
    text = describe_detail(lang, detail) if describe_detail else None
    if text is not None:
        return text
    return f"{action} {detail}".strip()


def actor_label(lang: str, actor: str) -> str:
    """Who acted: a username or a program name as stored, the system's own actors in words."""
    pair = i18n.MESSAGES.get(f"staff.audit.actor.{actor}")
    return pair[i18n.pick(lang)] if pair else actor
