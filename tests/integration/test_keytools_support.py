"""What the keytools tests share (this module holds no tests of its own).

``keytools(...)`` runs ``wbs-keytools`` as a keyholder would: its own
process, real files. ``write_cheap_keyring`` writes a keyring whose Argon2id
cost is ``TEST_CHEAPEST`` in the file itself — readers take the cost from
the file (PROTOCOL.md §2.2), so no hook in the command is needed; the
journey test pays for the real 256 MiB cost instead. ``ExportBuilder``
writes export bundles with the protocol library exactly as the server's
``wbs export`` does, so tests can put hostile content in any field.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from crypto.encoding import new_item_id
from crypto.envelope import seal_bytes
from crypto.export_bundle import ExportItem, ExportReport, write_export_bundle
from crypto.items import AttachmentRef, message_plaintext, recipients_for, report_plaintext, seal_json
from crypto.kdf import TEST_CHEAPEST
from crypto.keyring import Keyring, new_keyring, write_keyring

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "pura besakih di lereng agung"
ORG = "Inspektorat Daerah Kabupaten Klungkung"
WHEN = datetime(2026, 11, 28, 8, 30, tzinfo=timezone.utc)


def keytools(*args: object, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "keytools.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def write_cheap_keyring(folder: Path, ring: Keyring | None = None) -> tuple[Path, Path, Keyring]:
    """``org.key`` (cheap KDF, written in the file) and ``pass.txt`` in ``folder``."""
    ring = ring or new_keyring(ORG)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "org.key").write_bytes(write_keyring(ring, PASSPHRASE, kdf=TEST_CHEAPEST))
    (folder / "pass.txt").write_text(PASSPHRASE + "\n")
    return folder / "org.key", folder / "pass.txt", ring


@dataclass
class Attachment:
    filename: str
    data: bytes
    media_type: str = "application/octet-stream"
    item_id: str = field(default_factory=new_item_id)


@dataclass
class Case:
    """One report and its thread, as a bundle will carry them."""

    code: str
    fields: dict[str, Any]
    attachments: list[Attachment] = field(default_factory=list)
    messages: list[tuple[str, list[Attachment]]] = field(default_factory=list)
    status: str = "received"
    created_day: str = "2026-11-20"
    mailbox: PrivateKey = field(default_factory=PrivateKey.generate)
    report_id: str = field(default_factory=new_item_id)
    inner_code: str | None = None  # a different report_code inside: an item "moved" between cases


def _ref(att: Attachment) -> AttachmentRef:
    return AttachmentRef(att.item_id, att.filename, att.media_type, len(att.data), hashlib.sha256(att.data).hexdigest())


def _item(item_id: str, kind: str, parent: str | None, day: str, envelope: bytes) -> ExportItem:
    return ExportItem(item_id, kind, parent, day, lambda: io.BytesIO(envelope))


def export_items(case: Case, ring: Keyring) -> list[ExportItem]:
    org = [k.public for k in ring.keys]
    json_to = recipients_for("report", org, bytes(case.mailbox.public_key))
    att_to = recipients_for("attachment", org, None)
    report = report_plaintext(report_code=case.inner_code or case.code, submitted_at="2026-11-20T01:02:03Z",
                              lang="id", attachments=[_ref(a) for a in case.attachments], **case.fields)
    items = [_item(case.report_id, "report", None, case.created_day, seal_json(report, json_to))]
    items += [_item(a.item_id, "attachment", case.report_id, case.created_day, seal_bytes(a.data, att_to))
              for a in case.attachments]
    for n, (body, atts) in enumerate(case.messages):
        message_id = new_item_id()
        message = message_plaintext(report_code=case.code, sent_at=f"2026-11-2{n + 1}T09:00:00Z", body=body,
                                    attachments=[_ref(a) for a in atts])
        items.append(_item(message_id, "message", None, f"2026-11-2{n + 1}", seal_json(message, json_to)))
        items += [_item(a.item_id, "attachment", message_id, f"2026-11-2{n + 1}", seal_bytes(a.data, att_to))
                  for a in atts]
    return items


def write_export(path: Path, ring: Keyring, cases: list[Case], *, extra: dict[str, list[ExportItem]] | None = None,
                 now: datetime = WHEN) -> dict[str, Any]:
    """An export bundle of ``cases`` at ``path``; ``extra`` adds hand-made items to a case."""
    reports = [
        ExportReport(c.code, c.status, c.created_day, [("received", c.created_day)] +
                     ([(c.status, "2026-11-25")] if c.status != "received" else []),
                     bytes(c.mailbox.public_key), export_items(c, ring) + (extra or {}).get(c.code, []))
        for c in cases
    ]
    with open(path, "wb") as dst:
        return write_export_bundle(dst, reports, org_key_ids=[k.key_id for k in ring.active], now=now)


PLAIN_FIELDS = {
    "category": "pungli",
    "what": "Pungutan liar pada pelayanan KTP elektronik",
    "who": "Oknum petugas loket pelayanan",
    "where": "Kantor Kecamatan Banjarangkan",
    "when": "September sampai Oktober 2026",
    "how": "Meminta Rp100.000 di luar ketentuan agar KTP cepat selesai",
    "loss_estimate": "Sekitar Rp15 juta",
}


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (but the reader's pages, which name today's date) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".html"}
