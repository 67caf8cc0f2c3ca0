import json

import pytest
from nacl.public import PrivateKey

from crypto.encoding import new_item_id
from crypto.errors import FormatError, SignatureError
from crypto.items import open_json, recipients_for, reply_plaintext, seal_json, sign_reply, verify_reply
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import ReplyEntry, build_reply_bundle, check_reply_recipients, read_reply_bundle

CODE = "WBS-7K3QF-9XW2M"


@pytest.fixture
def setup():
    ring = new_keyring("Org")
    pub = parse_public_key_file(ring.public_key_file())
    mailbox = PrivateKey.generate()
    reply = sign_reply(reply_plaintext(report_code=CODE, sent_at="2026-11-28T08:30:00Z", body="Sudah kami terima"), ring.newest)
    envelope = seal_json(reply, recipients_for("reply", pub.keys, mailbox.public_key))
    entry = ReplyEntry(CODE, new_item_id(), envelope, "verification")
    return ring, pub, mailbox, entry


def test_round_trip_and_reporter_reads_it(setup):
    ring, pub, mailbox, entry = setup
    bundle = read_reply_bundle(build_reply_bundle([entry], ring.newest), pub)
    assert bundle.replies == (entry,) and bundle.signer_key_id == ring.newest.key_id
    check_reply_recipients(bundle, {CODE: bytes(mailbox.public_key)}, [k.key_id for k in pub.keys])
    opened = open_json(bundle.replies[0].envelope, [mailbox], report_code=CODE)
    verify_reply(opened.content, pub.keys)
    assert opened.content["body"] == "Sudah kami terima"


def test_tampering_and_unknown_signers(setup):
    ring, pub, mailbox, entry = setup
    obj = json.loads(build_reply_bundle([entry], ring.newest))
    obj["replies"][0]["set_status"] = "closed_unproven"
    with pytest.raises(SignatureError):
        read_reply_bundle(json.dumps(obj).encode(), pub)
    stranger = new_keyring("Other")
    with pytest.raises(SignatureError):
        read_reply_bundle(build_reply_bundle([entry], stranger.newest), pub)
    rotated = ring.rotated()
    with pytest.raises(SignatureError):  # signed by the key rotation retired
        read_reply_bundle(build_reply_bundle([entry], ring.newest), parse_public_key_file(rotated.public_key_file()))


def test_recipients_are_checked(setup):
    ring, pub, mailbox, entry = setup
    bundle = read_reply_bundle(build_reply_bundle([entry], ring.newest), pub)
    with pytest.raises(FormatError):
        check_reply_recipients(bundle, {CODE: bytes(PrivateKey.generate().public_key)}, [k.key_id for k in pub.keys])
    with pytest.raises(FormatError):
        check_reply_recipients(bundle, {CODE: bytes(mailbox.public_key)}, ["00" * 8])
    with pytest.raises(FormatError):
        check_reply_recipients(bundle, {}, [k.key_id for k in pub.keys])


def test_malformed_bundles(setup):
    ring, pub, mailbox, entry = setup
    with pytest.raises(FormatError):
        build_reply_bundle([entry, entry], ring.newest)
    with pytest.raises(ValueError):
        build_reply_bundle([], ring.newest)
    for data in (b"", b"[]", b'{"format":"wbs-replies/2"}', b"\xff"):
        with pytest.raises((FormatError, SignatureError)):
            read_reply_bundle(data, pub)
