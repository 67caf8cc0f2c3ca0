"""Hostile bytes and stolen sessions against a real server: CSRF tokens at
their boundaries, links from a crafted path, huge JSON numbers, repeated
export codes, logouts and password changes."""

from __future__ import annotations

import http.client
import io
import json
import re
import sqlite3
import time
import zipfile
from html.parser import HTMLParser

import pytest

from conftest import start_server, wbs
from crypto.encoding import new_item_id
from crypto.export_bundle import ExportBundle
from test_keytools_support import keytools, write_cheap_keyring
from test_reporter_journey import login as reporter_login, report_fields, submit
from test_staff import Staff
from wbsclient import FileField


class Links(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.hrefs += [v or "" for k, v in attrs if k in ("href", "action", "src")]


def near_miss(token: str) -> list[str]:
    """Wrong tokens a sloppy comparison would take: same first 8 characters, one character off
    at the end, a prefix, non-ASCII, empty."""
    last = "A" if token[-1] != "A" else "B"
    return [token[:8] + "x" * (len(token) - 8), token[:-1] + last, token[:-1], token + "x", "é" * 43,
            token[:42] + "é", ""]


def test_small_forms_refuse_every_near_miss_token(shared_server):
    client = shared_server.client()
    token = client.get("/login").csrf
    for wrong in near_miss(token):
        response = client.post("/login", {"csrf_token": wrong, "codename": "a", "passphrase": "b"})
        assert response.status == 403, (wrong, response.status)
    assert client.post("/login", {"csrf_token": token, "codename": "a", "passphrase": "b"}).status != 403


def test_the_upload_form_refuses_every_near_miss_token_and_a_missing_cookie(shared_server):
    client = shared_server.client()
    page = client.get("/submit")
    fields = [f for f in report_fields(client, page) if f[0] != "csrf_token"]
    for wrong in near_miss(page.csrf):
        response = client.post_multipart("/submit", [("csrf_token", wrong), *fields])
        assert response.status == 403, (wrong, response.status)
    stranger = shared_server.client()  # no CSRF cookie at all
    for token in ("", page.csrf):
        response = stranger.post_multipart("/submit", [("csrf_token", token), *fields])
        assert response.status == 403, (token, response.status)
    assert client.post_multipart("/submit", [("csrf_token", page.csrf), *fields]).status == 200


def test_staff_forms_and_import_refuse_near_miss_tokens(shared_server):
    member = Staff(shared_server, "penjaga", "admin")
    client = member.client
    token = client.get("/staff/login").csrf
    for wrong in near_miss(token):
        response = client.post("/staff/login", {"csrf_token": wrong, "username": member.name,
                                                "password": member.password, "totp": "123456"})
        assert response.status == 403, (wrong, response.status)
    member.ready()
    for wrong in near_miss(token):
        response = client.post_multipart("/staff/import", [("csrf_token", wrong), ("bundle", FileField("r", b"{}"))])
        assert response.status in (400, 403), (wrong, response.status)
        assert response.status == 403 or wrong == "", wrong


def test_a_code_in_other_digits_is_a_failed_login_not_an_error(shared_server):
    member = Staff(shared_server, "angka", "handler")
    for code in ("١٢٣٤٥٦", "１２３４５６"):
        response = member.login(code=code)
        assert response.status == 200 and "salah" in response.text


@pytest.mark.parametrize("path", ["//evil.example/x", "//evil.example", "/\\evil.example/x", "//evil.example/x?lang=id",
                                  "/%2F%2Fevil.example/x"])
def test_links_on_a_page_never_leave_the_site(shared_server, path):
    for client in (shared_server.client(), shared_server.staff_client()):
        response = client.get(path)
        assert response.status in (404, 303), (path, response.status)
        if response.status == 404:
            hrefs = Links(response.text).hrefs
            assert hrefs, path
            for href in hrefs:
                same_page = href.startswith("#")
                assert same_page or (href.startswith("/") and not href.startswith(("//", "/\\"))), (path, href)
            assert "evil" not in response.text


def test_known_pages_link_to_themselves_for_the_other_language(shared_server):
    client = shared_server.client()
    for path in ("/", "/criteria", "/submit", "/login", "/org-key"):
        assert f'href="{path}?lang=en"' in client.get(path).text, path


def huge_number_bundle(tmp_path, server) -> bytes:
    ring = server.keyring
    body = {"format": "wbs-replies/1", "created_at": "2026-11-28T08:00:00Z", "signer_key_id": ring.newest.key_id,
            "replies": [{"report_code": "WBS-AB12C-DE34F", "item_id": new_item_id(), "envelope": "AAAA",
                         "set_status": None}], "sig": "A" * 88}
    return json.dumps(body).replace('"set_status": null', '"set_status": ' + "9" * 5000).encode()


def test_a_huge_integer_in_a_reply_bundle_is_refused_clearly(shared_server, tmp_path):
    data = huge_number_bundle(tmp_path, shared_server)
    member = Staff(shared_server, "impor", "handler").ready()
    page = member.client.get("/staff/import")
    response = member.client.post_multipart("/staff/import", [("csrf_token", page.csrf),
                                                              ("bundle", FileField("r.wbsr", data))])
    assert response.status == 400 and "tidak sesuai format" in response.text and "out of range" not in response.text
    (tmp_path / "r.wbsr").write_bytes(data)
    done = wbs("import", str(tmp_path / "r.wbsr"), "--config", str(shared_server.config), check=False)
    assert done.returncode == 1 and done.stderr.startswith("wbs: error:") and "Traceback" not in done.stderr
    assert "out of range" in done.stderr


def test_a_huge_integer_in_an_export_manifest_is_refused_by_keytools(shared_server, tmp_path):
    member = Staff(shared_server, "ekspor", "handler").ready()
    submit(shared_server.client())
    export = member.client.get("/staff/export?all=1")
    assert export.status == 200
    with zipfile.ZipFile(io.BytesIO(export.body)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        entries = {n: archive.read(n) for n in archive.namelist() if n != "manifest.json"}
    manifest["reports"][0]["items"][0]["size"] = 123456789
    bundle = tmp_path / "wbs-export.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest).replace("123456789", "1" + "0" * 4999))
    key, pw, _ = write_cheap_keyring(tmp_path / "keyholder", shared_server.keyring)
    done = keytools("open", bundle, "--keyring", key, "--cases", tmp_path / "cases", "--passphrase-file", pw)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "error:" in done.stderr, done.stderr
    assert "out of range" in done.stderr


def test_export_names_each_report_once_and_refuses_before_the_first_byte(shared_server):
    code = submit(shared_server.client(), files=[FileField("a.pdf", b"%PDF a")]).element_text("report-code")
    member = Staff(shared_server, "ganda", "handler").ready()
    export = member.client.get(f"/staff/export?report={code}&report={code}&report={code}")
    assert export.status == 200
    with ExportBundle(io.BytesIO(export.body)) as bundle:
        assert [r["report_code"] for r in bundle.reports] == [code]
        bundle.verify()
    missing = member.client.get(f"/staff/export?report={code}&report=WBS-00000-00000")
    assert missing.status == 404 and missing.headers["Content-Type"].startswith("text/html")


def test_reporter_logout_without_a_token_ends_the_session(shared_server):
    client = shared_server.client()
    done = submit(client)
    codename, passphrase = done.element_text("codename"), done.element_text("passphrase")
    reporter_login(client, codename, passphrase)
    assert client.get("/mailbox").status == 200
    stolen = dict(client.cookies)
    assert client.post("/logout", {}).status == 303
    thief = shared_server.client()
    thief.cookies = stolen
    assert thief.get("/mailbox").status == 303
    reporter_login(client, codename, passphrase)
    stolen = dict(client.cookies)
    assert client.post("/logout", {"csrf_token": "salah"}).status == 303
    thief.cookies = stolen
    assert thief.get("/mailbox").status == 303


def test_staff_logout_without_a_token_ends_the_session(shared_server):
    member = Staff(shared_server, "keluar", "handler").ready()
    stolen = dict(member.client.cookies)
    assert member.client.post("/staff/logout", {}).status == 303
    thief = shared_server.staff_client()
    thief.cookies = stolen
    assert thief.get("/staff").headers.get("Location") == "/staff/login"


def test_a_password_change_ends_the_members_other_sessions_and_disable_ends_all(shared_server):
    member = Staff(shared_server, "ganti", "handler").ready()
    other = Staff.__new__(Staff)
    other.__dict__.update(member.__dict__)
    other.client = shared_server.staff_client()
    assert other.login().status == 303 and other.client.get("/staff").status == 200
    member.step = other.step
    page = member.client.get("/staff/password")
    new = "sandi-baru-sekali-" + str(int(time.time()))
    assert member.client.post("/staff/password", {"csrf_token": page.csrf, "old": member.password, "new": new,
                                                  "confirm": new}).status == 303
    assert member.client.get("/staff").status == 200  # the session that changed it stays
    assert other.client.get("/staff").headers.get("Location") == "/staff/login"
    admin = Staff(shared_server, "atasan", "admin").ready()
    users = admin.client.get("/staff/users").text
    user_id = re.search(r'name="user" value="([0-9a-f]+)"[^<]*(?:<[^>]*>[^<]*){0,6}?ganti', users) or \
        re.search(r'ganti.*?name="user" value="([0-9a-f]+)"', users, re.S)
    assert admin.post("/staff/users", {"action": "disable", "user": user_id.group(1)}).status == 200
    assert member.client.get("/staff").headers.get("Location") == "/staff/login"


def test_an_older_totp_code_after_a_newer_one_is_refused(shared_server):
    member = Staff(shared_server, "waktu", "handler")
    now = int(time.time() // 30)
    newer, older = member.totp.at((now + 1) * 30), member.totp.at(now * 30)
    assert member.login(code=newer).status == 303
    again = Staff.__new__(Staff)
    again.__dict__.update(member.__dict__)
    again.client = shared_server.staff_client()
    refused = again.login(code=older)
    assert refused.status == 200 and "salah" in refused.text
    refused = again.login(code=newer)
    assert refused.status == 200 and "salah" in refused.text


def test_an_export_over_a_damaged_store_never_ends_as_a_whole_looking_zip(tmp_path):
    server = start_server(tmp_path)
    try:
        code = submit(server.client(), files=[FileField("a.pdf", b"%PDF " * 20_000)]).element_text("report-code")
        member = Staff(server, "ekspor", "handler").ready()
        blobs = sorted((server.data / "blobs").glob("??/*.wbse"), key=lambda p: p.stat().st_size)
        # A missing blob is found before the first byte: an error page, not a ZIP.
        saved = blobs[0].read_bytes()
        blobs[0].unlink()
        missing = member.client.get(f"/staff/export?report={code}")
        assert missing.status == 500 and missing.headers["Content-Type"].startswith("text/html")
        blobs[0].write_bytes(saved)
        # A damaged one shows only as its bytes stream: the connection is cut, nothing marked exported.
        damaged = bytearray(blobs[-1].read_bytes())
        damaged[len(damaged) // 2] ^= 1
        blobs[-1].write_bytes(bytes(damaged))
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            member.client.get(f"/staff/export?report={code}")
        assert member.client.get("/staff").status == 200
        db = sqlite3.connect(server.data / "wbs.sqlite3")
        assert db.execute("SELECT COUNT(*) FROM items WHERE exported = 1").fetchone() == (0,)
        db.close()
        assert "export stopped after it began: IntegrityError" in server.output()
        assert "internal error" not in server.output()
    finally:
        server.stop()


def test_wbs_export_over_a_damaged_store_leaves_no_file(tmp_path):
    server = start_server(tmp_path)
    try:
        submit(server.client(), files=[FileField("a.pdf", b"%PDF " * 20_000)])
    finally:
        server.stop()
    blob = max((server.data / "blobs").glob("??/*.wbse"), key=lambda p: p.stat().st_size)
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    blob.write_bytes(bytes(damaged))
    out = tmp_path / "out"
    out.mkdir()
    done = wbs("export", "--all", "--out", str(out / "x.zip"), "--config", str(server.config), check=False)
    assert done.returncode == 1 and "does not match" in done.stderr and "Traceback" not in done.stderr
    assert list(out.iterdir()) == []
    blob.unlink()
    done = wbs("export", "--all", "--out", str(out / "x.zip"), "--config", str(server.config), check=False)
    assert done.returncode == 1 and "missing" in done.stderr and list(out.iterdir()) == []
