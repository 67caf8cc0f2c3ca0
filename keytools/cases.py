"""The cases folder on the keyholder workstation: one folder per report.

Layout::

    CASES/
      .wbs-cases                  marks a folder wbs-keytools made; also its lock
      index.html, stats.html      the reader, made again after every change
      WBS-XXXXX-XXXXX/
        case.json                 status, history, days, mailbox key, every item and what was noticed
        report.json               the report as opened
        thread/<time>-<kind>-<id8>.json   messages and replies; sorting by name gives their order
        attachments/<id8>-<name>  the attachments, under names from ``safenames``
        index.html                the case page

Everything is plaintext, so folders are made 0700 and files 0600, and
every file is written whole (temp file, fsync, rename) or not at all.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from crypto.encoding import check_day, check_item_id, check_time, parse_json_object, unb64
from crypto.errors import FormatError
from crypto.items import REPORT_CODE_RE, check_report_code

from .errors import CasesError
from .files import write_new_file

MARKER = ".wbs-cases"
MARKER_FORMAT = "wbs-keytools-cases/1"
CASE_FILE = "case.json"
CASE_FORMAT = "wbs-keytools-case/1"
REPORT_FILE = "report.json"
THREAD = "thread"
ATTACHMENTS = "attachments"
STAGING_PREFIX = ".staging-"
MAX_CASE_JSON = 16 * 1024 * 1024
_FILE_RE = re.compile(rf"(?:{REPORT_FILE}|{THREAD}/[^/\\\x00]+\.json|{ATTACHMENTS}/[^/\\\x00]+)\Z")
_TIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z\Z")


def pretty_json(obj: Any) -> bytes:
    """JSON for people to read: indented, keys sorted, UTF-8 as itself."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


def write_json(path: Path, obj: Any) -> None:
    """A JSON file written whole or not at all."""
    write_new_file(path, pretty_json(obj), overwrite=True)


def thread_name(sent_at: object, created_day: str, kind: str, item_id: str) -> str:
    """``thread/20261128T083000Z-message-1a2b3c4d.json``: the name sorts in time order."""
    match = _TIME_RE.match(sent_at) if isinstance(sent_at, str) else None
    stamp = "{}{}{}T{}{}{}Z".format(*match.groups()) if match else created_day.replace("-", "") + "T000000Z"
    return f"{THREAD}/{stamp}-{kind}-{item_id[:8]}.json"


@dataclass
class ItemRecord:
    """One item of a case as the workstation holds it."""

    item_id: str
    kind: str  # what the item is: report, message, reply, attachment
    file: str  # relative to the case folder
    created_day: str
    envelope_sha256: str
    source: str = "export"  # or "local": a reply written here, not yet seen in an export
    parent_id: str | None = None
    sent_at: str | None = None
    filename: str | None = None  # an attachment's name as the reporter gave it
    media_type: str | None = None
    size: int | None = None  # an attachment's plaintext size
    sha256: str | None = None  # an attachment's plaintext sha256
    set_status: str | None = None  # a local reply's requested status
    signer_key_id: str | None = None
    flags: list[dict[str, str]] = field(default_factory=list)

    def flag(self, code: str, detail: str = "") -> None:
        entry = {"code": code, "detail": detail}
        if entry not in self.flags:
            self.flags.append(entry)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, obj: object) -> "ItemRecord":
        if not isinstance(obj, dict):
            raise FormatError("case items: expected objects")
        known = {k: v for k, v in obj.items() if k in cls.__dataclass_fields__}
        record = cls(**known)
        check_item_id(record.item_id)
        check_day(record.created_day)
        if not isinstance(record.file, str) or not _FILE_RE.match(record.file) or ".." in record.file.split("/"):
            raise FormatError(f"item {record.item_id}: bad file name in case.json")
        if not isinstance(record.flags, list) or not all(isinstance(f, dict) for f in record.flags):
            raise FormatError(f"item {record.item_id}: bad flags in case.json")
        return record


