"""The JSON inside envelopes (PROTOCOL.md §5): exact members, and every way a member can be wrong.

A reader on the offline workstation relies on these checks, so each one is
tested alone: one bad member in an otherwise good item must be refused.
"""

from __future__ import annotations

import itertools

import pytest
from nacl.public import PrivateKey

from crypto.encoding import CROCKFORD_ALPHABET
from crypto.envelope import seal_bytes
from crypto.errors import FormatError, SignatureError
from crypto.items import (
    MAX_ITEM_JSON_BYTES,
    AttachmentRef,
    check_plaintext,
    generate_report_code,
    message_plaintext,
    open_json,
    recipients_for,
    reply_plaintext,
    report_plaintext,
    seal_json,
    sign_reply,
    verify_reply,
)
from crypto.keys import generate_org_key

CODE = "WBS-7K3QF-9XW2M"
SENT = "2026-11-28T08:30:00Z"
REF = AttachmentRef("ab" * 16, "kuitansi.jpg", "image/jpeg", 12345, "cd" * 32)
REF_JSON = {"item_id": "ab" * 16, "filename": "kuitansi.jpg", "media_type": "image/jpeg", "size": 12345,
            "sha256": "cd" * 32}
REQUIRED = dict(report_code=CODE, submitted_at=SENT, lang="id", category="pungli", what="Pungutan di loket",
                who="Petugas", where="Kecamatan", when="Oktober", how="Uang tambahan")


def test_a_report_holds_exactly_its_members_and_no_empty_optional_ones():
    assert report_plaintext(**REQUIRED) == {
        "type": "report", "v": 1, "report_code": CODE, "submitted_at": SENT, "lang": "id", "category": "pungli",
        "what": "Pungutan di loket", "who": "Petugas", "where": "Kecamatan", "when": "Oktober",
        "how": "Uang tambahan", "loss_estimate": "", "attachments": [],
    }


def test_a_report_carries_every_optional_member_it_is_given():
    report = report_plaintext(
        **REQUIRED, loss_estimate="Rp 5 juta", attachments=[REF], incident_date="2026-10-01",
        evidence_note="di map biru", identity="Ani, 0812",
        reported_persons=[{"name": "Budi", "position": "Kasi", "unit": "Dinas PU"}, {"unit": "Camat", "x": "y"},
                          {"name": "Sari"}],
    )
    assert report["loss_estimate"] == "Rp 5 juta"
    assert report["attachments"] == [REF_JSON]
    assert report["incident_date"] == "2026-10-01"
    assert report["evidence_note"] == "di map biru"
    assert report["identity"] == "Ani, 0812"
    assert report["reported_persons"] == [
        {"name": "Budi", "position": "Kasi", "unit": "Dinas PU"},
        {"name": "", "position": "", "unit": "Camat"},
        {"name": "Sari", "position": "", "unit": ""},
    ]


def test_message_and_reply_members():
    assert message_plaintext(report_code=CODE, sent_at=SENT, body="Bukti", attachments=[REF]) == {
        "type": "message", "v": 1, "report_code": CODE, "sent_at": SENT, "body": "Bukti", "attachments": [REF_JSON],
    }
    assert reply_plaintext(report_code=CODE, sent_at=SENT, body="Terima kasih") == {
        "type": "reply", "v": 1, "report_code": CODE, "sent_at": SENT, "body": "Terima kasih",
    }


def test_an_attachment_ref_round_trips():
    assert REF.to_json() == REF_JSON
    assert AttachmentRef.from_json(REF_JSON) == REF
    assert AttachmentRef.from_json(dict(REF_JSON, size=0)).size == 0


@pytest.mark.parametrize(
    "change",
    [
        {"item_id": "ab" * 15},
        {"item_id": "AB" * 16},
        {"item_id": None},
        {"sha256": "cd" * 31},
        {"sha256": None},
        {"filename": None},
        {"filename": 7},
        {"media_type": None},
        {"media_type": b"image/jpeg"},
        {"size": -1},
        {"size": "12"},
        {"size": 1.0},
        {"size": True},
        {"size": None},
    ],
)
def test_an_attachment_ref_with_one_bad_member_is_refused(change):
    with pytest.raises(FormatError):
        AttachmentRef.from_json(dict(REF_JSON, **change))


