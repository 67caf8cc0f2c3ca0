"""The reply bundle ``replies-*.wbsr`` (PROTOCOL.md §7): offline → server.

Signed by an organisation key; the server accepts it only if the signature
verifies against its ``org.pub.json`` and every envelope is sealed to the
report's mailbox key and to an organisation key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

import nacl.exceptions

from .encoding import (
    b64,
    canonical_json,
    check_item_id,
    check_time,
    format_time,
    key_id_hex,
    parse_json_object,
    unb64,
    utc_now,
)
from .envelope import envelope_key_ids, header_length
from .errors import FormatError, SignatureError
from .items import check_report_code
from .keys import OrgKey, OrgPublicKey, PublicKeyFile

REPLIES_FORMAT = "wbs-replies/1"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_REPLIES = 10_000
_STATUS_RE = re.compile(r"[a-z_]{1,40}\Z")


@dataclass(frozen=True)
class ReplyEntry:
    report_code: str
    item_id: str
    envelope: bytes
    set_status: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "report_code": self.report_code,
            "item_id": self.item_id,
            "envelope": b64(self.envelope),
            "set_status": self.set_status,
        }


@dataclass(frozen=True)
class ReplyBundle:
    created_at: str
    signer_key_id: str
    replies: tuple[ReplyEntry, ...]
    bundle_id: str = ""  # SHA-256 (hex) of the signed body: one id per bundle, however it is indented


def build_reply_bundle(
    replies: Sequence[ReplyEntry], signer: OrgKey, now: datetime | None = None
) -> bytes:
    """A signed bundle of replies, ready to carry to the server."""
    if not 1 <= len(replies) <= MAX_REPLIES:
        raise ValueError(f"a reply bundle holds 1..{MAX_REPLIES} replies")
    body: dict[str, Any] = {
        "format": REPLIES_FORMAT,
        "created_at": format_time(now or utc_now()),
        "signer_key_id": signer.key_id,
        "replies": [r.to_json() for r in replies],
    }
    _parse_replies(body["replies"])
    body["sig"] = b64(signer.signing_key.sign(canonical_json(body)).signature)
    return json.dumps(body, sort_keys=True, indent=1).encode("ascii") + b"\n"


def _parse_replies(raw: object) -> tuple[ReplyEntry, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_REPLIES:
        raise FormatError(f"replies: expected 1..{MAX_REPLIES} entries")
    entries = []
    for obj in raw:
        if not isinstance(obj, dict):
            raise FormatError("replies: expected objects")
        status = obj.get("set_status")
        if status is not None and not (isinstance(status, str) and _STATUS_RE.match(status)):
            raise FormatError("set_status must be null or a status key")
        entry = ReplyEntry(
            report_code=check_report_code(obj.get("report_code")),
            item_id=check_item_id(obj.get("item_id")),
            envelope=unb64(obj.get("envelope"), what="envelope"),
            set_status=status,
        )
        if len(entry.envelope) < header_length(1):
            raise FormatError(f"reply {entry.item_id}: the envelope is too short")
        entries.append(entry)
    ids = [e.item_id for e in entries]
    if len(set(ids)) != len(ids):
        raise FormatError("the bundle holds the same item_id twice")
    return tuple(entries)


def read_reply_bundle(data: bytes, public_keys: PublicKeyFile) -> ReplyBundle:
    """Parse a bundle and verify its signature against an installed active key."""
    obj = parse_json_object(data, limit=MAX_BUNDLE_BYTES, what="reply bundle")
    if obj.get("format") != REPLIES_FORMAT:
        raise FormatError(f"not a {REPLIES_FORMAT} file", code="wrong_format")
    signer_id = obj.get("signer_key_id")
    signer: OrgPublicKey | None = public_keys.find(signer_id) if isinstance(signer_id, str) else None
    if signer is None:
        raise SignatureError("the bundle is signed by a key this server does not know", code="unknown_signer")
    if signer.status != "active":
        raise SignatureError("the bundle is signed by a retired key", code="retired_signer")
    try:
        signature = unb64(obj.get("sig"), size=64, what="sig")
    except FormatError:
        raise SignatureError("the bundle's signature is missing or malformed", code="bad_signature") from None
    body = {k: v for k, v in obj.items() if k != "sig"}
    try:
        signer.verify_key.verify(canonical_json(body), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureError("the bundle's signature does not verify", code="bad_signature") from None
    return ReplyBundle(
        created_at=check_time(obj.get("created_at")),
        signer_key_id=signer_id,  # type: ignore[arg-type]
        replies=_parse_replies(obj.get("replies")),
        bundle_id=hashlib.sha256(canonical_json(body)).hexdigest(),
    )


def check_reply_recipients(
    bundle: ReplyBundle,
    mailbox_pks: Mapping[str, bytes],
    org_key_ids: Iterable[str],
) -> None:
    """Every envelope must name its report's mailbox key and an organisation key."""
    org = set(org_key_ids)
    for entry in bundle.replies:
        mailbox_pk = mailbox_pks.get(entry.report_code)
        if mailbox_pk is None:
            raise FormatError(f"reply {entry.item_id}: unknown report {entry.report_code}", code="unknown_report")
        ids = envelope_key_ids(entry.envelope)
        if key_id_hex(mailbox_pk) not in ids:
            raise FormatError(
                f"reply {entry.item_id}: not sealed to the reporter's mailbox of {entry.report_code}",
                code="not_for_mailbox",
            )
        if not org.intersection(ids):
            raise FormatError(f"reply {entry.item_id}: not sealed to an organisation key", code="not_for_org")
