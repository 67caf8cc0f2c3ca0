"""Old reply bundles after a purge, and the audit log: every action in it,
one row per export, every row reachable."""

from __future__ import annotations

import base64
import io
import re
import sqlite3
import time

from conftest import start_server, wbs
from crypto.encoding import new_item_id
from crypto.export_bundle import ExportBundle
from crypto.items import recipients_for, reply_plaintext, seal_json, sign_reply
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import ReplyEntry, build_reply_bundle
from test_reporter_journey import login as reporter_login, submit
from test_staff import Staff
from wbsclient import FileField


def db_rows(server, sql, args=()):
    db = sqlite3.connect(server.data / "wbs.sqlite3")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def upload(member, data, lang="id"):
    page = member.client.get(f"/staff/import?lang={lang}")
    return member.client.post_multipart("/staff/import", [("csrf_token", page.csrf),
                                                          ("bundle", FileField("r.wbsr", data))])


def reply_bundle(server, member, code, body, status):
    export = member.client.get(f"/staff/export?report={code}")
    with ExportBundle(io.BytesIO(export.body)) as bundle:
        mailbox_pk = base64.b64decode(bundle.reports[0]["mailbox_pk"])
    ring = server.keyring
    pub = parse_public_key_file(ring.public_key_file())
    reply = sign_reply(reply_plaintext(report_code=code, sent_at="2026-11-28T08:00:00Z", body=body), ring.newest)
    entry = ReplyEntry(code, new_item_id(), seal_json(reply, recipients_for("reply", pub.keys, mailbox_pk)), status)
    return build_reply_bundle([entry], ring.newest)


def test_an_old_bundle_after_a_purge_is_refused_and_changes_nothing(tmp_path):
    server = start_server(tmp_path, retention_days=30)
    try:
        reporter = server.client()
        done = submit(reporter)
        codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
        handler = Staff(server, "petugas", "handler").ready()
        assert handler.post(f"/staff/reports/{code}/status", {"status": "verification", "confirm_from": "received"}).status == 303
        old = reply_bundle(server, handler, code, "Balasan lama yang sudah dihapus.", "investigation")
        assert upload(handler, old).status == 200
        assert handler.post(f"/staff/reports/{code}/status", {"status": "closed_proven", "confirm_from": "investigation"}).status == 303
        db = sqlite3.connect(server.data / "wbs.sqlite3")
        with db:
            db.execute("UPDATE reports SET updated_day = '2026-01-02' WHERE code = ?", (code,))
        db.close()
        assert "1 case(s)" in wbs("purge", "--config", str(server.config)).stdout
        history = db_rows(server, "SELECT status FROM status_history WHERE report_code = ? ORDER BY position", (code,))

        refused = upload(handler, old)
        assert refused.status == 400 and "usang" in refused.text and "telah dihapus" in refused.text
        english = upload(handler, old, lang="en")
        assert english.status == 400 and "stale" in english.text
        (tmp_path / "old.wbsr").write_bytes(old)
        cli = wbs("import", str(tmp_path / "old.wbsr"), "--config", str(server.config), check=False)
        assert cli.returncode == 1 and "stale" in cli.stderr and "Traceback" not in cli.stderr

        assert db_rows(server, "SELECT status FROM reports WHERE code = ?", (code,)) == [("closed_proven",)]
        assert db_rows(server, "SELECT status FROM status_history WHERE report_code = ? ORDER BY position",
                       (code,)) == history
        assert db_rows(server, "SELECT COUNT(*) FROM items WHERE report_code = ?", (code,)) == [(0,)]
        reporter_login(reporter, codename, passphrase)
        assert "Balasan lama" not in reporter.get(f"/mailbox/reports/{code}").text
        refusals = db_rows(server, "SELECT actor, detail, report_code FROM audit WHERE action = 'import_refused'")
        assert refusals == [("petugas", "staff.err.item_purged", None)] * 2 + [("wbs-cli", "staff.err.item_purged", None)]
        # A new bundle for the same case is still welcome.
        fresh = reply_bundle(server, handler, code, "Balasan baru.", None)
        assert upload(handler, fresh).status == 200
    finally:
        server.stop()


def test_every_action_is_audited_once_and_every_row_stays_reachable(tmp_path):
    server = start_server(tmp_path)
    try:
        codes = [submit(server.client(), files=[FileField("a.pdf", b"%PDF a")]).element_text("report-code")
                 for _ in range(3)]
        admin = Staff(server, "kepala", "admin").ready()
        assert admin.client.get("/staff/export?all=1").status == 200
        assert admin.client.get(f"/staff/export?report={codes[0]}&report={codes[0]}").status == 200
        wbs("export", "--all", "--out", str(tmp_path / "all.zip"), "--config", str(server.config))
        rows = db_rows(server, "SELECT actor, report_code, detail FROM audit WHERE action = 'export' ORDER BY seq")
        assert rows == [("kepala", None, "3 report(s), 6 item(s)"), ("kepala", codes[0], "1 report(s), 2 item(s)"),
                        ("wbs-cli", None, "3 report(s), 6 item(s)")]
        installs = db_rows(server, "SELECT actor, detail FROM audit WHERE action = 'keys_install'")
        assert installs == [("wbs-cli", server.keyring.newest.key_id)]

        # A TOTP code used once, then again from elsewhere: a replay, audited.
        step = int(time.time() // 30) + 1
        code = admin.totp.at(step * 30)
        admin.step = step
        assert admin.login(code=code).status == 303
        thief = Staff.__new__(Staff)
        thief.__dict__.update(admin.__dict__)
        thief.client = server.staff_client()
        assert thief.login(code=code).status == 200
        assert db_rows(server, "SELECT actor FROM audit WHERE action = 'totp_replay'") == [("kepala",)]

        # Many rows later, the first one is still reachable, page by page.
        db = sqlite3.connect(server.data / "wbs.sqlite3")
        with db:
            db.executemany("INSERT INTO audit (day, actor, action) VALUES ('2026-11-28', 'x', 'filler')",
                           [()] * 450)
        db.close()
        total = db_rows(server, "SELECT COUNT(*) FROM audit")[0][0]
        seen, path, pages = 0, "/staff/audit", 0
        while path:
            page = admin.client.get(path)
            assert page.status == 200
            seen += page.text.count("<tr><td>")
            pages += 1
            older = re.search(r'href="(/staff/audit\?before=\d+)" id="audit-older"', page.text)
            path = older.group(1) if older else None
        assert seen == total and pages >= 3
        assert "Memasang kunci publik Inspektorat" in page.text and 'id="audit-newest"' in page.text
        assert admin.client.get("/staff/audit?before=x").status == 400
        assert admin.client.post("/staff/logout", {}).status == 303
        assert db_rows(server, "SELECT actor FROM audit WHERE action = 'logout'") == [("kepala",)]
    finally:
        server.stop()
