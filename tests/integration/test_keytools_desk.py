"""The keyholder desk as a keyholder uses it: a real ``wbs-keytools desk`` process on loopback,
driven over HTTP, importing what a real ``wbs serve`` exported and answering through ``wbs import``."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import start_server, wbs
from desk_support import png_with_author, start_desk, unlock
from test_keytools_support import (
    PASSPHRASE, PLAIN_FIELDS, Attachment, Case, keytools, write_cheap_keyring, write_export)
from test_reporter_journey import login, submit
from wbsclient import FileField, page_text

EVIDENCE = b"%PDF-1.4 kuitansi\n" + bytes(range(256)) * 700
CODE = "WBS-AB2CD-EF3GH"


def import_file(client, path: Path):
    page = client.get("/import")
    return client.post_multipart("/import", [("csrf_token", page.csrf),
                                             ("bundle", FileField(path.name, path.read_bytes()))])


def reply(client, code: str, body: str, status: str = ""):
    page = client.get(f"/cases/{code}")
    return client.post(f"/cases/{code}/reply", {"csrf_token": page.csrf, "body": body, "status": status})


@contextmanager
def desk_with(tmp_path: Path, key: Path, ring, cases: list, *args: object):
    """A desk over an export of ``cases``, unlocked and with the export imported: (browser, desk)."""
    write_export(tmp_path / "e.zip", ring, cases)
    desk = start_desk(tmp_path, key, tmp_path / "kasus", *args)
    try:
        browser = desk.client()
        unlock(browser, PASSPHRASE)
        assert import_file(browser, tmp_path / "e.zip").status == 200
        yield browser, desk
    finally:
        desk.stop()


@pytest.fixture
def keyholder(tmp_path):
    key, pass_file, ring = write_cheap_keyring(tmp_path / "keyholder")
    return key, ring


def test_round_trip_with_a_real_server(tmp_path, keyholder):
    key, ring = keyholder
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server", keyring=ring)
    desk = start_desk(tmp_path, key, tmp_path / "kasus")
    try:
        reporter = server.client()
        done = submit(reporter, files=[FileField("kuitansi asli.pdf", EVIDENCE)],
                      extra={"identity": "Pegawai bagian umum"})
        assert done.status == 200, done.text
        codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
        export = tmp_path / "export.zip"
        wbs("export", "--out", str(export), "--all", "--config", str(server.config))

        keyholder_browser = desk.client()
        assert keyholder_browser.get("/").headers["Location"] == "/unlock"
        wrong = unlock(keyholder_browser, "bukan frasa sandinya")
        assert wrong.status == 400 and "Frasa sandi salah" in wrong.text
        assert keyholder_browser.get("/").status == 303
        assert unlock(keyholder_browser, PASSPHRASE).status == 303

        imported = import_file(keyholder_browser, export)
        assert imported.status == 200, imported.text
        assert "1 pengaduan: 2 item baru" in page_text(imported.text)

        listing = keyholder_browser.get("/")
        row = re.search(rf'<tr id="case-{code}".*?</tr>', listing.text, re.S).group(0)
        assert "Diterima / Received" in row and "2 baru" in row and "hari kerja" in listing.text

        case_page = keyholder_browser.get(f"/cases/{code}")
        assert re.search(r"<title>(.*?)</title>", case_page.text, re.S).group(1) == f"{code} · Meja kerja WBS"
        assert case_page.text.count(f'action="/cases/{code}/notes"') == case_page.text.count(f'/{code}/reply"') == 1
        text = page_text(case_page.text)
        assert "Pungutan liar" in text and "Pegawai bagian umum" in text and "kuitansi asli.pdf" in text
        assert "2 baru" not in page_text(keyholder_browser.get("/").text)  # seen now

        [href] = re.findall(r'href="(/cases/[^"]+/files/[0-9a-f]+)"', case_page.text)
        download = keyholder_browser.get(href)
        assert download.status == 200 and download.body == EVIDENCE
        assert download.headers["Content-Type"] == "application/octet-stream"
        assert re.match(r'attachment; filename="[0-9a-f]{8}-kuitansi_asli\.pdf"',
                        download.headers["Content-Disposition"])

        sent = reply(keyholder_browser, code, "Terima kasih. Laporan Anda kami verifikasi.", "verification")
        assert sent.status == 303
        assert "Terima kasih. Laporan Anda kami verifikasi." in keyholder_browser.get(f"/cases/{code}").text
        outbox = keyholder_browser.get("/replies")
        assert code in outbox.text and "Verifikasi" in outbox.text

        bundle = keyholder_browser.get("/replies/bundle")
        assert bundle.status == 200 and bundle.headers["Content-Type"] == "application/octet-stream"
        assert json.loads(bundle.body)["format"] == "wbs-replies/1"
        again = keyholder_browser.get("/replies/bundle")
        assert again.status == 200 and 'id="nothing"' in again.text  # nothing goes twice
        (tmp_path / "balasan.wbsr").write_bytes(bundle.body)
        done = wbs("import", str(tmp_path / "balasan.wbsr"), "--config", str(server.config))
        assert "1 new repl(ies)" in done.stdout and "1 status change(s)" in done.stdout

        assert login(reporter, codename, passphrase).status == 303
        mailbox = reporter.get(f"/mailbox/reports/{code}").text
        assert "Terima kasih. Laporan Anda kami verifikasi." in mailbox and "Verifikasi" in mailbox
        # The static reader is kept in step, as after the commands.
        assert "Terima kasih" in (tmp_path / "kasus" / code / "index.html").read_text()
    finally:
        desk.stop()
        server.stop()
    assert "Terima kasih" not in desk.output() and "Pungutan" not in desk.output()


def test_damaged_bundle_unknown_case_and_bad_forms(tmp_path, keyholder):
    key, ring = keyholder
    export = tmp_path / "export.zip"
    write_export(export, ring, [Case(CODE, dict(PLAIN_FIELDS), attachments=[Attachment("a.pdf", b"A" * 5000)])])
    data = bytearray(export.read_bytes())
    data[len(data) // 3] ^= 0x01
    damaged = tmp_path / "rusak.zip"
    damaged.write_bytes(bytes(data))
    desk = start_desk(tmp_path, key, tmp_path / "kasus")
    try:
        browser = desk.client()
        locked = browser.post("/import/inbox", {"csrf_token": "x", "name": "a.zip"})
        assert locked.status == 403 and "terkunci" in locked.text
        page = browser.get("/unlock")
        assert browser.post("/unlock", {"passphrase": PASSPHRASE}).status == 400  # no CSRF token
        assert browser.post("/unlock", {"csrf_token": page.csrf, "passphrase": PASSPHRASE}).status == 303

        refused = import_file(browser, damaged)
        assert refused.status == 400
        assert "damaged" in refused.text or "altered" in refused.text or "not a valid" in refused.text
        assert "nothing from this bundle was written" in refused.text
        assert not (tmp_path / "kasus" / CODE).exists()
        assert not list((tmp_path / "kasus").glob(".upload-*")) and not list((tmp_path / "kasus").glob(".staging-*"))

        for path in ("/cases/WBS-AAAAA-AAAAA", "/cases/not-a-code", "/cases/..%2F..%2Fetc", "/nowhere"):
            missing = browser.get(path)
            assert missing.status == 404 and "tidak ada" in missing.text, path

        assert import_file(browser, export).status == 200
        too_long = reply(browser, CODE, "x" * 20_001)
        assert too_long.status == 400 and "x" * 20_001 in too_long.text  # the typed text comes back
        assert reply(browser, CODE, "   ").status == 400
        assert reply(browser, CODE, "ok", "no_such_status").status == 400
        assert browser.get(f"/cases/{CODE}/files/{'0' * 32}").status == 404

        rebound = socket.create_connection(("127.0.0.1", desk.port))
        rebound.sendall(b"GET / HTTP/1.1\r\nHost: desk.example.org\r\nConnection: close\r\n\r\n")
        assert rebound.recv(100).startswith(b"HTTP/1.1 421")
        rebound.close()
    finally:
        desk.stop()


def test_inbox_and_outbox_folders(tmp_path, keyholder):
    key, ring = keyholder
    inbox, outbox = tmp_path / "masuk", tmp_path / "keluar"
    inbox.mkdir()
    outbox.mkdir()
    write_export(inbox / "ekspor-1.zip", ring, [Case(CODE, dict(PLAIN_FIELDS))])
    desk = start_desk(tmp_path, key, tmp_path / "kasus", "--inbox", inbox, "--outbox", outbox)
    try:
        browser = desk.client()
        unlock(browser, PASSPHRASE)
        page = browser.get("/import")
        assert 'value="ekspor-1.zip"' in page.text
        assert browser.post("/import/inbox", {"csrf_token": page.csrf, "name": "../ekspor-1.zip"}).status == 404
        done = browser.post("/import/inbox", {"csrf_token": page.csrf, "name": "ekspor-1.zip"})
        assert done.status == 200 and CODE in done.text
        assert reply(browser, CODE, "Mohon lengkapi bukti.", "needs_info").status == 303
        taken = browser.get("/replies/bundle")
        assert taken.status == 200 and 'id="written-to"' in taken.text
        [written] = outbox.glob("wbs-replies-*.wbsr")
        body = json.loads(written.read_bytes())
        assert [r["set_status"] for r in body["replies"]] == ["needs_info"]
        assert browser.get("/replies/bundle").text.count('id="nothing"') == 1
    finally:
        desk.stop()


def test_auto_lock_ends_access(tmp_path, keyholder):
    key, ring = keyholder
    cases = [Case(CODE, dict(PLAIN_FIELDS))]
    with desk_with(tmp_path, key, ring, cases, "--lock-after", "0.04") as (browser, _):  # 2.4 seconds
        page = browser.get(f"/cases/{CODE}")
        assert page.status == 200
        time.sleep(3.0)
        assert browser.get(f"/cases/{CODE}").headers["Location"] == "/unlock"
        late = browser.post(f"/cases/{CODE}/reply", {"csrf_token": page.csrf, "body": "terlambat"})
        assert late.status == 403
        assert unlock(browser, PASSPHRASE).status == 303 and browser.get("/").status == 200
        assert browser.post("/lock", {"csrf_token": page.csrf}).status == 303
        assert browser.get("/").headers["Location"] == "/unlock"


@pytest.mark.parametrize("addr", ["0.0.0.0:8090", "192.168.1.10:8090", "[::]:8090", "desk.example.org:8090", "8090"])
def test_refuses_addresses_other_than_loopback(tmp_path, keyholder, addr):
    key, _ = keyholder
    done = keytools("desk", "--keyring", key, "--cases", tmp_path / "kasus", "--addr", addr, timeout=30)
    assert done.returncode == 1
    assert "loopback" in done.stderr or "HOST:PORT" in done.stderr
    assert not (tmp_path / "kasus").exists()


def test_passphrase_file_unlocks_with_an_empty_field(tmp_path, keyholder):
    key, _ = keyholder
    desk = start_desk(tmp_path, key, tmp_path / "kasus", "--passphrase-file", tmp_path / "keyholder" / "pass.txt")
    try:
        browser = desk.client()
        assert unlock(browser, "").status == 303 and browser.get("/").status == 200
    finally:
        desk.stop()


def test_team_notes_stay_on_the_workstation(tmp_path, keyholder):
    key, ring = keyholder
    with desk_with(tmp_path, key, ring, [Case(CODE, dict(PLAIN_FIELDS))]) as (browser, _):
        page = browser.get(f"/cases/{CODE}")
        refused = browser.post(f"/cases/{CODE}/notes", {"csrf_token": page.csrf, "text": "\n \n"})
        assert refused.status == 400 and 'id="note-error"' in refused.text
        long_note = "catatan " * 2501
        refused = browser.post(f"/cases/{CODE}/notes", {"csrf_token": page.csrf, "text": long_note})
        assert refused.status == 400 and long_note.strip() in refused.text  # the typed text comes back
        added = browser.post(f"/cases/{CODE}/notes", {"csrf_token": page.csrf, "text": "Cek ke BPKAD minggu depan."})
        assert added.status == 303 and added.headers["Location"] == f"/cases/{CODE}#notes"
        assert "Cek ke BPKAD minggu depan." in page_text(browser.get(f"/cases/{CODE}").text)
        notes = tmp_path / "kasus" / CODE / "notes.json"
        assert notes.stat().st_mode & 0o777 == 0o600
        assert json.loads(notes.read_text())["notes"][0]["text"] == "Cek ke BPKAD minggu depan."
        assert "Cek ke BPKAD" in (tmp_path / "kasus" / CODE / "index.html").read_text()  # the static reader too
        assert reply(browser, CODE, "Terima kasih.").status == 303
        bundle = browser.get("/replies/bundle").body
        assert b"BPKAD" not in bundle and b"Terima kasih" not in bundle  # sealed, and notes never travel


def test_open_names_the_acknowledgement_deadline(tmp_path, keyholder):
    key, ring = keyholder
    waiting = Case(CODE, dict(PLAIN_FIELDS), created_day="2026-11-20")  # a Friday: 7 working days is 1 December
    answered = Case("WBS-HJ4KM-NP5QR", dict(PLAIN_FIELDS), status="verification", created_day="2026-11-20")
    write_export(tmp_path / "e.zip", ring, [waiting, answered])
    done = keytools("open", tmp_path / "e.zip", "--cases", tmp_path / "kasus", "--keyring", key,
                    "--passphrase-file", tmp_path / "keyholder" / "pass.txt")
    assert done.returncode == 0, done.stderr
    assert f"{CODE}: acknowledge by 2026-12-01 (7 working days from 2026-11-20" in done.stdout
    assert "WBS-HJ4KM-NP5QR: acknowledge" not in done.stdout
    page = (tmp_path / "kasus" / CODE / "index.html").read_text()
    assert re.search(r'id="ack-due">\s*2026-12-01', page)


def test_full_disk_gives_a_clear_page_and_leaves_nothing(tmp_path, keyholder):
    """The cases folder on a 1 MiB tmpfs: an export that cannot be stored, or cannot be opened there,
    gives a clear page and leaves nothing behind."""
    from skips import require_root

    require_root("to mount a small tmpfs")
    key, ring = keyholder
    write_export(tmp_path / "big.zip", ring, [Case(CODE, dict(PLAIN_FIELDS),
                                                    attachments=[Attachment("besar.bin", b"\x01" * 3 * 1024 * 1024)])])
    # Fits as an upload, but not twice over: the disk fills while the attachment is opened.
    write_export(tmp_path / "half.zip", ring, [Case(CODE, dict(PLAIN_FIELDS),
                                                     attachments=[Attachment("separuh.bin", b"\x02" * 600 * 1024)])])
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(small)], check=True)
    try:
        desk = start_desk(tmp_path, key, small / "kasus")
        try:
            browser = desk.client()
            unlock(browser, PASSPHRASE)
            full = import_file(browser, tmp_path / "big.zip")
            assert full.status == 400 and "make room on the disk" in full.text
            assert sorted(p.name for p in (small / "kasus").iterdir()) == [".wbs-cases"]
            full = import_file(browser, tmp_path / "half.zip")
            assert full.status == 507 and "nothing was changed halfway" in full.text
            assert sorted(p.name for p in (small / "kasus").iterdir()) == [".wbs-cases"]
            assert browser.get("/").status == 200  # the desk goes on
        finally:
            desk.stop()
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_metadata_cleaned_copy_with_mat2(tmp_path, keyholder):
    from keytools.cleaned import mat2_command
    from skips import skip_or_fail

    if mat2_command() is None:
        skip_or_fail("mat2 is missing: apt-get install mat2 (.ci/run installs it)")
    key, ring = keyholder
    photo = png_with_author(b"I Made Pelapor")
    cases = [Case(CODE, dict(PLAIN_FIELDS), attachments=[Attachment("foto.png", photo, "image/png"),
                                                         Attachment("catatan.xyz", b"bukan format yang dikenal")])]
    with desk_with(tmp_path, key, ring, cases) as (browser, _):
        page = browser.get(f"/cases/{CODE}")
        forms = dict(re.findall(r'action="(/cases/[^"]+/files/([0-9a-f]+)/clean)"', page.text))
        assert len(forms) == 2
        meta = json.loads((tmp_path / "kasus" / CODE / "case.json").read_text())
        ids = {i["filename"]: i["item_id"] for i in meta["items"] if i["kind"] == "attachment"}

        done = browser.post(f"/cases/{CODE}/files/{ids['foto.png']}/clean", {"csrf_token": page.csrf})
        assert done.status == 303
        page = browser.get(f"/cases/{CODE}")
        cleaned = browser.get(f"/cases/{CODE}/files/{ids['foto.png']}/cleaned")
        assert cleaned.status == 200 and cleaned.body.startswith(b"\x89PNG") and b"Pelapor" not in cleaned.body
        assert browser.get(f"/cases/{CODE}/files/{ids['foto.png']}").body == photo  # the original stays
        text = page_text(page.text)
        assert hashlib.sha256(cleaned.body).hexdigest() in text and hashlib.sha256(photo).hexdigest() in text
        assert f"/files/{ids['foto.png']}/clean\"" not in page.text  # made once

        refused = browser.post(f"/cases/{CODE}/files/{ids['catatan.xyz']}/clean", {"csrf_token": page.csrf})
        assert refused.status == 400 and "mat2 cannot clean this file" in refused.text
        assert browser.get(f"/cases/{CODE}/files/{ids['catatan.xyz']}/cleaned").status == 404
        assert {p.name for p in (tmp_path / "kasus" / CODE / "cleaned").iterdir()} == {
            "cleaned.json", f"{ids['foto.png'][:8]}-foto.cleaned.png"}