def test_an_attachment_ref_must_be_an_object():
    with pytest.raises(FormatError):
        AttachmentRef.from_json([REF_JSON])


def good_items() -> list[dict]:
    return [
        report_plaintext(**REQUIRED, attachments=[REF], identity="x",
                         reported_persons=[{"name": "a", "position": "b", "unit": "c"}]),
        message_plaintext(report_code=CODE, sent_at=SENT, body="b", attachments=[REF]),
        reply_plaintext(report_code=CODE, sent_at=SENT, body="b"),
    ]


@pytest.mark.parametrize("item", good_items(), ids=lambda item: item["type"])
def test_good_items_pass_and_unknown_members_are_ignored(item):
    assert check_plaintext(dict(item)) == item
    assert check_plaintext(dict(item, future="ok"))["future"] == "ok"


@pytest.mark.parametrize("item", good_items(), ids=lambda item: item["type"])
@pytest.mark.parametrize(
    "change",
    [{"type": "attachment"}, {"type": None}, {"v": 2}, {"v": "1"}, {"v": None}, {"report_code": "WBS-1"},
     {"report_code": None}],
    ids=lambda change: repr(change),
)
def test_a_bad_header_member_is_refused(item, change):
    with pytest.raises(FormatError):
        check_plaintext(dict(item, **change))


@pytest.mark.parametrize(
    "name", ["submitted_at", "lang", "category", "what", "who", "where", "when", "how", "loss_estimate"]
)
def test_a_report_text_member_must_be_a_string(name):
    report = good_items()[0]
    with pytest.raises(FormatError):
        check_plaintext(dict(report, **{name: 1}))
    del report[name]
    with pytest.raises(FormatError):
        check_plaintext(report)


@pytest.mark.parametrize("name", ["incident_date", "evidence_note", "identity"])
def test_an_optional_report_member_is_a_string_when_present(name):
    report = good_items()[0]
    report.pop(name, None)
    assert check_plaintext(dict(report)) == report
    with pytest.raises(FormatError):
        check_plaintext(dict(report, **{name: None}))


@pytest.mark.parametrize(
    "persons",
    [
        None,
        {"name": "a", "position": "b", "unit": "c"},
        [["a", "b", "c"]],
        [{"name": "a", "position": "b"}],
        [{"name": "a", "position": "b", "unit": 3}],
        [{"name": "a", "position": "b", "unit": "c"}, "d"],
    ],
)
def test_reported_persons_must_be_objects_of_three_strings(persons):
    with pytest.raises(FormatError):
        check_plaintext(dict(good_items()[0], reported_persons=persons))


@pytest.mark.parametrize("kind", [0, 1], ids=["report", "message"])
def test_attachments_are_a_bounded_list_of_good_refs(kind):
    item = good_items()[kind]
    assert check_plaintext(dict(item, attachments=[REF_JSON] * 1000))
    for bad in (None, REF_JSON, [REF_JSON] * 1001, [dict(REF_JSON, size=-1)]):
        with pytest.raises(FormatError):
            check_plaintext(dict(item, attachments=bad))
    without = dict(item)
    del without["attachments"]
    with pytest.raises(FormatError):
        check_plaintext(without)


@pytest.mark.parametrize("kind", [1, 2], ids=["message", "reply"])
@pytest.mark.parametrize("name", ["sent_at", "body"])
def test_message_and_reply_text_must_be_strings(kind, name):
    with pytest.raises(FormatError):
        check_plaintext(dict(good_items()[kind], **{name: None}))


def test_a_reply_needs_no_attachments_list():
    reply = good_items()[2]
    assert check_plaintext(dict(reply, attachments="ignored"))["attachments"] == "ignored"


def test_report_codes_take_the_prefix_and_ten_drawn_symbols():
    symbols = itertools.cycle(CROCKFORD_ALPHABET)
    code = generate_report_code("KLK2", choice=lambda alphabet: next(symbols))
    assert code == "KLK2-01234-56789"
    assert generate_report_code(choice=lambda alphabet: alphabet[-1]) == "WBS-ZZZZZ-ZZZZZ"
    assert generate_report_code("A" * 12, choice=lambda alphabet: "0") == "A" * 12 + "-00000-00000"


