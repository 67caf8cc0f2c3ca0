"""A server killed (SIGKILL) in the middle of uploads, then started again on
the same data folder: it starts, keeps every report it acknowledged and
nothing half-stored, leaves no stray file in the blob store, and works."""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import socket
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import start_server, wbs
from crypto.envelope import open_stream
from crypto.export_bundle import ExportBundle
from crypto.items import open_json
from wbsclient import Client, FileField, Response

MiB = 1024 * 1024
BIG = 300 * MiB
KILL_AT = 150 * MiB  # the .part file must have reached this before the kill

REPORT = {
    "category": "korupsi",
    "what": "Dana hibah dipotong",
    "who": "Bendahara",
    "where": "Sekretariat Daerah",
    "when": "2026",
    "how": "Potongan sepuluh persen",
}


def report_fields(page: Response, extra=None, files=()) -> list:
    fields = [("csrf_token", page.csrf)] + list({**REPORT, **(extra or {})}.items())
    fields += [("attachments", f) for f in files]
    fields.append(("confirm", "1"))
    return fields


def db(srv) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{srv.data / 'wbs.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def counts(srv) -> dict[str, int]:
    with closing(db(srv)) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("accounts", "reports", "items")}


def assert_store_consistent(srv) -> set[str]:
    """No temp file; every blob named by a row; every row's blob present. Returns the item ids."""
    root = srv.data / "blobs"
    tmp = root / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    files = [p for p in root.rglob("*") if p.is_file() and p.parent != tmp]
    assert not [p for p in root.rglob("*.part")]
    with closing(db(srv)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        items = {r["item_id"]: r for r in conn.execute("SELECT * FROM items")}
        orphans = conn.execute("SELECT COUNT(*) FROM reports WHERE code NOT IN (SELECT report_code FROM items"
                               " WHERE kind = 'report')").fetchone()[0]
    assert orphans == 0, "a report without its report item"
    on_disk = {}
    for path in files:
        assert path.suffix == ".wbse" and path.parent.name == path.stem[:2], path
        on_disk[path.stem] = path
    assert set(on_disk) == set(items), (set(on_disk) ^ set(items))
    for item_id, row in items.items():
        data = on_disk[item_id].read_bytes()
        assert len(data) == row["size"] and hashlib.sha256(data).hexdigest() == row["sha256"], item_id
    return set(items)


def export_all(srv, out: Path) -> bytes:
    wbs("export", "--out", str(out), "--all", "--config", str(srv.config))
    return out.read_bytes()


def open_bundle(data: bytes):
    return ExportBundle(io.BytesIO(data))


def small_report_works(srv, tmp_path: Path) -> None:
    """A normal report with a file, then its export opened with the org keys."""
    client = srv.client()
    evidence = b"%PDF-1.4 bukti setelah restart\n" + os.urandom(50_000)
    done = client.post_multipart("/submit", report_fields(client.get("/submit"), {"what": "Setelah restart"},
                                                          [FileField("bukti.pdf", evidence, "application/pdf")]))
    assert done.status == 200, done.text
    code = done.element_text("report-code")
    page = client.get("/login")
    logged = client.post("/login", {"csrf_token": page.csrf, "codename": done.element_text("codename"),
                                    "passphrase": done.element_text("passphrase")})
    assert logged.status == 303
    assert code in client.get("/mailbox").text
    out = tmp_path / f"after-{code}.zip"
    wbs("export", "--out", str(out), "--report", code, "--config", str(srv.config))
    keys = srv.keyring.private_keys
    with open(out, "rb") as src, ExportBundle(src) as bundle:
        (report,) = bundle.reports
        assert report["report_code"] == code
        items = report["items"]
        assert [i["kind"] for i in items] == ["report", "attachment"]
        content = open_json(bundle.read_item(items[0]["item_id"]), keys, report_code=code).content
        assert content["what"] == "Setelah restart"
        ref = content["attachments"][0]
        plain = b"".join(open_stream(io.BytesIO(bundle.read_item(ref["item_id"])), keys))
        assert plain == evidence and hashlib.sha256(plain).hexdigest() == ref["sha256"]


def big_blocks(total: int, size: int = 64 * 1024):
    base = os.urandom(size)
    for n in range(total // size):
        yield n.to_bytes(8, "big") + base[8:]


def upload_until_killed(srv) -> Path:
    """Stream a 300 MB report; SIGKILL the server once its temp blob holds KILL_AT bytes.

    One attempt: the server must still be reading the upload when the temp
    blob reaches that size; any answer before it is a failure.
    """
    part_dir = srv.data / "blobs" / "tmp"
    client = srv.client()
    page = client.get("/submit")
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            outcome["response"] = client.post_multipart(
                "/submit", report_fields(page, files=[FileField("rekaman.mp4", big_blocks(BIG), "video/mp4")]),
                timeout=300)
        except Exception as exc:  # noqa: BLE001 - the server dies under it
            outcome["error"] = exc

    thread = threading.Thread(target=upload)
    thread.start()
    deadline = time.monotonic() + 180
    part: Path | None = None
    while time.monotonic() < deadline and thread.is_alive():
        parts = [p for p in part_dir.glob("*.part") if p.stat().st_size >= KILL_AT]
        if parts:
            part = parts[0]
            break
        time.sleep(0.01)
    if part is None:
        thread.join(timeout=60)
        response = outcome.get("response")
        raise AssertionError(f"answered before {KILL_AT} bytes: {getattr(response, 'status', outcome)}; "
                             f"{srv.output()[-400:]}")
    srv.stop(signal.SIGKILL)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert "response" not in outcome, outcome  # the upload never finished
    return part


@pytest.mark.slow
def test_killed_during_a_large_upload(tmp_path):
    srv = start_server(tmp_path)
    part = upload_until_killed(srv)
    # What the crash left: a big temp file, and nothing in the database.
    assert part.exists() and part.stat().st_size >= KILL_AT
    assert counts(srv) == {"accounts": 0, "reports": 0, "items": 0}

    again = start_server(tmp_path, srv.keyring, data=srv.data, fresh=False)
    try:
        assert again.client().get("/").status == 200
        assert not part.exists()
        assert counts(again) == {"accounts": 0, "reports": 0, "items": 0}
        assert assert_store_consistent(again) == set()
        data = export_all(again, tmp_path / "export-empty.zip")
        with open_bundle(data) as bundle:
            assert bundle.reports == []
        small_report_works(again, tmp_path)
        assert len(assert_store_consistent(again)) == 2
        assert "internal error" not in again.output()
    finally:
        again.stop()


def _drip_upload(srv, burst: bytes, bursts: int, pause: float) -> tuple[int, str]:
    """POST /submit with one file whose bytes arrive in separate small pieces, as over Tor."""
    client = srv.client()
    page = client.get("/submit")
    boundary = "wbs" + "0" * 28  # 31 characters, like wbsclient's boundaries
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in [("csrf_token", page.csrf)] + list(REPORT.items()) + [("confirm", "1")])
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="video.mp4"\r\n'
             f"Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    length = len(head) + len(burst) * bursts + len(tail)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
                     f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n"
                     f"Connection: close\r\n\r\n".encode() + head)
        try:
            for _ in range(bursts):
                time.sleep(pause)
                sock.sendall(burst)
            sock.sendall(tail)
        except OSError:
            pass  # the server answered early and closed
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status = int(reply.split(b" ", 2)[1])
    return status, reply.decode("utf-8", "replace")


