"""Errors of the protocol layer.

The tree::

    WbsError                   base of every error the project raises; never raised itself
    ├── FormatError            bytes or JSON that do not follow PROTOCOL.md
    ├── DecryptionError        cannot be opened with the keys or passphrase given
    ├── SignatureError         a signature is missing, malformed, or does not verify
    ├── IntegrityError         a checksum in a bundle does not match its content
    ├── KeyPolicyError         a public key file would silently drop a known key
    └── CredentialError        a codename or passphrase is not of a valid shape

Every way an envelope, a keyring or a mailbox can fail to open is one
``DecryptionError``: a caller (and an attacker watching it) learns only that
the item did not open, never which check failed. The docstrings are the
messages a person reads when the error reaches the edge without a message of
its own.
"""

from __future__ import annotations


class WbsError(Exception):
    """Something went wrong.

    ``code``, when given, names the failure in a word a caller can map to its
    own message (a page in the reader's language) without reading the English
    text, which is for logs and the command line.
    """

    code: str | None = None

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        if code is not None:
            self.code = code


class FormatError(WbsError):
    """The data is not in the expected format."""


class DecryptionError(WbsError):
    """The item cannot be opened with the keys given, or it was altered."""


class SignatureError(WbsError):
    """The signature does not verify."""


class IntegrityError(WbsError):
    """A checksum does not match: the file was altered or damaged."""


class KeyPolicyError(WbsError):
    """The new public key file drops a key that is still in use."""


class CredentialError(WbsError):
    """The codename or passphrase is not written correctly."""
