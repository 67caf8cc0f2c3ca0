"""``open``: decrypt an export bundle into the cases folder.

The order of work makes a bundle count whole or not at all:

1. ``ExportBundle`` reads and checks the manifest and the ZIP's entries.
2. For each report, its new JSON items (report, messages, replies) are
   opened in memory (each is at most 16 MiB), then each new attachment is
   streamed through ``open_to_stream`` into a file in a staging folder
   inside the cases folder: memory stays at one 64 KiB piece whatever the
   size, and the envelope's sha256 is checked against the manifest as it
   streams (``ExportBundle.open_item``).
3. Only when every new item of the bundle has opened are the staged files
   renamed into their cases and each ``case.json`` written.

Any error before step 3 (a flipped byte, a truncated file, an item this
keyring cannot open) removes the staging folder, so no plaintext of a bad
bundle stays on disk. Items already in a case are read and opened as well,
into nothing (``_verify_known``): a bundle counts whole, so damage to an item
the workstation already holds fails it like damage to a new one, while
opening a sound bundle twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from crypto.encoding import key_id_hex, unb64
from crypto.envelope import envelope_key_ids, envelope_length, open_to_stream
from crypto.errors import DecryptionError, FormatError, IntegrityError, SignatureError
from crypto.export_bundle import BLOCK, ExportBundle
from crypto.items import MAX_ITEM_JSON_BYTES, AttachmentRef, open_json, verify_reply
from crypto.keyring import Keyring
from crypto.streams import WriteBehind

from .cases import ATTACHMENTS, REPORT_FILE, Case, CasesFolder, ItemRecord, fsync_dir, pretty_json, thread_name
from .errors import BundleError, UsageError
from .labels import flag_label, flag_level
from .safenames import NEUTRAL_SUFFIX, safe_filename

MAX_JSON_ENVELOPE = envelope_length(MAX_ITEM_JSON_BYTES, 16)


@dataclass
class OpenSummary:
    reports: list[str] = field(default_factory=list)
    new_items: int = 0
    known_items: int = 0
    attachment_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _StagedCase:
    case: Case
    moves: list[tuple[Path, str]] = field(default_factory=list)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


class _Discard:
    """A sink that keeps nothing (and cannot be cut back, so nothing is asked of it)."""

    def write(self, data: bytes) -> int:
        return len(data)

    def seekable(self) -> bool:
        return False


class _BundleOpener:
    """Opens every new item of one bundle into a staging folder."""

    def __init__(self, bundle: ExportBundle, ring: Keyring, folder: CasesFolder, staging: Path) -> None:
        self.bundle = bundle
        self.keys = ring.private_keys
        self.public = [k.public for k in ring.keys]
        self.folder = folder
        self.staging = staging
        self.created_at: str = bundle.manifest["created_at"]
        self.summary = OpenSummary()

    def report(self, report: dict[str, Any]) -> _StagedCase:
        code = report["report_code"]
        case = self.folder.load_case(code)
        if case is None:
            case = Case(report_code=code, mailbox_pk=report["mailbox_pk"], status=report["status"],
                        created_day=report["created_day"], status_history=report["status_history"],
                        as_of=self.created_at)
        elif report["mailbox_pk"] != case.mailbox_pk:
            case.warn("mailbox_changed", self.created_at)
        if self.created_at >= case.as_of:
            case.status, case.created_day = report["status"], report["created_day"]
            case.status_history, case.as_of = report["status_history"], self.created_at
        staged = _StagedCase(case)
        items = report["items"]
        refs: dict[str, tuple[AttachmentRef, str]] | None = None
        for item in [i for i in items if i["kind"] != "attachment"] + [i for i in items if i["kind"] == "attachment"]:
            known = case.items.get(item["item_id"])
            if known is not None:
                self._verify_known(case, item)
                self._known(known, item)
                continue
            if item["kind"] == "attachment":
                refs = self._attachment_refs(case) if refs is None else refs
                record, path = self._attachment(case, item, refs)
            else:
                record, path = self._json_item(case, item)
            case.items[record.item_id] = record
            staged.moves.append((path, record.file))
            self.summary.new_items += 1
        self.summary.reports.append(code)
        return staged

    def _known(self, known: ItemRecord, item: dict[str, Any]) -> None:
        self.summary.known_items += 1
        if known.envelope_sha256 != item["sha256"]:
            known.flag("conflict", self.created_at)
        elif known.source == "local":
            known.source = "export"  # the server now holds the reply this workstation wrote

    def _verify_known(self, case: Case, item: dict[str, Any]) -> None:
        """Read an item already in the case to its end, its plaintext thrown away: the bytes must
        match the manifest (``IntegrityError``) and the envelope must open with this keyring."""
        self._open_into(item["item_id"], case.report_code, _Discard())

    def _open_into(self, item_id: str, code: str, sink: Any) -> None:
        """Stream an item's plaintext into ``sink``, the bundle checking its bytes as they are read."""
        with self.bundle.open_item(item_id) as src:
            try:
                open_to_stream(src, sink, self.keys)  # type: ignore[arg-type]
            except DecryptionError:
                while src.read(BLOCK):  # an altered envelope: let its checksum say so
                    pass
                raise _undecryptable(item_id, code) from None

    def _json_item(self, case: Case, item: dict[str, Any]) -> tuple[ItemRecord, Path]:
        item_id, code = item["item_id"], case.report_code
        if item["size"] > MAX_JSON_ENVELOPE:
            raise BundleError(f"item {item_id} of {code} is too large for a {item['kind']}")
        envelope = self.bundle.read_item(item_id)
        try:
            opened = open_json(envelope, self.keys, report_code=code)
        except DecryptionError:
            raise _undecryptable(item_id, code) from None
        except FormatError as exc:
            raise BundleError(f"item {item_id} of {code} opened, but its content is not valid: {exc}") from None
        content = opened.content
        kind = content["type"]
        record = ItemRecord(item_id=item_id, kind=kind, file="", created_day=item["created_day"],
                            envelope_sha256=item["sha256"], parent_id=item["parent_id"],
                            sent_at=content.get("sent_at") or content.get("submitted_at"))
        if opened.moved:
            record.flag("moved", content["report_code"])
        if kind != item["kind"]:
            record.flag("kind_differs", f"{item['kind']} -> {kind}")
        if key_id_hex(unb64(case.mailbox_pk)) not in envelope_key_ids(envelope):
            record.flag("not_to_mailbox")
        if kind == "reply":
            self._check_signature(record, content)
        if kind == "report" and case.report_item is None:
            record.file = REPORT_FILE
            case.category = content["category"]
        else:
            if kind == "report":
                record.flag("extra_report")
            record.file = thread_name(record.sent_at, record.created_day, kind, item_id)
        path = self.staging / f"{item_id}.json"
        _write_private(path, pretty_json(content))
        return record, path

    def _check_signature(self, record: ItemRecord, content: dict[str, Any]) -> None:
        try:
            signer = verify_reply(content, self.public)
        except SignatureError as exc:
            record.flag("unsigned" if "sig" not in content else "bad_signature", str(exc))
            return
        record.signer_key_id = signer.key_id
        record.flag("signed", signer.key_id)

    def _attachment_refs(self, case: Case) -> dict[str, tuple[AttachmentRef, str]]:
        """Every attachment reference of the case's reports and messages, by attachment id."""
        refs: dict[str, tuple[AttachmentRef, str]] = {}
        for record in case.items.values():
            if record.kind in ("report", "message"):
                content = self._content(case, record)
                for raw in (content or {}).get("attachments", []):
                    ref = AttachmentRef.from_json(raw)
                    refs.setdefault(ref.item_id, (ref, record.item_id))
        return refs

    def _content(self, case: Case, record: ItemRecord) -> dict[str, Any] | None:
        staged = self.staging / f"{record.item_id}.json"
        if staged.exists():
            return json.loads(staged.read_bytes())
        return self.folder.read_item_json(case, record)

    def _attachment_name(self, case: Case, item_id: str, raw: str | None) -> str:
        taken = {r.file for r in case.items.values()}
        name = safe_filename(raw, item_id)
        if f"{ATTACHMENTS}/{name}" in taken:
            name = safe_filename(raw, item_id, full_id=True)
        return name

    def _attachment(self, case: Case, item: dict[str, Any],
                    refs: dict[str, tuple[AttachmentRef, str]]) -> tuple[ItemRecord, Path]:
        item_id = item["item_id"]
        ref, parent = refs.get(item_id, (None, None))
        name = self._attachment_name(case, item_id, ref.filename if ref else None)
        path = self.staging / f"{item_id}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            # A second thread hashes and writes the plaintext while this one
            # opens the next pieces (and a third reads ahead: open_item).
            sink = WriteBehind(out, digest=hashlib.sha256(), name="open-write")
            try:
                self._open_into(item_id, case.report_code, sink)
                sink.close()
            finally:
                sink.abandon()
            out.flush()
            os.fsync(out.fileno())
        record = ItemRecord(item_id=item_id, kind="attachment", file=f"{ATTACHMENTS}/{name}",
                            created_day=item["created_day"], envelope_sha256=item["sha256"],
                            parent_id=item["parent_id"], size=sink.size, sha256=sink.digest.hexdigest())
        if ref is None:
            record.flag("unlisted")
        else:
            record.filename, record.media_type = ref.filename, ref.media_type
            if (ref.size, ref.sha256) != (record.size, record.sha256) or parent != item["parent_id"]:
                record.flag("attachment_differs")
        if name.endswith(NEUTRAL_SUFFIX) and not (record.filename or "").lower().endswith(NEUTRAL_SUFFIX):
            record.flag("neutralised")
        self.summary.attachment_bytes += sink.size
        return record, path


