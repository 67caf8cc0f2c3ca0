"""What the server gives away about time: days only, on disk and on the wire."""

from __future__ import annotations

import io
import os
import socket
import time
from pathlib import Path

from conftest import start_server
from crypto.export_bundle import ExportBundle
from test_reporter_journey import submit
from test_staff import Staff
from wbsclient import FileField

DAY = 86400


def raw_heads(port: int, request: bytes) -> list[bytes]:
    """Every response head on one connection (the server closes it after the last)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return [part.split(b"\r\n\r\n", 1)[0][2:] for part in data.split(b"HTTP/1.")[1:]]


def test_no_answer_of_either_listener_carries_a_date(tmp_path):
    server = start_server(tmp_path)
    try:
        requests = {
            server.port: [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /static/style.css HTTP/1.1\r\nHost: x\r\n\r\n",
                          b"GET /no-such-page HTTP/1.1\r\nHost: x\r\n\r\n",
                          b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                          b"GET /?lang=en HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
            server.staff_port: [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /staff/login HTTP/1.1\r\nHost: x\r\n\r\n",
                                b"GET /staff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        }
        for port, sequence in requests.items():
            heads = raw_heads(port, b"".join(sequence))
            assert len(heads) == len(sequence), heads
            for head in heads:
                assert b"\r\ndate:" not in head.lower(), head
            # the answers aiohttp makes on its own, to malformed requests
            for bad in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01Header: y\r\n\r\n"):
                head = raw_heads(port, bad)[0]
                assert head.startswith(b"400") and b"\r\ndate:" not in head.lower(), head
    finally:
        server.stop()


def test_static_files_carry_no_install_time(shared_server):
    css = shared_server.client().get("/static/style.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.headers.get("Last-Modified") is None and css.headers.get("ETag") is None
    assert css.body == (Path(__file__).resolve().parents[2] / "templates/static/style.css").read_bytes()


def test_the_language_cookie_lasts_the_browser_session(shared_server):
    english = shared_server.client().get("/?lang=en")
    cookies = [c for c in english.headers.get_all("Set-Cookie") if c.startswith("wbs_lang=")]
    assert len(cookies) == 1 and "wbs_lang=en" in cookies[0]
    assert "max-age" not in cookies[0].lower() and "expires" not in cookies[0].lower(), cookies[0]


def _times(path: Path) -> tuple[float, float]:
    st = os.stat(path)
    return st.st_atime, st.st_mtime


def test_blobs_and_their_folders_carry_the_day_only(tmp_path):
    server = start_server(tmp_path)
    try:
        code = submit(server.client(), files=[FileField("bukti.pdf", b"%PDF " * 5000)]).element_text("report-code")
        blobs = server.data / "blobs"
        paths = [blobs, blobs / "tmp", *blobs.glob("??"), *blobs.glob("??/*.wbse")]
        assert len(list(blobs.glob("??/*.wbse"))) == 2
        midnight = time.time() // DAY * DAY
        for path in paths:
            atime, mtime = _times(path)
            # A folder's access time moves whenever anything lists it (this test does): files only.
            assert mtime % DAY == 0 and (path.is_dir() or atime % DAY == 0), (path, atime, mtime)
            assert midnight - DAY <= mtime <= midnight, path
        # Reading them for an export leaves the access times on the day too.
        admin = Staff(server, "kepala", "admin").ready()
        export = admin.client.get(f"/staff/export?report={code}")
        with ExportBundle(io.BytesIO(export.body)) as bundle:
            assert len(bundle.reports[0]["items"]) == 2
        for path in blobs.glob("??/*.wbse"):
            assert _times(path)[0] % DAY == 0, path
    finally:
        server.stop()
