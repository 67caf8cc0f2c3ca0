"""Typed codenames and passphrases at their length bounds, and codenames drawn from an injected source."""

from __future__ import annotations

import itertools

import pytest

from crypto.encoding import CROCKFORD_ALPHABET
from crypto.errors import CredentialError
from crypto.mailbox import (
    MAX_CODENAME_CHARS,
    MAX_PASSPHRASE_CHARS,
    format_codename,
    generate_codename,
    normalize_codename,
    normalize_passphrase,
)


def test_a_codename_is_drawn_from_the_given_source():
    symbols = itertools.cycle(CROCKFORD_ALPHABET[::-1])
    assert generate_codename(choice=lambda alphabet: next(symbols)) == "ZYXWVTSRQPNM"
    assert format_codename("zyxw vtsr-qpnm") == "ZYXW-VTSR-QPNM"


def test_a_codename_padded_with_spaces_up_to_the_bound_is_read():
    typed = "7K3Q-F9XW-2M4N".center(MAX_CODENAME_CHARS)
    assert len(typed) == MAX_CODENAME_CHARS
    assert normalize_codename(typed) == "7K3QF9XW2M4N"
    with pytest.raises(CredentialError):
        normalize_codename(typed + " ")


def test_a_passphrase_up_to_the_bound_is_read():
    typed = ("kata " * 52)[:MAX_PASSPHRASE_CHARS - 1] + "x"
    assert len(typed) == MAX_PASSPHRASE_CHARS
    assert normalize_passphrase(typed).endswith("x")
    with pytest.raises(CredentialError):
        normalize_passphrase(typed + "y")
