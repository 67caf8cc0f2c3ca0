"""The reporter's whole journey against a real server on loopback."""

from __future__ import annotations

import hashlib
import io
import json

from crypto.envelope import open_stream
from crypto.export_bundle import ExportBundle
from crypto.items import open_json
from conftest import wbs
from wbsclient import FileField, page_text

REPORT = {
    "category": "pungli",
    "what": "Pungutan liar pada pelayanan KTP elektronik",
    "who": "Oknum petugas loket pelayanan",
    "where": "Kantor Kecamatan Banjarangkan",
    "when": "September sampai Oktober 2026",
    "how": "Meminta Rp100.000 di luar ketentuan agar KTP cepat selesai",
    "loss_estimate": "Sekitar Rp15 juta",
    "person1_name": "I Made Contoh",
    "person1_position": "Petugas loket",
    "person1_unit": "Kecamatan Banjarangkan",
    "incident_date": "1/10/2026",  # day first, as people here write it
}


def report_fields(client, page, extra=None, files=()):
    fields = [("csrf_token", page.csrf)] + list({**REPORT, **(extra or {})}.items())
    fields += [("attachments", f) for f in files]
    fields.append(("confirm", "1"))
    return fields


def submit(client, files=(), extra=None, path="/submit"):
    page = client.get(path)
    assert page.status == 200
    return client.post_multipart(path, report_fields(client, page, extra, files))


def login(client, codename, passphrase):
    page = client.get("/login")
    return client.post("/login", {"csrf_token": page.csrf, "codename": codename, "passphrase": passphrase})


def test_whole_journey(server, tmp_path):
    client = server.client()
    evidence = b"%PDF-1.4 kuitansi palsu\n" + bytes(range(256)) * 400
    done = submit(client, files=[FileField("kuitansi.pdf", evidence, "application/pdf"),
                                 FileField("foto.jpg", b"\xff\xd8\xff" + b"x" * 5000, "image/jpeg")])
    assert done.status == 200, done.text
    assert done.headers["Cache-Control"] == "no-store"
    codename = done.element_text("codename")
    passphrase = done.element_text("passphrase")
    code = done.element_text("report-code")
    assert len(codename) == 14 and len(passphrase.split()) == 7 and code.startswith("WBS-")

    fresh = server.client()
    assert fresh.get("/mailbox").status == 303 or fresh.get("/mailbox").status == 200
    logged = login(fresh, codename.lower().replace("-", " "), passphrase.upper())
    assert logged.status == 303 and logged.headers["Location"] == "/mailbox"
    mailbox = fresh.get("/mailbox")
    assert code in mailbox.text and "Diterima" in mailbox.text

    case = fresh.get(f"/mailbox/reports/{code}")
    text = page_text(case.text)
    assert REPORT["what"] in text and "kuitansi.pdf" in text and "I Made Contoh" in text

    page = fresh.get(f"/mailbox/reports/{code}")
    sent = fresh.post_multipart(f"/mailbox/reports/{code}/messages", [
        ("csrf_token", page.csrf), ("body", "Saya menambahkan foto kuitansi kedua."),
        ("attachments", FileField("kuitansi2.png", b"\x89PNG" + b"y" * 3000, "image/png")),
    ])
    assert sent.status == 303
    case = fresh.get(f"/mailbox/reports/{code}")
    assert "Saya menambahkan foto kuitansi kedua." in case.text and "kuitansi2.png" in case.text

    second = submit(fresh, extra={"what": "Laporan kedua tentang pengadaan"}, path="/mailbox/submit")
    assert second.status == 200
    code2 = second.element_text("report-code")
    assert code2 != code and 'id="passphrase"' not in second.text
    mailbox = fresh.get("/mailbox")
    assert code in mailbox.text and code2 in mailbox.text

    logout = fresh.post("/logout", {"csrf_token": page.csrf})
    assert logout.status == 303 and logout.headers["Location"] == "/?out=1"
    assert "Anda telah keluar." in page_text(fresh.get("/?out=1").text)
    assert "Anda telah keluar." not in page_text(fresh.get("/").text)
    assert fresh.get("/mailbox").status == 303
    assert fresh.get(f"/mailbox/reports/{code}").status == 303

    # The keyholders open what was stored: export while the server runs.
    out = tmp_path / "export.zip"
    wbs("export", "--out", str(out), "--all", "--config", str(server.config))
    keys = server.keyring.private_keys
    with open(out, "rb") as src, ExportBundle(src) as bundle:
        reports = {r["report_code"]: r for r in bundle.reports}
        assert set(reports) == {code, code2}
        items = reports[code]["items"]
        assert [i["kind"] for i in items] == ["report", "attachment", "attachment", "message", "attachment"]
        report = open_json(bundle.read_item(items[0]["item_id"]), keys, report_code=code).content
        assert report["what"] == REPORT["what"] and report["reported_persons"][0]["name"] == "I Made Contoh"
        assert report["incident_date"] == "2026-10-01"
        # Sealed times keep PROTOCOL.md's format but carry the day only.
        assert report["submitted_at"].endswith("T00:00:00Z")
        message = open_json(bundle.read_item(items[3]["item_id"]), keys, report_code=code).content
        assert message["sent_at"].endswith("T00:00:00Z")
        first = report["attachments"][0]
        plain = b"".join(open_stream(io.BytesIO(bundle.read_item(first["item_id"])), keys))
        assert plain == evidence and hashlib.sha256(plain).hexdigest() == first["sha256"]
        assert items[1]["parent_id"] == items[0]["item_id"]


