"""Opening the keyring file: one way for every command and for the desk."""

from __future__ import annotations

from pathlib import Path

from crypto.errors import DecryptionError
from crypto.keyring import Keyring, read_keyring, read_keyring_header

from .errors import KeytoolsError
from .files import read_small_file

WRONG_PASSPHRASE = "wrong passphrase, or the keyring file is damaged"


def read_keyring_file(path: Path) -> bytes:
    """The keyring file's bytes; a file that is not a keyring fails here, before any passphrase is asked."""
    data = read_small_file(Path(path), what="keyring")
    read_keyring_header(data)
    return data


def unlock_keyring(data: bytes, passphrase: str) -> Keyring:
    """The keyring in memory (Argon2id: seconds of work), or ``KeytoolsError`` for a wrong passphrase."""
    try:
        return read_keyring(data, passphrase)
    except DecryptionError:
        raise KeytoolsError(WRONG_PASSPHRASE) from None
