import math

import pytest
from nacl.public import PrivateKey

from crypto import wordlists
from crypto.encoding import CROCKFORD_ALPHABET
from crypto.errors import CredentialError
from crypto.mailbox import (
    MAILBOX_LABEL,
    account_lookup,
    derive_mailbox_key,
    format_codename,
    generate_codename,
    generate_passphrase,
    mailbox_secret,
    new_salt,
    normalize_codename,
    normalize_passphrase,
    passphrase_words,
    public_keys_equal,
)


def test_codename_shape():
    code = generate_codename()
    assert len(code) == 12 and all(c in CROCKFORD_ALPHABET for c in code)
    assert len({generate_codename() for _ in range(50)}) == 50
    assert format_codename(code) == f"{code[:4]}-{code[4:8]}-{code[8:]}"


@pytest.mark.parametrize("typed, normal", [
    ("abcd-efgh-jkmn", "ABCDEFGHJKMN"),
    (" ab cd ef gh jk mn ", "ABCDEFGHJKMN"),
    ("oool-iiii-0000", "000111110000"),
    ("ABCD--EFGH\tJKMN", "ABCDEFGHJKMN"),
])
def test_codename_normalisation(typed, normal):
    assert normalize_codename(typed) == normal


@pytest.mark.parametrize("bad", ["", "ABCD-EFGH-JKß", "ABCD-EFGH-JKM\u3000N", "ıBCD-EFGH-JKMN", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD_EFGH_JKMN", "x" * 1000, None])
def test_invalid_codenames(bad):
    with pytest.raises(CredentialError):
        normalize_codename(bad)


@pytest.mark.parametrize("lang, count, size", [("id", 7, 4096), ("en", 6, 7776)])
def test_passphrases_reach_77_bits(lang, count, size):
    assert passphrase_words(lang) == count
    assert len(wordlists.load(lang)) == size
    assert count * math.log2(size) >= 77
    words = generate_passphrase(lang).split(" ")
    assert len(words) == count and all(w in wordlists.load(lang) for w in words)


def test_passphrase_generation_is_uniform_choice_from_the_list():
    seen = []
    generate_passphrase("id", choice=lambda words: seen.append(words) or words[0])
    assert len(seen) == 7 and all(len(w) == 4096 for w in seen)


@pytest.mark.parametrize("typed, normal", [
    ("  Sapi  Merah\tbesar ", "sapi merah besar"),
    ("sapi-merah--besar", "sapi merah besar"),
    ("ＳＡＰＩ　ｍｅｒａｈ", "sapi merah"),
    ("sapi\nmerah", "sapi merah"),
])
def test_passphrase_normalisation(typed, normal):
    assert normalize_passphrase(typed) == normal


@pytest.mark.parametrize("bad", ["", "   ", "-", "a" * 257, None])
def test_invalid_passphrases(bad):
    with pytest.raises(CredentialError):
        normalize_passphrase(bad)


def test_derivation_depends_on_every_input(cheap_kdf):
    salt = bytes(16)
    base = derive_mailbox_key("ABCD-EFGH-JKMN", "satu dua", salt, cheap_kdf)
    assert isinstance(base, PrivateKey)
    same = derive_mailbox_key("abcd efgh jkmn", " Satu-dua ", salt, cheap_kdf)
    assert bytes(same) == bytes(base)
    for other in (
        derive_mailbox_key("ABCD-EFGH-JKMP", "satu dua", salt, cheap_kdf),
        derive_mailbox_key("ABCD-EFGH-JKMN", "satu tiga", salt, cheap_kdf),
        derive_mailbox_key("ABCD-EFGH-JKMN", "satu dua", b"\x01" * 16, cheap_kdf),
    ):
        assert bytes(other) != bytes(base)


def test_secret_layout_is_labelled_and_separated():
    assert mailbox_secret("abcd-efgh-jkmn", "Satu Dua") == MAILBOX_LABEL + b"ABCDEFGHJKMN\x00satu dua"


def test_lookup_is_keyed_and_normalised():
    secret = bytes(range(32))
    a = account_lookup("ABCD-EFGH-JKMN", secret)
    assert a == account_lookup("abcdefghjkmn", secret)
    assert a != account_lookup("ABCD-EFGH-JKMN", bytes(32))
    assert len(a) == 32
    with pytest.raises(ValueError):
        account_lookup("ABCD-EFGH-JKMN", b"short")


def test_salts_and_key_comparison():
    assert len(new_salt()) == 16 and new_salt() != new_salt()
    assert public_keys_equal(b"a" * 32, b"a" * 32)
    assert not public_keys_equal(b"a" * 32, b"b" * 32)
