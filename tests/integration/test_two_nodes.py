"""Two ``wbs serve`` processes, one deployment: the same ``wbs.toml`` (each node
names its own ports on the command line), the same data folder (its
``instance.secret`` and organisation key), one PostgreSQL database and one
blob folder. Whatever a visitor does through one node, the other sees: a
report, a login, a reply, a status, a TOTP code already used; a node killed
in the middle of an upload leaves the other serving everything committed
and nothing half-stored, and a node starting leaves the other's upload alone;
reports made through both at once are all stored; the daily purge runs once
for the deployment.
(Sessions and login throttles across nodes: ``test_sessions_across_nodes.py``.)"""

from __future__ import annotations

import hashlib
import io
import re
import signal
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import Server, free_port, launch, wait_until_listening, wbs, write_config
from crypto.envelope import open_stream
from crypto.export_bundle import ExportBundle
from crypto.items import open_json
from crypto.kdf import TEST_CHEAPEST
from crypto.keyring import Keyring, new_keyring
from pgcluster import PgCluster
from test_crash_during_upload import BIG, KILL_AT, big_blocks
from test_keytools_support import keytools, write_cheap_keyring
from test_postgresql_server import rows
from test_reporter_journey import REPORT, login, submit
from test_staff import Staff
from wbsclient import FileField, page_text

ORG = "Inspektorat Daerah Provinsi Bali"


@dataclass
class Deployment:
    """The files both nodes share, and the nodes started on them."""

    tmp: Path
    config: Path
    data: Path
    blobs: Path
    keyring: Keyring
    cluster: PgCluster
    database: str

    def node(self, *, wait: bool = True) -> Server:
        port, staff_port = free_port(), free_port()
        while staff_port == port:  # a port just closed may be drawn again
            staff_port = free_port()
        return launch(self.tmp, self.config, self.data, self.keyring, port, staff_port, addresses=True, wait=wait)

    def rows(self, sql: str) -> list[tuple]:
        """What the shared database holds, read as any PostgreSQL client would."""
        return [tuple(r) for r in rows(self.cluster, self.database, sql)]

    def blob_files(self) -> dict[str, Path]:
        """The committed blobs in the shared folder, by item id (``tmp/`` left out)."""
        found = {}
        for path in self.blobs.rglob("*"):
            if path.is_file() and path.parent != self.blobs / "tmp":
                assert path.suffix == ".wbse" and path.parent.name == path.stem[:2], path
                found[path.stem] = path
        return found


def deployment(tmp: Path, cluster: PgCluster, database: str, **settings: object) -> Deployment:
    config = tmp / "wbs.toml"
    data, blobs = tmp / "data", tmp / "shared-blobs"
    settings = {"kdf_t": TEST_CHEAPEST.t, "kdf_m_kib": TEST_CHEAPEST.m_kib, "min_free_bytes": 0,
                "new_accounts_per_minute": 10_000, **settings}
    # The listeners named here are never used: each node names its own on the command line.
    write_config(config, data, database_url=cluster.url(database), blob_dir=str(blobs), reporter_addr="127.0.0.1:1",
                 staff_addr="127.0.0.1:2", **settings)
    keyring = new_keyring(ORG)
    wbs("init", "--config", str(config), cwd=tmp)
    (tmp / "org.pub.json").write_bytes(keyring.public_key_file())
    wbs("keys", "install", str(tmp / "org.pub.json"), "--config", str(config))
    return Deployment(tmp, config, data, blobs, keyring, cluster, database)


@pytest.fixture
def shared(tmp_path: Path, pg_cluster: PgCluster, pg_database: str) -> Deployment:
    return deployment(tmp_path, pg_cluster, pg_database)


@pytest.fixture
def nodes(shared: Deployment):  # type: ignore[no-untyped-def]
    first, second = shared.node(), shared.node()
    try:
        yield first, second
    finally:
        for node in (first, second):
            node.stop()
            assert "internal error" not in node.output() and "Traceback" not in node.output(), node.output()


def reporter_of(done) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    assert done.status == 200, done.text
    return tuple(done.element_text(i) for i in ("codename", "passphrase", "report-code"))  # type: ignore[return-value]


