"""``wbs-keytools reply``: aligned --report/--message-file/--status groups, a signed bundle the
server accepts, replies the reporter's mailbox key opens, and the local thread."""

from __future__ import annotations

import io
import json

import pytest

from crypto.export_bundle import ExportItem, ExportReport, write_export_bundle
from crypto.items import open_json, verify_reply
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import check_reply_recipients, read_reply_bundle
from test_keytools_support import PLAIN_FIELDS, Case, keytools, write_cheap_keyring, write_export

A, B = "WBS-AB12C-DE34F", "WBS-GH56J-KM78N"


@pytest.fixture
def opened(tmp_path):
    key, pw, ring = write_cheap_keyring(tmp_path / "keyholder")
    cases_in = [Case(A, dict(PLAIN_FIELDS)), Case(B, dict(PLAIN_FIELDS, category="pengadaan"))]
    write_export(tmp_path / "export.zip", ring, cases_in)
    done = keytools("open", tmp_path / "export.zip", "--keyring", key, "--cases", tmp_path / "kasus",
                    "--passphrase-file", pw)
    assert done.returncode == 0, done.stderr
    (tmp_path / "a.txt").write_text("Terima kasih.\r\nLaporan Anda sedang kami verifikasi.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\ufeffMohon kirim salinan kontrak pengadaan.\n", encoding="utf-8")
    return tmp_path, key, pw, ring, {c.code: c for c in cases_in}


def reply(tmp_path, key, pw, *args):
    return keytools("reply", "--keyring", key, "--cases", tmp_path / "kasus", "--passphrase-file", pw, *args)


def test_two_replies_in_one_signed_bundle(opened):
    tmp_path, key, pw, ring, cases_in = opened
    out = tmp_path / "replies-2026-11-28.wbsr"
    done = reply(tmp_path, key, pw, "--report", A, "--message-file", tmp_path / "a.txt", "--status", "verification",
                 "--status", f"{B}=needs_info", "--report", B, "--message-file", tmp_path / "b.txt", "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"to {A}, status -> verification" in done.stdout and f"to {B}, status -> needs_info" in done.stdout

    data = out.read_bytes()
    bundle = read_reply_bundle(data, parse_public_key_file(ring.public_key_file()))
    assert bundle.signer_key_id == ring.newest.key_id
    assert [(r.report_code, r.set_status) for r in bundle.replies] == [(A, "verification"), (B, "needs_info")]
    mailbox = {code: bytes(c.mailbox.public_key) for code, c in cases_in.items()}
    check_reply_recipients(bundle, mailbox, [k.key_id for k in ring.keys])
    bodies = {A: "Terima kasih.\nLaporan Anda sedang kami verifikasi.", B: "Mohon kirim salinan kontrak pengadaan."}
    for entry in bundle.replies:
        content = open_json(entry.envelope, [cases_in[entry.report_code].mailbox], report_code=entry.report_code).content
        assert content["body"] == bodies[entry.report_code]
        assert verify_reply(content, [k.public for k in ring.keys]).key_id == ring.newest.key_id
        # the keyholders can read their own replies too
        assert open_json(entry.envelope, ring.private_keys, report_code=entry.report_code).content == content

    meta = json.loads((tmp_path / "kasus" / A / "case.json").read_text())
    [local] = [i for i in meta["items"] if i["kind"] == "reply"]
    assert local["source"] == "local" and local["set_status"] == "verification"
    assert json.loads((tmp_path / "kasus" / A / local["file"]).read_text())["body"] == bodies[A]
    page = (tmp_path / "kasus" / A / "index.html").read_text()
    assert 'id="pending"' in page and "Laporan Anda sedang kami verifikasi." in page

    # The server stores the reply and a later export carries it back: no second copy, no longer pending.
    entry = bundle.replies[0]
    item = ExportItem(entry.item_id, "reply", None, local["created_day"], lambda: io.BytesIO(entry.envelope))
    with open(tmp_path / "export-2.zip", "wb") as dst:
        write_export_bundle(dst, [ExportReport(A, "verification", "2026-11-20",
                                               [("received", "2026-11-20"), ("verification", "2026-11-28")],
                                               mailbox[A], [item])],
                            org_key_ids=[k.key_id for k in ring.active])
    done = keytools("open", tmp_path / "export-2.zip", "--keyring", key, "--cases", tmp_path / "kasus",
                    "--passphrase-file", pw)
    assert done.returncode == 0 and "0 new item(s), 1 already here" in done.stdout
    meta = json.loads((tmp_path / "kasus" / A / "case.json").read_text())
    [again] = [i for i in meta["items"] if i["kind"] == "reply"]
    assert again["source"] == "export" and again["item_id"] == local["item_id"] and not any(
        f["code"] == "conflict" for f in again["flags"])
    assert len(list((tmp_path / "kasus" / A / "thread").iterdir())) == 1
    assert 'id="pending"' not in (tmp_path / "kasus" / A / "index.html").read_text()


@pytest.mark.parametrize("args, message", [
    (["--report", A, "--message-file", "a.txt", "--status", "selesai"], "unknown status 'selesai'"),
    (["--report", A, "--message-file", "a.txt", "--status", f"{B}=verification"], f"there is no --report {B}"),
    (["--report", A, "--report", B, "--message-file", "b.txt"], f"--report {A} has no --message-file"),
    (["--message-file", "a.txt", "--report", A], "must come after the --report"),
    (["--report", A, "--message-file", "a.txt", "--message-file", "b.txt"], "has --message-file twice"),
    (["--report", "WBS-ZZZZZ-ZZZZZ", "--message-file", "a.txt"], "there is no case WBS-ZZZZZ-ZZZZZ"),
    (["--report", A, "--message-file", "kosong.txt"], "is empty"),
    (["--report", A, "--message-file", "tidak-ada.txt"], "does not exist"),
])
def test_reply_mistakes_write_nothing(opened, args, message):
    tmp_path, key, pw, _, _ = opened
    (tmp_path / "kosong.txt").write_text(" \n")
    before = (tmp_path / "kasus" / A / "case.json").read_bytes()
    args = [str(tmp_path / a) if a.endswith(".txt") else a for a in args]
    done = reply(tmp_path, key, pw, *args, "--out", tmp_path / "r.wbsr")
    assert done.returncode == 1, done.stdout
    assert message in done.stderr and "wbs-keytools: error: " in done.stderr
    assert not (tmp_path / "r.wbsr").exists()
    assert (tmp_path / "kasus" / A / "case.json").read_bytes() == before


def test_reply_help_explains_the_groups():
    done = keytools("reply", "--help")
    assert done.returncode == 0
    assert "Each --report starts one reply" in done.stdout and "CODE=STATUS" in done.stdout
    assert "closed_unproven" in done.stdout


def test_existing_out_file_is_kept(opened):
    tmp_path, key, pw, _, _ = opened
    (tmp_path / "r.wbsr").write_text("lama")
    done = reply(tmp_path, key, pw, "--report", A, "--message-file", tmp_path / "a.txt", "--out", tmp_path / "r.wbsr")
    assert done.returncode == 1 and "already exists" in done.stderr
    assert (tmp_path / "r.wbsr").read_text() == "lama"
    assert not [i for i in json.loads((tmp_path / "kasus" / A / "case.json").read_text())["items"] if i["kind"] == "reply"]
