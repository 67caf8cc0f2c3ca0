"""Errors of the offline workstation's own making (the protocol's are in crypto.errors).

    WbsError (crypto.errors)
    └── KeytoolsError        a command cannot go on; the message says why
        ├── UsageError       the command line or the files named are not usable
        ├── BundleError      an export bundle is damaged, altered, or does not open with this keyring
        ├── CasesError       the cases folder is not one wbs-keytools made, or lacks a case
        └── ShareError       recovery shares are damaged, mistyped, from different sets, or too few

Every error carries an optional ``hint``: the next step a keyholder can take,
printed by the command on its own ``hint:`` line.
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


class BundleError(KeytoolsError):
    """The export bundle cannot be opened; nothing from it was written."""


class CasesError(KeytoolsError):
    """The cases folder cannot be used as it is."""


class ShareError(KeytoolsError):
    """The recovery shares do not restore a keyring."""