def test_a_report_made_through_one_node_is_read_and_answered_through_the_other(shared, nodes, tmp_path):
    first, second = nodes
    evidence = b"%PDF-1.4 kuitansi dari node satu\n" + bytes(range(256)) * 200
    reporter = first.client()
    codename, passphrase, code = reporter_of(submit(reporter, files=[FileField("kuitansi.pdf", evidence)]))
    assert shared.rows("SELECT code FROM reports") == [(code,)]
    assert not list(shared.data.rglob("*.sqlite3")) and len(shared.blob_files()) == 2

    # The reporter logs in through the other node and reads the case.
    elsewhere = second.client()
    assert login(elsewhere, codename, passphrase).status == 303
    assert code in elsewhere.get("/mailbox").text
    text = page_text(elsewhere.get(f"/mailbox/reports/{code}").text)
    assert REPORT["what"] in text and "kuitansi.pdf" in text

    # A staff member on node 2 sees it, exports it for the keyholders, and imports their reply.
    admin = Staff(second, "kepala", "admin").ready()
    assert code in admin.client.get("/staff/reports").text
    assert admin.client.get(f"/staff/reports/{code}").status == 200
    export = admin.client.get(f"/staff/export?report={code}")
    assert export.status == 200 and export.headers["Content-Type"] == "application/zip"
    (tmp_path / "export.zip").write_bytes(export.body)
    with ExportBundle(io.BytesIO(export.body)) as bundle:
        items = bundle.reports[0]["items"]
        report = open_json(bundle.read_item(items[0]["item_id"]), shared.keyring.private_keys, report_code=code)
        attached = report.content["attachments"][0]
        plain = b"".join(open_stream(io.BytesIO(bundle.read_item(attached["item_id"])), shared.keyring.private_keys))
        assert plain == evidence

    key, passfile, _ = write_cheap_keyring(tmp_path / "keyholder", shared.keyring)
    cases = tmp_path / "kasus"
    opened = keytools("open", tmp_path / "export.zip", "--keyring", key, "--cases", cases,
                      "--passphrase-file", passfile)
    assert opened.returncode == 0, opened.stderr
    (tmp_path / "balasan.txt").write_text("Terima kasih, laporan Anda kami verifikasi.\n")
    made = keytools("reply", "--keyring", key, "--cases", cases, "--passphrase-file", passfile, "--report", code,
                    "--message-file", tmp_path / "balasan.txt", "--status", "verification",
                    "--out", tmp_path / "balasan.wbsr")
    assert made.returncode == 0, made.stderr
    page = admin.client.get("/staff/import")
    imported = admin.client.post_multipart("/staff/import", [
        ("csrf_token", page.csrf), ("bundle", FileField("balasan.wbsr", (tmp_path / "balasan.wbsr").read_bytes()))])
    assert imported.status == 200 and "1 balasan baru" in imported.text
    moved = admin.post(f"/staff/reports/{code}/status", {"status": "investigation", "confirm_from": "verification"})
    assert moved.status == 303

    # The reporter, back on node 1, reads the reply and the new status.
    assert login(reporter, codename, passphrase).status == 303
    case = page_text(reporter.get(f"/mailbox/reports/{code}").text)
    assert "Terima kasih, laporan Anda kami verifikasi." in case and "Penelaahan/Investigasi" in case

    # A TOTP code used on one node is refused on the other.
    code_once = admin.code()
    assert admin.login(code=code_once).status == 303
    elsewhere = first.staff_client()
    page = elsewhere.get("/staff/login")
    replay = elsewhere.post("/staff/login", {"csrf_token": page.csrf, "username": admin.name,
                                             "password": admin.password, "totp": code_once})
    assert replay.status == 200 and "salah" in replay.text


def committed_reports(nodes: tuple[Server, Server], count: int) -> dict[str, dict[str, Any]]:
    """``count`` reports with a file, alternating between the nodes: code -> what was sent."""
    sent = {}
    for n in range(count):
        node = nodes[n % 2]
        what = f"Laporan {n} melalui node {n % 2 + 1}"
        content = f"isi berkas {n} ".encode() * 3000
        codename, passphrase, code = reporter_of(submit(node.client(), extra={"what": what},
                                                        files=[FileField(f"bukti-{n}.txt", content)]))
        sent[code] = {"what": what, "content": content, "codename": codename, "passphrase": passphrase}
    return sent


def staff_list(member: Staff) -> set[str]:
    page = member.client.get("/staff/reports")
    assert page.status == 200
    return set(re.findall(r"WBS-[0-9A-Z]{5}-[0-9A-Z]{5}", page.text))


