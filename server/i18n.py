"""Bahasa Indonesia first, English second: the server's side of the catalogs.

Every string a page shows is an English msgid in the gettext catalogs of
``locales/`` (docs/translating.md). Templates ask with ``_('...')``,
``ngettext('...', '...', n)`` and ``{% trans %}...{% endtrans %}``; Python
code marks a msgid with ``N_("...")`` where it is chosen and calls
``translate(lang, msgid, **values)`` where it is shown. The tables here map
the keys the code stores (a status, a role, an alert's reason) to msgids.
"""

from __future__ import annotations

import jinja2

from locales import DEFAULT_LANG, LANGS, LANGUAGE_NAMES, N_, NC_, translate, translate_in, translations
from locales.terms import CATEGORIES, STATUSES

__all__ = ["CATEGORIES", "DEFAULT_LANG", "LANGS", "LANGUAGE_NAMES", "STATUSES", "alert_reason", "category_label",
           "install", "item_label", "key_state_label", "long_date", "month_label", "number", "role_label", "size_label",
           "status_explained", "status_label", "translate"]

STATUS_EXPLAINED: dict[str, str] = {
    "received": N_("Your report is stored and waiting to be examined."),
    "verification": N_("The Inspectorate is checking whether the report meets the 4W+1H criteria."),
    "needs_info": N_("The Inspectorate needs more information. Read the messages below and reply."),
    "investigation": N_("The report is being reviewed or investigated."),
    "referred": N_("The report was passed to the authority competent to handle it."),
    "closed_proven": N_("The examination is complete and the allegation was proven."),
    "closed_unproven": N_("The examination is complete and the allegation was not proven."),
    "rejected": N_("The report does not meet the criteria and will not be followed up."),
}

# Why the daily digest failed (server/operations/alerts.py REASONS names the same keys for the log), on the dashboard.
ALERT_REASONS: dict[str, str] = {
    "refused": N_("the mail server could not be reached or refused the connection."),
    "timeout": N_("the mail server did not answer in time."),
    "tls": N_("the encrypted connection to the mail server failed (certificate, or no TLS/STARTTLS)."),
    "auth": N_("the mail server refused the login (smtp_user, smtp_password_file)."),
    "rejected": N_("the mail server refused the sender, a recipient or the message."),
    "closed": N_("the mail server closed the connection."),
    "proxy": N_("the SOCKS proxy (socks_proxy) could not connect to the mail server."),
    "password": N_("the password file (smtp_password_file) cannot be read."),
}

# Why a reply bundle is refused (server/staff/workflow.py BundleRejected): the reason, a key the audit log
# keeps, and its message.
BUNDLE_REFUSALS: dict[str, str] = {
    "staff.err.bundle.bad_signature": N_("The reply bundle's signature is not valid: the file is damaged or was "
                                         "altered."),
    "staff.err.bundle.malformed": N_("The reply bundle's content is not in the expected format: the file is damaged or "
                                     "was made by another program."),
    "staff.err.bundle.not_for_mailbox": N_("A reply in this bundle is not encrypted to its reporter's mailbox, so the "
                                           "reporter could not read it."),
    "staff.err.bundle.not_for_org": N_("A reply in this bundle is not encrypted to the Inspectorate's key."),
    "staff.err.bundle.not_json": N_("This is not a reply bundle: its content cannot be read. Choose the .wbsr file "
                                    "made by the keyholder tools."),
    "staff.err.bundle.retired_signer": N_("The reply bundle is signed with a key that is no longer in use."),
    "staff.err.bundle.too_large": N_("The reply bundle is too large to import."),
    "staff.err.bundle.unknown_report": N_("A reply in this bundle is for a report this server does not have."),
    "staff.err.bundle.unknown_signer": N_("The reply bundle is signed with a key this server does not know."),
    "staff.err.bundle.wrong_format": N_("This file is not a WBS reply bundle (.wbsr)."),
    "staff.err.bundle_replayed": N_("This reply bundle was already imported on %(day)s, and its reply %(item)s is no "
                                    "longer stored. An old bundle is not imported again; make a new bundle if a reply "
                                    "is still needed."),
    "staff.err.item_differs": N_("Item %(item)s is already stored with different content."),
    "staff.err.item_purged": N_("This reply bundle is stale: reply %(item)s for report %(code)s was deleted on %(day)s "
                                "when its retention period ended. Nothing was imported; make a new bundle if a reply "
                                "is still needed."),
    "staff.err.made_before_purge": N_("This reply bundle is stale: it was made on %(made)s, before the content of "
                                      "report %(code)s was deleted on %(day)s when its retention period ended. Nothing "
                                      "was imported; make a new bundle if a reply is still needed."),
    "staff.err.no_key": N_("No organisation key is installed on this server."),
    "staff.err.unknown_report": N_("Reply %(item)s is for report %(code)s, which this server does not have."),
    "staff.err.unknown_status": N_("Reply %(item)s sets an unknown status: %(status)s."),
}

