"""Uploads at Tor speed against a real server: many reporters who send part of
a file and then stall must not cost a thread each, nor hold memory or an
upload slot forever. Threads and memory are read from the server process's
``/proc/PID/status``."""

from __future__ import annotations

import os
import select
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import start_server
from test_crash_during_upload import REPORT
from wbsclient import Client

MiB = 1024 * 1024
UPLOADS = 40
SENT = 1280 * 1024  # 1.25 MiB of each file, then silence
CAP = 8
SETTINGS = dict(max_uploads=CAP, upload_idle_seconds=3.0, upload_grace_seconds=4.0, upload_min_rate_bytes=64 * 1024)


def proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Upload:
    """One multipart POST on a raw socket: headers, the text fields, the start of a file."""

    BOUNDARY = "wbs" + "7" * 28

    def __init__(self, port: int, client: Client, csrf: str, file_size: int = 8 * MiB) -> None:
        b = self.BOUNDARY
        head = b"".join(f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in [("csrf_token", csrf)] + list(REPORT.items()))
        head += (f'--{b}\r\nContent-Disposition: form-data; name="attachments"; filename="rekaman.mp4"\r\n'
                 f"Content-Type: video/mp4\r\n\r\n").encode()
        tail = f'\r\n--{b}\r\nContent-Disposition: form-data; name="confirm"\r\n\r\n1\r\n--{b}--\r\n'.encode()
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        self.length = len(head) + file_size + len(tail)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
                          f"Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {self.length}\r\n"
                          f"Connection: close\r\n\r\n".encode() + head)

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False  # the server answered and closed

    def answered(self) -> bool:
        """Whether the server has said something (or closed) already."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def answer(self, timeout: float) -> int | None:
        """The status the server answered with, None if it closed without one."""
        self.sock.settimeout(timeout)
        reply = b""
        try:
            while b"\r\n" not in reply and (chunk := self.sock.recv(65536)):
                reply += chunk
        except ConnectionResetError:
            pass
        return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def slow_server(tmp_path):
    srv = start_server(tmp_path, **SETTINGS)
    yield srv
    srv.stop()


def test_stalled_uploads_cost_no_thread_each_and_are_abandoned(slow_server):
    srv = slow_server
    pid = srv.process.pid
    client = srv.client()
    page = client.get("/submit")
    assert page.status == 200
    threads_idle = proc_status(pid, "Threads")
    rss_idle = proc_status(pid, "VmRSS")
    piece = os.urandom(64 * 1024)
    uploads = [Upload(srv.port, client, page.csrf) for _ in range(UPLOADS)]
    try:
        for _ in range(SENT // len(piece)):
            for up in uploads:
                up.send(piece)
        time.sleep(1.0)
        threads_busy = proc_status(pid, "Threads")
        rss_busy = proc_status(pid, "VmRSS")
        # A fixed pool, whatever the number of uploads: not a thread (or two) per file.
        assert threads_busy <= threads_idle + 8, (threads_idle, threads_busy)
        assert rss_busy - rss_idle <= 128 * 1024, (rss_idle, rss_busy)  # KiB

        # Beyond the cap each upload got a quick 503; the rest are abandoned after the idle timeout.
        started = time.monotonic()
        statuses = [up.answer(timeout=30) for up in uploads]
        waited = time.monotonic() - started
        assert statuses.count(503) >= UPLOADS - CAP, statuses
        assert all(s in (503, 408, None) for s in statuses), statuses
        assert waited < 20, waited
    finally:
        for up in uploads:
            up.close()
    deadline = time.monotonic() + 10
    tmp = srv.data / "blobs" / "tmp"
    while time.monotonic() < deadline and list(tmp.iterdir()):
        time.sleep(0.1)
    assert list(tmp.iterdir()) == []
    assert proc_status(pid, "Threads") <= threads_idle + 8
    assert client.get("/").status == 200
    log = srv.output()
    assert "internal error" not in log
    assert "upload abandoned" in log


def test_a_trickle_cannot_hold_a_slot_forever(slow_server):
    """Bytes keep coming, never idle for the timeout, but far below the minimum average rate."""
    srv = slow_server
    client = srv.client()
    page = client.get("/submit")
    up = Upload(srv.port, client, page.csrf)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 15 and not up.answered() and up.send(b"x" * 100):
            time.sleep(1.0)
        assert up.answer(timeout=10) in (408, None)
        assert time.monotonic() - started < 12
    finally:
        up.close()
    assert "upload abandoned" in srv.output()
    assert client.get("/").status == 200


def test_a_slow_but_steady_upload_is_accepted(slow_server):
    """Above the minimum rate and never idle for long: stored, like any other."""
    srv = slow_server
    client = srv.client()
    page = client.get("/submit")
    size = 1 * MiB
    up = Upload(srv.port, client, page.csrf, file_size=size)
    try:
        piece = os.urandom(32 * 1024)
        for _ in range(size // len(piece)):
            time.sleep(0.1)  # 320 KiB/s, in pieces, for about 3 seconds
            assert up.send(piece)
        b = Upload.BOUNDARY
        assert up.send(f'\r\n--{b}\r\nContent-Disposition: form-data; name="confirm"\r\n\r\n1\r\n--{b}--\r\n'
                       .encode())
        assert up.answer(timeout=30) == 200
    finally:
        up.close()


def small_form_post(srv, client: Client, body: bytes, pieces: list[int], pause: float,
                    length: int | None = None) -> socket.socket:
    """POST /login on a raw socket, the body sent in pieces cut at ``pieces`` (``length`` declared)."""
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    sock.sendall(f"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
                 f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length or len(body)}\r\n"
                 f"Connection: close\r\n\r\n".encode())
    for start, end in zip([0] + pieces, pieces + [len(body)]):
        if start:
            time.sleep(pause)
        sock.sendall(body[start:end])
    return sock


def status_of(sock: socket.socket) -> int | None:
    reply = b""
    while b"\r\n" not in reply and (chunk := sock.recv(65536)):
        reply += chunk
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None


def test_a_small_form_arriving_in_pieces_is_read_whole(slow_server):
    client = slow_server.client()
    page = client.get("/login")
    body = urlencode({"csrf_token": page.csrf, "codename": "salah-salah-salah", "passphrase": "bukan ini"}).encode()
    with small_form_post(slow_server, client, body, [20, 60], pause=0.3) as sock:
        assert status_of(sock) == 200  # the login form again, "wrong codename or passphrase": not a 403


def test_a_small_form_that_stalls_is_abandoned(slow_server):
    client = slow_server.client()
    page = client.get("/login")
    body = urlencode({"csrf_token": page.csrf, "codename": "x", "passphrase": "y"}).encode()
    started = time.monotonic()
    with small_form_post(slow_server, client, body[:30], [], pause=0, length=len(body)) as sock:  # the rest never comes
        sock.settimeout(15)
        assert status_of(sock) == 408
    assert time.monotonic() - started < 10
    assert client.get("/").status == 200


def test_a_client_that_goes_away_mid_upload_is_logged_as_such(slow_server):
    srv = slow_server
    client = srv.client()
    page = client.get("/submit")
    up = Upload(srv.port, client, page.csrf)
    piece = os.urandom(64 * 1024)
    for _ in range(SENT // len(piece)):
        assert up.send(piece)
    time.sleep(0.5)
    up.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "upload aborted by the client" not in srv.output():
        time.sleep(0.1)
    log = srv.output()
    assert "upload aborted by the client" in log
    assert "internal error" not in log
    assert list((srv.data / "blobs" / "tmp").iterdir()) == []


def test_beyond_the_cap_a_quick_polite_busy_page(slow_server):
    srv = slow_server
    client = srv.client()
    page = client.get("/submit")
    held = [Upload(srv.port, client, page.csrf) for _ in range(CAP)]
    try:
        time.sleep(0.5)
        for lang, words in (("id", "Tunggu sebentar, lalu kirim lagi"), ("en", "Wait a moment, then send again")):
            visitor = srv.client()
            form = visitor.get(f"/submit?lang={lang}")
            started = time.monotonic()
            busy = visitor.post_multipart("/submit", [("csrf_token", form.csrf), *REPORT.items(), ("confirm", "1")])
            assert time.monotonic() - started < 2
            assert busy.status == 503, busy.text[:300]
            assert words in busy.text
            assert busy.headers["Retry-After"] == "10"
    finally:
        for up in held:
            up.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the slots come back once the held uploads are gone
        done = srv.client()
        form = done.get("/submit")
        answer = done.post_multipart("/submit", [("csrf_token", form.csrf), *REPORT.items(), ("confirm", "1")])
        if answer.status == 200:
            break
        time.sleep(0.2)
    assert answer.status == 200