@pytest.mark.parametrize("prefix", ["", "A" * 13, "wbs", "WB-S", "WBS\n"])
def test_a_bad_report_code_prefix_is_refused(prefix):
    with pytest.raises(ValueError):
        generate_report_code(prefix)


def test_recipients_refuse_an_unknown_kind_and_need_an_active_key():
    org = [generate_org_key().public]
    mailbox = bytes(PrivateKey.generate().public_key)
    with pytest.raises(ValueError):
        recipients_for("note", org, mailbox)
    with pytest.raises(ValueError):
        recipients_for("attachment", [], mailbox)
    assert recipients_for("attachment", org, None) == [org[0].enc_pk]
    for kind in ("report", "message", "reply"):
        with pytest.raises(ValueError):
            recipients_for(kind, org, None)


def test_recipients_take_a_public_key_object_as_bytes():
    org = [generate_org_key().public]
    mailbox = PrivateKey.generate().public_key
    assert recipients_for("reply", org, mailbox) == [bytes(mailbox), org[0].enc_pk]


def test_a_reply_signature_covers_every_member_and_replaces_an_old_one():
    key, other = generate_org_key(), generate_org_key()
    reply = reply_plaintext(report_code=CODE, sent_at=SENT, body="Terima kasih")
    signed = sign_reply(dict(reply, sig="old"), key)
    assert set(signed) == set(reply) | {"signer_key_id", "sig"}
    assert signed["signer_key_id"] == key.key_id
    assert verify_reply(signed, [other.public, key.public]) == key.public
    resigned = sign_reply(signed, other)
    assert verify_reply(resigned, [key.public, other.public]) == other.public
    with pytest.raises(SignatureError):
        verify_reply(dict(signed, extra="added"), [key.public])
    with pytest.raises(SignatureError):
        verify_reply(signed, [other.public])
    with pytest.raises(SignatureError):
        verify_reply(dict(signed, sig="not base64"), [key.public])
    with pytest.raises(SignatureError):
        verify_reply(dict(signed, sig=None), [key.public])


def test_a_sealed_item_opens_with_its_content_and_is_checked():
    key = generate_org_key()
    report = good_items()[0]
    sealed = seal_json(report, [key.public.enc_pk])
    opened = open_json(sealed, [key.private_key], report_code=CODE)
    assert opened.content == report
    assert opened.moved is False
    assert open_json(sealed, [key.private_key], report_code="WBS-00000-00000").moved is True
    with pytest.raises(FormatError):
        seal_json(dict(report, v=2), [key.public.enc_pk])


@pytest.mark.parametrize(
    ("item", "change", "prefix"),
    [
        (0, {"what": 1}, "report: what must be a string"),
        (0, {"identity": 1}, "report: identity must be a string"),
        (0, {"attachments": None}, "report: attachments must be a list"),
        (1, {"body": 1}, "message: body must be a string"),
        (1, {"attachments": None}, "message: attachments must be a list"),
        (2, {"sent_at": None}, "reply: sent_at must be a string"),
    ],
)
def test_a_refusal_names_the_kind_and_the_member(item, change, prefix):
    with pytest.raises(FormatError, match=f"^{prefix}"):
        check_plaintext(dict(good_items()[item], **change))


@pytest.mark.parametrize(("member", "bad"), [("item_id", "ab"), ("sha256", "cd")])
def test_an_attachment_refusal_names_the_member(member, bad):
    with pytest.raises(FormatError, match=f"^attachment {member}: "):
        AttachmentRef.from_json(dict(REF_JSON, **{member: bad}))


def test_an_item_that_is_not_json_is_refused_as_an_item():
    key = generate_org_key()
    with pytest.raises(FormatError, match="^item: "):
        open_json(seal_bytes(b"not json", [key.public.enc_pk]), [key.private_key], report_code=CODE)


def test_an_oversized_item_is_refused_while_it_is_opened():
    key = generate_org_key()
    sealed = seal_bytes(b" " * (MAX_ITEM_JSON_BYTES + 1), [key.public.enc_pk])
    with pytest.raises(FormatError, match=f"^the item is larger than {MAX_ITEM_JSON_BYTES} bytes"):
        open_json(sealed, [key.private_key], report_code=CODE)
