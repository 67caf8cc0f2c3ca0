"""What goes inside envelopes (PROTOCOL.md §5) and who each kind is sealed to.

The recipes here are the only way the rest of the project seals or opens a
report, a message or a reply: they fix the recipients of each kind, check the
inner ``report_code`` against the case the item is filed under, and sign and
verify replies written on the offline workstation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import nacl.exceptions
import secrets
from nacl.public import PrivateKey, PublicKey

from .encoding import (
    CROCKFORD_ALPHABET,
    b64,
    canonical_json,
    parse_json_object,
    random_crockford,
    unb64,
    unhex,
)
from .envelope import open_bytes, seal_bytes
from .errors import FormatError, SignatureError
from .keys import OrgKey, OrgPublicKey

KINDS = ("report", "message", "reply", "attachment")
JSON_KINDS = ("report", "message", "reply")
MAX_ITEM_JSON_BYTES = 16 * 1024 * 1024
MAX_ATTACHMENTS = 1000

_SYM = "[" + re.escape(CROCKFORD_ALPHABET) + "]"
REPORT_CODE_RE = re.compile(rf"[A-Z0-9]{{1,12}}-{_SYM}{{5}}-{_SYM}{{5}}\Z")
PREFIX_RE = re.compile(r"[A-Z0-9]{1,12}\Z")


def generate_report_code(prefix: str = "WBS", choice: Callable[[str], str] = secrets.choice) -> str:
    """``PREFIX-XXXXX-XXXXX`` with 50 random bits of Crockford base32."""
    if not PREFIX_RE.match(prefix):
        raise ValueError("a report code prefix is 1..12 of A-Z and 0-9")
    return f"{prefix}-{random_crockford(5, choice=choice)}-{random_crockford(5, choice=choice)}"


def check_report_code(value: object) -> str:
    if not isinstance(value, str) or not REPORT_CODE_RE.match(value):
        raise FormatError("report_code is not of the form PREFIX-XXXXX-XXXXX")
    return value


def recipients_for(
    kind: str, org_keys: Iterable[OrgPublicKey], mailbox_pk: PublicKey | bytes | None
) -> list[bytes]:
    """The public keys an item of ``kind`` is sealed to (PROTOCOL.md §4)."""
    org = [k.enc_pk for k in org_keys if k.status == "active"]
    if not org:
        raise ValueError("no active organisation key is installed")
    if kind == "attachment":
        return org
    if kind not in JSON_KINDS:
        raise ValueError(f"unknown item kind {kind!r}")
    if mailbox_pk is None:
        raise ValueError(f"a {kind} is sealed to the reporter's mailbox key too")
    mailbox = bytes(mailbox_pk)
    return [mailbox] + org if kind == "reply" else org + [mailbox]


@dataclass(frozen=True)
class AttachmentRef:
    """How a report or message lists one of its attachments."""

    item_id: str
    filename: str
    media_type: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, obj: object) -> "AttachmentRef":
        if not isinstance(obj, dict):
            raise FormatError("attachments: expected objects")
        ref = cls(
            item_id=obj.get("item_id"),  # type: ignore[arg-type]
            filename=obj.get("filename"),  # type: ignore[arg-type]
            media_type=obj.get("media_type"),  # type: ignore[arg-type]
            size=obj.get("size"),  # type: ignore[arg-type]
            sha256=obj.get("sha256"),  # type: ignore[arg-type]
        )
        unhex(ref.item_id, size=16, what="attachment item_id")
        unhex(ref.sha256, size=32, what="attachment sha256")
        if not isinstance(ref.filename, str) or not isinstance(ref.media_type, str):
            raise FormatError("attachment filename and media_type are strings")
        if type(ref.size) is not int or ref.size < 0:
            raise FormatError("attachment size is a non-negative integer")
        return ref


_REPORT_TEXT = ("submitted_at", "lang", "category", "what", "who", "where", "when", "how", "loss_estimate")
_OPTIONAL_TEXT = ("incident_date", "evidence_note", "identity")


def _require_text(obj: dict[str, Any], names: Sequence[str], kind: str) -> None:
    for name in names:
        if not isinstance(obj.get(name), str):
            raise FormatError(f"{kind}: {name} must be a string")


def _check_attachments(obj: dict[str, Any], kind: str) -> None:
    refs = obj.get("attachments")
    if not isinstance(refs, list) or len(refs) > MAX_ATTACHMENTS:
        raise FormatError(f"{kind}: attachments must be a list")
    for ref in refs:
        AttachmentRef.from_json(ref)


def check_plaintext(obj: dict[str, Any]) -> dict[str, Any]:
    """Check the members a reader relies on; members it does not know are ignored."""
    kind = obj.get("type")
    if kind not in JSON_KINDS:
        raise FormatError("item: unknown type")
    if obj.get("v") != 1:
        raise FormatError(f"{kind}: unsupported version")
    check_report_code(obj.get("report_code"))
    if kind == "report":
        _require_text(obj, _REPORT_TEXT, kind)
        _check_attachments(obj, kind)
        _require_text(obj, [n for n in _OPTIONAL_TEXT if n in obj], kind)
        persons = obj.get("reported_persons", [])
        if not isinstance(persons, list) or not all(
            isinstance(p, dict) and all(isinstance(p.get(f), str) for f in ("name", "position", "unit"))
            for p in persons
        ):
            raise FormatError("report: reported_persons must be objects of name, position, unit")
    else:
        _require_text(obj, ("sent_at", "body"), kind)
        if kind == "message":
            _check_attachments(obj, kind)
    return obj


def report_plaintext(
    *,
    report_code: str,
    submitted_at: str,
    lang: str,
    category: str,
    what: str,
    who: str,
    where: str,
    when: str,
    how: str,
    loss_estimate: str = "",
    attachments: Sequence[AttachmentRef] = (),
    reported_persons: Sequence[dict[str, str]] = (),
    incident_date: str = "",
    evidence_note: str = "",
    identity: str = "",
) -> dict[str, Any]:
    """The report's JSON; optional members appear only when they hold something."""
    obj: dict[str, Any] = {
        "type": "report",
        "v": 1,
        "report_code": report_code,
        "submitted_at": submitted_at,
        "lang": lang,
        "category": category,
        "what": what,
        "who": who,
        "where": where,
        "when": when,
        "how": how,
        "loss_estimate": loss_estimate,
        "attachments": [a.to_json() for a in attachments],
    }
    if reported_persons:
        obj["reported_persons"] = [
            {"name": p.get("name", ""), "position": p.get("position", ""), "unit": p.get("unit", "")}
            for p in reported_persons
        ]
    for name, value in (("incident_date", incident_date), ("evidence_note", evidence_note), ("identity", identity)):
        if value:
            obj[name] = value
    return check_plaintext(obj)


