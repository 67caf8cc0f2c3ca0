"""Words the offline reader shows: Bahasa Indonesia first, English after.

The status and category keys, and their labels, are the server's too:
both halves read them from ``locales.terms`` and translate them from the
same catalogs (``locales/``), so they cannot drift apart. A label here is
both languages at once, ``Diterima / Received``: the workstation's pages
are read by keyholders of either language.
"""

from __future__ import annotations

from markupsafe import Markup

from locales import N_, translate, translations
from locales.terms import CATEGORIES, STATUSES

STATUS_KEYS = tuple(STATUSES)
FINAL_STATUSES = ("referred", "closed_proven", "closed_unproven", "rejected")

UNKNOWN_CATEGORY = "tidak_dikenal"

# What the opener noticed about an item. "warn" flags are shown in red on the
# case page and counted on the index; "info" flags are shown beside the item.
FLAGS: dict[str, tuple[str, str]] = {
    "moved": ("warn", N_("The report code inside differs from the export's")),
    "kind_differs": ("warn", N_("The content's kind differs from the export's")),
    "not_to_mailbox": ("warn", N_("Not sealed to the reporter's mailbox key")),
    "bad_signature": ("warn", N_("The reply's signature does NOT verify")),
    "conflict": ("warn", N_("Another export carried different bytes for this item")),
    "attachment_differs": ("warn", N_("The attachment differs from what the report lists")),
    "unlisted": ("warn", N_("The attachment is not listed by any report or message")),
    "extra_report": ("warn", N_("A second report in the same case")),
    "signed": ("info", N_("Signed by an organisation key")),
    "unsigned": ("info", N_("Written online by staff (not signed)")),
    "renamed": ("info", N_("File name made safe")),
    "neutralised": ("info", N_("A .txt ending was added: do not open it in a browser")),
}

CASE_WARNINGS: dict[str, str] = {
    "mailbox_changed": N_("Another export named a different mailbox key; replies keep using the first one"),
}


def bilingual(message: str, /, **values: object) -> str:
    """``message`` (an English msgid) as plain text, ``Indonesian / English``, its ``%(name)s`` filled in."""
    return f"{translate('id', message, **values)} / {translate('en', message, **values)}"


def _markup(lang: str, message: str, values: dict[str, object], context: str | None = None) -> Markup:
    catalog = translations(lang)
    text = catalog.pgettext(context, message) if context else catalog.gettext(message)
    return Markup(text) % values


def bi(message: str, /, **values: object) -> Markup:
    """A label for a template: ``Daftar kasus <span lang="en">/ Cases</span>``.

    As in the server's templates, the translation may hold markup and the
    ``%(name)s`` values are escaped.
    """
    return Markup('{} <span lang="en">/ {}</span>').format(_markup("id", message, values),
                                                        _markup("en", message, values))


def pbi(context: str, message: str, /, **values: object) -> Markup:
    """``bi`` for a word whose Indonesian depends on where it stands (``context``)."""
    return Markup('{} <span lang="en">/ {}</span>').format(_markup("id", message, values, context),
                                                        _markup("en", message, values, context))


def bis(message: str, /, **values: object) -> Markup:
    """A sentence for a template: ``Tidak ada. <span lang="en">None.</span>``."""
    return Markup('{} <span lang="en">{}</span>').format(_markup("id", message, values),
                                                      _markup("en", message, values))


def bis_n(singular: str, plural: str, n: int, /, **values: object) -> Markup:
    """``bis`` for a sentence with a number, ``%(num)s``, in each language's plural form."""
    values = {"num": n, **values}
    return Markup('{} <span lang="en">{}</span>').format(
        Markup(translations("id").ngettext(singular, plural, n)) % values,
        Markup(translations("en").ngettext(singular, plural, n)) % values)


BILINGUAL = {"bilingual": bilingual, "bi": bi, "pbi": pbi, "bis": bis, "bis_n": bis_n}


def status_label(key: str) -> str:
    return bilingual(STATUSES[key]) if key in STATUSES else key


def category_label(key: str) -> str:
    return bilingual(CATEGORIES[key]) if key in CATEGORIES else key


def flag_level(code: str) -> str:
    return FLAGS.get(code, ("warn", code))[0]


def flag_label(code: str) -> str:
    return bilingual(FLAGS[code][1]) if code in FLAGS else f"{code} / {code}"


def warning_label(code: str) -> str:
    return bilingual(CASE_WARNINGS[code]) if code in CASE_WARNINGS else f"{code} / {code}"
