"""The message catalogs (locales/): complete, current, and compiled.

A string added to a template or to the Python code without a translation
fails here: the sources are extracted again and compared with
``locales/wbs.pot``, and every message of the template must have its
Indonesian in ``id/LC_MESSAGES/wbs.po``. ``make messages`` brings the
catalogs up to date (docs/translating.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from locales import LANGS, translations

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
FIELD = re.compile(r"%(?:\((\w+)\))?[sd%]")
TAG = re.compile(r"</?([a-z]+)[^>]*>")
HOW_TO_FIX = "run `make messages`, translate what it added to locales/id/LC_MESSAGES/wbs.po, and commit both"


def read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def ids(catalog: Catalog) -> set[tuple[str | None, str]]:
    """(context, msgid) of every message; a plural message by its singular and plural."""
    return {(m.context, "\x00".join(m.id) if isinstance(m.id, tuple) else m.id) for m in catalog if m.id}


def forms(message) -> list[str]:  # type: ignore[no-untyped-def]
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def fields(text: str) -> set[str]:
    return {m or "" for m in FIELD.findall(text)} - {""}


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read(LOCALES / "wbs.pot")


def test_the_template_holds_every_string_of_the_sources(tmp_path: Path, template: Catalog) -> None:
    fresh = tmp_path / "wbs.pot"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "messages.py"), "extract", str(fresh)],
                   check=True, cwd=ROOT)
    extracted = ids(read(fresh))
    committed = ids(template)
    assert extracted - committed == set(), f"strings in the sources but not in locales/wbs.pot: {HOW_TO_FIX}"
    assert committed - extracted == set(), f"strings in locales/wbs.pot no source uses any more: {HOW_TO_FIX}"
    assert len(committed) > 250


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_has_exactly_the_templates_messages(lang: str, template: Catalog) -> None:
    catalog = read(LOCALES / lang / "LC_MESSAGES" / "wbs.po", lang)
    assert ids(catalog) == ids(template), f"locales/{lang}/LC_MESSAGES/wbs.po is behind wbs.pot: {HOW_TO_FIX}"


def test_every_message_has_its_indonesian(template: Catalog) -> None:
    catalog = read(LOCALES / "id" / "LC_MESSAGES" / "wbs.po", "id")
    missing = [m.id for m in catalog if m.id and (m.fuzzy or not all(forms(m)))]
    assert missing == [], f"messages without an Indonesian translation (or marked fuzzy): {HOW_TO_FIX}"
    assert catalog.num_plurals == 1 and len(catalog) == len(template)


def test_english_has_two_plural_forms_and_indonesian_one() -> None:
    assert read(LOCALES / "en" / "LC_MESSAGES" / "wbs.po", "en").plural_forms == "nplurals=2; plural=(n != 1);"
    assert read(LOCALES / "id" / "LC_MESSAGES" / "wbs.po", "id").plural_forms == "nplurals=1; plural=0;"


@pytest.mark.parametrize("lang", LANGS)
def test_a_translation_keeps_the_fields_and_the_markup_of_its_message(lang: str) -> None:
    """A missing ``%(name)s`` would lose a value; an extra one, or a stray ``%``, would fail the page."""
    for message in read(LOCALES / lang / "LC_MESSAGES" / "wbs.po", lang):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in forms(message):
            if not text:
                continue
            assert fields(text) <= set().union(*map(fields, source)), (lang, message.id, text)
            assert sorted(TAG.findall(text)) == sorted(TAG.findall(source[0])), (lang, message.id, text)
            text % {name: "x" for name in fields(text)}  # a stray % raises here
        if len(source) == 1 and forms(message)[0]:
            assert fields(forms(message)[0]) == fields(source[0]), (lang, message.id)


@pytest.mark.parametrize("lang", LANGS)
def test_the_installed_catalog_is_compiled_from_the_current_po(lang: str) -> None:
    """A stale ``wbs.mo`` would show old text: ``pip install -e .`` (or ``make test``) compiles it again."""
    compiled = translations(lang)
    for message in read(LOCALES / lang / "LC_MESSAGES" / "wbs.po", lang):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            for n, form in zip((1, 2), forms(message)):
                if form:
                    assert compiled.ngettext(*message.id, n) == form, (lang, message.id)
        elif message.string:
            got = compiled.pgettext(message.context, message.id) if message.context else compiled.gettext(message.id)
            assert got == message.string, (lang, message.id)