def message_plaintext(
    *, report_code: str, sent_at: str, body: str, attachments: Sequence[AttachmentRef] = ()
) -> dict[str, Any]:
    return check_plaintext(
        {
            "type": "message",
            "v": 1,
            "report_code": report_code,
            "sent_at": sent_at,
            "body": body,
            "attachments": [a.to_json() for a in attachments],
        }
    )


def reply_plaintext(*, report_code: str, sent_at: str, body: str) -> dict[str, Any]:
    return check_plaintext(
        {"type": "reply", "v": 1, "report_code": report_code, "sent_at": sent_at, "body": body}
    )


def sign_reply(reply: dict[str, Any], signer: OrgKey) -> dict[str, Any]:
    """Add ``signer_key_id`` and ``sig``: Ed25519 over the canonical JSON without ``sig``."""
    body = {k: v for k, v in reply.items() if k != "sig"}
    body["signer_key_id"] = signer.key_id
    body["sig"] = b64(signer.signing_key.sign(canonical_json(body)).signature)
    return body


def verify_reply(reply: dict[str, Any], keys: Iterable[OrgPublicKey]) -> OrgPublicKey:
    """Check a signed reply; returns the key that signed it, raises ``SignatureError``."""
    if "sig" not in reply:
        raise SignatureError("the reply is not signed")
    signer_id = reply.get("signer_key_id")
    signer = next((k for k in keys if k.key_id == signer_id), None)
    if signer is None:
        raise SignatureError("the reply is signed by an unknown key")
    try:
        signature = unb64(reply.get("sig"), size=64, what="reply sig")
    except FormatError:
        raise SignatureError("the reply's signature is malformed") from None
    body = {k: v for k, v in reply.items() if k != "sig"}
    try:
        signer.verify_key.verify(canonical_json(body), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignatureError("the reply's signature does not verify") from None
    return signer


def seal_json(obj: dict[str, Any], recipients: Sequence[PublicKey | bytes]) -> bytes:
    """Seal a report, message or reply held in memory."""
    check_plaintext(obj)
    return seal_bytes(canonical_json(obj), recipients)


@dataclass(frozen=True)
class OpenedItem:
    """A report, message or reply as opened, with what the opener noticed."""

    content: dict[str, Any]
    moved: bool  # the inner report_code differs from the case it is filed under


def open_json(envelope: bytes, keys: Sequence[PrivateKey], *, report_code: str) -> OpenedItem:
    """Open a JSON item and flag it if it was moved from another case."""
    data = open_bytes(envelope, keys, limit=MAX_ITEM_JSON_BYTES)
    obj = check_plaintext(parse_json_object(data, limit=MAX_ITEM_JSON_BYTES, what="item"))
    return OpenedItem(content=obj, moved=obj["report_code"] != report_code)
