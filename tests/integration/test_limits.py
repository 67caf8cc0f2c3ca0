"""Upload limits against a real server with small limits: every refusal is a
polite 4xx page (never a 5xx), nothing of the refused request is stored, no
temp file remains, and the server keeps taking valid reports afterwards."""

from __future__ import annotations

import http.client
import os
import sqlite3
from contextlib import closing

import pytest

from conftest import start_server
from wbsclient import Client, FileField, Response

KB = 1000
MB = 1000 * 1000
LIMITS = dict(max_file_bytes=1 * MB, max_report_bytes=2_500_000, max_files=3, max_text_chars=500)

REPORT = {
    "category": "pengadaan",
    "what": "Mark-up harga pengadaan alat tulis kantor",
    "who": "Pejabat pembuat komitmen",
    "where": "Dinas Pendidikan",
    "when": "Triwulan pertama 2026",
    "how": "Harga satuan dinaikkan tiga kali lipat",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("limits"), **LIMITS)
    yield srv
    srv.stop()


def blocks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield bytes([sent // size % 251]) * n
        sent += n


def report_fields(page: Response, extra: dict[str, str] | None = None, files=()) -> list:
    fields = [("csrf_token", page.csrf)] + list({**REPORT, **(extra or {})}.items())
    fields += [("attachments", f) for f in files]
    fields.append(("confirm", "1"))
    return fields


def post_report(client: Client, extra=None, files=(), path="/submit") -> Response:
    page = client.get(path)
    assert page.status == 200
    return client.post_multipart(path, report_fields(page, extra, files))


def raw_post(client: Client, body: bytes, content_type: str | None, path: str = "/submit",
             headers: dict[str, str] | None = None) -> Response:
    conn = http.client.HTTPConnection(client.host, client.port, timeout=60)
    try:
        extra = dict(headers or {})
        if content_type is not None:
            extra["Content-Type"] = content_type
        conn.request("POST", path, body=body, headers=client._headers(extra))
        return client._read(conn)
    finally:
        conn.close()


def db_counts(srv) -> dict[str, int]:
    uri = f"file:{srv.data / 'wbs.sqlite3'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("accounts", "reports", "items")}


def blob_files(srv) -> set[str]:
    root = srv.data / "blobs"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


class Snapshot:
    """What the store holds before a refused request; ``unchanged`` checks nothing was added."""

    def __init__(self, srv) -> None:
        self.srv = srv
        self.counts = db_counts(srv)
        self.blobs = blob_files(srv)

    def unchanged(self) -> None:
        assert db_counts(self.srv) == self.counts
        assert blob_files(self.srv) == self.blobs
        assert list((self.srv.data / "blobs" / "tmp").iterdir()) == []


def still_works(srv) -> None:
    """A valid report with a file goes through after the refusal."""
    before = db_counts(srv)
    done = post_report(srv.client(), files=[FileField("bukti.txt", b"bukti yang sah " * 100, "text/plain")])
    assert done.status == 200, done.text
    assert done.element_text("report-code").startswith("WBS-")
    after = db_counts(srv)
    assert after["reports"] == before["reports"] + 1 and after["items"] == before["items"] + 2


def assert_too_large(response: Response) -> None:
    assert response.status == 413, response.text
    assert "terlalu besar" in response.text
    assert "Tidak ada yang tersimpan" in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_file_over_the_file_limit(limited):
    snap = Snapshot(limited)
    client = limited.client()
    response = post_report(client, files=[FileField("besar.bin", blocks(2 * MB))])
    assert_too_large(response)
    snap.unchanged()
    still_works(limited)


def test_file_over_the_limit_after_a_good_file(limited):
    """The first (good, already sealed) file is removed too."""
    snap = Snapshot(limited)
    response = post_report(limited.client(), files=[FileField("kecil.bin", blocks(600 * KB)),
                                                    FileField("besar.bin", blocks(1 * MB + 1))])
    assert_too_large(response)
    snap.unchanged()
    still_works(limited)


def test_exactly_at_the_file_limit_is_accepted(limited):
    response = post_report(limited.client(), files=[FileField("pas.bin", blocks(1 * MB))])
    assert response.status == 200, response.text


def test_too_many_files(limited):
    snap = Snapshot(limited)
    files = [FileField(f"bukti{i}.txt", f"isi {i}".encode()) for i in range(4)]
    response = post_report(limited.client(), files=files)
    assert_too_large(response)
    snap.unchanged()
    still_works(limited)


def test_report_over_the_report_limit(limited):
    snap = Snapshot(limited)
    files = [FileField(f"bagian{i}.bin", blocks(900 * KB)) for i in range(3)]  # 2.7 MB > 2.5 MB
    response = post_report(limited.client(), files=files)
    assert_too_large(response)
    snap.unchanged()
    still_works(limited)


def test_declared_length_over_the_limit_is_refused_before_reading(limited):
    """A Content-Length far over the report limit is answered without reading the body."""
    snap = Snapshot(limited)
    client = limited.client()
    page = client.get("/submit")
    conn = http.client.HTTPConnection(client.host, client.port, timeout=30)
    try:
        conn.putrequest("POST", "/submit")
        for k, v in client._headers({"Content-Type": "multipart/form-data; boundary=xyz",
                                     "Content-Length": str(50 * MB)}).items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(b'--xyz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + page.csrf.encode() + b"\r\n")
        response = client._read(conn)
    finally:
        conn.close()
    assert_too_large(response)
    snap.unchanged()
    still_works(limited)


def test_text_field_over_the_limit(limited):
    client = limited.client()
    snap = Snapshot(limited)
    # Just over the character limit: the form comes back with the field's error.
    response = post_report(client, extra={"what": "a" * 501})
    assert response.status == 400, response.text
    assert 'id="what-error"' in response.text and 'aria-invalid="true"' in response.text
    # Far over (more bytes than the field could ever need): refused while streaming.
    response = post_report(client, extra={"how": "b" * 10_000})
    assert response.status in (400, 413), response.text
    # A short field (300 characters by default).
    response = post_report(client, extra={"loss_estimate": "9" * 301})
    assert response.status == 400 and 'id="loss_estimate-error"' in response.text
    # Multi-byte characters count as characters, not bytes: 500 of them are fine.
    response = post_report(client, extra={"what": "é" * 499 + "€"})
    assert response.status == 200, response.text
    snap.counts["reports"] += 1
    snap.counts["items"] += 1
    snap.counts["accounts"] += 1
    assert db_counts(limited) == snap.counts
    still_works(limited)


def test_unknown_form_field(limited):
    snap = Snapshot(limited)
    response = post_report(limited.client(), extra={"nama_lengkap": "Budi"})
    assert response.status == 400
    assert "tidak dapat dipahami" in response.text
    # An unknown field after a sealed file: the file is removed again.
    client = limited.client()
    page = client.get("/submit")
    response = client.post_multipart("/submit", [("csrf_token", page.csrf),
                                                 ("attachments", FileField("a.bin", blocks(300 * KB))),
                                                 ("nama_lengkap", "Budi")])
    assert response.status == 400
    snap.unchanged()
    still_works(limited)


def test_not_multipart(limited):
    snap = Snapshot(limited)
    client = limited.client()
    page = client.get("/submit")
    response = client.post("/submit", {"csrf_token": page.csrf, **REPORT, "confirm": "1"})
    assert response.status == 400, response.text
    response = raw_post(client, b'{"what": "x"}', "application/json")
    assert response.status == 400
    response = raw_post(client, b"", None)
    assert response.status == 400
    snap.unchanged()
    still_works(limited)


def _multipart_head(csrf: str) -> bytes:
    return b'--xyz\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + csrf.encode() + b"\r\n"


GARBAGE = [
    pytest.param(lambda csrf: (os.urandom(3000), "multipart/form-data; boundary=xyz"),
                 id="random-bytes"),
    pytest.param(lambda csrf: (b"\x00garbage\xff" * 500, "multipart/form-data; boundary=xyz"),
                 id="no-boundary-line"),
    pytest.param(lambda csrf: (b"", "multipart/form-data; boundary=xyz"), id="empty-body"),
    pytest.param(lambda csrf: (b"--xyz\r\n\r\nabc\r\n--xyz--\r\n", "multipart/form-data"),
                 id="no-boundary-parameter"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b'--xyz\r\nContent-Disposition: form-data; name="what"'
                               b"\r\n\r\nno closing boundary", "multipart/form-data; boundary=xyz"),
                 id="truncated-text"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b'--xyz\r\nContent-Disposition: form-data; '
                               b'name="attachments"; filename="a.bin"\r\n\r\n' + b"x" * 300_000,
                               "multipart/form-data; boundary=xyz"),
                 id="truncated-file"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b"--xyz\r\n\xff\xfe\xfd\r\n\r\nabc\r\n--xyz--\r\n",
                               "multipart/form-data; boundary=xyz"),
                 id="bad-part-header"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b"--xyz\r\nX-Long: " + b"a" * 100_000 +
                               b"\r\n\r\nabc\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz"),
                 id="part-header-too-long"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b'--xyz\r\nContent-Disposition: form-data; name="what"'
                               b"\r\n\r\n\xff\xfe\xc0\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz"),
                 id="text-not-utf8"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b"--xyz\r\nContent-Type: multipart/mixed; boundary=abc\r\n"
                               b'Content-Disposition: form-data; name="attachments"\r\n\r\n--abc--\r\n--xyz--\r\n',
                               "multipart/form-data; boundary=xyz"),
                 id="nested-multipart"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b'--xyz\r\nContent-Disposition: form-data; name="what"'
                               b"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--xyz--\r\n",
                               "multipart/form-data; boundary=xyz"),
                 id="bad-base64-part"),
    pytest.param(lambda csrf: (_multipart_head(csrf) + b'--xyz\r\nContent-Disposition: form-data; '
                               b'name="attachments"; filename="a.gz"\r\nContent-Encoding: gzip\r\n\r\n!!!!'
                               b"\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz"),
                 id="bad-gzip-file-part"),
]


