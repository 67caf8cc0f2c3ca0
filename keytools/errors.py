"""Errors of the offline workstation's own making (the protocol's are in crypto.errors).

    WbsError (crypto.errors)
    └── KeytoolsError        a command cannot go on; the message says why
        └── UsageError       the command line or the files named are not usable
"""

from __future__ import annotations

from crypto.errors import WbsError


class KeytoolsError(WbsError):
    """The command could not finish."""

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(KeytoolsError):
    """The command line or the files it names are not usable."""
