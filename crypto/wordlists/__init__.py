"""Passphrase wordlists shipped as package data.

``id.txt``: 4,096 common Indonesian words (built by
``scripts/build_wordlist_id.py``); ``en.txt``: the EFF large wordlist
(7,776 words). Each file starts with ``#`` header lines naming its sources
and licences, then holds one word per line.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ..errors import FormatError

EXPECTED_SIZES = {"id": 4096, "en": 7776}


@lru_cache(maxsize=None)
def load(lang: str) -> tuple[str, ...]:
    """The wordlist of a language (``"id"`` or ``"en"``), checked for shape."""
    if lang not in EXPECTED_SIZES:
        raise ValueError(f"no wordlist for language {lang!r}")
    text = resources.files(__name__).joinpath(f"{lang}.txt").read_text(encoding="utf-8")
    words = tuple(line for line in text.splitlines() if line and not line.startswith("#"))
    if len(words) != EXPECTED_SIZES[lang] or len(set(words)) != len(words):
        raise FormatError(f"wordlist {lang!r} is damaged")
    if any(w != w.strip().lower() or " " in w for w in words):
        raise FormatError(f"wordlist {lang!r} has malformed words")
    return words
