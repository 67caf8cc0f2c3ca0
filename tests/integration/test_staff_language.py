"""Every staff page speaks the chosen language: a real server with data of every
kind in it (reports, messages, online and imported replies, refused bundles,
an export, a purge, users, every action in the audit log), walked page by page
in Bahasa Indonesia and in English. And a status change asks first."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import time

import pytest

from conftest import start_server, wbs
from crypto.encoding import new_item_id, unb64
from crypto.keyring import new_keyring
from crypto.reply_bundle import ReplyEntry, build_reply_bundle
from server.config import AlertsConfig, Config
from server.staff.audit_labels import KNOWN_ACTIONS
from test_replays_and_audit import db_rows, reply_bundle, upload
from test_reporter_journey import login as reporter_login, submit
from test_staff import Staff
from wbsclient import FileField, page_text

# English a page in Indonesian must not show: words of the staff pages' old
# English, and raw keys (a stored action, a role, a status, a message key).
ENGLISH_WORDS = (
    "report", "reports", "reporter", "reply", "replies", "keyholder", "keyholders", "handler", "staff", "login",
    "logout", "log in", "log out", "export", "exported", "import", "imported", "refused", "user", "users", "password",
    "added", "disabled", "enabled", "changed", "deleted", "received", "verification", "investigation", "yes", "no",
    "none", "not", "valid", "bundle", "the", "of", "and", "is", "to", "day", "days", "month", "items", "kind", "size",
    "status change", "dashboard", "statistics", "audit log", "sorry", "found", "wrong", "json",
)
RAW_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b|\b(?:staff|error|form|case)\.[a-z_.]+\b|\(s\)")
# And the other way round: Indonesian an English page must not show.
INDONESIAN_WORDS = (
    "pengaduan", "balasan", "petugas", "pemegang kunci", "pelapor", "diimpor", "diekspor", "belum", "tidak", "berkas",
    "mengubah", "menambah", "mengimpor", "mengekspor", "masuk", "keluar", "dihapus", "diterima", "verifikasi", "ya",
    "ringkasan", "pengguna", "kata sandi", "tanggal", "jumlah", "bulan", "maaf", "menolak",
)

IMPORT_FAILURES = ("not_json", "wrong_format", "unknown_signer", "bad_signature", "item_differs", "unknown_report")


def shown_text(html: str) -> str:
    """What a person reads or hears: the text, and the labels of attributes a screen reader speaks."""
    spoken = re.findall(r'(?:aria-label|title|alt|placeholder)="([^"]*)"', html)
    return " ".join([page_text(html), *spoken])


# A setting of wbs.toml is named as the administrator writes it, in either language.
SETTINGS = {f.name for f in dataclasses.fields(Config)} | {f.name for f in dataclasses.fields(AlertsConfig)}


def foreign_words(text: str, words: tuple[str, ...]) -> list[str]:
    lowered = text.lower()
    found = [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", lowered)]
    return found + [key for key in RAW_KEY.findall(text) if key not in SETTINGS]


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """A server with every kind of thing a staff page can show, and every audit action."""
    tmp = tmp_path_factory.mktemp("busy")
    server = start_server(tmp, retention_days=30)
    try:
        reporter = server.client()
        first = submit(reporter, files=[FileField("bukti.pdf", b"%PDF " + b"x" * 3000)])
        codename, passphrase, code = (first.element_text(i) for i in ("codename", "passphrase", "report-code"))
        reporter_login(reporter, codename, passphrase)
        page = reporter.get(f"/mailbox/reports/{code}")
        assert reporter.post_multipart(f"/mailbox/reports/{code}/messages", [
            ("csrf_token", page.csrf), ("body", "Tambahan keterangan."),
        ]).status == 303
        closed = submit(server.client()).element_text("report-code")
        purged = submit(server.client()).element_text("report-code")
        leaving = server.client()
        gone = submit(leaving)
        reporter_login(leaving, gone.element_text("codename"), gone.element_text("passphrase"))
        page = leaving.get("/mailbox/delete")
        assert leaving.post("/mailbox/delete", {"csrf_token": page.csrf, "confirm": "1"}).status in (200, 303)

        admin = Staff(server, "kepala", "admin").ready()
        handler = Staff(server, "penelaah", "handler").ready()
        assert admin.login(password="bukan-sandinya-sama-sekali").status == 200
        step = int(time.time() // 30) + 1
        admin.step = step
        used = admin.totp.at(step * 30)
        assert admin.login(code=used).status == 303
        thief = Staff.__new__(Staff)
        thief.__dict__.update(admin.__dict__)
        thief.client = server.staff_client()
        assert thief.login(code=used).status == 200
        leaver = Staff(server, "tamu", "handler").ready()
        assert leaver.post("/staff/logout", {}).status == 303

        added = admin.post("/staff/users", {"action": "add", "username": "analis", "role": "handler"})
        member_id = re.search(r'name="user" value="([0-9a-f]+)"><input type="hidden" name="action" value="disable"',
                              admin.client.get("/staff/users").text).group(1)
        assert added.status == 200
        for action in ("disable", "enable", "reset"):
            assert admin.post("/staff/users", {"action": action, "user": member_id}).status == 200

        for before, status in (("received", "verification"), ("verification", "rejected")):
            assert handler.post(f"/staff/reports/{closed}/status",
                                {"status": status, "confirm_from": before}).status == 303
        assert handler.post(f"/staff/reports/{code}/status",
                            {"status": "verification", "confirm_from": "received"}).status == 303
        assert handler.post(f"/staff/reports/{code}/reply", {"body": "Mohon kirim kuitansi."}).status == 303
        with_status = reply_bundle(server, handler, code, "Sedang ditelaah.", "investigation")
        assert upload(handler, with_status).status == 200
        assert upload(handler, reply_bundle(server, handler, code, "Terima kasih.", None)).status == 200

        for before, status in (("received", "rejected"),):
            assert handler.post(f"/staff/reports/{purged}/status",
                                {"status": status, "confirm_from": before}).status == 303
        db = sqlite3.connect(server.data / "wbs.sqlite3")
        with db:
            db.execute("UPDATE reports SET updated_day = '2026-01-02' WHERE code = ?", (purged,))
        db.close()
        assert "1 case(s)" in wbs("purge", "--config", str(server.config)).stdout

        failures = import_failures(server, handler, code, with_status)
        for data in failures.values():
            assert upload(handler, data).status == 400
        yield server, admin, handler, {"open": code, "closed": closed, "purged": purged}, failures
    finally:
        server.stop()


def import_failures(server, handler, code, good: bytes) -> dict[str, bytes]:
    """A bundle for each way an import can fail that staff may meet."""
    tampered = json.loads(good)
    tampered["replies"][0]["set_status"] = "closed_proven"
    stranger = new_keyring("Lain")
    clash = json.loads(good)["replies"][0]
    other = json.loads(reply_bundle(server, handler, code, "Isi lain.", None))["replies"][0]
    other["item_id"] = clash["item_id"]
    differs = build_reply_bundle([ReplyEntry(code, other["item_id"], unb64(other["envelope"]), None)],
                                 server.keyring.newest)
    unknown = build_reply_bundle([ReplyEntry("WBS-ZZZZZ-ZZZZZ", new_item_id(), unb64(other["envelope"]), None)],
                                 server.keyring.newest)
    return {
        "not_json": b"\xff bukan json",
        "wrong_format": json.dumps({"format": "sesuatu-lain"}).encode(),
        "unknown_signer": build_reply_bundle([ReplyEntry(code, new_item_id(), unb64(other["envelope"]), None)],
                                             stranger.newest),
        "bad_signature": json.dumps(tampered).encode(),
        "item_differs": differs,
        "unknown_report": unknown,
    }


def walk(busy, lang: str) -> list[tuple[str, int, str]]:
    """Every staff page, and the answers to forms that went wrong, in ``lang``."""
    server, admin, handler, codes, failures = busy
    pages = []

    def get(member: Staff, path: str, expected: int = 200) -> None:
        response = member.client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert response.status == expected, (path, response.status)
        pages.append((path, response.status, response.text))

    def post(member: Staff, path: str, fields: dict[str, str], expected: int) -> None:
        response = member.post(path, fields)
        assert response.status == expected, (path, fields, response.status)
        pages.append((f"POST {path} {sorted(fields)}", response.status, response.text))

    stranger = server.staff_client()
    login = stranger.get(f"/staff/login?lang={lang}")
    pages.append(("/staff/login", login.status, login.text))
    failed = stranger.post("/staff/login", {"csrf_token": login.csrf, "username": "tak-dikenal", "password": "salah-salah",
                                            "totp": "000000"})
    pages.append(("login failed", failed.status, failed.text))
    for member in (admin, handler):
        get(member, "/staff")
        get(member, "/staff/reports")
        get(member, "/staff/reports?status=investigation")
        for code in codes.values():
            get(member, f"/staff/reports/{code}")
        get(member, "/staff/import")
        get(member, "/staff/stats")
        get(member, "/staff/password")
        get(member, "/staff/tidak-ada", 404)
    get(admin, "/staff/users")
    get(admin, "/staff/audit")
    get(handler, "/staff/audit", 403)
    post(handler, f"/staff/reports/{codes['open']}/status", {"status": "referred"}, 200)
    post(handler, f"/staff/reports/{codes['open']}/status", {"status": "received"}, 400)
    post(handler, f"/staff/reports/{codes['open']}/status", {"status": "referred", "confirm_from": "received"}, 400)
    post(handler, f"/staff/reports/{codes['open']}/reply", {"body": " "}, 400)
    post(handler, "/staff/password", {"old": "salah-sekali", "new": "x" * 12, "confirm": "x" * 12}, 400)
    post(admin, "/staff/users", {"action": "add", "username": "analis", "role": "handler"}, 400)
    post(admin, "/staff/users", {"action": "add", "username": "baru" + lang, "role": "handler"}, 200)
    bad_token = handler.client.post("/staff/password", {"csrf_token": "basi", "old": "a", "new": "b", "confirm": "b"})
    pages.append(("csrf", bad_token.status, bad_token.text))
    for kind, data in failures.items():
        response = upload(handler, data, lang=lang)
        assert response.status == 400, kind
        pages.append((f"import {kind}", response.status, response.text))
    return pages


def test_every_audit_action_is_in_the_busy_server(busy):
    server = busy[0]
    actions = {a for (a,) in db_rows(server, "SELECT DISTINCT action FROM audit")}
    assert actions == KNOWN_ACTIONS


def test_every_staff_page_in_indonesian_has_no_english(busy):
    pages = walk(busy, "id")
    assert len(pages) >= 39
    problems = {name: found for name, _, html in pages if (found := foreign_words(shown_text(html), ENGLISH_WORDS))}
    assert problems == {}
    texts = {name: shown_text(html) for name, _, html in pages}
    code = busy[3]["open"]
    report = texts[f"/staff/reports/{code}"]
    for shown in ("Pengaduan (pelapor)", "Lampiran (pelapor)", "Pesan (pelapor)", "Balasan (petugas, daring)",
                  "Balasan (pemegang kunci)", "Dari pemegang kunci, diimpor"):
        assert shown in report, shown
    assert "3.0" not in report and re.search(r"\d\.\d{3} B", report), "thousands are grouped with a dot"
    stats = texts["/staff/stats"]
    assert re.search(r"\d+,\d / \d+,\d", stats) and not re.search(r"\d\.\d", stats)
    assert "petugas" in texts["/staff/users"]


def test_every_staff_page_in_english_has_no_indonesian(busy):
    pages = walk(busy, "en")
    problems = {name: found for name, _, html in pages
                if (found := [w for w in foreign_words(shown_text(html), INDONESIAN_WORDS)
                              if w not in ("kepala", "penelaah")])}
    assert problems == {}
    texts = {name: shown_text(html) for name, _, html in pages}
    assert "Reply (keyholder)" in texts[f"/staff/reports/{busy[3]['open']}"]
    assert re.search(r"\d+\.\d / \d+\.\d", texts["/staff/stats"])
    assert "handler" in texts["/staff/users"]


def test_each_import_failure_reads_in_one_language(busy):
    server, _, handler, _, failures = busy
    for kind in failures:
        indonesian = page_text(upload(handler, failures[kind], lang="id").text)
        english = page_text(upload(handler, failures[kind], lang="en").text)
        said_id = indonesian.split("Berkas balasan ditolak.", 1)[1].split("Berkas balasan (.wbsr)")[0]
        said_en = english.split("The reply bundle was refused.", 1)[1].split("Reply bundle (.wbsr)")[0]
        assert not foreign_words(said_id, ENGLISH_WORDS), (kind, said_id)
        assert not foreign_words(said_en, INDONESIAN_WORDS), (kind, said_en)
        assert len(said_id.split()) >= 5 and len(said_en.split()) >= 5, kind
    refusals = {d for (d,) in db_rows(server, "SELECT DISTINCT detail FROM audit WHERE action = 'import_refused'")}
    assert {"staff.err.bundle.not_json", "staff.err.bundle.wrong_format", "staff.err.bundle.unknown_signer",
            "staff.err.bundle.bad_signature", "staff.err.item_differs", "staff.err.unknown_report"} <= refusals


def test_a_status_change_waits_for_its_confirmation(tmp_path):
    server = start_server(tmp_path)
    try:
        code = submit(server.client()).element_text("report-code")
        handler = Staff(server, "penelaah", "handler").ready()

        def state():
            return (db_rows(server, "SELECT status FROM reports WHERE code = ?", (code,)),
                    db_rows(server, "SELECT COUNT(*) FROM status_history WHERE report_code = ?", (code,)),
                    db_rows(server, "SELECT COUNT(*) FROM audit WHERE action = 'status'"))

        before = state()
        asked = handler.post(f"/staff/reports/{code}/status", {"status": "verification"})
        assert asked.status == 200 and state() == before
        question = page_text(asked.text)
        assert "dari \u201cDiterima\u201d menjadi \u201cVerifikasi\u201d" in question and "Belum ada yang diubah" in question
        form = re.search(r'<section[^>]*id="confirm-status".*?</section>', asked.text, re.S).group(0)
        fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
        assert fields.keys() == {"csrf_token", "status", "confirm_from"}
        assert fields["status"] == "verification" and fields["confirm_from"] == "received"
        assert 'action="/staff/reports/' + code + '/status"' not in asked.text.replace(form, "")

        # A stale confirmation (the case moved on meanwhile) changes nothing either, and says so.
        stale = handler.post(f"/staff/reports/{code}/status", {"status": "rejected", "confirm_from": "verification"})
        assert stale.status == 400 and state() == before and "sudah berubah" in page_text(stale.text)

        done = handler.client.post(f"/staff/reports/{code}/status", fields)
        assert done.status == 303 and done.headers["Location"] == f"/staff/reports/{code}?done=1"
        status, history, audited = state()
        assert status == [("verification",)] and history[0][0] == before[1][0][0] + 1
        assert audited[0][0] == before[2][0][0] + 1
        assert db_rows(server, "SELECT actor, report_code, detail FROM audit WHERE action = 'status'") == [
            ("penelaah", code, "verification")]
        again = handler.client.post(f"/staff/reports/{code}/status", fields)
        assert again.status == 400 and state()[2] == audited, "a confirmation counts once"
    finally:
        server.stop()
