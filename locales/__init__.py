"""The message catalogs both halves read: gettext, English msgids.

Every string a person reads (the server's pages, the offline reader and
desk) is an English msgid in ``wbs.pot``; ``<lang>/LC_MESSAGES/wbs.po``
holds each language's translation and is compiled to ``wbs.mo`` when the
package is built (``setup.py``). ``server/`` and ``keytools/`` may not import
each other, so the catalogs, this loader and the words they share (statuses,
categories: ``locales.terms``) live here; this package imports only the
standard library. docs/translating.md is the translator's guide.

Placeholders are ``%(name)s``, as Jinja2's ``{% trans %}`` writes them, so a
literal ``%`` is written ``%%`` in every msgid.
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from pathlib import Path

LANGS = ("id", "en")
# Each language by its own name, as the language switch offers it (the same in every language).
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
DEFAULT_LANG = "id"
DOMAIN = "wbs"
LOCALE_DIR = Path(__file__).resolve().parent


class CatalogMissing(RuntimeError):
    """A language's compiled catalog is not installed: the package was not built (``pip install``)."""


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark ``message`` (in ``context``) for extraction; translated with ``pgettext``."""
    return message


@cache
def translations(lang: str) -> _gettext.GNUTranslations:
    """The compiled catalog of ``lang`` (one of ``LANGS``); read once per process."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as f:
            return _gettext.GNUTranslations(f)
    except FileNotFoundError:
        raise CatalogMissing(f"{path} is missing: install the package (pip install .) to compile it") from None


def translate(lang: str, message: str, **values: object) -> str:
    """``message`` in ``lang`` with its ``%(name)s`` fields filled in."""
    return translations(lang).gettext(message) % values


def translate_in(lang: str, context: str, message: str) -> str:
    """``message`` in ``lang`` where the English word alone is ambiguous (``May`` the month)."""
    return translations(lang).pgettext(context, message)