def test_wrong_credentials(server):
    client = server.client()
    done = submit(client)
    codename = done.element_text("codename")
    bad = login(client, codename, "salah sekali frasa sandi ini bukan")
    assert bad.status == 200 and "Nama sandi atau frasa sandi salah." in bad.text
    assert "wbs_session" not in client.cookies
    unknown = login(client, "ABCD-EFGH-JKMN", "apa saja")
    assert unknown.status == 200 and "salah" in unknown.text
    malformed = login(client, "xyz", "")
    assert malformed.status == 200 and "salah" in malformed.text


def test_mailbox_routes_need_a_session(server):
    client = server.client()
    for path in ("/mailbox", "/mailbox/submit", "/mailbox/reports/WBS-AAAAA-BBBBB"):
        response = client.get(path)
        assert response.status == 303 and response.headers["Location"] == "/login?next=required", path
    page = client.get("/submit")
    for path in ("/mailbox/submit", "/mailbox/reports/WBS-AAAAA-BBBBB/messages"):
        response = client.post_multipart(path, [("csrf_token", page.csrf), ("body", "x")])
        assert response.status == 303 and response.headers["Location"] == "/login?next=required", path


def test_please_log_in_is_said(server):
    client = server.client()
    response = client.get("/mailbox")
    assert response.headers["Location"] == "/login?next=required"
    assert "Silakan masuk terlebih dahulu" in page_text(client.get(response.headers["Location"]).text)
    assert "Silakan masuk terlebih dahulu" not in page_text(client.get("/login").text)


def test_incident_date_is_read_day_first(server):
    client = server.client()
    for typed in ("31/02/2026", "2026/10/01", "10-2026", "kemarin"):
        refused = submit(client, extra={"incident_date": typed})
        assert refused.status == 400, typed
        assert "17/08/2026" in page_text(refused.text) and f'value="{typed}"' in refused.text
    assert submit(client, extra={"incident_date": "17.08.2026"}).status == 200


def test_validation_keeps_every_typed_text(server):
    client = server.client()
    page = client.get("/submit")
    fields = [("csrf_token", page.csrf), ("category", "bukan"), ("what", "Teks <b>apa</b> & lainnya"),
              ("who", ""), ("where", "Dinas X"), ("when", "2026"), ("how", "Dengan cara"),
              ("attachments", FileField("a.txt", b"bukti"))]
    response = client.post_multipart("/submit", fields)
    assert response.status == 400
    assert "Teks &lt;b&gt;apa&lt;/b&gt; &amp; lainnya" in response.text
    assert 'id="who-error"' in response.text and 'id="category-error"' in response.text
    assert 'id="confirm-error"' in response.text and "pilih lagi berkasnya" in response.text
    assert 'aria-describedby="who-hint who-error"' in response.text


def test_csrf_is_required(server):
    client = server.client()
    client.get("/submit")
    response = client.post_multipart("/submit", [("csrf_token", "x" * 43)] + list(REPORT.items()) + [("confirm", "1")])
    assert response.status == 403
    response = client.post("/login", {"codename": "a", "passphrase": "b"})
    assert response.status == 403


def test_mailbox_marks_new_answers_until_the_case_is_read(server):
    from test_staff import Staff  # here, not at the top: test_staff imports this module

    reporter = server.client()
    done = submit(reporter)
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    login(reporter, codename, passphrase)
    second = submit(reporter, extra={"category": "pengadaan"}, path="/mailbox/submit").element_text("report-code")
    mailbox = page_text(reporter.get("/mailbox").text)
    assert "Pungutan liar" in mailbox and "Pengadaan barang/jasa" in mailbox  # the categories, read from the seals
    assert "Balasan baru" not in mailbox

    handler = Staff(server, "petugas", "handler").ready()
    assert handler.post(f"/staff/reports/{code}/status", {"status": "verification", "confirm_from": "received"}).status == 303
    assert handler.post(f"/staff/reports/{code}/reply", {"body": "Mohon kirim salinan kuitansi."}).status == 303
    mailbox = reporter.get("/mailbox").text
    assert mailbox.count("Balasan baru") == 1 and "Balasan baru (2)" in mailbox
    card = mailbox[mailbox.index(f">{code}<"):]
    assert "Balasan baru (2)" in card[:card.find("</li>")], "the mark sits on the answered report's card"

    case = reporter.get(f"/mailbox/reports/{code}")
    assert 'href="#latest-reply"' in case.text and 'id="latest-reply"' in case.text
    top = case.text.index('href="#latest-reply"')
    assert top < case.text.index('class="report"'), "the link to the answer comes before the report"
    assert "Balasan baru (2)" in case.text  # said once on the case page itself
    assert "Balasan baru" not in reporter.get("/mailbox").text
    assert "Balasan baru" not in reporter.get(f"/mailbox/reports/{code}").text
    assert second in reporter.get("/mailbox").text
