"""Two Inspektorats in one ``wbs serve``: each Host name leads to its own tenant, and nothing crosses over."""

from __future__ import annotations

import base64
import io
import re
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import ROOT, start_server, wbs
from crypto.encoding import new_item_id
from crypto.errors import WbsError
from crypto.export_bundle import ExportBundle
from crypto.items import open_json, recipients_for, reply_plaintext, seal_json, sign_reply
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import ReplyEntry, build_reply_bundle
from test_reporter_journey import REPORT, login, submit
from server.config import load_config
from test_alerts import alerts_table, smtp_server
from test_deploy import assert_tor_accepts, need
from test_staff import Staff
from wbsclient import Client, FileField, page_text

DOCS = ROOT / "docs"
TENANTS = {
    "alpha": {"org_name": "Inspektorat Daerah Kabupaten Alpha", "hosts": ["alpha.onion"],
              "staff_hosts": ["staff.alpha.onion"], "report_prefix": "ALP"},
    "beta": {"org_name": "Inspektorat Daerah Kota Beta", "hosts": ["beta.onion", "www.beta.onion"],
             "staff_hosts": ["staff.beta.onion"], "report_prefix": "BET", "default_lang": "en"},
}


def tenant_tables(tenants: dict[str, dict] = TENANTS, after: dict[str, str] | None = None) -> str:
    """``after``: a table (such as ``[tenants.alerts]``) written right after a tenant's own."""
    tables = []
    for slug, entry in tenants.items():
        lines = ["[[tenants]]", f'slug = "{slug}"']
        for key, value in entry.items():
            text = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else repr(value)
            lines.append(f"{key} = {text}")
        tables.append("\n".join(lines) + "\n" + (after or {}).get(slug, ""))
    return "\n\n".join(tables) + "\n"


class Tenants:
    def __init__(self, tmp: Path, tenants: dict[str, dict] = TENANTS) -> None:
        self.tmp = tmp
        self.tables = tenant_tables(tenants)
        self.rings = {slug: new_keyring(entry["org_name"]) for slug, entry in tenants.items()}
        self.server = start_server(tmp, prepare=self.prepare, tables=self.tables)

    def restart(self) -> None:
        self.server.stop()
        self.server = start_server(self.tmp, prepare=lambda config: None, tables=self.tables)

    def prepare(self, config: Path) -> None:
        wbs("init", "--config", str(config), cwd=self.tmp)
        for slug, ring in self.rings.items():
            pub = self.tmp / f"{slug}.pub.json"
            pub.write_bytes(ring.public_key_file())
            wbs("keys", "install", str(pub), "--tenant", slug, "--config", str(config))

    def reporter(self, slug: str, host: int = 0) -> Client:
        return Client(self.server.port, vhost=TENANTS[slug]["hosts"][host])

    def staff(self, slug: str, name: str, role: str = "admin") -> Staff:
        client = Client(self.server.staff_port, vhost=TENANTS[slug]["staff_hosts"][0])
        return Staff(self.server, name, role, tenant=slug, client=client)

    def cli(self, *args: str, tenant: str | None = None, check: bool = True):  # type: ignore[no-untyped-def]
        return wbs(*args, *(["--tenant", tenant] if tenant else []), "--config", str(self.server.config),
                   check=check)

    def folder(self, slug: str) -> Path:
        return self.server.data / "tenants" / slug

    def export(self, slug: str, out: Path) -> list[dict]:
        self.cli("export", "--out", str(out), "--all", tenant=slug)
        with open(out, "rb") as src, ExportBundle(src) as bundle:
            return bundle.reports


@pytest.fixture(scope="module")
def pair(tmp_path_factory):  # type: ignore[no-untyped-def]
    tenants = Tenants(tmp_path_factory.mktemp("tenants"))
    yield tenants
    tenants.server.stop()


