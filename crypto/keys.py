"""Organisation key generations and the public key file (PROTOCOL.md §2, §2.1)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable, Sequence

import nacl.exceptions
from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

from .encoding import (
    b64,
    blake2b_256,
    canonical_json,
    check_time,
    format_fingerprint,
    format_time,
    key_id_hex,
    parse_json_object,
    unb64,
    utc_now,
)
from .errors import FormatError, KeyPolicyError, SignatureError

PUBLIC_FORMAT = "wbs-org-public/1"
ACTIVE = "active"
RETIRED = "retired"
STATUSES = (ACTIVE, RETIRED)
FINGERPRINT_LABEL = b"wbs-org-v1"
MAX_PUBLIC_FILE_BYTES = 256 * 1024
MAX_GENERATIONS = 64
MAX_ORG_NAME = 200


def fingerprint(enc_pk: bytes, sig_pk: bytes) -> str:
    """The fingerprint of one generation, as 16 groups of 4 hex digits."""
    return format_fingerprint(blake2b_256(FINGERPRINT_LABEL + enc_pk + sig_pk))


@dataclass(frozen=True)
class OrgPublicKey:
    """The public half of one key generation, as the server knows it."""

    enc_pk: bytes
    sig_pk: bytes
    created_at: str
    status: str

    @property
    def key_id(self) -> str:
        return key_id_hex(self.enc_pk)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.enc_pk, self.sig_pk)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self.enc_pk)

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.sig_pk)

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "enc_pk": b64(self.enc_pk),
            "sig_pk": b64(self.sig_pk),
            "created_at": self.created_at,
            "status": self.status,
        }


@dataclass(frozen=True, repr=False)
class OrgKey:
    """One whole key generation: lives only in the offline keyring."""

    enc_sk: bytes
    sig_seed: bytes
    created_at: str
    status: str

    def __repr__(self) -> str:  # never print secret bytes by accident
        return f"OrgKey(key_id={self.key_id!r}, created_at={self.created_at!r}, status={self.status!r})"

    @property
    def private_key(self) -> PrivateKey:
        return PrivateKey(self.enc_sk)

    @property
    def signing_key(self) -> SigningKey:
        return SigningKey(self.sig_seed)

    @property
    def public(self) -> OrgPublicKey:
        return OrgPublicKey(
            enc_pk=bytes(self.private_key.public_key),
            sig_pk=bytes(self.signing_key.verify_key),
            created_at=self.created_at,
            status=self.status,
        )

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def retired(self) -> "OrgKey":
        return replace(self, status=RETIRED)


def generate_org_key(now: datetime | None = None) -> OrgKey:
    """A fresh, active generation: an X25519 pair and an Ed25519 pair."""
    return OrgKey(
        enc_sk=bytes(PrivateKey.generate()),
        sig_seed=bytes(SigningKey.generate()),
        created_at=format_time(now or utc_now()),
        status=ACTIVE,
    )


def newest_active(keys: Iterable[Any]) -> Any:
    """The active generation with the latest ``created_at`` (the first such on a tie)."""
    best = None
    for key in keys:
        if key.status == ACTIVE and (best is None or key.created_at > best.created_at):
            best = key
    if best is None:
        raise FormatError("no active key generation")
    return best


def check_org_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ORG_NAME:
        raise FormatError(f"org_name must be 1..{MAX_ORG_NAME} characters")
    return value


@dataclass(frozen=True)
class PublicKeyFile:
    """A verified ``org.pub.json``."""

    org_name: str
    created_at: str
    keys: tuple[OrgPublicKey, ...]

    @property
    def active(self) -> tuple[OrgPublicKey, ...]:
        return tuple(k for k in self.keys if k.status == ACTIVE)

    @property
    def newest(self) -> OrgPublicKey:
        return newest_active(self.keys)

    @property
    def fingerprint(self) -> str:
        """The fingerprint people compare: that of the newest active generation."""
        return self.newest.fingerprint

    def find(self, key_id: str) -> OrgPublicKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None


def make_public_key_file(
    org_name: str, keys: Sequence[OrgKey], now: datetime | None = None
) -> bytes:
    """Write and sign ``org.pub.json`` with the newest active generation."""
    check_org_name(org_name)
    signer = newest_active(keys)
    body = {
        "format": PUBLIC_FORMAT,
        "org_name": org_name,
        "created_at": format_time(now or utc_now()),
        "keys": [k.public.to_json() for k in keys],
    }
    body["sig"] = b64(signer.signing_key.sign(canonical_json(body)).signature)
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


def _parse_public_key(obj: object) -> OrgPublicKey:
    if not isinstance(obj, dict):
        raise FormatError("keys: expected objects")
    key = OrgPublicKey(
        enc_pk=unb64(obj.get("enc_pk"), size=32, what="enc_pk"),
        sig_pk=unb64(obj.get("sig_pk"), size=32, what="sig_pk"),
        created_at=check_time(obj.get("created_at"), what="key created_at"),
        status=obj.get("status"),  # type: ignore[arg-type]
    )
    if key.status not in STATUSES:
        raise FormatError("key status must be 'active' or 'retired'")
    if obj.get("key_id") != key.key_id:
        raise FormatError("key_id does not match enc_pk")
    return key


def parse_public_key_file(data: bytes) -> PublicKeyFile:
    """Read ``org.pub.json`` and verify its signature; raises on anything wrong."""
    obj = parse_json_object(data, limit=MAX_PUBLIC_FILE_BYTES, what="public key file")
    if obj.get("format") != PUBLIC_FORMAT:
        raise FormatError(f"not a {PUBLIC_FORMAT} file")
    raw_keys = obj.get("keys")
    if not isinstance(raw_keys, list) or not 1 <= len(raw_keys) <= MAX_GENERATIONS:
        raise FormatError(f"keys: expected 1..{MAX_GENERATIONS} generations")
    keys = tuple(_parse_public_key(k) for k in raw_keys)
    if len({k.key_id for k in keys}) != len(keys):
        raise FormatError("keys: the same key appears twice")
    result = PublicKeyFile(
        org_name=check_org_name(obj.get("org_name")),
        created_at=check_time(obj.get("created_at")),
        keys=keys,
    )
    try:
        signature = unb64(obj.get("sig"), size=64, what="sig")
    except FormatError:
        raise SignatureError("the public key file's signature is missing or malformed") from None
    body = {k: v for k, v in obj.items() if k != "sig"}
    try:
        result.newest.verify_key.verify(canonical_json(body), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureError("the public key file's signature does not verify") from None
    return result


def check_key_update(old: PublicKeyFile, new: PublicKeyFile) -> None:
    """Refuse a new ``org.pub.json`` that would silently lose or alter a known key.

    A key the server knows must stay in the file (retired if no longer used),
    unchanged, and a retired key never becomes active again.
    """
    for known in old.keys:
        now = new.find(known.key_id)
        if now is None:
            if known.status == ACTIVE:
                raise KeyPolicyError(
                    f"the new file drops key {known.key_id} without marking it retired"
                )
            continue
        if (now.enc_pk, now.sig_pk) != (known.enc_pk, known.sig_pk):
            raise KeyPolicyError(f"the new file changes the key material of {known.key_id}")
        if known.status == RETIRED and now.status == ACTIVE:
            raise KeyPolicyError(f"the new file makes retired key {known.key_id} active again")