@dataclass
class Case:
    """``case.json``: what the workstation knows about one report."""

    report_code: str
    mailbox_pk: str  # b64, pinned by the first export that named this case
    status: str
    created_day: str
    status_history: list[dict[str, str]]
    as_of: str  # created_at of the export that gave the status above
    category: str | None = None
    items: dict[str, ItemRecord] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def warn(self, code: str, detail: str = "") -> None:
        entry = {"code": code, "detail": detail}
        if entry not in self.warnings:
            self.warnings.append(entry)

    @property
    def report_item(self) -> ItemRecord | None:
        return next((r for r in self.items.values() if r.file == REPORT_FILE), None)

    def ordered_items(self) -> list[ItemRecord]:
        """The thread as it happened: the report first, then by time, then by id."""
        return sorted(self.items.values(), key=lambda r: (r.file != REPORT_FILE, r.sent_at or r.created_day, r.item_id))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CASE_FORMAT,
            "report_code": self.report_code,
            "mailbox_pk": self.mailbox_pk,
            "status": self.status,
            "created_day": self.created_day,
            "status_history": self.status_history,
            "as_of": self.as_of,
            "category": self.category,
            "items": [r.to_json() for r in self.ordered_items()],
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Case":
        if obj.get("format") != CASE_FORMAT:
            raise FormatError(f"not a {CASE_FORMAT} file")
        unb64(obj.get("mailbox_pk"), size=32, what="mailbox_pk")
        items = [ItemRecord.from_json(i) for i in obj.get("items") or []]
        case = cls(
            report_code=check_report_code(obj.get("report_code")),
            mailbox_pk=obj["mailbox_pk"],
            status=str(obj.get("status")),
            created_day=check_day(obj.get("created_day")),
            status_history=list(obj.get("status_history") or []),
            as_of=check_time(obj.get("as_of")),
            category=obj.get("category") if isinstance(obj.get("category"), str) else None,
            items={i.item_id: i for i in items},
            warnings=list(obj.get("warnings") or []),
        )
        return case


class CasesFolder:
    """The root of the cases folder; every path under it goes through here."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def check(cls, root: Path, *, create: bool) -> None:
        """Raise unless ``prepare`` would succeed; makes nothing (so it can run before a prompt)."""
        root = Path(root)
        if (root / MARKER).is_file():
            return
        if not create:
            raise CasesError(f"{root} is not a cases folder", hint="open an export bundle into it first")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise CasesError(f"{root} is not empty and is not a cases folder made by wbs-keytools",
                             hint="name a new or empty folder for --cases")

    @classmethod
    def prepare(cls, root: Path, *, create: bool) -> "CasesFolder":
        """Use ``root``; with ``create``, make it (or adopt an empty folder)."""
        root = Path(root)
        cls.check(root, create=create)
        marker = root / MARKER
        if marker.is_file():
            return cls(root)
        try:
            root.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise CasesError(f"cannot make the cases folder {root}: {exc.strerror}") from None
        write_json(marker, {"format": MARKER_FORMAT})
        return cls(root)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One wbs-keytools at a time per folder; leftovers of an interrupted run are removed."""
        with open(self.root / MARKER, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CasesError("another wbs-keytools is working in this cases folder") from None
            for stale in self.root.glob(STAGING_PREFIX + "*"):
                shutil.rmtree(stale, ignore_errors=True)
            yield

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private folder beside the cases, on the same disk, removed whatever happens."""
        path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def case_dir(self, code: str) -> Path:
        return self.root / check_report_code(code)

    def load_case(self, code: str) -> Case | None:
        path = self.case_dir(code) / CASE_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            case = Case.from_json(parse_json_object(data, limit=MAX_CASE_JSON, what=str(path)))
        except (FormatError, KeyError, TypeError) as exc:
            raise CasesError(f"{path} is damaged: {exc}") from None
        if case.report_code != code:
            raise CasesError(f"{path} belongs to {case.report_code}, not {code}")
        return case

    def require_case(self, code: str) -> Case:
        case = self.load_case(code)
        if case is None:
            raise CasesError(f"there is no case {code} in {self.root}",
                             hint="open an export bundle that holds this report first")
        return case

    def cases(self) -> list[Case]:
        found = []
        for child in sorted(self.root.iterdir()):
            if REPORT_CODE_RE.match(child.name) and child.is_dir() and (child / CASE_FILE).is_file():
                case = self.load_case(child.name)
                if case is not None:
                    found.append(case)
        return found

    def save_case(self, case: Case) -> None:
        folder = self.case_dir(case.report_code)
        folder.mkdir(mode=0o700, exist_ok=True)
        write_json(folder / CASE_FILE, case.to_json())

    def place(self, case: Case, staged: Path, relative: str) -> None:
        """Move a staged file to its place in the case (same disk: a rename)."""
        target = self.case_dir(case.report_code) / relative
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.replace(staged, target)

    def read_item_json(self, case: Case, record: ItemRecord) -> dict[str, Any] | None:
        path = self.case_dir(case.report_code) / record.file
        try:
            return parse_json_object(path.read_bytes(), limit=MAX_CASE_JSON, what=str(path))
        except (FileNotFoundError, FormatError):
            return None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