def neutral(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status == 421, response.status
    text = page_text(response.text)
    assert "tidak dikenal" in text and "does not know this address" in text
    for entry in TENANTS.values():
        assert entry["org_name"] not in response.text and entry["report_prefix"] not in response.text
    for slug in TENANTS:
        assert slug not in response.text
    return text


def test_an_unknown_host_gets_the_neutral_page_on_both_listeners(pair):
    for port in (pair.server.port, pair.server.staff_port):
        for host in ("unknown.onion", None, "staff.alpha.onion.evil", "alpha"):
            client = Client(port, vhost=host)  # None: the client's own 127.0.0.1:PORT
            for path in ("/", "/submit", "/staff/login", "/static/style.css", "//x/../org-key"):
                neutral(client.get(path))
            neutral(client.post("/login", {"codename": "x", "passphrase": "y"}))
    for odd in ("a" * 4000, "[::1]:80", "alpha.onion:xx", "ALPHA.ONION:", ".", "alpha..onion", "xn--80a.onion"):
        for port in (pair.server.port, pair.server.staff_port):
            assert Client(port, vhost=odd).get("/").status < 500, odd
    # A reporter name on the staff listener, and a staff name on the reporter listener, are unknown there too.
    neutral(Client(pair.server.staff_port, vhost="alpha.onion").get("/staff/login"))
    neutral(Client(pair.server.port, vhost="staff.alpha.onion").get("/"))


def test_each_host_shows_its_own_inspektorat(pair):
    alpha = pair.reporter("alpha").get("/")
    assert alpha.status == 200 and TENANTS["alpha"]["org_name"] in alpha.text
    assert TENANTS["beta"]["org_name"] not in alpha.text
    for host in ("beta.onion", "WWW.Beta.Onion:80", "beta.onion:8080"):
        beta = Client(pair.server.port, vhost=host).get("/")
        assert beta.status == 200 and TENANTS["beta"]["org_name"] in beta.text, host
        assert '<html lang="en">' in beta.text  # beta's own default_lang
    assert '<html lang="id">' in alpha.text
    alpha_key = pair.reporter("alpha").get("/org-key?format=json")
    assert alpha_key.status == 200 and alpha_key.body == (pair.tmp / "alpha.pub.json").read_bytes()
    staff = Client(pair.server.staff_port, vhost="staff.beta.onion").get("/staff/login")
    assert staff.status == 200 and TENANTS["beta"]["org_name"] in staff.text
    # A known host's unknown path is that tenant's own "not found" page.
    missing = pair.reporter("alpha").get("/staff/login")
    assert missing.status == 404 and "Halaman tidak ditemukan." in missing.text
    assert TENANTS["alpha"]["org_name"] in missing.text


def test_a_report_stays_within_its_tenant(pair, tmp_path):
    reporter = pair.reporter("alpha")
    done = submit(reporter)
    assert done.status == 200, done.text
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    assert code.startswith("ALP-")

    # Sealed to alpha's keys only: alpha's keyring opens it, beta's cannot.
    reports = pair.export("alpha", tmp_path / "alpha.zip")
    assert [r["report_code"] for r in reports] == [code]
    with open(tmp_path / "alpha.zip", "rb") as src, ExportBundle(src) as bundle:
        item = bundle.read_item(bundle.reports[0]["items"][0]["item_id"])
    opened = open_json(item, pair.rings["alpha"].private_keys, report_code=code).content
    assert opened["what"] == REPORT["what"]
    with pytest.raises(WbsError):
        open_json(item, pair.rings["beta"].private_keys, report_code=code)
    assert pair.export("beta", tmp_path / "beta.zip") == []

    # The codename logs in on alpha's hosts only.
    assert login(pair.reporter("beta"), codename, passphrase).status != 303
    assert login(pair.reporter("beta", 1), codename, passphrase).status != 303
    alpha_session = pair.reporter("alpha")
    assert login(alpha_session, codename, passphrase).headers["Location"] == "/mailbox"
    assert code in alpha_session.get("/mailbox").text
    carried = pair.reporter("beta")
    carried.cookies = dict(alpha_session.cookies)  # alpha's session cookie, sent to beta: unknown there
    assert carried.get("/mailbox").status == 303
    assert carried.get(f"/mailbox/reports/{code}").status == 303

    # Alpha's staff see the case; beta's staff cannot reach it, nor log in on alpha's staff host.
    alpha_admin = pair.staff("alpha", "kepala").ready()
    beta_admin = pair.staff("beta", "kepala").ready()
    assert code in alpha_admin.client.get("/staff/reports").text
    assert alpha_admin.client.get(f"/staff/reports/{code}").status == 200
    assert code not in beta_admin.client.get("/staff/reports").text
    assert beta_admin.client.get(f"/staff/reports/{code}").status == 404
    assert beta_admin.post(f"/staff/reports/{code}/reply", {"body": "x"}).status == 404
    export = beta_admin.client.get(f"/staff/export?report={code}")
    assert code not in export.text and export.status != 200
    carried = Client(pair.server.staff_port, vhost="staff.beta.onion")
    carried.cookies = dict(alpha_admin.client.cookies)
    assert carried.get("/staff/reports").headers["Location"].startswith("/staff/login")
    intruder = Staff(pair.server, "petugas", "handler", tenant="beta",
                     client=Client(pair.server.staff_port, vhost="staff.alpha.onion"))
    assert intruder.login().status == 200  # the login form again: no such member on alpha
    assert "Location" not in intruder.login().headers

    # Each tenant's database is its own.
    for slug, expected in (("alpha", [(code,)]), ("beta", [])):
        db = sqlite3.connect(pair.folder(slug) / "wbs.sqlite3")
        assert db.execute("SELECT code FROM reports").fetchall() == expected
        db.close()
    assert (pair.folder("alpha") / "instance.secret").read_bytes() != (pair.folder("beta") / "instance.secret").read_bytes()


def test_a_reply_bundle_is_refused_by_the_other_tenant(pair, tmp_path):
    code = submit(pair.reporter("alpha")).element_text("report-code")
    ring = pair.rings["alpha"]
    handler = pair.staff("alpha", "penelaah", "handler").ready()
    export = handler.client.get(f"/staff/export?report={code}")
    assert export.status == 200
    with ExportBundle(io.BytesIO(export.body)) as bundle:
        mailbox_pk = base64.b64decode(bundle.reports[0]["mailbox_pk"])
    pub = parse_public_key_file(ring.public_key_file())
    reply = sign_reply(reply_plaintext(report_code=code, sent_at="2026-11-28T08:00:00Z", body="Ditelaah."),
                       ring.newest)
    entry = ReplyEntry(code, new_item_id(), seal_json(reply, recipients_for("reply", pub.keys, mailbox_pk)), None)
    bundle_file = tmp_path / "reply.wbsr"
    bundle_file.write_bytes(build_reply_bundle([entry], ring.newest))

    beta_handler = pair.staff("beta", "penelaah", "handler").ready()
    page = beta_handler.client.get("/staff/import")
    upload = beta_handler.client.post_multipart("/staff/import", [
        ("csrf_token", page.csrf), ("bundle", FileField("r.wbsr", bundle_file.read_bytes()))])
    assert upload.status == 400 and "signed with a key this server does not know" in page_text(upload.text)
    refused = pair.cli("import", str(bundle_file), tenant="beta", check=False)
    assert refused.returncode == 1 and "error" in refused.stderr
    done = pair.cli("import", str(bundle_file), tenant="alpha")
    assert "1 new repl" in done.stdout


def test_backup_and_purge_stay_within_their_tenant(pair, tmp_path):
    code = submit(pair.reporter("beta")).element_text("report-code")
    assert code.startswith("BET-")
    alpha_items = sqlite3.connect(pair.folder("alpha") / "wbs.sqlite3").execute("SELECT COUNT(*) FROM items")
    alpha_count = alpha_items.fetchone()[0]
    out = pair.cli("backup", str(tmp_path / "beta-backup"), tenant="beta").stdout
    assert "1 item(s)" in out
    assert pair.cli("restore", str(tmp_path / "beta-backup"), tenant="beta", check=False).returncode == 1  # beta exists
    restored = tmp_path / "restored"
    wbs("restore", str(tmp_path / "beta-backup"), "--data", str(restored))
    db = sqlite3.connect(restored / "wbs.sqlite3")
    assert db.execute("SELECT code FROM reports").fetchall() == [(code,)]
    db.close()

    db = sqlite3.connect(pair.folder("beta") / "wbs.sqlite3")
    with db:
        db.execute("UPDATE reports SET status = 'rejected', updated_day = '2020-01-02' WHERE code = ?", (code,))
    db.close()
    assert "0 case(s)" in pair.cli("purge", tenant="alpha").stdout
    assert "1 case(s)" in pair.cli("purge", tenant="beta").stdout
    alpha_now = sqlite3.connect(pair.folder("alpha") / "wbs.sqlite3").execute("SELECT COUNT(*) FROM items")
    assert alpha_now.fetchone()[0] == alpha_count


def test_the_daily_purge_runs_for_each_tenant_with_its_own_retention(tmp_path):
    # Beta, the second tenant, has the short retention: the jobs run for every tenant, not the first only.
    tenants = Tenants(tmp_path, {"alpha": TENANTS["alpha"], "beta": {**TENANTS["beta"], "retention_days": 30}})
    try:
        codes = {slug: submit(tenants.reporter(slug)).element_text("report-code") for slug in ("alpha", "beta")}
        tenants.server.stop()
        for slug, code in codes.items():  # closed about a year and a half ago: past 30 days, within 730
            db = sqlite3.connect(tenants.folder(slug) / "wbs.sqlite3")
            with db:
                db.execute("UPDATE reports SET status = 'rejected', updated_day = ? WHERE code = ?",
                           ((date.today() - timedelta(days=500)).isoformat(), code))
            db.close()
        tenants.restart()  # the purge runs at start-up, then daily
        deadline = time.monotonic() + 30
        left = {}
        while time.monotonic() < deadline:
            for slug in codes:
                db = sqlite3.connect(tenants.folder(slug) / "wbs.sqlite3")
                left[slug] = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
                db.close()
            if left["beta"] == 0:
                break
            time.sleep(0.1)
        assert left == {"alpha": 1, "beta": 0}
    finally:
        tenants.server.stop()


def test_each_tenant_sends_its_own_digest(tmp_path):
    config = tmp_path / "wbs.toml"
    with smtp_server() as (port, inbox):
        alpha_alerts = alerts_table(port, to=["inspektur@alpha.go.id"]).replace("[alerts]", "[tenants.alerts]")
        config.write_text(f'data_dir = "{tmp_path / "data"}"\n' + tenant_tables(after={"alpha": alpha_alerts}))
        wbs("init", "--config", str(config))
        wbs("alerts", "test", "--tenant", "alpha", "--config", str(config))
        inbox.wait(1)
        assert inbox.mails[0][1] == ["inspektur@alpha.go.id"]
        text = inbox.message(0).get_content()
        assert TENANTS["alpha"]["org_name"] in text and TENANTS["beta"]["org_name"] not in text
        assert "sent the digest" in wbs("alerts", "send", "--tenant", "alpha", "--config", str(config)).stdout
        inbox.wait(2)
        assert inbox.mails[1][1] == ["inspektur@alpha.go.id"]
        beta = wbs("alerts", "send", "--tenant", "beta", "--config", str(config), check=False)
        assert beta.returncode == 1 and "no [alerts] table" in beta.stderr
    assert len(inbox.mails) == 2


def test_commands_name_their_tenant(pair):
    for command in (["export", "--all", "--out", "x.zip"], ["staff", "add", "x", "--role", "admin"], ["purge"],
                    ["backup", "b"], ["keys", "install", "org.pub.json"]):
        done = pair.cli(*command, check=False)
        assert done.returncode == 1
        assert "--tenant alpha" in done.stderr and "alpha, beta" in done.stderr, done.stderr
    shared = pair.cli("keys", "install", str(pair.tmp / "alpha.pub.json"), tenant="beta", check=False)
    assert shared.returncode == 1 and "holds a key of tenant 'alpha'" in shared.stderr
    assert pair.cli("keys", "install", str(pair.tmp / "alpha.pub.json"), tenant="alpha").returncode == 0
    every = pair.cli("init", tenant="alpha", check=False)
    assert every.returncode == 1 and "'init' acts on every tenant: leave --tenant alpha out" in every.stderr
    demo = pair.cli("purge", "--demo", check=False)  # the demo stays one WBS in DATA/demo
    assert demo.returncode == 1 and "holds no demo yet" in demo.stderr and "--tenant" not in demo.stderr
    unknown = pair.cli("purge", tenant="gamma", check=False)
    assert unknown.returncode == 1 and "'gamma'" in unknown.stderr and "alpha, beta" in unknown.stderr
    listed = pair.cli("tenants", "list").stdout
    for slug, ring in pair.rings.items():
        fingerprint = parse_public_key_file(ring.public_key_file()).active[0].fingerprint
        assert slug in listed and fingerprint in listed and TENANTS[slug]["org_name"] in listed
    for slug, section in zip(TENANTS, listed.split("\nbeta  ")):
        db = sqlite3.connect(pair.folder(slug) / "wbs.sqlite3")
        reports, staff = (db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in ("reports", "staff"))
        db.close()
        assert f"{reports} report(s), {staff} staff member(s)" in section, section


def guide_block(guide: Path, fence: str, first_line: str) -> str:
    """The fenced block of section 15 of a deploy guide that starts with ``first_line``."""
    section = guide.read_text().split("## 15.")[1]
    for block in re.findall(rf"```{fence}\n(.*?)```", section, re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no such block in {guide}")


def test_the_guides_torrc_for_two_tenants_passes_tor_verify_config(tmp_path):
    tor = need("tor")
    blocks = {guide_block(DOCS / name, "", "HiddenServiceDir") for name in ("deploy.en.md", "deploy.id.md")}
    assert len(blocks) == 1  # both languages show the same torrc
    text = blocks.pop()
    folders = re.findall(r"HiddenServiceDir (/var/lib/tor/\S+/)", text)
    assert len(folders) == 4 and text.count("127.0.0.1:8080") == 2 and text.count("127.0.0.1:8081") == 2
    for n, folder in enumerate(folders):
        (tmp_path / f"hs{n}").mkdir(mode=0o700)
        text = text.replace(folder, f"{tmp_path / f'hs{n}'}/")
    (tmp_path / "tor-data").mkdir(mode=0o700)
    torrc = tmp_path / "torrc"
    torrc.write_text("SocksPort 0\n" + text + f"DataDirectory {tmp_path / 'tor-data'}\n")
    assert_tor_accepts(tor, torrc, tmp_path)


def test_the_examples_of_tenants_are_valid(tmp_path):
    example = (ROOT / "deploy" / "wbs.toml").read_text()
    start = example.index("\n# [[tenants]]\n") + 1
    tables = "\n".join(line[2:] for line in example[start:].split("\n\n")[0].splitlines()
                       if line.startswith("# ") and not line.startswith("# holidays_file"))
    config_file = tmp_path / "wbs.toml"
    config_file.write_text(example[:start] + tables + "\n")
    config = load_config(config_file)
    assert [t.slug for t in config.tenants] == ["klungkung", "bangli"]
    assert [t.report_prefix for t in config.tenants] == ["KLK", "BLI"]
    for name in ("deploy.en.md", "deploy.id.md"):
        block = guide_block(DOCS / name, "toml", "[[tenants]]")
        block = "\n".join(line for line in block.splitlines() if not line.startswith("holidays_file"))
        for n, placeholder in enumerate(sorted(set(re.findall(r"<[^>]+>", block)))):
            block = block.replace(placeholder, f"host{n}.onion")
        config_file.write_text(block)
        assert [t.slug for t in load_config(config_file).tenants] == ["klungkung", "bangli"]
