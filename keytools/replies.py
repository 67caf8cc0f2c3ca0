"""``reply``: replies written offline, signed, sealed, and carried in one bundle.

Each reply is signed with the newest active organisation key
(``sign_reply``), sealed to the reporter's mailbox key from ``case.json``
and to every active organisation key (``recipients_for("reply", ...)``),
and put in a reply bundle signed by the same key. The reply also joins the
case's thread on this workstation at once, marked as not yet imported until
an export from the server carries it back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from crypto.encoding import format_time, new_item_id, unb64, utc_now
from crypto.items import recipients_for, reply_plaintext, seal_json, sign_reply
from crypto.keyring import Keyring
from crypto.reply_bundle import ReplyEntry, build_reply_bundle

from .cases import CasesFolder, ItemRecord, fsync_dir, pretty_json, thread_name
from .errors import UsageError
from .files import read_small_file, write_new_file
from .labels import STATUS_KEYS
from .outbox import Outbox

MAX_REPLY_CHARS = 20_000  # the server's limit for long text fields
MAX_MESSAGE_FILE = 256 * 1024


@dataclass(frozen=True)
class ReplyRequest:
    report_code: str
    body: str
    status: str | None = None


@dataclass(frozen=True)
class WrittenReply:
    entry: ReplyEntry
    content: dict[str, Any]  # the signed reply, as the reporter will read it


def check_status(value: str) -> str:
    if value not in STATUS_KEYS:
        raise UsageError(f"unknown status {value!r}", hint="one of: " + ", ".join(STATUS_KEYS))
    return value


def clean_message(text: str, *, what: str = "the reply") -> str:
    """A reply's text as it is sent: line ends made ``\\n``, outer blank lines dropped, within the limit."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise UsageError(f"{what} is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise UsageError(f"{what} has more than {MAX_REPLY_CHARS} characters")
    return text


def read_message(path: Path) -> str:
    """A reply's text from a UTF-8 file (``clean_message``)."""
    data = read_small_file(path, what="message file")
    if len(data) > MAX_MESSAGE_FILE:
        raise UsageError(f"message file {path} is too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"message file {path} is not UTF-8 text", hint="save it as UTF-8 in the text editor") from None
    return clean_message(text, what=f"message file {path}")


def make_replies(requests: Sequence[ReplyRequest], ring: Keyring, folder: CasesFolder,
                 *, now: datetime | None = None) -> tuple[bytes, list[WrittenReply]]:
    """The signed bundle's bytes, and each reply as written; nothing is stored yet."""
    moment = now or utc_now()
    written = seal_replies(requests, ring, folder, now=moment)
    return build_reply_bundle([w.entry for w in written], ring.newest, moment), written


def seal_replies(requests: Sequence[ReplyRequest], ring: Keyring, folder: CasesFolder,
                 *, now: datetime | None = None) -> list[WrittenReply]:
    """Each reply signed by the newest key and sealed to its reporter; nothing is stored yet."""
    if not requests:
        raise UsageError("no reply to write", hint="give --report CODE --message-file FILE")
    moment = now or utc_now()
    signer = ring.newest
    public = [k.public for k in ring.keys]
    written = []
    for request in requests:
        case = folder.require_case(request.report_code)
        status = check_status(request.status) if request.status is not None else None
        content = sign_reply(
            reply_plaintext(report_code=case.report_code, sent_at=format_time(moment), body=request.body), signer)
        envelope = seal_json(content, recipients_for("reply", public, unb64(case.mailbox_pk, size=32)))
        written.append(WrittenReply(ReplyEntry(case.report_code, new_item_id(), envelope, status), content))
    return written


def record_replies(folder: CasesFolder, written: Sequence[WrittenReply]) -> None:
    """Add each reply to its case's thread, marked as written here."""
    by_code: dict[str, list[WrittenReply]] = {}
    for reply in written:
        by_code.setdefault(reply.entry.report_code, []).append(reply)
    for code, replies in by_code.items():
        case = folder.require_case(code)
        case_dir = folder.case_dir(code)
        (case_dir / "thread").mkdir(mode=0o700, exist_ok=True)
        for reply in replies:
            entry, content = reply.entry, reply.content
            record = ItemRecord(
                item_id=entry.item_id, kind="reply", created_day=content["sent_at"][:10],
                file=thread_name(content["sent_at"], content["sent_at"][:10], "reply", entry.item_id),
                envelope_sha256=hashlib.sha256(entry.envelope).hexdigest(), source="local",
                sent_at=content["sent_at"], set_status=entry.set_status, signer_key_id=content["signer_key_id"])
            record.flag("signed", content["signer_key_id"])
            write_new_file(case_dir / record.file, pretty_json(content))
            case.items[record.item_id] = record
        folder.save_case(case)
        fsync_dir(case_dir / "thread")


def write_replies(requests: Sequence[ReplyRequest], ring: Keyring, folder: CasesFolder, out: Path,
                  *, overwrite: bool = False, now: datetime | None = None) -> list[WrittenReply]:
    """Write the bundle to ``out`` first, then the local thread: a failed write changes no case."""
    with folder.locked():
        data, written = make_replies(requests, ring, folder, now=now)
        write_new_file(Path(out), data, overwrite=overwrite)
        record_replies(folder, written)
    return written


def queue_replies(requests: Sequence[ReplyRequest], ring: Keyring, folder: CasesFolder,
                  *, now: datetime | None = None) -> list[WrittenReply]:
    """``write_replies`` for the desk: into the outbox instead of a bundle file, then the local thread."""
    with folder.locked():
        written = seal_replies(requests, ring, folder, now=now)
        Outbox(folder).add([w.entry for w in written], day=written[0].content["sent_at"][:10])
        record_replies(folder, written)
    return written
