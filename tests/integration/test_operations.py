"""Operations: backup under load and restore, retention purge, a reporter's
own deletion, wbs check, the loopback guard and the onion address."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

from conftest import start_server, wbs, write_config
from crypto.envelope import open_bytes
from crypto.keyring import new_keyring
from test_reporter_journey import login, submit
from wbsclient import FileField


def items_on_disk(data: Path) -> set[str]:
    return {p.stem for p in (data / "blobs").glob("??/*.wbse")}


def db_rows(data: Path, sql: str, args=()) -> list:
    db = sqlite3.connect(data / "wbs.sqlite3")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_backup_under_writes_then_restore(tmp_path):
    server = start_server(tmp_path)
    stop = threading.Event()
    done = []

    def writer():
        client = server.client()
        while not stop.is_set():
            response = submit(client, files=[FileField("bukti.bin", b"z" * 200_000)])
            assert response.status == 200
            done.append(response.element_text("report-code"))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        while len(done) < 4:
            threading.Event().wait(0.05)
        backups = [tmp_path / f"backup{n}" for n in range(2)]
        for dest in backups:
            out = wbs("backup", str(dest), "--config", str(server.config)).stdout
            assert "backup written" in out
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    for n, dest in enumerate(backups):
        restored = tmp_path / f"restored{n}"
        config = tmp_path / f"restore{n}.toml"
        write_config(config, restored)
        wbs("restore", str(dest), "--config", str(config))
        ids = {r[0] for r in db_rows(restored, "SELECT item_id FROM items")}
        assert ids and ids == items_on_disk(restored)
        keys = server.keyring.private_keys
        for item_id in ids:
            blob = (restored / "blobs" / item_id[:2] / f"{item_id}.wbse").read_bytes()
            assert open_bytes(blob, keys) is not None
        assert (restored / "instance.secret").read_bytes() == (server.data / "instance.secret").read_bytes()
    # A restored store serves, and its reporters can still log in.
    (tmp_path / "again").mkdir()
    restored_server = start_server(tmp_path / "again", server.keyring, data=tmp_path / "restored1", fresh=False)
    try:
        assert restored_server.client().get("/").status == 200
    finally:
        restored_server.stop()


def test_restore_refuses_a_damaged_backup(tmp_path):
    server = start_server(tmp_path)
    try:
        submit(server.client(), files=[FileField("a.bin", b"a" * 5000)])
        wbs("backup", str(tmp_path / "b"), "--config", str(server.config))
    finally:
        server.stop()
    blob = next((tmp_path / "b" / "blobs").glob("??/*.wbse"))
    data = bytearray(blob.read_bytes())
    data[100] ^= 1
    blob.write_bytes(bytes(data))
    config = tmp_path / "r.toml"
    write_config(config, tmp_path / "r")
    done = wbs("restore", str(tmp_path / "b"), "--config", str(config), check=False)
    assert done.returncode == 1 and "damaged" in done.stderr
    assert not (tmp_path / "r").exists()
    blob.unlink()
    done = wbs("restore", str(tmp_path / "b"), "--config", str(config), check=False)
    assert done.returncode == 1 and not (tmp_path / "r").exists()


def test_purge_after_the_retention_period_and_not_before(tmp_path):
    server = start_server(tmp_path, retention_days=30)
    try:
        old = submit(server.client(), files=[FileField("a.bin", b"a" * 5000)]).element_text("report-code")
        recent = submit(server.client()).element_text("report-code")
        open_case = submit(server.client()).element_text("report-code")
    finally:
        server.stop()
    db = sqlite3.connect(server.data / "wbs.sqlite3")
    with db:
        db.execute("UPDATE reports SET status = 'closed_unproven', updated_day = '2026-01-02' WHERE code = ?", (old,))
        db.execute("UPDATE reports SET status = 'rejected' WHERE code = ?", (recent,))
        db.execute("UPDATE reports SET updated_day = '2026-01-02' WHERE code = ?", (open_case,))
    db.close()
    before = items_on_disk(server.data)
    out = wbs("purge", "--config", str(server.config)).stdout
    assert "1 case(s)" in out
    left = {r[0] for r in db_rows(server.data, "SELECT DISTINCT report_code FROM items")}
    assert left == {recent, open_case}
    assert len(items_on_disk(server.data)) == len(before) - 2
    assert db_rows(server.data, "SELECT COUNT(*) FROM status_history WHERE report_code = ?", (old,))[0][0] >= 1
    audit = db_rows(server.data, "SELECT action, report_code, detail FROM audit WHERE action = 'purge'")
    assert audit == [("purge", old, "2 item(s)")]
    assert "purged the items of 0" in wbs("purge", "--config", str(server.config)).stdout


def test_reporter_deletes_their_own_account(server):
    client = server.client()
    done = submit(client, files=[FileField("a.bin", b"a" * 5000)])
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    login(client, codename, passphrase)
    submit(client, path="/mailbox/submit")
    other = submit(server.client()).element_text("report-code")
    page = client.get("/mailbox/delete")
    assert page.status == 200
    assert client.post("/mailbox/delete", {"csrf_token": page.csrf}).status == 400
    gone = client.post("/mailbox/delete", {"csrf_token": page.csrf, "confirm": "1"})
    assert gone.status == 200 and "sudah dihapus" in gone.text
    assert client.get("/mailbox").status == 303
    assert login(server.client(), codename, passphrase).status == 200  # refused: no such account
    reports = {r[0] for r in db_rows(server.data, "SELECT code FROM reports")}
    assert reports == {other}
    assert db_rows(server.data, "SELECT COUNT(*) FROM accounts")[0][0] == 1
    assert len(items_on_disk(server.data)) == 1
    audit = db_rows(server.data, "SELECT actor, action, report_code FROM audit ORDER BY seq")
    assert audit[0] == ("wbs-cli", "keys_install", None)  # wbs keys install, before the server started
    assert ("reporter", "deleted_by_reporter", code) in audit and len(audit) == 3


def test_check_good_and_bad(tmp_path):
    server = start_server(tmp_path)
    server.stop()
    done = wbs("check", "--config", str(server.config))
    assert done.returncode == 0 and "problem:" not in done.stdout
    server.data.chmod(0o755)
    (server.data / "org.key").write_text("{}")
    done = wbs("check", "--config", str(server.config), check=False)
    assert done.returncode == 1
    assert "readable by others" in done.stdout and "keyring" in done.stdout


def test_a_non_loopback_listener_is_refused(tmp_path):
    config = tmp_path / "wbs.toml"
    write_config(config, tmp_path / "data", reporter_addr="0.0.0.0:18080")
    wbs("init", "--config", str(config), cwd=tmp_path)
    done = wbs("serve", "--config", str(config), check=False)
    assert done.returncode == 1 and "refusing to listen on 0.0.0.0" in done.stderr


def test_onion_address_is_announced(tmp_path):
    onion = "a" * 56 + ".onion"
    server = start_server(tmp_path, onion_address=onion)
    try:
        home = server.client().get("/criteria?x=1")
        assert home.headers["Onion-Location"] == f"http://{onion}/criteria?x=1"
        assert onion in server.client().get("/").text
        assert "Onion-Location" not in server.staff_client().get("/staff/login").headers
    finally:
        server.stop()
