"""``wbs serve`` and the commands beside it with ``database_url``: the metadata in
PostgreSQL (a schema per tenant when tenants share it), the ciphertext in ``blob_dir``."""

from __future__ import annotations

import asyncio
import re

import asyncpg

from conftest import ROOT, start_server, wbs
from crypto.export_bundle import ExportBundle
from crypto.items import open_json
from crypto.keyring import new_keyring
from test_reporter_journey import REPORT, login, submit
from test_staff import Staff
from test_deploy import assert_tor_accepts, need
from test_tenants import TENANTS, tenant_tables
from wbsclient import Client, FileField

DOCS = ROOT / "docs"


def rows(cluster, database: str, sql: str) -> list:
    async def fetch():
        conn = await asyncpg.connect(**cluster.connect_args(database))
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()
    return asyncio.run(fetch())


def test_one_wbs_on_postgresql_with_its_blobs_elsewhere(tmp_path, pg_cluster, pg_database):
    blobs = tmp_path / "shared" / "blobs"
    server = start_server(tmp_path, database_url=pg_cluster.url(pg_database), blob_dir=str(blobs))
    try:
        client = server.client()
        done = submit(client, files=[FileField("bukti.pdf", b"%PDF-1.4 " + b"x" * 4000, "application/pdf")])
        assert done.status == 200, done.text
        code = done.element_text("report-code")
        fresh = server.client()
        assert login(fresh, done.element_text("codename"), done.element_text("passphrase")).status == 303
        assert code in fresh.get("/mailbox").text
        staff = Staff(server, "dewi", "admin").ready()
        assert code in staff.client.get("/staff").text
        out = tmp_path / "export.zip"
        wbs("export", "--out", str(out), "--all", "--config", str(server.config))
        with open(out, "rb") as src, ExportBundle(src) as bundle:
            (report,) = bundle.reports
            first = report["items"][0]
            content = open_json(bundle.read_item(first["item_id"]), server.keyring.private_keys,
                                report_code=code).content
            assert content["what"] == REPORT["what"]
    finally:
        server.stop()
    assert not (server.data / "wbs.sqlite3").exists() and not any((server.data / "blobs").iterdir())
    stored = {p.stem for p in blobs.glob("??/*.wbse")}
    assert stored == {r["item_id"] for r in rows(pg_cluster, pg_database, "SELECT item_id FROM items")}
    assert len(stored) == 2
    assert [r["code"] for r in rows(pg_cluster, pg_database, "SELECT code FROM reports")] == [code]
    assert {r["username"] for r in rows(pg_cluster, pg_database, "SELECT username FROM staff")} == {"dewi"}
    actions = {r["action"] for r in rows(pg_cluster, pg_database, "SELECT action FROM audit")}
    assert {"keys_install", "export"} <= actions


def test_tenants_in_one_database_each_in_its_own_schema(tmp_path, pg_cluster, pg_database):
    rings = {slug: new_keyring(entry["org_name"]) for slug, entry in TENANTS.items()}

    def prepare(config):  # type: ignore[no-untyped-def]
        wbs("init", "--config", str(config), cwd=tmp_path)
        for slug, ring in rings.items():
            pub = tmp_path / f"{slug}.pub.json"
            pub.write_bytes(ring.public_key_file())
            wbs("keys", "install", str(pub), "--tenant", slug, "--config", str(config))

    server = start_server(tmp_path, prepare=prepare, tables=tenant_tables(),
                          database_url=pg_cluster.url(pg_database), blob_dir=str(tmp_path / "blobs"))
    try:
        done = submit(Client(server.port, vhost="alpha.onion"))
        assert done.status == 200, done.text
        listed = wbs("tenants", "list", "--config", str(server.config)).stdout
        assert "1 report(s), 0 staff member(s)" in listed and "0 report(s), 0 staff member(s)" in listed
    finally:
        server.stop()
    schemas = {r[0] for r in rows(pg_cluster, pg_database, "SELECT schema_name FROM information_schema.schemata")}
    assert {"tenant_alpha", "tenant_beta"} <= schemas
    tables = rows(pg_cluster, pg_database, "SELECT table_schema FROM information_schema.tables"
                                           " WHERE table_name = 'reports'")
    assert sorted(r[0] for r in tables) == ["tenant_alpha", "tenant_beta"]
    alpha = rows(pg_cluster, pg_database, "SELECT code FROM tenant_alpha.reports")
    assert [r[0] for r in alpha] == [done.element_text("report-code")]
    assert rows(pg_cluster, pg_database, "SELECT code FROM tenant_beta.reports") == []
    assert (tmp_path / "blobs" / "alpha").is_dir() and not any((tmp_path / "blobs" / "beta").glob("??/*"))


def test_a_database_that_cannot_be_reached_is_one_line_without_a_traceback(tmp_path):
    config = tmp_path / "wbs.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n'
                      f'database_url = "postgresql://wbs@/wbs?host={tmp_path / "nowhere"}"\n')
    for command in (["init"], ["serve"], ["staff", "add", "dewi", "--role", "admin"]):
        done = wbs(*command, "--config", str(config), cwd=tmp_path, check=False)
        assert done.returncode == 1, (command, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("wbs: error:")]
        assert len(errors) == 1 and "cannot connect to PostgreSQL" in errors[0], done.stderr
        assert "Traceback" not in done.stderr


def test_the_guides_backend_torrc_passes_tor_verify_config(tmp_path):
    tor = need("tor")
    blocks = set()
    for name in ("deploy.en.md", "deploy.id.md"):
        section = (DOCS / name).read_text(encoding="utf-8").split("## 16.")[1]
        blocks |= set(re.findall(r"^```\n(HiddenServiceDir .*?)^```", section, re.S | re.M))
    assert len(blocks) == 1  # both languages show the same torrc
    text = blocks.pop()
    assert "HiddenServiceOnionbalanceInstance 1" in text
    service = tmp_path / "hs"
    service.mkdir(mode=0o700)
    (service / "ob_config").write_text("MasterOnionAddress " + "a" * 56 + ".onion\n")
    (tmp_path / "tor-data").mkdir(mode=0o700)
    torrc = tmp_path / "torrc"
    torrc.write_text("SocksPort 0\n" + text.replace("/var/lib/tor/wbs-reporter/", f"{service}/")
                     + f"DataDirectory {tmp_path / 'tor-data'}\n")
    assert_tor_accepts(tor, torrc, tmp_path)