def upload_until_killed(shared: Deployment, node: Server) -> Path:
    """A 300 MB report through ``node``; SIGKILL it once the shared folder's temp blob holds KILL_AT bytes."""
    client = node.client()
    page = client.get("/submit")
    fields = [("csrf_token", page.csrf), *REPORT.items(),
              ("attachments", FileField("rekaman.mp4", big_blocks(BIG), "video/mp4")), ("confirm", "1")]
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            outcome["response"] = client.post_multipart("/submit", fields, timeout=300)
        except Exception as exc:  # noqa: BLE001 - the node dies under it
            outcome["error"] = exc

    thread = threading.Thread(target=upload)
    thread.start()
    deadline = time.monotonic() + 180
    part: Path | None = None
    while part is None and time.monotonic() < deadline and thread.is_alive():
        part = next((p for p in (shared.blobs / "tmp").glob("*.part") if p.stat().st_size >= KILL_AT), None)
        time.sleep(0.01)
    if part is None:
        thread.join(timeout=60)
        raise AssertionError(f"answered before {KILL_AT} bytes: {outcome}; {node.output()[-400:]}")
    node.stop(signal.SIGKILL)
    thread.join(timeout=60)
    assert not thread.is_alive() and "response" not in outcome, outcome
    return part


def assert_everything_committed_is_served(shared: Deployment, node: Server, sent: dict[str, dict[str, Any]],
                                          tmp_path: Path) -> None:
    """The database names exactly the reports sent, each with its two items; every item's blob is whole;
    an export through ``node`` opens to what was sent; a reporter logs in through it."""
    assert {r[0] for r in shared.rows("SELECT code FROM reports")} == set(sent)
    assert shared.rows("SELECT COUNT(*) FROM accounts") == [(len(sent),)]
    items = {r[0]: r for r in shared.rows("SELECT item_id, report_code, kind, size, sha256 FROM items")}
    assert sorted((r[1], r[2]) for r in items.values()) == sorted(
        (code, kind) for code in sent for kind in ("report", "attachment"))
    blobs = shared.blob_files()
    assert set(blobs) == set(items), set(blobs) ^ set(items)
    for item_id, (_, _, _, size, sha256) in items.items():
        data = blobs[item_id].read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha256, item_id
    out = tmp_path / f"export-{node.port}.zip"
    wbs("export", "--out", str(out), "--all", "--config", str(node.config))
    keys = shared.keyring.private_keys
    with open(out, "rb") as src, ExportBundle(src) as bundle:
        assert {r["report_code"] for r in bundle.reports} == set(sent)
        for report in bundle.reports:
            code = report["report_code"]
            content = open_json(bundle.read_item(report["items"][0]["item_id"]), keys, report_code=code).content
            ref = content["attachments"][0]
            plain = b"".join(open_stream(io.BytesIO(bundle.read_item(ref["item_id"])), keys))
            assert content["what"] == sent[code]["what"] and plain == sent[code]["content"]
    code, first = next(iter(sent.items()))
    client = node.client()
    assert login(client, first["codename"], first["passphrase"]).status == 303
    assert REPORT["who"] in page_text(client.get(f"/mailbox/reports/{code}").text)


@pytest.mark.slow
def test_a_node_killed_during_an_upload_leaves_the_other_serving_everything_committed(shared, nodes, tmp_path):
    first, second = nodes
    sent = committed_reports(nodes, 6)
    admin = Staff(second, "kepala", "admin").ready()
    listed = staff_list(admin)
    assert listed == set(sent)

    part = upload_until_killed(shared, first)
    # The killed upload: a temp file in the shared folder, no row, no blob under any id the database lacks.
    assert part.exists()
    assert_everything_committed_is_served(shared, second, sent, tmp_path)
    assert staff_list(admin) == listed

    # Node 2 goes on taking reports, and node 1 comes back beside it.
    sent.update(committed_reports((second, second), 2))
    again = shared.node()
    try:
        sent.update(committed_reports((again, second), 2))
        assert_everything_committed_is_served(shared, again, sent, tmp_path)
        assert staff_list(admin) == set(sent)
    finally:
        again.stop()