def test_upload_arriving_in_small_pieces_is_accepted(tmp_path):
    """15650-byte pieces: 67 of them make 1 MiB - 26 bytes, less than the boundary needs.

    Tried at two paces, so that a busy machine merging pieces does not hide the problem.
    """
    srv = start_server(tmp_path)
    try:
        burst = os.urandom(15650)
        for n, pause in enumerate((0.01, 0.03), start=1):
            status, _ = _drip_upload(srv, burst, bursts=140, pause=pause)
            assert status == 200, srv.output()[-400:]
            assert "internal error" not in srv.output()
            assert counts(srv)["items"] == 2 * n
    finally:
        srv.stop()


def test_killed_during_a_stream_of_small_reports(tmp_path):
    srv = start_server(tmp_path)
    acknowledged: dict[str, dict] = {}  # report code -> what we sent and got
    lock = threading.Lock()
    stop = threading.Event()

    def reporter(tid: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            what = f"laporan {tid}-{n}"
            content = f"isi berkas {tid}-{n} ".encode() * 2000
            client = Client(srv.port)
            try:
                page = client.get("/submit")
                done = client.post_multipart("/submit", report_fields(
                    page, {"what": what}, [FileField(f"bukti-{tid}-{n}.txt", content, "text/plain")]))
            except Exception:  # noqa: BLE001 - the server was killed
                return
            if done.status != 200:
                with lock:
                    acknowledged[f"bad-{tid}-{n}"] = {"status": done.status}
                return
            with lock:
                acknowledged[done.element_text("report-code")] = {
                    "what": what, "content": content, "codename": done.element_text("codename"),
                    "passphrase": done.element_text("passphrase")}

    threads = [threading.Thread(target=reporter, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.2))  # land the kill somewhere inside a request
    srv.stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    with lock:
        acked = dict(acknowledged)
    assert not [k for k in acked if k.startswith("bad-")], acked
    assert len(acked) >= 8

    again = start_server(tmp_path, srv.keyring, data=srv.data, fresh=False)
    try:
        assert again.client().get("/").status == 200
        assert_store_consistent(again)
        with closing(db(again)) as conn:
            stored = {r["code"] for r in conn.execute("SELECT code FROM reports")}
        # Every acknowledged report survived the kill; at most the ones in flight may be extra.
        assert set(acked) <= stored
        assert len(stored - set(acked)) <= 3
        sent_by_what = {v["what"]: v for v in acked.values()}
        keys = again.keyring.private_keys
        data = export_all(again, tmp_path / "export-after-kill.zip")
        with open_bundle(data) as bundle:
            assert {r["report_code"] for r in bundle.reports} == stored
            for report in bundle.reports:
                code = report["report_code"]
                items = report["items"]
                assert [i["kind"] for i in items] == ["report", "attachment"], code
                content = open_json(bundle.read_item(items[0]["item_id"]), keys, report_code=code).content
                ref = content["attachments"][0]
                plain = b"".join(open_stream(io.BytesIO(bundle.read_item(ref["item_id"])), keys))
                assert hashlib.sha256(plain).hexdigest() == ref["sha256"]
                if code in acked:
                    assert content["what"] == acked[code]["what"] and plain == acked[code]["content"]
                else:  # in flight at the kill, but committed: still whole
                    tid_n = content["what"].removeprefix("laporan ")
                    assert plain == f"isi berkas {tid_n} ".encode() * 2000
                    assert content["what"] not in sent_by_what
        # The accounts survived too: an acknowledged reporter logs in.
        code, sent = next(iter(acked.items()))
        client = again.client()
        page = client.get("/login")
        logged = client.post("/login", {"csrf_token": page.csrf, "codename": sent["codename"],
                                        "passphrase": sent["passphrase"]})
        assert logged.status == 303
        assert code in client.get("/mailbox").text
        small_report_works(again, tmp_path)
        assert_store_consistent(again)
    finally:
        again.stop()
