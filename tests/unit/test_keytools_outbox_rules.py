"""The desk's way of replying (``queue_replies``) and the wording of refused replies.

``queue_replies`` seals like ``write_replies`` but leaves the replies in the
cases folder's outbox instead of a bundle file; the thread is written too.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from crypto.items import open_json
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import read_reply_bundle
from keytools.errors import CasesError, UsageError
from keytools.outbox import Outbox
from keytools.replies import ReplyRequest, clean_message, queue_replies, read_message
from test_keytools_replies import CODE, SECOND, folder, mailboxes  # noqa: F401 (the same two cases)

WHEN = datetime(2026, 11, 28, 23, 59, 59, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ring():
    return new_keyring("Inspektorat", now=datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_queued_replies_wait_in_the_outbox_with_the_day_they_were_written(ring, folder, mailboxes):
    requests = [ReplyRequest(CODE, "Satu", "verification"), ReplyRequest(SECOND, "Dua")]
    written = queue_replies(requests, ring, folder, now=WHEN)
    pending = Outbox(folder).pending()
    assert sorted(e.entry.item_id for e in pending) == sorted(w.entry.item_id for w in written)
    assert {e.written_day for e in pending} == {"2026-11-28"}
    by_id = {e.entry.item_id: e.entry for e in pending}
    for reply, request in zip(written, requests):
        entry = by_id[reply.entry.item_id]
        assert entry == reply.entry
        assert (entry.report_code, entry.set_status) == (request.report_code, request.status)
        opened = open_json(entry.envelope, [mailboxes[entry.report_code]], report_code=entry.report_code)
        assert opened.content["body"] == request.body
        assert opened.content["sent_at"] == "2026-11-28T23:59:59Z"


def test_queued_replies_join_each_cases_thread(ring, folder):
    written = queue_replies([ReplyRequest(CODE, "Satu"), ReplyRequest(CODE, "Dua")], ring, folder, now=WHEN)
    case = folder.require_case(CODE)
    assert set(case.items) == {w.entry.item_id for w in written}
    for reply in written:
        record = case.items[reply.entry.item_id]
        assert (record.kind, record.source, record.created_day) == ("reply", "local", "2026-11-28")
        assert record.file == f"thread/20261128T235959Z-reply-{reply.entry.item_id[:8]}.json"
        assert json.loads((folder.case_dir(CODE) / record.file).read_bytes()) == reply.content
    assert folder.require_case(SECOND).items == {}


def test_the_outbox_bundle_carries_the_queued_replies(ring, folder):
    written = queue_replies([ReplyRequest(CODE, "Satu")], ring, folder, now=WHEN)
    taken = Outbox(folder).bundle(ring, now=WHEN)
    bundle = read_reply_bundle(taken.data, parse_public_key_file(ring.public_key_file()))
    assert list(bundle.replies) == [w.entry for w in written]


def test_a_refused_queue_leaves_no_outbox_entry_and_no_thread(ring, folder):
    with pytest.raises(UsageError):
        queue_replies([], ring, folder, now=WHEN)
    with pytest.raises(CasesError):
        queue_replies([ReplyRequest(CODE, "Satu"), ReplyRequest("WBS-22222-33333", "Dua")], ring, folder, now=WHEN)
    with pytest.raises(UsageError):
        queue_replies([ReplyRequest(CODE, "Satu", "done")], ring, folder, now=WHEN)
    assert Outbox(folder).entries() == []
    assert folder.require_case(CODE).items == {}


def test_an_empty_reply_is_called_the_reply():
    with pytest.raises(UsageError, match="^the reply is empty$"):
        clean_message(" \n ")


def test_an_empty_message_file_is_named_in_the_refusal(tmp_path):
    path = tmp_path / "pesan.txt"
    path.write_bytes(b"\r\n")
    with pytest.raises(UsageError, match=r"^message file .*pesan\.txt is empty$"):
        read_message(path)

