"""The audit log as a person reads it.

Audit rows store an action as a short English word and a detail the code
wrote (``export`` / ``1 report(s), 3 item(s)``): stable for the command line
and for anyone reading the database. The staff page shows each as a sentence
in the reader's language; a row of an action this module does not know (or a
detail of another shape) is shown as stored rather than hidden.
"""

from __future__ import annotations

import re
from typing import Callable

from locales import N_

from server import i18n

_COUNTS = re.compile(r"(\d+) report\(s\), (\d+) item\(s\)")
_ITEMS = re.compile(r"(\d+) item\(s\)")
_USER_ROLE = re.compile(r"(.+) \(([a-z_]+)\)")

# Actions without a detail worth showing: the sentence says it all.
_PLAIN: dict[str, str] = {
    "login": N_("Logged in"),
    "logout": N_("Logged out"),
    "login_failed": N_("Failed to log in"),
    "totp_replay": N_("Authenticator code used again"),
    "password_change": N_("Changed the password"),
    "reply_online": N_("Sent a reply online"),
    "deleted_by_reporter": N_("Deleted by the reporter"),
}

# The system's own actors; anyone else is named as stored.
_ACTORS: dict[str, str] = {
    "reporter": N_("reporter"),
    "retention": N_("automatic deletion"),
}


class _Blanks(dict):  # type: ignore[type-arg]
    """Fills a message's ``%(fields)s`` the audit row does not hold with an ellipsis."""

    def __missing__(self, key: str) -> str:
        return "\u2026"


def refusal_reason(lang: str, reason: str) -> str:
    """A bundle refusal's message (by the reason the row keeps), without the values the row does not keep."""
    message = i18n.BUNDLE_REFUSALS.get(reason)
    return reason if message is None else i18n.translations(lang).gettext(message) % _Blanks()


def _user_add(lang: str, detail: str) -> str | None:
    match = _USER_ROLE.fullmatch(detail)
    if match is None:
        return None
    return i18n.translate(lang, N_("Added user %(name)s (%(role)s)"), name=match[1],
                          role=i18n.role_label(lang, match[2]))


def _export(lang: str, detail: str) -> str | None:
    match = _COUNTS.fullmatch(detail)
    if match is None:
        return None
    return i18n.translate(lang, N_("Exported reports: %(reports)s, items: %(items)s"),
                          reports=i18n.number(lang, int(match[1])), items=i18n.number(lang, int(match[2])))


def _purge(lang: str, detail: str) -> str | None:
    match = _ITEMS.fullmatch(detail)
    if match is None:
        return None
    return i18n.translate(lang, N_("Deleted at the end of the retention period, items: %(items)s"),
                          items=i18n.number(lang, int(match[1])))


def _reply_import(lang: str, detail: str) -> str | None:
    if not detail:
        return i18n.translate(lang, N_("Imported a reply from the keyholders"))
    if detail.startswith("status "):
        return i18n.translate(lang, N_("Imported a reply from the keyholders; status set to “%(status)s”"),
                              status=i18n.status_label(lang, detail[7:]))
    return None


_DESCRIBE: dict[str, Callable[[str, str], str | None]] = {
    "user_add": _user_add,
    "user_disable": lambda lang, d: i18n.translate(lang, N_("Disabled user %(name)s"), name=d),
    "user_enable": lambda lang, d: i18n.translate(lang, N_("Enabled user %(name)s"), name=d),
    "user_reset": lambda lang, d: i18n.translate(lang, N_("Reset the password and 2FA of %(name)s"), name=d),
    "status": lambda lang, d: i18n.translate(lang, N_("Changed the status to “%(status)s”"),
                                             status=i18n.status_label(lang, d)),
    "reply_import": _reply_import,
    "import_refused": lambda lang, d: i18n.translate(lang, N_("Refused a reply bundle: %(reason)s"),
                                                     reason=refusal_reason(lang, d)),
    "export": _export,
    "purge": _purge,
    "keys_install": lambda lang, d: i18n.translate(lang, N_("Installed the Inspectorate's public key (%(keys)s)"),
                                                   keys=d),
}

KNOWN_ACTIONS = frozenset(_PLAIN) | frozenset(_DESCRIBE)


def describe(lang: str, action: str, detail: str) -> str:
    """One audit row's action and detail as a sentence in ``lang``."""
    if action in _PLAIN and not detail:
        return i18n.translate(lang, _PLAIN[action])
    describe_detail = _DESCRIBE.get(action)
    text = describe_detail(lang, detail) if describe_detail else None
    if text is not None:
        return text
    return f"{action} {detail}".strip()


def actor_label(lang: str, actor: str) -> str:
    """Who acted: a username or a program name as stored, the system's own actors in words."""
    return i18n.translate(lang, _ACTORS[actor]) if actor in _ACTORS else actor
