"""``wbs-keytools reply`` in process: the message file, the signed bundle, and the local thread.

The command-line journey is in tests/integration/test_keytools_reply.py;
these tests call the module directly so that every rule is checked with a
fixed clock and a small cases folder.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from crypto.encoding import b64, key_id_hex
from crypto.envelope import envelope_key_ids
from crypto.items import open_json, verify_reply
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import check_reply_recipients, read_reply_bundle
from keytools.cases import Case, CasesFolder
from keytools.errors import CasesError, UsageError
from keytools.labels import STATUS_KEYS
from keytools.replies import (
    MAX_MESSAGE_FILE,
    MAX_REPLY_CHARS,
    ReplyRequest,
    check_status,
    make_replies,
    read_message,
    write_replies,
)

CODE = "WBS-7K3QF-9XW2M"
SECOND = "WBS-00000-11111"
WHEN = datetime(2026, 11, 28, 8, 30, 5, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ring():
    return new_keyring("Inspektorat", now=datetime(2026, 1, 1, tzinfo=timezone.utc)).rotated()


@pytest.fixture
def mailboxes() -> dict[str, PrivateKey]:
    return {CODE: PrivateKey.generate(), SECOND: PrivateKey.generate()}


@pytest.fixture
def folder(tmp_path: Path, mailboxes) -> CasesFolder:
    cases = CasesFolder.prepare(tmp_path / "cases", create=True)
    for code, key in mailboxes.items():
        cases.save_case(Case(report_code=code, mailbox_pk=b64(bytes(key.public_key)), status="received",
                             created_day="2026-11-20", status_history=[], as_of="2026-11-27T10:00:00Z"))
    return cases


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "message.txt"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("status", STATUS_KEYS)
def test_every_status_key_is_accepted(status):
    assert check_status(status) == status


@pytest.mark.parametrize("status", ["", "Closed", "closed ", "selesai"])
def test_an_unknown_status_is_refused_with_the_keys_as_hint(status):
    with pytest.raises(UsageError) as caught:
        check_status(status)
    assert all(key in caught.value.hint for key in STATUS_KEYS)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"Terima kasih.", "Terima kasih."),
        ("\ufeffSudah kami terima.\r\n".encode(), "Sudah kami terima."),
        (b"\n\n  baris 1\r\nbaris 2\rbaris 3  \n\n", "baris 1\nbaris 2\nbaris 3"),
        ("é".encode() * (MAX_REPLY_CHARS // 2) + b"x" * (MAX_REPLY_CHARS // 2), "é" * 10_000 + "x" * 10_000),
    ],
)
def test_a_message_file_is_read_as_utf8_with_lf_line_ends(tmp_path, data, text):
    assert read_message(write(tmp_path, data)) == text


@pytest.mark.parametrize(
    "data",
    [b"", b" \r\n\t\n", "\ufeff".encode(), b"\xff\xfe bad", b"x" * (MAX_REPLY_CHARS + 1),
     b" " * (MAX_MESSAGE_FILE - 5) + b"kata", b"x" * (MAX_MESSAGE_FILE + 1)],
    ids=["empty", "blank", "bom-only", "not-utf8", "too-many-chars", "blank-padded-but-fits", "too-large"],
)
def test_a_message_file_that_cannot_be_a_reply_is_refused(tmp_path, data):
    if data.endswith(b"kata"):
        assert read_message(write(tmp_path, data)) == "kata"
        return
    with pytest.raises(UsageError):
        read_message(write(tmp_path, data))


def test_a_message_file_of_exactly_the_limits_is_read(tmp_path):
    data = b"y" * MAX_REPLY_CHARS + b"\n" * (MAX_MESSAGE_FILE - MAX_REPLY_CHARS)
    assert read_message(write(tmp_path, data)) == "y" * MAX_REPLY_CHARS


def test_a_missing_message_file_is_named_as_such(tmp_path):
    with pytest.raises(UsageError, match="^message file .*absent.txt does not exist"):
        read_message(tmp_path / "absent.txt")


def test_replies_are_signed_sealed_and_bundled(ring, folder, mailboxes):
    requests = [ReplyRequest(CODE, "Laporan sedang diverifikasi.", "verification"), ReplyRequest(SECOND, "Terima kasih.")]
    data, written = make_replies(requests, ring, folder, now=WHEN)
    pub = parse_public_key_file(ring.public_key_file())
    bundle = read_reply_bundle(data, pub)
    assert bundle.created_at == "2026-11-28T08:30:05Z"
    assert bundle.signer_key_id == ring.newest.key_id
    assert [(e.report_code, e.set_status) for e in bundle.replies] == [(CODE, "verification"), (SECOND, None)]
    assert [w.entry for w in written] == list(bundle.replies)
    check_reply_recipients(bundle, {c: bytes(k.public_key) for c, k in mailboxes.items()}, [ring.newest.key_id])
    for entry, reply, request in zip(bundle.replies, written, requests):
        opened = open_json(entry.envelope, [mailboxes[entry.report_code]], report_code=entry.report_code)
        assert opened.content == reply.content
        assert not opened.moved
        assert opened.content["body"] == request.body
        assert opened.content["sent_at"] == "2026-11-28T08:30:05Z"
        assert verify_reply(opened.content, pub.keys).key_id == ring.newest.key_id
        assert open_json(entry.envelope, [ring.newest.private_key], report_code=entry.report_code).content == reply.content
        assert set(envelope_key_ids(entry.envelope)) == {key_id_hex(bytes(mailboxes[entry.report_code].public_key)),
                                                         ring.newest.key_id}


def test_nothing_to_reply_or_an_unknown_case_or_status_is_refused(ring, folder):
    with pytest.raises(UsageError):
        make_replies([], ring, folder, now=WHEN)
    with pytest.raises(CasesError):
        make_replies([ReplyRequest("WBS-22222-33333", "Halo")], ring, folder, now=WHEN)
    with pytest.raises(UsageError):
        make_replies([ReplyRequest(CODE, "Halo", "done")], ring, folder, now=WHEN)


def test_write_replies_writes_the_bundle_then_the_threads(ring, folder, tmp_path):
    out = tmp_path / "replies.wbsr"
    requests = [ReplyRequest(CODE, "Satu", "verification"), ReplyRequest(CODE, "Dua"), ReplyRequest(SECOND, "Tiga")]
    written = write_replies(requests, ring, folder, out, now=WHEN)
    assert read_reply_bundle(out.read_bytes(), parse_public_key_file(ring.public_key_file())).replies == tuple(
        w.entry for w in written)
    for code, replies in ((CODE, written[:2]), (SECOND, written[2:])):
        case = folder.require_case(code)
        assert set(case.items) == {w.entry.item_id for w in replies}
        for reply in replies:
            record = case.items[reply.entry.item_id]
            assert record.kind == "reply"
            assert record.source == "local"
            assert record.created_day == "2026-11-28"
            assert record.sent_at == "2026-11-28T08:30:05Z"
            assert record.set_status == reply.entry.set_status
            assert record.signer_key_id == ring.newest.key_id
            assert record.flags == [{"code": "signed", "detail": ring.newest.key_id}]
            assert record.envelope_sha256 == hashlib.sha256(reply.entry.envelope).hexdigest()
            assert record.file == f"thread/20261128T083005Z-reply-{reply.entry.item_id[:8]}.json"
            path = folder.case_dir(code) / record.file
            assert json.loads(path.read_bytes()) == reply.content
            assert path.stat().st_mode & 0o777 == 0o600
        assert (folder.case_dir(code) / "thread").stat().st_mode & 0o777 == 0o700


def test_a_bundle_that_cannot_be_written_changes_no_case(ring, folder, tmp_path):
    out = tmp_path / "replies.wbsr"
    out.write_bytes(b"older bundle")
    with pytest.raises(UsageError):
        write_replies([ReplyRequest(CODE, "Satu")], ring, folder, out, now=WHEN)
    assert out.read_bytes() == b"older bundle"
    assert folder.require_case(CODE).items == {}
    assert not (folder.case_dir(CODE) / "thread").exists()
    written = write_replies([ReplyRequest(CODE, "Satu")], ring, folder, out, overwrite=True, now=WHEN)
    assert out.read_bytes() != b"older bundle"
    assert set(folder.require_case(CODE).items) == {written[0].entry.item_id}


def test_a_second_reply_joins_the_thread_beside_the_first(ring, folder, tmp_path):
    first = write_replies([ReplyRequest(CODE, "Satu")], ring, folder, tmp_path / "a.wbsr", now=WHEN)
    second = write_replies([ReplyRequest(CODE, "Dua")], ring, folder, tmp_path / "b.wbsr",
                           now=datetime(2026, 11, 29, 1, 2, 3, tzinfo=timezone.utc))
    case = folder.require_case(CODE)
    assert set(case.items) == {first[0].entry.item_id, second[0].entry.item_id}
    assert case.items[second[0].entry.item_id].created_day == "2026-11-29"