# A staff member's role as stored, and as shown: the stored ``handler`` is a *petugas*.
ROLES: dict[str, str] = {
    "admin": N_("admin"),
    "handler": N_("handler"),
}

# An item's kind and its author, as the staff pages name them.
KINDS: dict[str, str] = {
    "report": N_("Report"),
    "message": N_("Message"),
    "attachment": N_("Attachment"),
    "reply": N_("Reply"),
}
AUTHORS: dict[str, str] = {
    "reporter": N_("reporter"),
    "staff": N_("staff, online"),
    "keyholder": N_("keyholder"),
}

KEY_STATES: dict[str, str] = {
    "active": N_("active"),
    "retired": N_("retired"),
}

MONTHS: tuple[str, ...] = (
    NC_("month", "January"), NC_("month", "February"), NC_("month", "March"), NC_("month", "April"),
    NC_("month", "May"), NC_("month", "June"), NC_("month", "July"), NC_("month", "August"),
    NC_("month", "September"), NC_("month", "October"), NC_("month", "November"), NC_("month", "December"),
)


def size_label(size: int) -> str:
    """A limit as people read it: whole MB where it is one, else MB or KB with one decimal."""
    mb = size / 2**20
    if mb >= 1:
        return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
    return f"{size / 1024:.0f} KB"


def status_label(lang: str, status: str) -> str:
    return translate(lang, STATUSES[status]) if status in STATUSES else status


def status_explained(lang: str, status: str) -> str:
    return translate(lang, STATUS_EXPLAINED[status]) if status in STATUS_EXPLAINED else ""


def category_label(lang: str, key: str) -> str:
    return translate(lang, CATEGORIES[key]) if key in CATEGORIES else key


def number(lang: str, value: float, decimals: int = 0) -> str:
    """A number as its reader writes it: ``1.234,5`` in Indonesian, ``1,234.5`` in English.

    The two separators are messages of the catalogs, so each language writes its own.
    """
    group, point = translate_in(lang, "thousands separator", ","), translate_in(lang, "decimal separator", ".")
    return f"{value:,.{decimals}f}".translate(str.maketrans({",": group, ".": point}))


def role_label(lang: str, role: str) -> str:
    return translate(lang, ROLES[role]) if role in ROLES else role


def item_label(lang: str, kind: str, author: str) -> str:
    """An item's kind and author, e.g. ``Balasan (pemegang kunci)``."""
    kind_text = translate(lang, KINDS[kind]) if kind in KINDS else kind
    author_text = translate(lang, AUTHORS[author]) if author in AUTHORS else author
    return f"{kind_text} ({author_text})"


def alert_reason(lang: str, reason: str) -> str:
    return translate(lang, ALERT_REASONS[reason]) if reason in ALERT_REASONS else reason


def key_state_label(lang: str, state: str) -> str:
    return translate(lang, KEY_STATES[state]) if state in KEY_STATES else state


def long_date(lang: str, day: str) -> str:
    """``2026-12-01`` (or a time starting with it) as people here write it: ``1 Desember 2026``.

    Anything that is not a date is shown as it is rather than failing a page.
    """
    try:
        year, month, dom = int(day[:4]), int(day[5:7]), int(day[8:10])
    except (ValueError, TypeError):
        return day
    if day[4:5] != "-" or day[7:8] != "-" or not 1 <= month <= 12 or not 1 <= dom <= 31:
        return day
    return f"{dom} {translate_in(lang, 'month', MONTHS[month - 1])} {year}"


def month_label(lang: str, month: str) -> str:
    """``2026-12`` as ``Desember 2026``; anything else as it is."""
    if len(month) != 7 or month[4] != "-" or not (month[:4].isdigit() and month[5:].isdigit()):
        return month
    index = int(month[5:])
    return f"{translate_in(lang, 'month', MONTHS[index - 1])} {month[:4]}" if 1 <= index <= 12 else month


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    return translations(context["lang"]).gettext(message)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
    return translations(context["lang"]).ngettext(singular, plural, n)


@jinja2.pass_context
def _pgettext(context: jinja2.runtime.Context, msgctxt: str, message: str) -> str:
    return translations(context["lang"]).pgettext(msgctxt, message)


def install(env: jinja2.Environment) -> None:
    """``_``, ``{% trans %}`` and their plural forms in ``env``, in each page's ``lang``.

    New-style gettext: ``_('%(n)s files', n=3)`` fills its fields and
    escapes them, so a template never formats a translated string itself.
    """
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext)  # type: ignore[attr-defined]
