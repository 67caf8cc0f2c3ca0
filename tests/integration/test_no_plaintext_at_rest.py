"""THREAT_MODEL.md's proof: after a full run with marker strings in every
field, file name and file, not one marker (nor the codename, the passphrase,
the visitor's User-Agent or addresses) is found in the database, its WAL and
shared memory, the blob store, any temp folder the server could use, or the
server's output — while it runs, and after it stops.

The server may hold in clear only days of creation and change, statuses,
padded sizes, which reports share an account, staff accounts and the audit
log. What the reporter chose from a closed set (the category, the incident
date) is content too: a marker cannot be put in it, so the test picks values
that cannot turn up by chance and looks for those — in the data folder, the
audit rows, every staff page, the statistics CSV and the staff export."""

from __future__ import annotations

import base64
import io
import os
import secrets
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path

import pytest

from conftest import Server, start_server, wbs
from crypto.envelope import open_stream
from crypto.export_bundle import ExportBundle
from crypto.items import open_json
from server.i18n import CATEGORIES, category_label
from test_staff import Staff
from wbsclient import Client, FileField, Response

KiB = 1024
MiB = 1024 * KiB
FORWARDED_IPS = ("203.0.113.77", "198.51.100.23", "192.0.2.199")
# The reporter's closed-set choices for the two reports: categories whose keys and labels no page
# or file of the server spells otherwise, and incident dates decades before any day it records.
CHOICES = ({"category": "penyalahgunaan_wewenang", "incident_date": "1987-06-23"},
           {"category": "benturan_kepentingan", "incident_date": "1991-11-07"})


class Visitor(Client):
    """A browser that sends a User-Agent, a Referer and the addresses a proxy would add."""

    def __init__(self, port: int, token: str) -> None:
        super().__init__(port)
        self.sent = {
            "User-Agent": f"Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0 WBS-UA-{token}",
            "Referer": f"http://intranet.example/referer-{token}",
            "X-Forwarded-For": FORWARDED_IPS[0],
            "Forwarded": f"for={FORWARDED_IPS[1]}",
            "X-Real-IP": FORWARDED_IPS[2],
            "Accept-Language": "id-ID,id;q=0.9",
        }

    def _headers(self, extra=None):  # type: ignore[no-untyped-def]
        return {**self.sent, **super()._headers(extra)}


def variants(text: str) -> dict[str, bytes]:
    """The byte forms a string could take on disk: raw, cases, UTF-16, hex, base64."""
    raw = text.encode("utf-8")
    found = {
        "raw": raw,
        "upper": text.upper().encode(),
        "lower": text.lower().encode(),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
    }
    for shift in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * shift + raw)
            # Drop the characters that also depend on neighbouring bytes.
            found[f"{name}+{shift}"] = encoded[4 if shift else 0:-4]
    return {name: value for name, value in found.items() if len(value) >= 12}


class Needles:
    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []

    def add(self, label: str, text: str) -> None:
        for kind, value in variants(text).items():
            self.items.append((f"{label} ({kind})", value))

    def add_raw(self, label: str, value: bytes) -> None:
        self.items.append((label, value))


def scan_file(path: Path, needles: Needles) -> list[str]:
    hits = []
    overlap = max(len(v) for _, v in needles.items)
    try:
        with open(path, "rb") as f:
            tail = b""
            while block := f.read(16 * MiB):
                data = tail + block
                for label, value in needles.items:
                    if value in data and label not in hits:
                        hits.append(label)
                tail = data[-overlap:]
    except (PermissionError, FileNotFoundError, IsADirectoryError, OSError):
        return []
    return hits


def scan_tree(root: Path, needles: Needles, *, since: float | None = None, skip: tuple[Path, ...] = (),
              max_size: int = 2048 * MiB) -> list[str]:
    """Every regular file under ``root`` (changed since ``since``, if given): 'path: what' for each hit."""
    hits = []
    for folder, dirs, files in os.walk(root, onerror=lambda e: None):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink() and here / d not in skip
                   and not d.startswith(("bash_jobs", "bash_tool"))]
        for name in files:
            path = here / name
            try:
                st = path.lstat()
            except OSError:
                continue
            if not path.is_file() or path.is_symlink():
                continue
            if since is not None and max(st.st_mtime, st.st_ctime) < since:
                continue
            if st.st_size > max_size:
                continue
            hits += [f"{path}: {what}" for what in scan_file(path, needles)]
    return hits