def _undecryptable(item_id: str, code: str) -> BundleError:
    return BundleError(
        f"item {item_id} of {code} does not open with this keyring: it was altered, or sealed to other keys",
        hint="nothing from this bundle was written; check that this is the organisation's current keyring",
    )


def _commit(folder: CasesFolder, staged: list[_StagedCase]) -> None:
    for entry in staged:
        for path, relative in entry.moves:
            folder.place(entry.case, path, relative)
        folder.save_case(entry.case)
        case_dir = folder.case_dir(entry.case.report_code)
        for sub in (case_dir / "thread", case_dir / ATTACHMENTS, case_dir):
            if sub.is_dir():
                fsync_dir(sub)
    fsync_dir(folder.root)


def _warnings(staged: list[_StagedCase]) -> list[str]:
    lines = []
    for entry in staged:
        case = entry.case
        for warning in case.warnings:
            lines.append(f"{case.report_code}: {warning['code']} ({warning['detail']})")
        for record in case.ordered_items():
            for flag in record.flags:
                if flag_level(flag["code"]) == "warn":
                    lines.append(f"{case.report_code}: item {record.item_id[:8]}: {flag_label(flag['code'])}")
    return lines


def open_bundle(path: Path, ring: Keyring, folder: CasesFolder,
                progress: Callable[[str], None] | None = None) -> OpenSummary:
    """Open every new item of the bundle at ``path`` into ``folder``; all or nothing."""
    with folder.locked(), folder.staging() as staging:
        try:
            src = open(path, "rb")
        except OSError as exc:
            raise UsageError(f"cannot read bundle {path}: {exc.strerror}") from None
        try:
            with ExportBundle(src) as bundle:
                opener = _BundleOpener(bundle, ring, folder, staging)
                staged = []
                for report in bundle.reports:
                    if progress:
                        progress(f"opening {report['report_code']} ({len(report['items'])} item(s))")
                    staged.append(opener.report(report))
        except IntegrityError as exc:
            raise BundleError(f"the bundle is damaged or was altered: {exc}",
                              hint="nothing from this bundle was written; carry a fresh copy from the server") from None
        except FormatError as exc:
            raise BundleError(f"{path} is not a valid export bundle: {exc}",
                              hint="nothing from this bundle was written") from None
        finally:
            src.close()
        _commit(folder, staged)
    opener.summary.warnings = _warnings(staged)
    return opener.summary