@pytest.mark.parametrize("make", GARBAGE)
def test_garbage_multipart_body_is_a_bad_request(limited, make):
    snap = Snapshot(limited)
    client = limited.client()
    page = client.get("/submit")
    body, content_type = make(page.csrf)
    response = raw_post(client, body, content_type)
    assert response.status < 500, f"{response.status}: {response.text}"
    assert response.status == 400
    # Either the plain "could not be understood" page, or the form again with its errors.
    assert "tidak dapat dipahami" in response.text or "Pengaduan belum terkirim" in response.text
    snap.unchanged()
    still_works(limited)


def test_garbage_leaves_nothing_behind(limited):
    """Whatever status the malformed bodies get (see the test above), none stores
    anything, none leaves a temp file, and the server keeps working."""
    snap = Snapshot(limited)
    client = limited.client()
    page = client.get("/submit")
    for param in GARBAGE:
        body, content_type = param.values[0](page.csrf)
        response = raw_post(client, body, content_type)
        assert response.status in (400, 500), param.id
        assert response.headers["Content-Type"].startswith("text/html")
        snap.unchanged()
    assert limited.process.poll() is None
    still_works(limited)


def test_refusals_never_log_an_internal_error(limited):
    """Every refusal above (bugs aside) is an expected outcome, not a 500 in the log."""
    client = limited.client()
    post_report(client, files=[FileField("besar.bin", blocks(2 * MB))])
    post_report(client, extra={"nama_lengkap": "x"})
    client.post("/submit", {"csrf_token": client.get("/submit").csrf})
    log = limited.output()
    assert "Traceback" not in log
    assert "besar.bin" not in log and "nama_lengkap" not in log


