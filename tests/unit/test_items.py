import pytest
from nacl.public import PrivateKey

from crypto.envelope import envelope_key_ids
from crypto.encoding import key_id_hex
from crypto.errors import DecryptionError, FormatError, SignatureError
from crypto.items import (
    AttachmentRef,
    check_report_code,
    generate_report_code,
    message_plaintext,
    open_json,
    recipients_for,
    report_plaintext,
    reply_plaintext,
    seal_json,
    sign_reply,
    verify_reply,
)
from crypto.keys import generate_org_key

CODE = "WBS-7K3QF-9XW2M"


@pytest.fixture
def org():
    return [generate_org_key(), generate_org_key().retired(), generate_org_key()]


def a_report(code=CODE, **extra):
    return report_plaintext(
        report_code=code,
        submitted_at="2026-11-28T08:30:00Z",
        lang="id",
        category="pungutan_liar",
        what="Pungutan liar pada pelayanan KTP",
        who="Oknum petugas loket",
        where="Kantor kecamatan",
        when="Oktober 2026",
        how="Meminta uang tambahan",
        attachments=[AttachmentRef("ab" * 16, "kuitansi.jpg", "image/jpeg", 12345, "cd" * 32)],
        **extra,
    )


def test_report_codes():
    code = generate_report_code("KLK")
    assert check_report_code(code) == code and code.startswith("KLK-")
    for bad in ("WBS-12345-1234", "wbs-12345-12345", "WBS-1234U-12345", "-12345-12345", "WBS-12345-12345\n"):
        with pytest.raises(FormatError):
            check_report_code(bad)
    with pytest.raises(ValueError):
        generate_report_code("no space")


def test_recipients_by_kind(org):
    mailbox = bytes(PrivateKey.generate().public_key)
    pub = [k.public for k in org]
    active = [pub[0].enc_pk, pub[2].enc_pk]
    assert recipients_for("report", pub, mailbox) == active + [mailbox]
    assert recipients_for("message", pub, mailbox) == active + [mailbox]
    assert recipients_for("reply", pub, mailbox) == [mailbox] + active
    assert recipients_for("attachment", pub, mailbox) == active
    with pytest.raises(ValueError):
        recipients_for("report", pub, None)
    with pytest.raises(ValueError):
        recipients_for("report", [pub[1]], mailbox)


def test_report_seal_and_open_by_org_and_mailbox(org):
    mailbox = PrivateKey.generate()
    report = a_report(reported_persons=[{"name": "A", "position": "Kasi", "unit": "Dinas X"}], identity="")
    assert "identity" not in report and report["reported_persons"][0]["unit"] == "Dinas X"
    sealed = seal_json(report, recipients_for("report", [k.public for k in org], mailbox.public_key))
    assert key_id_hex(bytes(mailbox.public_key)) in envelope_key_ids(sealed)
    for keys in ([org[0].private_key], [mailbox]):
        opened = open_json(sealed, keys, report_code=CODE)
        assert opened.content == report and not opened.moved
    with pytest.raises(DecryptionError):
        open_json(sealed, [org[1].private_key], report_code=CODE)  # retired: not a recipient


def test_a_moved_item_is_flagged(org):
    sealed = seal_json(a_report(), [org[0].public.enc_pk])
    assert open_json(sealed, [org[0].private_key], report_code="WBS-00000-00000").moved


def test_plaintext_checks():
    with pytest.raises(FormatError):
        report_plaintext(report_code="bad", submitted_at="", lang="id", category="", what="", who="", where="", when="", how="")
    with pytest.raises(FormatError):
        AttachmentRef.from_json({"item_id": "zz", "filename": "a", "media_type": "b", "size": 1, "sha256": "00" * 32})
    msg = message_plaintext(report_code=CODE, sent_at="2026-11-28T08:30:00Z", body="Tambahan bukti")
    assert msg["attachments"] == [] and msg["type"] == "message"


def test_signed_reply(org):
    reply = reply_plaintext(report_code=CODE, sent_at="2026-11-28T08:30:00Z", body="Terima kasih")
    signed = sign_reply(reply, org[2])
    assert signed["signer_key_id"] == org[2].key_id
    assert verify_reply(signed, [k.public for k in org]).key_id == org[2].key_id
    for change in ({"body": "Laporan ditolak"}, {"signer_key_id": org[0].key_id}, {"sig": signed["sig"][:-4] + "AAA="}):
        with pytest.raises(SignatureError):
            verify_reply(dict(signed, **change), [k.public for k in org])
    with pytest.raises(SignatureError):
        verify_reply(reply, [k.public for k in org])
