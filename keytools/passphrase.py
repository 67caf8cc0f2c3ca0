"""Reading the keyring passphrase: from the terminal without echo, or from a file."""

from __future__ import annotations

import getpass
from pathlib import Path

from .errors import UsageError
from .files import read_small_file

MIN_NEW_PASSPHRASE = 12


def read_passphrase(passphrase_file: Path | None, *, prompt: str = "Keyring passphrase: ") -> str:
    if passphrase_file is not None:
        try:
            text = read_small_file(passphrase_file, what="passphrase file").decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"passphrase file {passphrase_file} is not UTF-8 text") from None
        return text.rstrip("\r\n")
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise UsageError("no passphrase given", hint="type it at the prompt, or use --passphrase-file") from None


def new_passphrase(passphrase_file: Path | None) -> str:
    """A new keyring passphrase: typed twice, and long enough to resist guessing."""
    first = read_passphrase(passphrase_file, prompt="New keyring passphrase: ")
    if passphrase_file is None and getpass.getpass("Repeat the passphrase: ") != first:
        raise UsageError("the two passphrases differ")
    if len(first.strip()) < MIN_NEW_PASSPHRASE:
        raise UsageError(
            f"the passphrase is shorter than {MIN_NEW_PASSPHRASE} characters",
            hint="use several words that only the keyholders know",
        )
    return first
