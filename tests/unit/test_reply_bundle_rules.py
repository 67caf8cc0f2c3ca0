"""What a reply bundle must be to be accepted, rule by rule (PROTOCOL.md §7).

Most rules sit behind the signature, so a tampered bundle would fail on the
signature alone; ``signed`` re-signs a hand-made body with the real key, so
each test reaches the one rule it is about.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from nacl.public import PrivateKey

from crypto.encoding import b64, canonical_json, new_item_id
from crypto.envelope import header_length
from crypto.errors import FormatError, SignatureError
from crypto.items import recipients_for, reply_plaintext, seal_json, sign_reply
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import (
    MAX_REPLIES,
    REPLIES_FORMAT,
    ReplyEntry,
    build_reply_bundle,
    check_reply_recipients,
    read_reply_bundle,
)

CODE = "WBS-7K3QF-9XW2M"
OTHER = "WBS-00000-11111"
WHEN = datetime(2026, 11, 28, 8, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def ring():
    return new_keyring("Inspektorat")


@pytest.fixture(scope="module")
def pub(ring):
    return parse_public_key_file(ring.public_key_file())


@pytest.fixture(scope="module")
def mailbox():
    return PrivateKey.generate()


@pytest.fixture(scope="module")
def envelope(ring, pub, mailbox):
    reply = sign_reply(reply_plaintext(report_code=CODE, sent_at="2026-11-28T08:30:00Z", body="Diterima"), ring.newest)
    return seal_json(reply, recipients_for("reply", pub.keys, mailbox.public_key))


def entry_json(sealed: bytes, **changes: object) -> dict:
    obj = {"report_code": CODE, "item_id": new_item_id(), "envelope": b64(sealed), "set_status": None}
    obj.update(changes)
    return obj


def signed(ring, replies: list, **changes: object) -> bytes:
    body = {"format": REPLIES_FORMAT, "created_at": "2026-11-28T08:30:00Z", "signer_key_id": ring.newest.key_id,
            "replies": replies}
    body.update(changes)
    body["sig"] = b64(ring.newest.signing_key.sign(canonical_json(body)).signature)
    return json.dumps(body).encode()


def test_a_built_bundle_is_stable_json_with_every_member(ring, envelope):
    entry = ReplyEntry(CODE, "ab" * 16, envelope, "verification")
    data = build_reply_bundle([entry], ring.newest, WHEN)
    assert data.endswith(b"}\n")
    data.decode("ascii")
    obj = json.loads(data)
    assert data == json.dumps(obj, sort_keys=True, indent=1).encode("ascii") + b"\n"
    assert set(obj) == {"format", "created_at", "signer_key_id", "replies", "sig"}
    assert obj["format"] == "wbs-replies/1"
    assert obj["created_at"] == "2026-11-28T08:30:00Z"
    assert obj["signer_key_id"] == ring.newest.key_id
    assert obj["replies"] == [
        {"report_code": CODE, "item_id": "ab" * 16, "envelope": b64(envelope), "set_status": "verification"}
    ]


def test_a_built_bundle_reads_back_with_every_field(ring, pub, envelope):
    entries = [ReplyEntry(CODE, new_item_id(), envelope, None), ReplyEntry(OTHER, new_item_id(), envelope, "closed")]
    bundle = read_reply_bundle(build_reply_bundle(entries, ring.newest, WHEN), pub)
    assert bundle.created_at == "2026-11-28T08:30:00Z"
    assert bundle.signer_key_id == ring.newest.key_id
    assert bundle.replies == tuple(entries)


def test_a_bundle_holds_up_to_the_maximum_number_of_replies(ring, pub):
    tiny = bytes(header_length(1))  # the shortest envelope accepted keeps 10,000 entries small
    at_max = [entry_json(tiny, item_id=f"{i:032x}") for i in range(MAX_REPLIES)]
    assert len(read_reply_bundle(signed(ring, at_max), pub).replies) == MAX_REPLIES
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, at_max + [entry_json(tiny)]), pub)
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, []), pub)
    most = [ReplyEntry(CODE, f"{i:032x}", tiny) for i in range(MAX_REPLIES)]
    assert len(read_reply_bundle(build_reply_bundle(most, ring.newest), pub).replies) == MAX_REPLIES
    with pytest.raises(ValueError):
        build_reply_bundle(most + [ReplyEntry(CODE, "ff" * 16, tiny)], ring.newest)


@pytest.mark.parametrize("status", [None, "closed", "in_review", "a" * 40])
def test_set_status_is_null_or_a_status_key(ring, pub, envelope, status):
    bundle = read_reply_bundle(signed(ring, [entry_json(envelope, set_status=status)]), pub)
    assert bundle.replies[0].set_status == status


@pytest.mark.parametrize("status", ["", "Closed", "closed!", "a" * 41, "closed\n", 3, ["closed"], False])
def test_a_malformed_set_status_is_refused(ring, pub, envelope, status):
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, [entry_json(envelope, set_status=status)]), pub)


@pytest.mark.parametrize(
    "change",
    [{"report_code": "WBS-1"}, {"report_code": None}, {"item_id": "AB" * 16}, {"item_id": "ab" * 15},
     {"envelope": "not base64!"}, {"envelope": None}],
    ids=lambda change: repr(change)[:40],
)
def test_an_entry_with_one_bad_member_is_refused(ring, pub, envelope, change):
    good = entry_json(envelope)
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, [good, entry_json(envelope, **change)]), pub)


def test_entries_must_be_objects_in_a_list(ring, pub, envelope):
    for replies in ([entry_json(envelope), "entry"], {"0": entry_json(envelope)}, None):
        with pytest.raises(FormatError):
            read_reply_bundle(signed(ring, replies), pub)


def test_an_envelope_shorter_than_a_one_recipient_header_is_refused(ring, pub):
    shortest = header_length(1)
    bundle = read_reply_bundle(signed(ring, [entry_json(bytes(shortest))]), pub)
    assert len(bundle.replies[0].envelope) == shortest
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, [entry_json(bytes(shortest - 1))]), pub)


def test_an_item_id_may_appear_once(ring, pub, envelope):
    twice = [entry_json(envelope, item_id="cd" * 16), entry_json(envelope, item_id="ab" * 16),
             entry_json(envelope, item_id="cd" * 16)]
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, twice), pub)


@pytest.mark.parametrize("created_at", ["2026-11-28", "2026-13-28T08:30:00Z", None])
def test_created_at_must_be_a_real_time(ring, pub, envelope, created_at):
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, [entry_json(envelope)], created_at=created_at), pub)


@pytest.mark.parametrize("fmt", ["wbs-replies/2", None, "WBS-REPLIES/1"])
def test_the_format_must_be_named(ring, pub, envelope, fmt):
    with pytest.raises(FormatError):
        read_reply_bundle(signed(ring, [entry_json(envelope)], format=fmt), pub)


@pytest.mark.parametrize("signer", [None, 7, "00" * 8])
def test_an_unknown_or_malformed_signer_is_a_signature_error(ring, pub, envelope, signer):
    with pytest.raises(SignatureError):
        read_reply_bundle(signed(ring, [entry_json(envelope)], signer_key_id=signer), pub)


@pytest.mark.parametrize("sig", [None, "", "AAAA", b64(bytes(63)), b64(bytes(65)), b64(bytes(64))])
def test_a_missing_malformed_or_wrong_signature_is_a_signature_error(ring, pub, envelope, sig):
    obj = json.loads(signed(ring, [entry_json(envelope)]))
    obj["sig"] = sig
    with pytest.raises(SignatureError):
        read_reply_bundle(json.dumps(obj).encode(), pub)


def test_a_bundle_larger_than_the_bound_is_refused_before_parsing(pub):
    with pytest.raises(FormatError):
        read_reply_bundle(b" " * (64 * 1024 * 1024 + 1), pub)


def test_every_entry_is_checked_for_its_recipients(ring, pub, mailbox, envelope):
    second = PrivateKey.generate()
    reply = reply_plaintext(report_code=OTHER, sent_at="2026-11-28T08:30:00Z", body="Lagi")
    sealed_to_org_only = seal_json(sign_reply(reply, ring.newest), [pub.keys[0].enc_pk])
    sealed_to_mailbox_only = seal_json(sign_reply(reply, ring.newest), [bytes(second.public_key)])
    good = ReplyEntry(CODE, new_item_id(), envelope)
    org_ids = [k.key_id for k in pub.keys]
    mailboxes = {CODE: bytes(mailbox.public_key), OTHER: bytes(second.public_key)}
    for bad in (ReplyEntry(OTHER, new_item_id(), sealed_to_org_only), ReplyEntry(OTHER, new_item_id(), sealed_to_mailbox_only)):
        bundle = read_reply_bundle(build_reply_bundle([good, bad], ring.newest), pub)
        with pytest.raises(FormatError):
            check_reply_recipients(bundle, mailboxes, org_ids)
    fine = read_reply_bundle(build_reply_bundle([good, good.__class__(CODE, new_item_id(), envelope)], ring.newest), pub)
    assert check_reply_recipients(fine, mailboxes, iter(["00" * 8] + org_ids)) is None


def test_refusals_name_the_bundle_and_the_envelope(ring, pub, envelope):
    with pytest.raises(FormatError, match="^reply bundle: "):
        read_reply_bundle(b"{not json", pub)
    with pytest.raises(FormatError, match="^envelope: "):
        read_reply_bundle(signed(ring, [entry_json(envelope, envelope="!!")]), pub)
