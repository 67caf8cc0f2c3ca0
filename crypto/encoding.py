"""Encodings of PROTOCOL.md §1: base64, hex, canonical JSON, key ids,
fingerprints, times and days, Crockford base32."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import secrets
from datetime import date, datetime, timezone
from typing import Any, Callable

from .errors import FormatError

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_ID_BYTES = 8

_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_HEX_RE = re.compile(r"[0-9a-f]*\Z")


def b64(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4)."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, *, size: int | None = None, what: str = "value") -> bytes:
    """Decode strict standard base64; optionally require an exact length."""
    if not isinstance(text, str):
        raise FormatError(f"{what}: expected a base64 string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise FormatError(f"{what}: not valid base64") from None
    if b64(data) != text:
        raise FormatError(f"{what}: not canonical base64")
    if size is not None and len(data) != size:
        raise FormatError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


def unhex(text: object, *, size: int | None = None, what: str = "value") -> bytes:
    """Decode lowercase hex; optionally require an exact length in bytes."""
    if not isinstance(text, str) or len(text) % 2 or not _HEX_RE.match(text):
        raise FormatError(f"{what}: expected lowercase hex")
    data = bytes.fromhex(text)
    if size is not None and len(data) != size:
        raise FormatError(f"{what}: expected {size} bytes of hex, got {len(data)}")
    return data


def canonical_json(obj: Any) -> bytes:
    """The canonical JSON bytes that signatures and envelopes carry."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise FormatError(f"duplicate member {key!r} in JSON")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise FormatError(f"{name} is not allowed in JSON")


# Every integer of the formats (sizes, counts, KDF costs) fits in 63 bits, as
# SQLite's do; an attacker's 5,000-digit number is refused before Python
# converts it (which would raise a ValueError, not a FormatError).
MAX_JSON_INT = 2**63 - 1
_MAX_INT_CHARS = len(str(MAX_JSON_INT)) + 1
_MAX_FLOAT_CHARS = 32


def _bounded_int(text: str) -> int:
    value = int(text) if len(text) <= _MAX_INT_CHARS else None
    if value is None or not -MAX_JSON_INT - 1 <= value <= MAX_JSON_INT:
        raise FormatError("a number in the JSON is out of range")
    return value


def _bounded_float(text: str) -> float:
    value = float(text) if len(text) <= _MAX_FLOAT_CHARS else math.inf
    if not math.isfinite(value):
        raise FormatError("a number in the JSON is out of range")
    return value


def parse_json(data: bytes, *, limit: int, what: str = "JSON") -> Any:
    """Parse UTF-8 JSON strictly: bounded size, no duplicate members, no NaN,
    numbers within 64 bits."""
    if len(data) > limit:
        raise FormatError(f"{what}: larger than {limit} bytes", code="too_large")
    try:
        text = data.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                         parse_int=_bounded_int, parse_float=_bounded_float)
        # An escaped lone surrogate ("\ud800") parses but is no Unicode text:
        # refuse it here, so canonical_json never fails later.
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, json.JSONDecodeError, RecursionError):
        raise FormatError(f"{what}: not valid UTF-8 JSON", code="not_json") from None
    return obj


def parse_json_object(data: bytes, *, limit: int, what: str = "JSON") -> dict[str, Any]:
    obj = parse_json(data, limit=limit, what=what)
    if not isinstance(obj, dict):
        raise FormatError(f"{what}: expected a JSON object", code="not_json")
    return obj


def blake2b_256(data: bytes, *, key: bytes = b"") -> bytes:
    return hashlib.blake2b(data, digest_size=32, key=key).digest()


def key_id(public_key: bytes) -> bytes:
    """First 8 bytes of BLAKE2b-256 of a public key."""
    return blake2b_256(public_key)[:KEY_ID_BYTES]


def key_id_hex(public_key: bytes) -> str:
    return key_id(public_key).hex()


def format_fingerprint(digest: bytes) -> str:
    """Groups of 4 upper-case hex digits, for reading aloud and comparing on paper."""
    text = digest.hex().upper()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def format_time(moment: datetime) -> str:
    """UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_day(moment: datetime | date) -> str:
    """A day as ``YYYY-MM-DD`` (UTC for datetimes)."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("times must be timezone-aware")
        moment = moment.astimezone(timezone.utc).date()
    return moment.isoformat()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def check_time(value: object, *, what: str = "time") -> str:
    if not isinstance(value, str) or not _TIME_RE.match(value):
        raise FormatError(f"{what}: expected YYYY-MM-DDTHH:MM:SSZ")
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise FormatError(f"{what}: not a real time") from None
    return value


def check_day(value: object, *, what: str = "day") -> str:
    if not isinstance(value, str) or not _DAY_RE.match(value):
        raise FormatError(f"{what}: expected YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise FormatError(f"{what}: not a real day") from None
    return value


def random_crockford(count: int, *, choice: Callable[[str], str] = secrets.choice) -> str:
    """``count`` symbols of Crockford base32, each drawn uniformly."""
    return "".join(choice(CROCKFORD_ALPHABET) for _ in range(count))


def new_item_id(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh item id: 16 random bytes as 32 hex characters."""
    return token_bytes(16).hex()


def check_item_id(value: object) -> str:
    unhex(value, size=16, what="item_id")
    return value  # type: ignore[return-value]
