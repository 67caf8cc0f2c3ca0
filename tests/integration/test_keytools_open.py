"""``wbs-keytools open`` on bundles written with the protocol library: merging, idempotence,
altered bundles, hostile names and markup, and what the opener flags."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from crypto.encoding import new_item_id
from crypto.envelope import seal_bytes
from crypto.export_bundle import ExportReport, write_export_bundle
from crypto.items import (
    AttachmentRef,
    message_plaintext,
    recipients_for,
    reply_plaintext,
    report_plaintext,
    seal_json,
    sign_reply,
)
from test_keytools_support import (
    PLAIN_FIELDS,
    Attachment,
    Case,
    _item,
    export_items,
    keytools,
    tree,
    write_cheap_keyring,
    write_export,
)

CODE = "WBS-AB12C-DE34F"
LATER = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def keyring(tmp_path):
    return write_cheap_keyring(tmp_path / "keyholder")


def open_bundle(bundle: Path, keyring, cases: Path):
    key, pw, _ = keyring
    return keytools("open", bundle, "--keyring", key, "--cases", cases, "--passphrase-file", pw)


def case_json(cases: Path, code: str = CODE) -> dict:
    return json.loads((cases / code / "case.json").read_text())


def entry_offset(bundle: Path, name: str) -> int:
    """Where an entry's stored bytes start in the ZIP file."""
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo(name)
    with open(bundle, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def test_open_merge_and_reopen(keyring, tmp_path):
    _, _, ring = keyring
    evidence = Attachment("kuitansi.pdf", b"%PDF-1.4 kuitansi\n" * 5000, "application/pdf")
    photo = Attachment("foto.jpg", b"\xff\xd8\xff" + b"j" * 3000, "image/jpeg")
    case = Case(CODE, dict(PLAIN_FIELDS), attachments=[evidence], messages=[("Saya tambahkan foto.", [photo])])
    first = tmp_path / "export-1.zip"
    write_export(first, ring, [case])
    cases = tmp_path / "kasus"

    done = open_bundle(first, keyring, cases)
    assert done.returncode == 0, done.stderr
    assert "4 new item(s), 0 already here" in done.stdout and done.stderr == ""
    folder = cases / CODE
    report = json.loads((folder / "report.json").read_text())
    assert report["what"] == PLAIN_FIELDS["what"] and report["report_code"] == CODE
    assert (folder / "attachments" / f"{evidence.item_id[:8]}-kuitansi.pdf").read_bytes() == evidence.data
    assert (folder / "attachments" / f"{photo.item_id[:8]}-foto.jpg").read_bytes() == photo.data
    [message] = (folder / "thread").iterdir()
    assert message.name.startswith("20261121T090000Z-message-")
    meta = case_json(cases)
    assert meta["status"] == "received" and meta["category"] == "pungli"
    assert meta["mailbox_pk"] and meta["as_of"] == "2026-11-28T08:30:00Z"
    assert all(not item["flags"] for item in meta["items"])
    for path in [cases, *cases.rglob("*")]:
        assert path.stat().st_mode & 0o077 == 0, path  # plaintext: for the keyholder's account only
    before = tree(cases)

    again = open_bundle(first, keyring, cases)
    assert again.returncode == 0 and "0 new item(s), 4 already here" in again.stdout
    assert tree(cases) == before

    # A later export carries what is new: the status moved on and the reporter wrote again.
    later = Case(CODE, dict(PLAIN_FIELDS), mailbox=case.mailbox, messages=[("Pesan baru", [])])
    second = tmp_path / "export-2.zip"
    with open(second, "wb") as dst:
        write_export_bundle(dst, [ExportReport(CODE, "verification", "2026-11-20",
                                               [("received", "2026-11-20"), ("verification", "2026-12-01")],
                                               bytes(case.mailbox.public_key),
                                               [i for i in export_items(later, ring) if i.kind == "message"])],
                            org_key_ids=[k.key_id for k in ring.active], now=LATER)
    done = open_bundle(second, keyring, cases)
    assert done.returncode == 0 and "1 new item(s), 0 already here" in done.stdout
    meta = case_json(cases)
    assert meta["status"] == "verification" and meta["as_of"] == "2026-12-05T02:00:00Z"
    assert len(list((folder / "thread").iterdir())) == 2
    assert {k: v for k, v in tree(cases).items() if k in before and not k.endswith("case.json")} == \
        {k: v for k, v in before.items() if not k.endswith("case.json")}

    # The older export again: nothing new, and the status does not go back.
    done = open_bundle(first, keyring, cases)
    assert done.returncode == 0 and case_json(cases)["status"] == "verification"
    page = (folder / "index.html").read_text()
    assert "Verifikasi / Verification" in page and "Pesan baru" in page and "Saya tambahkan foto." in page


@pytest.mark.parametrize("where", ["attachment", "report"])
def test_altered_bundle_leaves_no_plaintext(keyring, tmp_path, where):
    _, _, ring = keyring
    marker = b"RAHASIA-PENANDA-" * 20000  # 320 KB: several chunks open before the altered one
    old = Case("WBS-AAAAA-BBBBB", dict(PLAIN_FIELDS, what="kasus lama"))
    write_export(tmp_path / "old.zip", ring, [old])
    cases = tmp_path / "kasus"
    assert open_bundle(tmp_path / "old.zip", keyring, cases).returncode == 0
    before = {k: v for k, v in tree(cases).items()}

    att = Attachment("bukti.bin", marker)
    case = Case(CODE, dict(PLAIN_FIELDS, what="RAHASIA-PENANDA di laporan"), attachments=[att])
    bundle = tmp_path / "export.zip"
    write_export(bundle, ring, [case])
    item_id = att.item_id if where == "attachment" else case.report_id
    offset = entry_offset(bundle, f"items/{item_id}.wbse") + (200_000 if where == "attachment" else 400)
    data = bytearray(bundle.read_bytes())
    data[offset] ^= 0x01
    bundle.write_bytes(bytes(data))

    done = open_bundle(bundle, keyring, cases)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == \
        f"wbs-keytools: error: the bundle is damaged or was altered: item {item_id} is damaged"
    assert done.stderr.splitlines()[1].startswith("hint: nothing from this bundle was written")
    assert not (cases / CODE).exists()
    assert not list(cases.glob(".staging-*"))
    assert tree(cases) == before
    for path in cases.rglob("*"):
        assert not path.is_file() or b"RAHASIA-PENANDA" not in path.read_bytes(), path


def test_not_a_bundle_and_wrong_passphrase(keyring, tmp_path):
    key, _, ring = keyring
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04 not really")
    done = open_bundle(tmp_path / "junk.zip", keyring, tmp_path / "kasus")
    assert done.returncode == 1 and done.stderr.startswith("wbs-keytools: error: ") and "not a valid export" in done.stderr

    write_export(tmp_path / "export.zip", ring, [Case(CODE, dict(PLAIN_FIELDS))])
    (tmp_path / "wrong.txt").write_text("bukan frasa ini\n")
    done = keytools("open", tmp_path / "export.zip", "--keyring", key, "--cases", tmp_path / "lain",
                    "--passphrase-file", tmp_path / "wrong.txt")
    assert done.returncode == 1
    assert done.stderr == "wbs-keytools: error: wrong passphrase, or the keyring file is damaged\n"
    assert not (tmp_path / "lain").exists()

    # A folder that is not a cases folder is never written into.
    (tmp_path / "rumah").mkdir()
    (tmp_path / "rumah" / "catatan.txt").write_text("milik orang lain")
    done = open_bundle(tmp_path / "export.zip", keyring, tmp_path / "rumah")
    assert done.returncode == 1 and "is not a cases folder" in done.stderr
    assert [p.name for p in (tmp_path / "rumah").iterdir()] == ["catatan.txt"]

    # A bundle sealed to another organisation's keys.
    stranger = write_cheap_keyring(tmp_path / "stranger")
    done = open_bundle(tmp_path / "export.zip", stranger, tmp_path / "kasus2")
    assert done.returncode == 1 and "does not open with this keyring" in done.stderr
    assert not (tmp_path / "kasus2" / CODE).exists()


XSS = ['<script>alert("wbs")</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(2)", "</textarea><svg onload=alert(3)>"]
HOSTILE_NAMES = ["../../../../etc/passwd", "/etc/shadow", "..\\..\\boot.ini", "bukti\x00.pdf", "\x1b]0;judul\x07.txt",
                 "A" * 500 + ".pdf", "CON", "con.txt", ".bashrc", "..", "bukti.pdf", "bukti.pdf",
                 '"><img src=x onerror=alert(1)>.png', "laporan.html"]


def hostile_fields(n: int = 0) -> dict:
    x = XSS[n % len(XSS)]
    return {
        "category": x, "what": f"apa {x}", "who": f"siapa {x}", "where": f"di mana {x}", "when": f"kapan {x}",
        "how": f"bagaimana {x}", "loss_estimate": f"rugi {x}", "incident_date": f"tanggal {x}",
        "evidence_note": f"bukti {x}", "identity": f"identitas {x}",
        "reported_persons": [{"name": f"nama {x}", "position": f"jabatan {x}", "unit": f"unit {x}"}],
    }


def test_hostile_names_and_markup(keyring, tmp_path):
    _, _, ring = keyring
    atts = [Attachment(name, f"isi {i}".encode()) for i, name in enumerate(HOSTILE_NAMES)]
    case = Case(CODE, hostile_fields(0), attachments=atts, messages=[(f"pesan {XSS[1]}", [])])
    moved = Case("WBS-CCCCC-DDDDD", hostile_fields(2), inner_code="WBS-EEEEE-FFFFF")
    org = [k.public for k in ring.keys]
    mailbox = bytes(case.mailbox.public_key)
    signed = sign_reply(reply_plaintext(report_code=CODE, sent_at="2026-11-26T10:00:00Z", body=f"resmi {XSS[3]}"),
                        ring.newest)
    forged = dict(signed, body="diubah setelah ditandatangani")
    online = reply_plaintext(report_code=CODE, sent_at="2026-11-27T10:00:00Z", body="ditulis petugas daring")
    stray = message_plaintext(report_code=CODE, sent_at="2026-11-27T11:00:00Z", body="tanpa kotak surat")
    extra = [
        _item(new_item_id(), "reply", None, "2026-11-26", seal_json(signed, recipients_for("reply", org, mailbox))),
        _item(new_item_id(), "reply", None, "2026-11-26", seal_json(forged, recipients_for("reply", org, mailbox))),
        _item(new_item_id(), "reply", None, "2026-11-27", seal_json(online, recipients_for("reply", org, mailbox))),
        _item(new_item_id(), "message", None, "2026-11-27", seal_json(stray, recipients_for("attachment", org, None))),
    ]
    bundle = tmp_path / "export.zip"
    write_export(bundle, ring, [case, moved], extra={CODE: extra})
    cases = tmp_path / "kasus"
    done = open_bundle(bundle, keyring, cases)
    assert done.returncode == 0, done.stderr

    # Every attachment is inside its folder, under a safe name, with its own bytes.
    folder = (cases / CODE / "attachments").resolve()
    meta = case_json(cases)
    records = {i["item_id"]: i for i in meta["items"]}
    names = set()
    for att in atts:
        record = records[att.item_id]
        path = (cases / CODE / record["file"]).resolve()
        assert path.parent == folder and path.read_bytes() == att.data
        assert record["filename"] == att.filename and path.name.startswith(att.item_id[:8])
        assert len(path.name.encode()) <= 160 and "\x00" not in path.name
        names.add(path.name)
    assert len(names) == len(atts)
    assert {p.resolve() for p in folder.iterdir()} == {(cases / CODE / records[a.item_id]["file"]).resolve() for a in atts}
    assert not [p for p in cases.rglob("*") if p.name in ("passwd", "shadow", "boot.ini", ".bashrc")]

    flags = {code for r in meta["items"] for code in (f["code"] for f in r["flags"])}
    assert {"signed", "bad_signature", "unsigned", "not_to_mailbox", "neutralised"} <= flags
    moved_meta = case_json(cases, "WBS-CCCCC-DDDDD")
    assert moved_meta["items"][0]["flags"] == [{"code": "moved", "detail": "WBS-EEEEE-FFFFF"}]
    assert "WBS-CCCCC-DDDDD: item" in done.stderr and "wbs-keytools: warning:" in done.stderr

    # Every value reaches the pages as text.
    pages = [cases / "index.html", cases / "stats.html", cases / CODE / "index.html", cases / "WBS-CCCCC-DDDDD" / "index.html"]
    for page in pages:
        html = page.read_text()
        assert "<script" not in html and "<img" not in html and "<svg" not in html, page
        assert not re.search(r"<[^>]*\son\w+\s*=", html), page  # no event handler attribute anywhere
        assert "http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;" in html
    case_page = (cases / CODE / "index.html").read_text()
    style = case_page.split("<style>")[1].split("</style>")[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src &#39;sha256-{digest}&#39;" in case_page  # the one stylesheet the CSP lets in
    assert case_page.count("<style") == 1 and " style=" not in case_page
    assert "&lt;script&gt;alert(&#34;wbs&#34;)&lt;/script&gt;" in case_page
    for field in ("apa", "siapa", "di mana", "kapan", "bagaimana", "rugi", "tanggal", "bukti", "identitas",
                  "nama", "jabatan", "unit"):
        assert f"{field} &lt;script&gt;" in case_page, field
    assert "pesan &#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in case_page
    assert "resmi &lt;/textarea&gt;&lt;svg onload=alert(3)&gt;" in case_page
    for att in atts:
        record = records[att.item_id]
        href = record["file"].replace(" ", "%20")
        assert f'<a href="{href}" download' in case_page
    moved_page = (cases / "WBS-CCCCC-DDDDD" / "index.html").read_text()
    assert "&#39; onmouseover=&#39;alert(2)" in moved_page and "WBS-EEEEE-FFFFF" in moved_page
    assert " download" not in moved_page  # it has no attachments, so no link to one

    stats = keytools("stats", "--cases", cases)
    assert stats.returncode == 0 and "category,tidak_dikenal,2" in stats.stdout and "<" not in stats.stdout


def test_stats_to_file_and_page(keyring, tmp_path):
    _, _, ring = keyring
    cases_in = [Case(f"WBS-AAAAA-AAAA{c}", dict(PLAIN_FIELDS, category=cat), status=status)
                for c, cat, status in (("A", "pungli", "received"), ("B", "pengadaan", "investigation"),
                                       ("C", "pungli", "investigation"))]
    write_export(tmp_path / "e.zip", ring, cases_in)
    cases = tmp_path / "kasus"
    assert open_bundle(tmp_path / "e.zip", keyring, cases).returncode == 0
    done = keytools("stats", "--cases", cases, "--out", tmp_path / "stats.csv")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "stats.csv").read_text()
    assert text.splitlines()[:2] == ["section,key,value", "total,reports,3"]
    assert "category,pungli,2" in text and "status,investigation,2" in text and "month,2026-11,3" in text
    page = (cases / "stats.html").read_text()
    assert 'id="total">3<' in page and "Pungutan liar / Illegal levies" in page
    assert keytools("stats", "--cases", tmp_path / "tidak-ada").returncode == 1


def rebuild_bundle(src: Path, dst: Path, *, replace: dict[str, bytes] | None = None,
                   add: list[tuple[dict, bytes]] | None = None) -> None:
    """``src`` written again as ``dst``: items' bytes replaced (the manifest made to agree with them),
    and new items added to the first report."""
    with zipfile.ZipFile(src) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        blobs = {i["item_id"]: archive.read(i["path"]) for r in manifest["reports"] for i in r["items"]}
    for item_id, data in (replace or {}).items():
        blobs[item_id] = data
    for entry, data in add or []:
        manifest["reports"][0]["items"].append(entry)
        blobs[entry["item_id"]] = data
    for report in manifest["reports"]:
        for item in report["items"]:
            data = blobs[item["item_id"]]
            item["size"], item["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as archive:
        for report in manifest["reports"]:
            for item in report["items"]:
                archive.writestr(item["path"], blobs[item["item_id"]])
        archive.writestr("manifest.json", json.dumps(manifest))


@pytest.mark.parametrize("kind", ["report", "message", "attachment"])
@pytest.mark.parametrize("how", ["damaged", "altered"])
@pytest.mark.parametrize("with_new", [False, True], ids=["same_items", "and_a_new_one"])
def test_reopen_checks_the_items_already_here(keyring, tmp_path, kind, how, with_new):
    """An item already in the case is still read from the bundle and opened: damage to it fails the whole bundle."""
    _, _, ring = keyring
    att = Attachment("bukti.pdf", b"%PDF-1.4 bukti\n" * 20000)  # 300 KB: several chunks
    case = Case(CODE, dict(PLAIN_FIELDS), attachments=[att], messages=[("Pesan pertama", [])])
    first = tmp_path / "export-1.zip"
    manifest = write_export(first, ring, [case])
    cases = tmp_path / "kasus"
    assert "3 new item(s), 0 already here" in open_bundle(first, keyring, cases).stdout

    # The same export again, or the next one with a new message; one of the three items is hurt.
    org = [k.public for k in ring.keys]
    new_id = new_item_id()
    new_message = seal_json(message_plaintext(report_code=CODE, sent_at="2026-11-29T09:00:00Z", body="Pesan baru"),
                            recipients_for("message", org, bytes(case.mailbox.public_key)))
    entry = {"item_id": new_id, "kind": "message", "parent_id": None, "created_day": "2026-11-29",
             "path": f"items/{new_id}.wbse"}
    added = [(entry, new_message)] if with_new else []
    second = tmp_path / "export-2.zip"
    [hurt] = [i for i in manifest["reports"][0]["items"] if i["kind"] == kind]
    with zipfile.ZipFile(first) as archive:
        original = archive.read(hurt["path"])
    inside = len(original) // 2
    if how == "damaged":  # the bytes no longer match the manifest (nor the ZIP's CRC-32)
        rebuild_bundle(first, second, add=added)
        data = bytearray(second.read_bytes())
        data[entry_offset(second, hurt["path"]) + inside] ^= 0x01
        second.write_bytes(bytes(data))
        message = f"the bundle is damaged or was altered: item {hurt['item_id']} is damaged"
    else:  # altered with care: the manifest and the CRC-32 agree with the changed envelope
        altered = bytearray(original)
        altered[inside] ^= 0x01
        rebuild_bundle(first, second, replace={hurt["item_id"]: bytes(altered)}, add=added)
        message = (f"item {hurt['item_id']} of {CODE} does not open with this keyring: "
                   "it was altered, or sealed to other keys")
    before = tree(cases)

    done = open_bundle(second, keyring, cases)
    assert done.returncode == 1, done.stdout
    lines = done.stderr.splitlines()
    assert lines[0] == f"wbs-keytools: error: {message}"
    assert lines[1].startswith("hint: nothing from this bundle was written")
    assert tree(cases) == before  # not even the new message
    assert not list(cases.glob(".staging-*"))

    # The same export, unhurt, opens.
    rebuild_bundle(first, second, add=added)
    done = open_bundle(second, keyring, cases)
    assert done.returncode == 0 and f"{len(added)} new item(s), 3 already here" in done.stdout, done.stderr


@pytest.mark.parametrize("listed", ["as_sent", "size_plus_1", "size_minus_1", "other_sha256", "other_parent"])
def test_attachment_checked_against_what_its_report_lists(keyring, tmp_path, listed):
    """The opened bytes of an attachment are compared with the size and sha256 its report lists."""
    _, _, ring = keyring
    data = b"%PDF-1.4 kuitansi asli\n" * 3000
    sha = hashlib.sha256(data).hexdigest()
    report_id, att_id = new_item_id(), new_item_id()
    size = len(data) + {"size_plus_1": 1, "size_minus_1": -1}.get(listed, 0)
    if listed == "other_sha256":
        sha = hashlib.sha256(data[:-1] + b"?").hexdigest()
    ref = AttachmentRef(att_id, "kuitansi.pdf", "application/pdf", size, sha)
    mailbox = PrivateKey.generate()
    org = [k.public for k in ring.keys]
    report = report_plaintext(report_code=CODE, submitted_at="2026-11-20T01:02:03Z", lang="id", attachments=[ref],
                              **PLAIN_FIELDS)
    parent = new_item_id() if listed == "other_parent" else report_id
    items = [_item(report_id, "report", None, "2026-11-20",
                   seal_json(report, recipients_for("report", org, bytes(mailbox.public_key)))),
             _item(att_id, "attachment", parent, "2026-11-20", seal_bytes(data, recipients_for("attachment", org, None)))]
    bundle = tmp_path / "export.zip"
    with open(bundle, "wb") as dst:
        write_export_bundle(dst, [ExportReport(CODE, "received", "2026-11-20", [("received", "2026-11-20")],
                                               bytes(mailbox.public_key), items)],
                            org_key_ids=[k.key_id for k in ring.active], now=LATER)
    cases = tmp_path / "kasus"

    done = open_bundle(bundle, keyring, cases)
    assert done.returncode == 0, done.stderr
    record = {i["item_id"]: i for i in case_json(cases)["items"]}[att_id]
    assert (record["size"], record["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())  # what was opened
    assert (cases / CODE / record["file"]).read_bytes() == data
    flagged = {"code": "attachment_differs", "detail": ""} in record["flags"]
    warned = f"{CODE}: item {att_id[:8]}: " in done.stderr
    assert flagged is warned is (listed != "as_sent"), (record["flags"], done.stderr)
