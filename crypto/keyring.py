"""The offline keyring file ``org.key`` (PROTOCOL.md §2.2)."""

from __future__ import annotations

import json
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import nacl.exceptions
from nacl.public import PrivateKey
from nacl.secret import SecretBox

from .encoding import b64, canonical_json, check_time, parse_json_object, unb64
from .errors import DecryptionError, FormatError
from .kdf import KEYRING_DEFAULT, SALT_BYTES, KdfParams, argon2id
from .keys import (
    MAX_GENERATIONS,
    STATUSES,
    OrgKey,
    check_org_name,
    generate_org_key,
    make_public_key_file,
    newest_active,
)

KEYRING_FORMAT = "wbs-keyring/1"
MAX_KEYRING_BYTES = 256 * 1024
MAX_KEYRING_PASSPHRASE = 1024


@dataclass(frozen=True)
class Keyring:
    """The organisation's secret keys, every generation, as the keyholders hold them."""

    org_name: str
    keys: tuple[OrgKey, ...] = field(default_factory=tuple)

    @property
    def active(self) -> tuple[OrgKey, ...]:
        return tuple(k for k in self.keys if k.status == "active")

    @property
    def newest(self) -> OrgKey:
        return newest_active(self.keys)

    @property
    def private_keys(self) -> list[PrivateKey]:
        """Every generation's X25519 key, for opening old and new items alike."""
        return [k.private_key for k in self.keys]

    def find(self, key_id: str) -> OrgKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None

    def public_key_file(self, now: datetime | None = None) -> bytes:
        return make_public_key_file(self.org_name, self.keys, now)

    def rotated(self, now: datetime | None = None) -> "Keyring":
        """A new active generation; every earlier one retired and kept."""
        return Keyring(
            org_name=self.org_name,
            keys=tuple(k.retired() for k in self.keys) + (generate_org_key(now),),
        )


def new_keyring(org_name: str, now: datetime | None = None) -> Keyring:
    return Keyring(org_name=check_org_name(org_name), keys=(generate_org_key(now),))


def _keyring_key(passphrase: str, salt: bytes, kdf: KdfParams) -> bytes:
    if not isinstance(passphrase, str) or not passphrase:
        raise DecryptionError("the keyring passphrase is empty")
    if len(passphrase) > MAX_KEYRING_PASSPHRASE:
        raise DecryptionError("the keyring passphrase is too long")
    secret = unicodedata.normalize("NFKC", passphrase).encode("utf-8")
    return argon2id(secret, salt, kdf)


def write_keyring(
    keyring: Keyring,
    passphrase: str,
    *,
    kdf: KdfParams = KEYRING_DEFAULT,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> bytes:
    """Seal the keyring under a passphrase. The caller writes it with mode 0600."""
    check_org_name(keyring.org_name)
    if not keyring.keys or len(keyring.keys) > MAX_GENERATIONS:
        raise ValueError("a keyring holds 1..64 generations")
    newest_active(keyring.keys)
    inner = {
        "org_name": keyring.org_name,
        "keys": [
            {
                "key_id": k.key_id,
                "enc_sk": b64(k.enc_sk),
                "sig_seed": b64(k.sig_seed),
                "created_at": k.created_at,
                "status": k.status,
            }
            for k in keyring.keys
        ],
    }
    salt = token_bytes(SALT_BYTES)
    nonce = token_bytes(SecretBox.NONCE_SIZE)
    box = SecretBox(_keyring_key(passphrase, salt, kdf.check()))
    sealed = box.encrypt(canonical_json(inner), nonce).ciphertext
    outer = {
        "format": KEYRING_FORMAT,
        "kdf": kdf.to_json(salt),
        "nonce": b64(nonce),
        "box": b64(sealed),
    }
    return json.dumps(outer, indent=2, sort_keys=True).encode("ascii") + b"\n"


def read_keyring_header(data: bytes) -> tuple[KdfParams, bytes, bytes, bytes]:
    """The unauthenticated outer layer: KDF params, salt, nonce, sealed box."""
    outer = parse_json_object(data, limit=MAX_KEYRING_BYTES, what="keyring")
    if outer.get("format") != KEYRING_FORMAT:
        raise FormatError(f"not a {KEYRING_FORMAT} file")
    kdf, salt = KdfParams.from_json(outer.get("kdf"))
    nonce = unb64(outer.get("nonce"), size=SecretBox.NONCE_SIZE, what="nonce")
    sealed = unb64(outer.get("box"), what="box")
    return kdf, salt, nonce, sealed


def _parse_inner_key(obj: Any) -> OrgKey:
    if not isinstance(obj, dict):
        raise FormatError("keyring keys: expected objects")
    key = OrgKey(
        enc_sk=unb64(obj.get("enc_sk"), size=32, what="enc_sk"),
        sig_seed=unb64(obj.get("sig_seed"), size=32, what="sig_seed"),
        created_at=check_time(obj.get("created_at"), what="key created_at"),
        status=obj.get("status"),
    )
    if key.status not in STATUSES:
        raise FormatError("keyring: bad key status")
    if obj.get("key_id") != key.key_id:
        raise FormatError("keyring: key_id does not match the key")
    return key


def read_keyring(data: bytes, passphrase: str) -> Keyring:
    """Open ``org.key``; a wrong passphrase or an altered file is a ``DecryptionError``."""
    kdf, salt, nonce, sealed = read_keyring_header(data)
    box = SecretBox(_keyring_key(passphrase, salt, kdf))
    try:
        inner_bytes = box.decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        raise DecryptionError("wrong passphrase, or the keyring file is damaged") from None
    inner = parse_json_object(inner_bytes, limit=MAX_KEYRING_BYTES, what="keyring contents")
    raw_keys = inner.get("keys")
    if not isinstance(raw_keys, list) or not 1 <= len(raw_keys) <= MAX_GENERATIONS:
        raise FormatError("keyring: expected 1..64 generations")
    keys = tuple(_parse_inner_key(k) for k in raw_keys)
    if len({k.key_id for k in keys}) != len(keys):
        raise FormatError("keyring: the same key appears twice")
    return Keyring(org_name=check_org_name(inner.get("org_name")), keys=keys)
