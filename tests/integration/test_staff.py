"""The staff workspace against a real server: TOTP logins, workflow, export,
reply bundles, audit, roles — and never a byte of content on a staff page."""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from conftest import wbs
from crypto.encoding import new_item_id
from crypto.export_bundle import ExportBundle
from crypto.items import open_json, recipients_for, reply_plaintext, seal_json, sign_reply
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import ReplyEntry, build_reply_bundle
from test_reporter_journey import REPORT, login as reporter_login, submit
from wbsclient import FileField


class Staff:
    def __init__(self, server, name, role, *, tenant=None, client=None):
        """``tenant``: add the member to this tenant (``--tenant``) and log in through ``client``."""
        where = ["--tenant", tenant] if tenant else []
        out = wbs("staff", "add", name, "--role", role, *where, "--config", str(server.config)).stdout
        self.name = name
        self.password = re.search(r"one-time password: (\S+)", out).group(1)
        uri = re.search(r"(otpauth://\S+)", out).group(1)
        self.totp = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])
        self.step = int(time.time() // 30) - 1
        self.client = client or server.staff_client()

    def code(self):
        self.step += 1  # a code is accepted once: use the next time step each login
        return self.totp.at(self.step * 30)

    def login(self, password=None, code=None):
        page = self.client.get("/staff/login")
        return self.client.post("/staff/login", {"csrf_token": page.csrf, "username": self.name,
                                                 "password": password or self.password, "totp": code or self.code()})

    def ready(self):
        """Log in and make the forced password change."""
        assert self.login().headers["Location"] == "/staff/password"
        page = self.client.get("/staff/password")
        new = "kata-sandi-baru-" + secrets.token_hex(4)
        done = self.client.post("/staff/password", {"csrf_token": page.csrf, "old": self.password, "new": new,
                                                    "confirm": new})
        assert done.status == 303 and done.headers["Location"] == "/staff"
        self.password = new
        return self

    def post(self, path, fields):
        page = self.client.get("/staff/login")
        return self.client.post(path, {"csrf_token": page.csrf, **fields})


def test_totp_login_and_forced_password_change(server):
    admin = Staff(server, "kepala", "admin")
    assert admin.login(password="salah-kata-sandi").status == 200
    assert admin.login(code="000000").status == 200
    code = admin.code()
    first = admin.login(code=code)
    assert first.status == 303 and first.headers["Location"] == "/staff/password"
    other = server.staff_client()
    page = other.get("/staff/login")
    replay = other.post("/staff/login", {"csrf_token": page.csrf, "username": "kepala", "password": admin.password,
                                        "totp": code})
    assert replay.status == 200 and "salah" in replay.text
    assert admin.client.get("/staff").headers["Location"] == "/staff/password"
    page = admin.client.get("/staff/password")
    short = admin.client.post("/staff/password", {"csrf_token": page.csrf, "old": admin.password, "new": "pendek",
                                                  "confirm": "pendek"})
    assert short.status == 400
    new = "sandi-yang-cukup-panjang"
    assert admin.client.post("/staff/password", {"csrf_token": page.csrf, "old": admin.password, "new": new,
                                                 "confirm": new}).status == 303
    assert admin.client.get("/staff").status == 200


def test_growing_delay_after_failures(server):
    member = Staff(server, "petugas", "handler")
    for _ in range(3):
        assert member.login(password="bukan-sandinya").status == 200
    throttled = member.login()
    assert throttled.status == 429


def test_workflow_export_import_and_audit(server, tmp_path):
    reporter = server.client()
    done = submit(reporter, files=[FileField("bukti.pdf", b"%PDF rahasia")])
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    admin = Staff(server, "kepala", "admin").ready()
    handler = Staff(server, "petugas", "handler").ready()

    dash = admin.client.get("/staff")
    assert dash.status == 200 and re.search(r'id="count-received">1<', dash.text)
    assert code in dash.text  # reporter content not yet exported

    refused = handler.post(f"/staff/reports/{code}/status", {"status": "closed_proven"})
    assert refused.status == 400
    assert handler.post(f"/staff/reports/{code}/status", {"status": "verification", "confirm_from": "received"}).status == 303
    page = handler.client.get(f"/staff/reports/{code}")
    assert "Verifikasi" in page.text and "Diterima" in page.text

    assert handler.post(f"/staff/reports/{code}/reply", {"body": "Mohon kirim salinan kuitansi."}).status == 303
    reporter_login(reporter, codename, passphrase)
    case = reporter.get(f"/mailbox/reports/{code}")
    assert "Mohon kirim salinan kuitansi." in case.text and "Verifikasi" in case.text

    export = handler.client.get(f"/staff/export?report={code}")
    assert export.status == 200 and export.headers["Content-Type"] == "application/zip"
    with ExportBundle(io.BytesIO(export.body)) as bundle:
        items = bundle.reports[0]["items"]
        assert [i["kind"] for i in items] == ["report", "attachment", "reply"]
        report = open_json(bundle.read_item(items[0]["item_id"]), server.keyring.private_keys, report_code=code)
        assert report.content["what"] == REPORT["what"]
        mailbox_pk = __import__("base64").b64decode(bundle.reports[0]["mailbox_pk"])
    page = handler.client.get(f"/staff/reports/{code}")
    assert page.text.count(">ya<") == 3

    # Reply bundles from the offline workstation.
    ring = server.keyring
    pub = parse_public_key_file(ring.public_key_file())
    reply = sign_reply(reply_plaintext(report_code=code, sent_at="2026-11-28T08:00:00Z", body="Laporan ditelaah."),
                       ring.newest)
    entry = ReplyEntry(code, new_item_id(), seal_json(reply, recipients_for("reply", pub.keys, mailbox_pk)),
                       "investigation")
    good = build_reply_bundle([entry], ring.newest)

    def upload(data):
        page = handler.client.get("/staff/import")
        return handler.client.post_multipart("/staff/import", [("csrf_token", page.csrf),
                                                               ("bundle", FileField("r.wbsr", data))])

    first = upload(good)
    assert first.status == 200 and "1 balasan baru" in first.text
    again = upload(good)
    assert again.status == 200 and "0 balasan baru, 1 sudah ada" in again.text
    tampered = json.loads(good)
    tampered["replies"][0]["set_status"] = "closed_proven"
    assert upload(json.dumps(tampered).encode()).status == 400
    stranger = new_keyring("Lain")
    assert upload(build_reply_bundle([entry], stranger.newest)).status == 400
    clash = ReplyEntry(code, entry.item_id, seal_json(reply, recipients_for("reply", pub.keys, mailbox_pk)), None)
    assert "isi yang berbeda" in upload(build_reply_bundle([clash], ring.newest)).text
    case = reporter.get(f"/mailbox/reports/{code}")
    assert "Laporan ditelaah." in case.text and "Penelaahan/Investigasi" in case.text

    # Audit: each action, admins only.
    assert handler.client.get("/staff/audit").status == 403
    assert handler.client.get("/staff/users").status == 403
    audit = admin.client.get("/staff/audit").text
    for sentence in ("Mengubah status menjadi", "Mengirim balasan daring", "Mengekspor 1 pengaduan, 3 item",
                     "Mengimpor balasan dari pemegang kunci", "Masuk", "Mengganti kata sandi",
                     "Menambah pengguna petugas (petugas)"):
        assert sentence in audit, sentence
    stats = admin.client.get("/staff/stats.csv")
    assert stats.status == 200 and "status,investigation,1" in stats.text


def test_staff_pages_show_no_content(server):
    marker = "PENANDA" + secrets.token_hex(6)
    reporter = server.client()
    # The closed-set choices are content too: a category and a date no staff page names otherwise.
    chosen = {"category": "penyalahgunaan_wewenang", "incident_date": "1987-06-23"}
    done = submit(reporter, extra={**chosen, **{k: f"{marker}-{k}" for k in ("what", "who", "where", "when", "how",
                                                                         "loss_estimate", "person1_name")}},
                  files=[FileField(f"{marker}.pdf", marker.encode())])
    code = done.element_text("report-code")
    admin = Staff(server, "kepala", "admin").ready()
    pages = ["/staff", "/staff/reports", f"/staff/reports/{code}", "/staff/stats", "/staff/stats.csv",
             "/staff/audit", "/staff/users", "/staff/import", "/staff?lang=en", f"/staff/reports/{code}?lang=en"]
    for path in pages:
        response = admin.client.get(path)
        assert response.status == 200, path
        assert marker not in response.text, path
        for text in (*chosen.values(), "Penyalahgunaan wewenang", "Abuse of authority"):
            assert text not in response.text, (path, text)
        assert "<script" not in response.text.lower(), path


def test_staff_routes_do_not_exist_on_the_reporter_side(server):
    client = server.client()
    for path in ("/staff", "/staff/login", "/staff/export?all=1", "/staff/audit"):
        assert client.get(path).status == 404, path
    staff = server.staff_client()
    assert staff.get("/submit").status == 404 and staff.get("/mailbox").status == 404


def test_dashboard_deadlines_on_seeded_days(tmp_path):
    import sqlite3

    from conftest import start_server

    server = start_server(tmp_path)
    try:
        old = submit(server.client()).element_text("report-code")
        new = submit(server.client()).element_text("report-code")
    finally:
        server.stop()
    db = sqlite3.connect(server.data / "wbs.sqlite3")
    with db:
        db.execute("UPDATE reports SET created_day = '2026-03-16', updated_day = '2026-03-16' WHERE code = ?", (old,))
        db.execute("UPDATE status_history SET day = '2026-03-16' WHERE report_code = ?", (old,))
    db.close()
    server = start_server(tmp_path, server.keyring, data=server.data, fresh=False)
    try:
        admin = Staff(server, "kepala", "admin").ready()
        dash = admin.client.get("/staff").text
        urgent = dash.split("<h2>", 3)[2]
        assert old in urgent and new not in urgent
        # 7 working days: 17 March, then Nyepi, Idul Fitri and their cuti bersama (18 to 24) are skipped
        assert "2026-04-01 (tanggapan awal, lewat tenggat)" in urgent
        listing = admin.client.get("/staff/reports").text
        assert listing.index(old) < listing.index(new)
    finally:
        server.stop()


def test_admins_add_disable_and_reset_users(server):
    admin = Staff(server, "kepala", "admin").ready()
    added = admin.post("/staff/users", {"action": "add", "username": "analis", "role": "handler"})
    assert added.status == 200
    password = added.element_text("new-password")
    uri = re.search(r'id="new-totp-uri">([^<]+)<', added.text).group(1).replace("&amp;", "&")
    totp = pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0])
    newcomer = server.staff_client()
    page = newcomer.get("/staff/login")
    first = newcomer.post("/staff/login", {"csrf_token": page.csrf, "username": "analis", "password": password,
                                           "totp": totp.now()})
    assert first.status == 303 and first.headers["Location"] == "/staff/password"
    assert admin.post("/staff/users", {"action": "add", "username": "analis", "role": "handler"}).status == 400

    member_id = re.search(r'name="user" value="([0-9a-f]+)"><input type="hidden" name="action" value="disable"',
                          admin.client.get("/staff/users").text).group(1)
    assert admin.post("/staff/users", {"action": "disable", "user": member_id}).status == 200
    assert newcomer.get("/staff/password").headers["Location"] == "/staff/login"  # session ended
    page = newcomer.get("/staff/login")
    again = newcomer.post("/staff/login", {"csrf_token": page.csrf, "username": "analis", "password": password,
                                           "totp": totp.at(time.time() + 30)})
    assert again.status == 200 and "salah" in again.text
    assert admin.post("/staff/users", {"action": "enable", "user": member_id}).status == 200
    reset = admin.post("/staff/users", {"action": "reset", "user": member_id})
    assert reset.element_text("new-password") != password
    audit = admin.client.get("/staff/audit").text
    for sentence in ("Menambah pengguna analis (petugas)", "Menonaktifkan pengguna analis",
                     "Mengaktifkan pengguna analis", "Mengatur ulang kata sandi dan 2FA pengguna analis"):
        assert sentence in audit, sentence


def test_import_form_refuses_malformed_and_oversized_bodies(server):
    handler = Staff(server, "penerima", "handler").ready()
    client = handler.client
    page = client.get("/staff/import")

    def raw(body: bytes, boundary: str = "xyz"):
        conn = client._conn()
        try:
            conn.request("POST", "/staff/import", body=body, headers=client._headers(
                {"Content-Type": f"multipart/form-data; boundary={boundary}"}))
            return client._read(conn)
        finally:
            conn.close()

    def part(name: str, value: bytes) -> bytes:
        return f'--xyz\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"

    cases = {
        "garbage": b"\x00\xff" * 2000,
        "long token": part("csrf_token", b"a" * 5000) + b"--xyz--\r\n",
        "many parts": part("csrf_token", page.csrf.encode()) * 10 + b"--xyz--\r\n",
        "unknown part": part("csrf_token", page.csrf.encode()) + part("other", b"x") + b"--xyz--\r\n",
        "truncated": part("csrf_token", page.csrf.encode()) + b'--xyz\r\nContent-Disposition: form-data; name="bundle"',
    }
    for name, body in cases.items():
        response = raw(body)
        assert response.status == 400, (name, response.status)
    assert "Traceback" not in server.output() and "internal error" not in server.output()
