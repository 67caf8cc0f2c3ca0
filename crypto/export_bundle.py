"""The export bundle (PROTOCOL.md §6): a ZIP of stored entries, server → offline.

Written in one pass to any writable stream (a file, or an HTTP response fed
from a thread): each envelope is copied in 1 MiB blocks while a second thread
computes its sha256, and ``manifest.json`` follows the items. Entries carry a fixed
1980-01-01 time, so the ZIP says nothing about when anything was done.
Read from a seekable file; every item's sha256 is checked as it streams (a
large item's by a read-ahead thread, while the caller opens what came
before).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Callable, Iterable, Sequence

from .encoding import (
    b64,
    canonical_json,
    check_day,
    check_item_id,
    check_time,
    format_time,
    parse_json_object,
    unb64,
    unhex,
    utc_now,
)
from .errors import FormatError, IntegrityError
from .items import KINDS, check_report_code
from .streams import ReadAhead

EXPORT_FORMAT = "wbs-export/1"
MANIFEST = "manifest.json"
BLOCK = 1024 * 1024
READ_AHEAD_FROM = 4 * BLOCK  # items this large are read and hashed by a thread of their own
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_ITEMS = 1_000_000
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_STATUS_RE = re.compile(r"[a-z_]{1,40}\Z")
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}\Z")


def item_path(item_id: str) -> str:
    return f"items/{item_id}.wbse"


@dataclass(frozen=True)
class ExportItem:
    """One stored envelope to put in a bundle; ``open`` gives its bytes."""

    item_id: str
    kind: str
    parent_id: str | None
    created_day: str
    open: Callable[[], BinaryIO]
    size: int | None = None
    sha256: str | None = None  # when known, the copy is checked against it


@dataclass(frozen=True)
class ExportReport:
    report_code: str
    status: str
    created_day: str
    status_history: Sequence[tuple[str, str]]  # (status, day)
    mailbox_pk: bytes
    items: Sequence[ExportItem] = field(default_factory=tuple)


def _zip_info(name: str, size: int | None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    if size is not None:
        info.file_size = size
    return info


def _copy_item(archive: zipfile.ZipFile, item: ExportItem, hasher: Executor) -> tuple[int, str]:
    """Copy one envelope into the bundle, hashing each block in ``hasher``.

    The sha256 of a block runs in a second thread while this one writes the
    block (with the ZIP's CRC-32) and reads the next: hashlib, zlib and file
    I/O all release the GIL, so the three overlap on two cores.
    """
    digest = hashlib.sha256()
    size = 0
    pending: Future[None] | None = None
    big = item.size is None or item.size >= zipfile.ZIP64_LIMIT // 2
    try:
        with item.open() as src, archive.open(_zip_info(item_path(item.item_id), item.size), "w", force_zip64=big) as out:
            while block := src.read(BLOCK):
                if pending is not None:
                    pending.result()
                pending = hasher.submit(digest.update, block)
                out.write(block)
                size += len(block)
    finally:
        if pending is not None:
            pending.result()
    sha = digest.hexdigest()
    if (item.sha256 is not None and sha != item.sha256) or (item.size is not None and size != item.size):
        raise IntegrityError(f"stored item {item.item_id} does not match its record")
    return size, sha


def _item_entry(item: ExportItem, size: int, sha: str) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "kind": item.kind,
        "parent_id": item.parent_id,
        "created_day": item.created_day,
        "path": item_path(item.item_id),
        "size": size,
        "sha256": sha,
    }


def _report_entry(report: ExportReport, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "report_code": report.report_code,
        "status": report.status,
        "created_day": report.created_day,
        "status_history": [{"status": s, "day": d} for s, d in report.status_history],
        "mailbox_pk": b64(report.mailbox_pk),
        "items": entries,
    }


def _manifest(org_key_ids: Sequence[str], now: datetime | None) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "created_at": format_time(now or utc_now()),
        "org_key_ids": list(org_key_ids),
        "reports": [],
    }


def check_export(reports: Sequence[ExportReport], *, org_key_ids: Sequence[str]) -> None:
    """Everything ``write_export_bundle`` checks that does not need the items' bytes,
    from the records alone: call it before the first byte goes out, so a bad
    request never becomes a half-written bundle without a manifest."""
    manifest = _manifest(org_key_ids, None)
    for report in reports:
        entries = [_item_entry(item, item.size or 0, item.sha256 or "0" * 64) for item in report.items]
        manifest["reports"].append(_report_entry(report, entries))
    check_manifest(manifest)


def write_export_bundle(
    dst: BinaryIO,
    reports: Iterable[ExportReport],
    *,
    org_key_ids: Sequence[str],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Stream a bundle of ``reports`` into ``dst``; returns the manifest written."""
    manifest = _manifest(org_key_ids, now)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-hash") as hasher, \
            zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for report in reports:
            entries = [_item_entry(item, *_copy_item(archive, item, hasher)) for item in report.items]
            manifest["reports"].append(_report_entry(report, entries))
        check_manifest(manifest)
        archive.writestr(_zip_info(MANIFEST, None), canonical_json(manifest))
    return manifest


def _check_status(value: object, what: str) -> None:
    if not isinstance(value, str) or not _STATUS_RE.match(value):
        raise FormatError(f"{what}: not a status key")


def _check_item(entry: object) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise FormatError("manifest items: expected objects")
    item_id = check_item_id(entry.get("item_id"))
    if entry.get("kind") not in KINDS:
        raise FormatError(f"item {item_id}: unknown kind")
    if entry.get("parent_id") is not None:
        check_item_id(entry.get("parent_id"))
    check_day(entry.get("created_day"), what="item created_day")
    if entry.get("path") != item_path(item_id):
        raise FormatError(f"item {item_id}: path must be {item_path(item_id)}")
    if type(entry.get("size")) is not int or entry["size"] < 0:
        raise FormatError(f"item {item_id}: size must be a non-negative integer")
    unhex(entry.get("sha256"), size=32, what=f"item {item_id} sha256")
    return entry


def check_manifest(manifest: object) -> dict[str, Any]:
    """Check every member and bound of a manifest; returns it."""
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise FormatError(f"not a {EXPORT_FORMAT} manifest")
    check_time(manifest.get("created_at"), what="manifest created_at")
    key_ids = manifest.get("org_key_ids")
    if not isinstance(key_ids, list) or not all(isinstance(k, str) and _KEY_ID_RE.match(k) for k in key_ids):
        raise FormatError("org_key_ids: expected a list of 16-hex key ids")
    reports = manifest.get("reports")
    if not isinstance(reports, list):
        raise FormatError("reports: expected a list")
    seen_items: set[str] = set()
    seen_codes: set[str] = set()
    for report in reports:
        if not isinstance(report, dict):
            raise FormatError("reports: expected objects")
        code = check_report_code(report.get("report_code"))
        if code in seen_codes:
            raise FormatError(f"report {code} appears twice")
        seen_codes.add(code)
        _check_status(report.get("status"), f"report {code} status")
        check_day(report.get("created_day"), what=f"report {code} created_day")
        history = report.get("status_history")
        if not isinstance(history, list):
            raise FormatError(f"report {code}: status_history must be a list")
        for step in history:
            if not isinstance(step, dict):
                raise FormatError(f"report {code}: status_history entries are objects")
            _check_status(step.get("status"), f"report {code} history status")
            check_day(step.get("day"), what=f"report {code} history day")
        unb64(report.get("mailbox_pk"), size=32, what=f"report {code} mailbox_pk")
        items = report.get("items")
        if not isinstance(items, list):
            raise FormatError(f"report {code}: items must be a list")
        for entry in items:
            item_id = _check_item(entry)["item_id"]
            if item_id in seen_items:
                raise FormatError(f"item {item_id} appears twice")
            seen_items.add(item_id)
            if len(seen_items) > MAX_ITEMS:
                raise FormatError("the bundle lists too many items")
    return manifest


class _ItemChecks:
    """What reading one entry must confirm: the manifest's size and sha256."""

    def __init__(self, size: int, sha256: str, item_id: str) -> None:
        self._size = size
        self._expected = sha256
        self._digest = hashlib.sha256()
        self._seen = 0
        self._item_id = item_id

    def check(self, data: bytes) -> None:
        self._digest.update(data)
        self._seen += len(data)
        if self._seen > self._size:
            raise IntegrityError(f"item {self._item_id} has the wrong size")

    @property
    def complete(self) -> bool:
        return self._seen >= self._size

    def done(self) -> None:
        if self._seen != self._size:
            raise IntegrityError(f"item {self._item_id} has the wrong size")
        if self._digest.hexdigest() != self._expected:
            raise IntegrityError(f"item {self._item_id} does not match its checksum")

    def damaged(self, exc: BaseException) -> BaseException:
        """The caller's word for a ZIP entry that cannot be read (bad CRC-32, I/O error)."""
        if isinstance(exc, (zipfile.BadZipFile, OSError)):
            return IntegrityError(f"item {self._item_id} is damaged")
        return exc


class _CheckedReader:
    """A read stream over one entry that raises ``IntegrityError`` at its end
    if the bytes differ from what the manifest says (for small items: no
    thread to start)."""

    def __init__(self, raw: BinaryIO, checks: _ItemChecks) -> None:
        self._raw = raw
        self._checks = checks
        self._done = False

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size)
        except BaseException as exc:
            raise self._checks.damaged(exc) from None
        if data:
            self._checks.check(data)
        if (not data or self._checks.complete) and not self._done:
            self._done = True
            self._checks.done()
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> "_CheckedReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _CheckedReadAhead(ReadAhead):
    """The same checks for a large item, made by a thread that reads and hashes
    the next blocks while the caller opens the previous ones."""

    def __init__(self, raw: BinaryIO, checks: _ItemChecks) -> None:
        super().__init__(raw, check=checks.check, done=checks.done, translate=checks.damaged,
                         block=BLOCK, name="bundle-read")

    def __enter__(self) -> "_CheckedReadAhead":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ExportBundle:
    """A bundle opened for reading: the checked manifest, and each item as a stream."""

    def __init__(self, src: BinaryIO) -> None:
        try:
            self._zip = zipfile.ZipFile(src, "r")
        except (zipfile.BadZipFile, OSError, ValueError):
            raise FormatError("not a ZIP file") from None
        try:
            info = self._zip.getinfo(MANIFEST)
        except KeyError:
            raise FormatError("the bundle has no manifest.json") from None
        if info.file_size > MAX_MANIFEST_BYTES:
            raise FormatError("manifest.json is too large")
        self.manifest = check_manifest(
            parse_json_object(self._read_entry(info), limit=MAX_MANIFEST_BYTES, what="manifest.json")
        )
        self._items = {
            item["item_id"]: item for report in self.manifest["reports"] for item in report["items"]
        }
        # Folder entries ("items/") that some ZIP tools add carry nothing: skip them.
        names = [i.filename for i in self._zip.infolist() if not (i.filename.endswith("/") and i.file_size == 0)]
        if len(set(names)) != len(names):
            raise FormatError("the bundle holds an entry twice")
        expected = {MANIFEST} | {item["path"] for item in self._items.values()}
        if set(names) != expected:
            raise FormatError("the bundle's entries do not match its manifest")
        for item in self._items.values():
            entry = self._zip.getinfo(item["path"])
            if entry.compress_type != zipfile.ZIP_STORED or entry.file_size != item["size"]:
                raise FormatError(f"entry {item['path']} is not stored as the manifest says")

    def _read_entry(self, info: zipfile.ZipInfo) -> bytes:
        if info.compress_type != zipfile.ZIP_STORED:
            raise FormatError(f"entry {info.filename} is compressed")
        try:
            return self._zip.read(info)
        except (zipfile.BadZipFile, OSError):
            raise FormatError(f"entry {info.filename} is damaged") from None

    @property
    def reports(self) -> list[dict[str, Any]]:
        return self.manifest["reports"]

    def open_item(self, item_id: str) -> _CheckedReader | _CheckedReadAhead:
        """A stream of the envelope's bytes; reading to its end checks size and sha256."""
        item = self._items.get(item_id)
        if item is None:
            raise KeyError(item_id)
        try:
            raw = self._zip.open(item["path"], "r")
        except (zipfile.BadZipFile, OSError):
            raise FormatError(f"entry {item['path']} is damaged") from None
        checks = _ItemChecks(item["size"], item["sha256"], item_id)
        if item["size"] >= READ_AHEAD_FROM:
            return _CheckedReadAhead(raw, checks)
        return _CheckedReader(raw, checks)

    def read_item(self, item_id: str) -> bytes:
        """A small item's bytes, checked."""
        with self.open_item(item_id) as stream:
            return stream.read()

    def verify(self) -> None:
        """Check every item against the manifest without keeping anything."""
        for item_id in self._items:
            with self.open_item(item_id) as stream:
                while stream.read(BLOCK):
                    pass

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "ExportBundle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