def held_blocks(first: int, rest: int, release: threading.Event, size: int = 64 * 1024):
    """``first`` bytes, then a pause until ``release`` is set, then ``rest`` more: an upload held mid-stream."""
    block = hashlib.sha256(b"held").digest() * (size // 32)
    for n in range((first + rest) // size):
        if n * size == first:
            assert release.wait(120), "never released"
        yield block


def test_a_node_starting_leaves_the_other_nodes_upload_alone(shared, nodes):
    """A node's start-up sweep of the shared blob folder must not take a file another node is writing."""
    first, _ = nodes
    release = threading.Event()
    client = first.client()
    page = client.get("/submit")
    outcome: dict[str, object] = {}

    def upload() -> None:
        try:
            outcome["response"] = client.post_multipart("/submit", [
                ("csrf_token", page.csrf), *REPORT.items(),
                ("attachments", FileField("rekaman.mp4", held_blocks(8 * 1024 * 1024, 8 * 1024 * 1024, release))),
                ("confirm", "1")])
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=upload)
    thread.start()
    third: Server | None = None
    try:
        deadline = time.monotonic() + 60
        while not list((shared.blobs / "tmp").glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert list((shared.blobs / "tmp").glob("*.part")), first.output()[-400:]
        third = shared.node()
    finally:
        release.set()
        thread.join(timeout=120)
    try:
        assert third is not None and "response" in outcome, outcome
        codename, passphrase, code = reporter_of(outcome["response"])
        assert {r[0] for r in shared.rows("SELECT code FROM reports")} == {code}
        kinds = shared.rows(f"SELECT kind, size FROM items WHERE report_code = '{code}' ORDER BY kind")
        assert [k for k, _ in kinds] == ["attachment", "report"] and kinds[0][1] >= 16 * 1024 * 1024
        assert set(shared.blob_files()) == {r[0] for r in shared.rows("SELECT item_id FROM items")}
        reader = third.client()
        assert login(reader, codename, passphrase).status == 303
        assert "rekaman.mp4" in page_text(reader.get(f"/mailbox/reports/{code}").text)
    finally:
        if third is not None:
            third.stop()


def test_the_daily_purge_runs_once_for_the_deployment(tmp_path, pg_cluster, pg_database):
    """Two nodes start together on cases past their retention: each case is purged by one of them, once."""
    shared = deployment(tmp_path, pg_cluster, pg_database, retention_days=30)
    node = shared.node()
    try:
        # Many cases, so that the purge lasts long enough for two nodes starting together to overlap.
        reporter = node.client()
        codename, passphrase, _ = reporter_of(submit(reporter))
        assert login(reporter, codename, passphrase).status == 303
        for _ in range(150):
            assert submit(reporter, path="/mailbox/submit", files=[FileField("a.txt", b"a" * 2000)]).status == 200
    finally:
        node.stop()
    codes = {r[0] for r in shared.rows("SELECT code FROM reports")}
    closed = (date.today() - timedelta(days=500)).isoformat()  # past 30 days, on either side of midnight
    shared.rows(f"UPDATE reports SET status = 'rejected', updated_day = '{closed}' RETURNING code")
    items = len(shared.blob_files())

    both = [shared.node(wait=False), shared.node(wait=False)]
    try:
        for one in both:
            wait_until_listening(one)
        deadline = time.monotonic() + 60  # the rows go first, each case's blobs after its transaction
        while time.monotonic() < deadline and (shared.rows("SELECT COUNT(*) FROM items")[0][0]
                                               or shared.blob_files()):
            time.sleep(0.1)
        assert shared.rows("SELECT COUNT(*) FROM items") == [(0,)] and shared.blob_files() == {}
    finally:
        for one in both:
            one.stop()
    purges = shared.rows("SELECT report_code, detail FROM audit WHERE action = 'purge' ORDER BY report_code")
    assert [code for code, _ in purges] == sorted(codes)
    assert sum(int(detail.split()[0]) for _, detail in purges) == items
    said = [one.output().count("retention: purged the items of") for one in both]
    assert sorted(said) == [0, 1]
    for one in both:
        assert "retention purge failed" not in one.output() and "internal error" not in one.output(), one.output()


def test_reports_made_at_once_through_both_nodes_are_all_stored(shared, nodes):
    """Two nodes writing the same database at the same moment: every report answered 200 and stored."""
    answers: dict[str, int] = {}
    lock = threading.Lock()

    def visitor(n: int) -> None:
        for k in range(20):
            node = nodes[(n + k) % 2]
            done = submit(node.client(), extra={"what": f"Laporan serentak {n}-{k}"},
                          files=[FileField("bukti.txt", b"bukti " * 2000)])
            with lock:
                answers[done.element_text("report-code") if done.status == 200 else f"{n}-{k}"] = done.status

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(set(answers.values())) == [200], answers
    assert {r[0] for r in shared.rows("SELECT code FROM reports")} == set(answers)
    assert len(shared.blob_files()) == 2 * len(answers)