def open_files(pid: int) -> list[str]:
    targets = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            pass
    return targets


def report_fields(page: Response, values: dict[str, str], files: list[FileField]) -> list:
    return [("csrf_token", page.csrf)] + list(values.items()) + [("attachments", f) for f in files] + [
        ("confirm", "1")]


def chosen_texts(choice: dict[str, str]) -> list[tuple[str, str]]:
    """(label, text) for each form a closed-set choice could be stored or shown in."""
    key = choice["category"]
    indonesian, english = category_label("id", key), category_label("en", key)
    day = choice["incident_date"]
    return [(f"category key {key}", key), (f"category label {indonesian!r}", indonesian),
            (f"category label {english!r}", english), (f"incident date {day}", day)]


def marked_report(marker, choice: dict[str, str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    values = {"category": choice["category"]}
    for name in ("what", "who", "where", "when", "how", "loss_estimate", "evidence_note", "identity"):
        values[name] = f"Teks {name}: {marker(name)} selesai"
    for i in (1, 2):
        for part in ("name", "position", "unit"):
            values[f"person{i}_{part}"] = marker(f"person{i}-{part}")
    values["incident_date"] = choice["incident_date"]
    return values


def staff_sees_no_choice(srv: Server, codes: list[str], chosen: list[tuple[str, str]]) -> list[str]:
    """Staff work on both cases (status, online reply, export); no staff page, CSV or export names a choice."""
    admin = Staff(srv, "kepala", "admin").ready()
    first = codes[0]
    assert admin.post(f"/staff/reports/{first}/status", {"status": "verification", "confirm_from": "received"}).status == 303
    assert admin.post(f"/staff/reports/{first}/reply", {"body": "Mohon kirim salinan kuitansi."}).status == 303
    pages = ["/staff", "/staff/reports", "/staff/stats", "/staff/stats.csv", "/staff/audit", "/staff/users",
             "/staff/import", *(f"/staff/reports/{code}" for code in codes), f"/staff/export?report={first}"]
    hits = []
    for path in pages + [f"{path}{'&' if '?' in path else '?'}lang=en" for path in pages]:
        response = admin.client.get(path)
        assert response.status == 200, path
        hits += [f"staff page {path}: {label}" for label, text in chosen if text.encode() in response.body]
    return hits


def test_no_marker_anywhere_at_rest(tmp_path, monkeypatch):
    token = secrets.token_hex(8)

    def marker(what: str) -> str:
        return f"MARKER-{token}-{what}"

    system_tmps = {Path(tempfile.gettempdir()).resolve()}
    for candidate in ("/tmp", "/var/tmp", "/usr/tmp", "/dev/shm"):
        if Path(candidate).is_dir():
            system_tmps.add(Path(candidate).resolve())
    server_tmp = tmp_path / "server-tmpdir"
    server_tmp.mkdir()
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(name, str(server_tmp))
    started = time.time() - 2
    srv = start_server(tmp_path)
    try:
        # 1. A first report: every text field, two persons, two files (names, types and contents marked).
        visitor = Visitor(srv.port, token)
        big = bytearray(os.urandom(400 * KiB))
        inside = marker("file1-content").encode()
        big[123_457:123_457 + len(inside)] = inside
        page = visitor.get("/submit")
        done = visitor.post_multipart("/submit", report_fields(page, marked_report(marker, CHOICES[0]), [
            FileField(marker("file1") + ".pdf", bytes(big), f"application/x-m{token}"),
            FileField(marker("file2") + ".txt", marker("file2-content").encode(), "text/plain"),
        ]))
        assert done.status == 200, done.text
        codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))

        # 2. Log in; a message with a marked body and files; look inside the server mid-upload.
        logged = visitor.post("/login", {"csrf_token": visitor.get("/login").csrf, "codename": codename,
                                         "passphrase": passphrase})
        assert logged.status == 303
        case = visitor.get(f"/mailbox/reports/{code}")
        assert marker("what") in case.text and marker("file1") + ".pdf" in case.text  # the server had them
        midway: dict[str, object] = {}
        part_dir = srv.data / "blobs" / "tmp"

        def message_blocks(name: str, pause: bool):
            # 14 x 64 KiB: under 1 MiB (see test_crash_during_upload's small-pieces bug);
            # markers in the first, a middle and the last block.
            block = os.urandom(64 * KiB)
            for n in range(14):
                if n in (0, 7, 13):
                    mark = marker(f"{name}-content-{n}").encode()
                    yield block[:1000] + mark + block[1000 + len(mark):]
                else:
                    yield block
                if pause and n == 9:
                    # The first file is sealed and fsync'd under blobs/tmp; this one is in flight.
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        if any(p.stat().st_size >= 512 * KiB for p in part_dir.glob("*.part")):
                            break
                        time.sleep(0.02)
                    midway["parts"] = [(p, p.read_bytes()) for p in part_dir.glob("*.part")]
                    midway["fds"] = open_files(srv.process.pid)
                    midway["server_tmp"] = sorted(str(p) for p in server_tmp.rglob("*"))

        sent = visitor.post_multipart(f"/mailbox/reports/{code}/messages", [
            ("csrf_token", case.csrf), ("body", f"Pesan: {marker('message')}"),
            ("attachments", FileField(marker("msgfile1") + ".bin", message_blocks("msgfile1", False),
                                      f"video/x-m{token}")),
            ("attachments", FileField(marker("msgfile2") + ".bin", message_blocks("msgfile2", True))),
            ("attachments", FileField(marker("msgfile3") + ".txt", marker("msgfile3-content").encode())),
        ])
        assert sent.status == 303, sent.text
        assert marker("message") in visitor.get(f"/mailbox/reports/{code}").text

        # 3. A second report from the mailbox.
        page = visitor.get("/mailbox/submit")
        second = visitor.post_multipart("/mailbox/submit", report_fields(
            page, marked_report(lambda what: marker("r2-" + what), CHOICES[1]),
            [FileField(marker("r2-file") + ".doc", b"isi " + marker("r2-file-content").encode() + b" isi")]))
        assert second.status == 200, second.text
        code2 = second.element_text("report-code")

        # The keyholders can read everything: the markers really were stored (sealed).
        export = tmp_path / "export.zip"
        wbs("export", "--out", str(export), "--all", "--config", str(srv.config))
        keys = srv.keyring.private_keys
        with open(export, "rb") as src, ExportBundle(src) as bundle:
            reports = {r["report_code"]: r for r in bundle.reports}
            assert set(reports) == {code, code2}
            first = open_json(bundle.read_item(reports[code]["items"][0]["item_id"]), keys, report_code=code).content
            assert marker("identity") in first["identity"] and marker("person2-unit") in str(first)
            assert {k: first[k] for k in CHOICES[0]} == CHOICES[0]
            assert first["attachments"][0]["filename"] == marker("file1") + ".pdf"
            blob = bundle.read_item(first["attachments"][0]["item_id"])
            assert b"".join(open_stream(io.BytesIO(blob), keys)) == bytes(big)

        # What must not be anywhere: random values only this run could have made ...
        unique = Needles()
        # Every marker, file name, media type and the User-Agent carry the token; its
        # variants (each base64 alignment included) match it inside any longer string.
        unique.add("marker token", token)
        for label, text in (("codename", codename), ("codename (compact)", codename.replace("-", "")),
                            ("passphrase", passphrase)):
            for kind in ("raw", "lower", "upper", "utf-16-le"):
                unique.add_raw(f"{label} ({kind})", variants(text)[kind])
        # ... what the visitor's browser sent about itself (searched where this server writes) ...
        visitor_traces = Needles()
        visitor_traces.items = list(unique.items)
        for ip in FORWARDED_IPS:
            visitor_traces.add_raw(f"forwarded address {ip}", ip.encode())
            visitor_traces.add_raw(f"forwarded address {ip} (utf-16)", ip.encode("utf-16-le"))
        visitor_traces.add_raw("User-Agent product", b"Gecko/20100101 Firefox/115.0")
        visitor_traces.add_raw("Referer host", b"intranet.example")
        # ... what the reporter chose from a closed set (searched where this server writes; other
        # programs' files may well name a category) ...
        chosen = [item for choice in CHOICES for item in chosen_texts(choice)]
        for label, text in chosen:
            visitor_traces.add(label, text)
            if len(text.encode()) < 12:  # too short for variants(), and still unlikely by chance
                visitor_traces.add_raw(f"{label} (raw)", text.encode())
        # ... and in the data folder, not even the address every visitor comes from (loopback here).
        at_rest = Needles()
        at_rest.items = list(visitor_traces.items)
        at_rest.add_raw("client address", b"127.0.0.1")
        at_rest.add_raw("client address (utf-16)", "127.0.0.1".encode("utf-16-le"))

        def check_everything(when: str) -> None:
            hits = []
            database = srv.data / "wbs.sqlite3"
            names = {p.name for p in srv.data.iterdir()}
            assert "wbs.sqlite3" in names, names
            if when == "while running":
                assert {"wbs.sqlite3-wal", "wbs.sqlite3-shm"} <= names, names
            # The data folder: database, -wal, -shm, blob store, secrets, keys; no IP or User-Agent.
            for path in sorted(srv.data.rglob("*")):
                if path.is_file():
                    hits += [f"{path}: {what}" for what in scan_file(path, at_rest)]
            assert database.stat().st_size > 0
            # The server's own temp folder stays empty; the system temp folders and the
            # test's folders (export bundle, config, logs) hold no marker.
            leftovers = sorted(str(p) for p in server_tmp.rglob("*"))
            assert leftovers == [], f"{when}: the server wrote temp files: {leftovers}"
            hits += scan_tree(tmp_path, visitor_traces)
            for folder in system_tmps:
                # (a spooled copy of this run's uploads would be a few MiB; others' big files are skipped)
                hits += scan_tree(folder, unique, since=started, skip=(tmp_path,), max_size=256 * MiB)
            # The server's stdout and stderr.
            output = srv.log.read_bytes()
            hits += [f"server output: {label}" for label, value in visitor_traces.items if value in output]
            for word in (b"Traceback", b"internal error", b"User-Agent", b"Mozilla"):
                assert word not in output, (when, word, output[-2000:])
            assert not hits, f"{when}: found at rest:\n" + "\n".join(hits)

        # Mid-upload: only the database, the log and ciphertext under blobs/tmp were open.
        assert midway, "the upload's midway checks did not run"
        assert midway["server_tmp"] == []
        parts = midway["parts"]
        assert parts and any(len(data) >= 512 * KiB for _, data in parts), [(p, len(d)) for p, d in parts]
        for path, data in parts:
            assert not [label for label, value in unique.items if value in data], path
        data_root = str(srv.data.resolve()) + os.sep
        unexpected = []
        for target in midway["fds"]:
            if not target.startswith("/") or target.startswith(("/dev/", "/proc/")):
                continue
            if target.startswith(data_root) or target == str(srv.log.resolve()):
                continue
            if any(target.startswith(str(t) + os.sep) for t in system_tmps | {server_tmp.resolve()}) \
                    or "(deleted)" in target:
                unexpected.append(target)
        assert not unexpected, f"open temp files mid-upload: {unexpected}"

        # Staff work on both cases; then no staff page and no audit row names a choice.
        hits = staff_sees_no_choice(srv, [code, code2], chosen)
        with closing(sqlite3.connect(f"file:{srv.data / 'wbs.sqlite3'}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT day, actor, action, report_code, detail FROM audit").fetchall()
        assert {"status", "reply_online", "export"} <= {row[2] for row in rows}, rows
        hits += [f"audit row {row}: {label}" for row in rows for label, text in chosen
                 if text.lower() in " ".join(map(str, row)).lower()]
        assert not hits, "the reporter's choices are in clear:\n" + "\n".join(hits)

        check_everything("while running")
        srv.stop()
        assert srv.process.returncode == 0, srv.output()[-2000:]
        check_everything("after stopping")
    finally:
        srv.stop()


def _raw_exchange(port: int, data: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    return reply


def test_malformed_requests_leave_no_address_or_request_bytes_in_the_log(tmp_path):
    token = secrets.token_hex(8)
    srv = start_server(tmp_path)
    try:
        ua = f"Mozilla/5.0 WBS-UA-{token}"
        for request in (
            f"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: {ua}\r\nX-Note: {token}".encode() + b"a" * 9000 + b"\r\n\r\n",
            f"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: {ua}\r\nBad\x01Header: {token}\r\n\r\n".encode(),
            f"GET /{token}".encode() + b"b" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            f"POST /submit HTTP/1.1\r\nHost: x\r\nUser-Agent: {ua}\r\nContent-Length: 5\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n{token}".encode(),
        ):
            reply = _raw_exchange(srv.port, request)
            assert reply.startswith(b"HTTP/1.") and b" 400 " in reply.split(b"\r\n", 1)[0]
        assert srv.client().get("/").status == 200
    finally:
        srv.stop()
    output = srv.output()
    assert token not in output
    assert "Mozilla" not in output
    addresses = [line for line in output.splitlines() if "127.0.0.1" in line and "listening on" not in line]
    assert addresses == [], addresses
    assert "Traceback" not in output
