"""The reporter's mailbox key (PROTOCOL.md §3): codename, passphrase, derivation.

The reporter never chooses a secret: the server draws a 60-bit codename and a
passphrase of at least 77 bits, and derives the mailbox's X25519 key from
both with Argon2id. The server keeps the salt and the public key only.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from typing import Callable

from nacl.public import PrivateKey

from . import wordlists
from .encoding import CROCKFORD_ALPHABET, blake2b_256, random_crockford
from .errors import CredentialError
from .kdf import MAILBOX_DEFAULT, SALT_BYTES, KdfParams, argon2id

CODENAME_SYMBOLS = 12
MAILBOX_LABEL = b"wbs-mailbox-v1\x00"
PASSPHRASE_WORDS = {"id": 7, "en": 6}
MIN_PASSPHRASE_BITS = 77
# Longer than any generated passphrase; a bound so a typed one cannot be huge.
MAX_PASSPHRASE_CHARS = 256
MAX_CODENAME_CHARS = 64
INSTANCE_SECRET_BYTES = 32

_CODENAME_MAP = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODENAME_DROP = re.compile(r"[\s\-]+", re.ASCII)
_PASSPHRASE_SPACE = re.compile(r"[\s\-]+")


def generate_codename(choice: Callable[[str], str] = secrets.choice) -> str:
    """12 Crockford symbols (60 bits), normalised form without hyphens."""
    return random_crockford(CODENAME_SYMBOLS, choice=choice)


def format_codename(codename: str) -> str:
    """``XXXX-XXXX-XXXX`` for display."""
    c = normalize_codename(codename)
    return f"{c[0:4]}-{c[4:8]}-{c[8:12]}"


def normalize_codename(text: str) -> str:
    """Upper-case, drop spaces and hyphens, read O as 0 and I, L as 1."""
    if not isinstance(text, str) or len(text) > MAX_CODENAME_CHARS or not text.isascii():
        raise CredentialError("the codename is not valid")
    code = _CODENAME_DROP.sub("", text.upper()).translate(_CODENAME_MAP)
    if len(code) != CODENAME_SYMBOLS or any(ch not in CROCKFORD_ALPHABET for ch in code):
        raise CredentialError("the codename is not valid")
    return code


def passphrase_words(lang: str) -> int:
    """How many words of ``lang``'s list give at least 77 bits."""
    return PASSPHRASE_WORDS[lang]


def generate_passphrase(lang: str, choice: Callable[[tuple[str, ...]], str] = secrets.choice) -> str:
    """Words drawn uniformly from the language's list, separated by single spaces."""
    words = wordlists.load(lang)
    return " ".join(choice(words) for _ in range(passphrase_words(lang)))


def normalize_passphrase(text: str) -> str:
    """NFKC, lower-case, every run of white space or hyphens one space, trimmed."""
    if not isinstance(text, str) or len(text) > MAX_PASSPHRASE_CHARS:
        raise CredentialError("the passphrase is not valid")
    result = _PASSPHRASE_SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    if not result:
        raise CredentialError("the passphrase is empty")
    return result


def new_salt(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> bytes:
    return token_bytes(SALT_BYTES)


def mailbox_secret(codename: str, passphrase: str) -> bytes:
    """The Argon2id input: label, codename and passphrase, normalised."""
    return (
        MAILBOX_LABEL
        + normalize_codename(codename).encode("ascii")
        + b"\x00"
        + normalize_passphrase(passphrase).encode("utf-8")
    )


def derive_mailbox_key(
    codename: str, passphrase: str, salt: bytes, params: KdfParams = MAILBOX_DEFAULT
) -> PrivateKey:
    """The mailbox's X25519 secret key. Slow by design: run it off the event loop."""
    return PrivateKey(argon2id(mailbox_secret(codename, passphrase), salt, params))


def account_lookup(codename: str, instance_secret: bytes) -> bytes:
    """``BLAKE2b-256(codename, key=instance secret)``: the account's index."""
    if len(instance_secret) != INSTANCE_SECRET_BYTES:
        raise ValueError("the instance secret must be 32 bytes")
    return blake2b_256(normalize_codename(codename).encode("ascii"), key=instance_secret)


def public_keys_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two public keys."""
    return hmac.compare_digest(bytes(a), bytes(b))
