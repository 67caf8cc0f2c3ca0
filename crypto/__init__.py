"""The WBS protocol (PROTOCOL.md): pure, synchronous, no I/O but the streams it is given.

Modules, lowest first: ``errors``; ``encoding`` (§1); ``kdf`` (Argon2id
profiles); ``keys`` (§2, §2.1) and ``keyring`` (§2.2); ``mailbox`` and
``wordlists`` (§3); ``padding`` and ``envelope`` (§4); ``items`` (§5);
``export_bundle`` (§6); ``reply_bundle`` (§7).
"""

from .errors import (
    CredentialError,
    DecryptionError,
    FormatError,
    IntegrityError,
    KeyPolicyError,
    SignatureError,
    WbsError,
)

PROTOCOL_VERSION = 1

__all__ = [
    "PROTOCOL_VERSION",
    "CredentialError",
    "DecryptionError",
    "FormatError",
    "IntegrityError",
    "KeyPolicyError",
    "SignatureError",
    "WbsError",
]