def test_message_limits(limited):
    """The mailbox message form has the same limits, and a refusal leaves the thread as it was."""
    client = limited.client()
    done = post_report(client)
    assert done.status == 200
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    page = client.get("/login")
    assert client.post("/login", {"csrf_token": page.csrf, "codename": codename,
                                  "passphrase": passphrase}).status == 303
    snap = Snapshot(limited)
    case = client.get(f"/mailbox/reports/{code}")
    path = f"/mailbox/reports/{code}/messages"
    too_big = client.post_multipart(path, [("csrf_token", case.csrf), ("body", "berkas tambahan"),
                                           ("attachments", FileField("besar.bin", blocks(2 * MB)))])
    assert_too_large(too_big)
    too_many = client.post_multipart(path, [("csrf_token", case.csrf), ("body", "banyak berkas")] +
                                     [("attachments", FileField(f"{i}.txt", b"isi")) for i in range(4)])
    assert_too_large(too_many)
    long_body = client.post_multipart(path, [("csrf_token", case.csrf), ("body", "x" * 501)])
    assert long_body.status == 400 and 'id="body-error"' in long_body.text
    unknown = client.post_multipart(path, [("csrf_token", case.csrf), ("body", "x"), ("what", "y")])
    assert unknown.status == 400
    snap.unchanged()
    sent = client.post_multipart(path, [("csrf_token", case.csrf), ("body", "pesan yang sah"),
                                        ("attachments", FileField("ok.txt", b"isi yang sah"))])
    assert sent.status == 303
    assert "pesan yang sah" in client.get(f"/mailbox/reports/{code}").text


def test_free_disk_guard(tmp_path):
    srv = start_server(tmp_path, min_free_bytes=10**18)
    try:
        client = srv.client()
        assert client.get("/").status == 200
        page = client.get("/submit")
        assert page.status == 200
        response = client.post_multipart("/submit", report_fields(page, files=[FileField("a.txt", b"isi")]))
        assert response.status == 507, response.text
        assert "tidak dapat menyimpan pengaduan" in response.text
        assert REPORT["what"] in response.text and REPORT["how"] in response.text  # the form again, filled
        assert "Berkas yang Anda pilih tidak disimpan" in response.text
        assert response.headers["Cache-Control"] == "no-store"
        english = srv.client()
        english.get("/?lang=en")
        page = english.get("/submit")
        response = english.post_multipart("/submit", report_fields(page))
        assert response.status == 507 and "cannot store reports" in response.text
        assert db_counts(srv)["reports"] == 0
        assert list((srv.data / "blobs" / "tmp").iterdir()) == []
    finally:
        srv.stop()
