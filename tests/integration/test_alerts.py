"""The daily digest by e-mail against a real SMTP server on loopback (aiosmtpd): at the set
time and on ``wbs alerts send``, with the right counts and nothing of any report in it;
failures on the dashboard and in ``wbs check``; STARTTLS, TLS, a login, and Tor's SOCKS path."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import free_port, start_server, wbs
from server.config import load_config, zone_of
from server.operations.alerts import AlertError, DigestSchedule, daily_digest, send_mail
from server.operations.digest import SUBJECT, TRIAL_SUBJECT, trial_message
from server.storage.store import Store
from test_reporter_journey import REPORT, login as reporter_login, submit
from test_staff import Staff
from wbsclient import FileField
from workdays import add_working_days

MESSAGE = "Saya menambahkan foto kuitansi kedua dari loket tiga."
SECOND_WHAT = "Mark-up harga pengadaan laptop di Dinas Pendidikan"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def wait(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.mails) >= count, f"{len(self.mails)} mail(s) arrived, {count} expected"

    def message(self, n: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.mails[n][2], policy=email.policy.default)


def logged(server, text: str, timeout: float = 30) -> None:
    """Wait until the server's log holds ``text``."""
    deadline = time.monotonic() + timeout
    while text not in server.output() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert text in server.output(), f"the server never logged {text!r}"


class RefuseRecipients(Inbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "550 5.1.1 <inspektur@example.go.id>: Recipient address rejected"


@contextmanager
def smtp_server(handler: Inbox | None = None, **smtp):
    handler = handler or Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **smtp)
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


def alerts_table(port: int, **over: object) -> str:
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
              "from_addr": "wbs@example.go.id", "to": ["inspektur@example.go.id", "sekretaris@example.go.id"],
              "send_at": "07:30", **over}
    lines = ["[alerts]"]
    for key, value in values.items():
        text = str(value) if isinstance(value, int) else (
            "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else f'"{value}"')
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def with_alerts(server, path: Path, table: str, **plain: str) -> Path:
    """A copy of the server's configuration with ``[alerts]`` (and plain settings replaced)."""
    lines = [line for line in server.config.read_text().splitlines() if line.split(" = ")[0] not in plain]
    lines += [f'{key} = "{value}"' for key, value in plain.items()]
    path.write_text("\n".join(lines) + "\n" + table)
    return path


def counts_of(body: str) -> dict[str, int]:
    found = dict(re.findall(r"^(\S.*?) \.+ +(\d+)$", body.replace("\r\n", "\n"), re.M))
    return {"reports": int(found["New reports"]), "messages": int(found["New messages from reporters"]),
            "soon": int(found["Deadlines within 2 working days"]), "overdue": int(found["Overdue deadlines"])}


def make_reports(server) -> list[str]:
    """Two reporters, three reports with real content, one follow-up message; returns the codes."""
    first = server.client()
    done = submit(first, files=[FileField("kuitansi.pdf", b"%PDF bukti pungli", "application/pdf")])
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    reporter_login(first, codename, passphrase)
    page = first.get(f"/mailbox/reports/{code}")
    sent = first.post_multipart(f"/mailbox/reports/{code}/messages", [("csrf_token", page.csrf), ("body", MESSAGE)])
    assert sent.status == 303
    second = submit(server.client(), extra={"category": "pengadaan", "what": SECOND_WHAT})
    third = submit(server.client(), extra={"category": "suap_gratifikasi"})
    return [code, second.element_text("report-code"), third.element_text("report-code")]


def assert_no_content(raw: bytes, codes: list[str]) -> None:
    text = raw.decode("utf-8", "replace")
    secrets_ = [*codes, MESSAGE, SECOND_WHAT, "kuitansi", "pungli", "Pungutan", "pengadaan", "Pengadaan",
                "suap", "Suap", *(v for v in REPORT.values() if len(v) > 3)]
    leaked = [s for s in secrets_ if s in text]
    assert not leaked, leaked


def test_digest_at_the_set_time_with_counts_and_no_content(tmp_path):
    """The schedule, driven by a clock the test sets: nothing before send_at, one digest at it,
    none again that day; new reports and messages counted the next day, deadlines as they come."""
    server = start_server(tmp_path)
    try:
        codes = make_reports(server)
        admin = Staff(server, "kepala", "admin").ready()
        assert admin.post(f"/staff/reports/{codes[2]}/status", {"status": "verification", "confirm_from": "received"}).status == 303
    finally:
        server.stop()
    with smtp_server() as (port, inbox):
        config = load_config(with_alerts(server, tmp_path / "alerts.toml", alerts_table(port)))
        zone = zone_of(config)

        async def run() -> list[float]:
            store = await Store.open(server.data / "wbs.sqlite3", zone)
            made = date.fromisoformat(store.today())
            due = add_working_days(made, config.acknowledge_working_days)
            schedule = DigestSchedule(store, config)
            waits = []
            try:
                for day, hour, minute in ((made + timedelta(days=1), 7, 29), (made + timedelta(days=1), 7, 30),
                                          (made + timedelta(days=1), 7, 31), (made + timedelta(days=1), 23, 59),
                                          (due, 7, 30), (made + timedelta(days=40), 8, 15)):
                    waits.append(await schedule.tick(datetime(day.year, day.month, day.day, hour, minute,
                                                              tzinfo=zone)))
                    counts.append(len(inbox.mails))
            finally:
                await store.close()
            return waits

        counts: list[int] = []
        waits = asyncio.run(run())
        assert counts == [0, 1, 1, 1, 2, 3]
        assert waits[0] == 60 and 0 < waits[2] <= 60
        assert [counts_of(inbox.message(n).get_content()) for n in range(3)] == [
            {"reports": 3, "messages": 1, "soon": 0, "overdue": 0},
            {"reports": 0, "messages": 0, "soon": 2, "overdue": 0},  # the verified case's deadline is far
            {"reports": 0, "messages": 0, "soon": 0, "overdue": 2},
        ]
        for n, (mail_from, rcpts, raw) in enumerate(inbox.mails):
            message = inbox.message(n)
            assert message["Subject"] == SUBJECT and mail_from == "wbs@example.go.id"
            assert rcpts == ["inspektur@example.go.id", "sekretaris@example.go.id"]
            assert_no_content(raw, codes)
        bodies = [inbox.message(n).get_content() for n in range(3)]
        assert len({len(b) for b in bodies}) == 1  # the same size whatever the counts


def test_wbs_alerts_send_and_a_restart_that_does_not_send_twice(tmp_path):
    # The reports are made in UTC-12 and the command runs in UTC+14: for the command, they
    # arrived a day or two ago, the way they would have by the next morning.
    server = start_server(tmp_path, timezone="Etc/GMT+12")
    try:
        codes = make_reports(server)
    finally:
        server.stop()
    with smtp_server() as (port, inbox):
        cli = with_alerts(server, tmp_path / "alerts.toml", alerts_table(port), timezone="Etc/GMT-14")

        async def earlier_digest() -> None:  # the last one went out three days ago
            store = await Store.open(server.data / "wbs.sqlite3", ZoneInfo("Etc/GMT-14"))
            three_days_ago = (date.fromisoformat(store.today()) - timedelta(days=3)).isoformat()
            await store.record_alert_sent(three_days_ago, three_days_ago)
            await store.close()

        asyncio.run(earlier_digest())
        # A server whose send_at has passed today sends at start-up, as it has not sent today...
        table = alerts_table(port, send_at="00:00")
        live = start_server(tmp_path, server.keyring, data=server.data, fresh=False, tables=table,
                            timezone="Etc/GMT-14")
        try:
            inbox.wait(1)
            # The mail arrives before the server records it as sent: stopping in between
            # would (rightly) send it again at the next start.
            logged(live, "was sent")
        finally:
            live.stop()
        assert counts_of(inbox.message().get_content()) == {"reports": 3, "messages": 1, "soon": 0, "overdue": 0}
        assert_no_content(inbox.mails[0][2], codes)
        assert "the digest of" in live.output() and "example.go.id" not in live.output()
        # ... and a restart the same day sends nothing more.
        again = start_server(tmp_path, server.keyring, data=server.data, fresh=False, tables=table,
                             timezone="Etc/GMT-14")
        try:
            time.sleep(3)
            assert len(inbox.mails) == 1
        finally:
            again.stop()

        # By hand, again the same day: the same days, the same counts.
        done = wbs("alerts", "send", "--config", str(cli))
        assert "sent the digest" in done.stdout and "3 new report(s), 1 new message(s)" in done.stdout
        inbox.wait(2)
        assert inbox.message(0).get_content() == inbox.message(1).get_content()
        assert inbox.message()["Subject"] == SUBJECT
        wbs("alerts", "test", "--config", str(cli))
        inbox.wait(3)
        assert inbox.message()["Subject"] == TRIAL_SUBJECT


@pytest.mark.parametrize("kind", ["closed_port", "auth", "rejected"])
def test_a_failing_mail_server_on_the_dashboard_and_in_wbs_check(tmp_path, kind):
    password = tmp_path / "smtp-password"
    password.write_text("salah\n")
    password.chmod(0o600)
    if kind == "closed_port":
        cm = contextmanager(lambda: (yield (free_port(), Inbox())))()
        extra: dict = {}
    elif kind == "auth":
        cm = smtp_server(auth_require_tls=False, authenticator=lambda *a: AuthResult(success=False, handled=False))
        extra = {"smtp_user": "wbs", "smtp_password_file": str(password)}
    else:
        cm = smtp_server(RefuseRecipients())
        extra = {}
    with cm as (port, inbox):
        table = alerts_table(port, send_at="00:00", **extra)
        server = start_server(tmp_path, tables=table)
        try:
            admin = Staff(server, "kepala", "admin").ready()
            deadline = time.monotonic() + 30
            while "alerts-failing" not in (dash := admin.client.get("/staff")).text:
                assert time.monotonic() < deadline, dash.text
                time.sleep(0.2)
            reason = {"closed_port": "tidak dapat dihubungi", "auth": "menolak login", "rejected": "menolak pengirim"}
            assert reason[kind] in dash.text and "wbs alerts test" in dash.text
            assert "not sent" in server.output()
            assert "example.go.id" not in server.output() and "Recipient address" not in server.output()
            failed = wbs("alerts", "send", "--config", str(server.config), check=False)
            assert failed.returncode == 1 and "wbs: error:" in failed.stderr
            check = wbs("check", "--config", str(server.config), check=False).stdout
            assert re.search(r"warning: the daily digest failed \d+ time\(s\)", check), check
        finally:
            server.stop()
        assert inbox.mails == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def _server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _send(table: str, tmp_path: Path) -> None:
    (tmp_path / "wbs.toml").write_text(f'data_dir = "{tmp_path}"\n' + table)
    alerts = load_config(tmp_path / "wbs.toml").alerts
    asyncio.run(send_mail(alerts, trial_message(alerts, "Inspektorat", datetime.now().astimezone())))


def test_starttls_with_a_login(tmp_path, certificate):
    password = tmp_path / "smtp-password"
    password.write_text("sandi-rahasia\n")
    password.chmod(0o600)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((session.ssl is not None, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"sandi-rahasia", handled=False)

    with smtp_server(tls_context=_server_context(certificate), require_starttls=True,
                     authenticator=authenticator) as (port, inbox):
        table = alerts_table(port, smtp_security="starttls", smtp_user="wbs", smtp_password_file=str(password),
                             smtp_ca_file=str(certificate[0]))
        _send(table, tmp_path)
        assert len(inbox.mails) == 1 and logins == [(True, b"wbs", b"sandi-rahasia")]
        with pytest.raises(AlertError) as refused:  # the system's CAs do not know this certificate
            _send(table.replace(f'smtp_ca_file = "{certificate[0]}"\n', ""), tmp_path)
        assert refused.value.reason == "tls"


def test_implicit_tls(tmp_path, certificate):
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate),
                            server_hostname="localhost")
    controller.start()
    try:
        _send(alerts_table(port, smtp_security="tls", smtp_host="localhost", smtp_ca_file=str(certificate[0])),
              tmp_path)
        assert len(handler.mails) == 1
        with pytest.raises(AlertError) as plain:  # a TLS port spoken to in plain text
            _send(alerts_table(port, smtp_security="none", smtp_host="localhost", timeout_seconds=5), tmp_path)
        assert plain.value.reason in ("closed", "timeout")
    finally:
        controller.stop()


class Socks5Relay:
    """A tiny SOCKS5 server: no login, CONNECT only; every destination goes to ``target``,
    and the names asked for are kept (the client must not resolve them itself)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.asked: list[tuple[int, bytes, int]] = []
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        assert version == 5 and 0 in methods
        writer.write(b"\x05\x00")
        _, command, _, kind = await reader.readexactly(4)
        name = await reader.readexactly((await reader.readexactly(1))[0]) if kind == 3 else await reader.readexactly(4)
        port = int.from_bytes(await reader.readexactly(2), "big")
        self.asked.append((kind, name, port))
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        writer.write(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + self.target.to_bytes(2, "big"))

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    def __enter__(self) -> "Socks5Relay":
        self.thread.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_through_a_socks5_proxy_that_resolves_the_name(tmp_path):
    with smtp_server() as (port, inbox), Socks5Relay(port) as relay:
        # Not a name this machine could resolve: only the proxy ever sees it.
        _send(alerts_table(587, smtp_host="mail.wbs-klungkung.invalid", socks_proxy=f"127.0.0.1:{relay.port}"),
              tmp_path)
        assert relay.asked == [(3, b"mail.wbs-klungkung.invalid", 587)]
        assert len(inbox.mails) == 1
        with pytest.raises(AlertError) as down:
            _send(alerts_table(587, socks_proxy=f"127.0.0.1:{free_port()}"), tmp_path)
        assert down.value.reason == "proxy"


def test_the_server_task_retries_with_a_growing_delay(tmp_path):
    """daily_digest with a set clock and a recorded sleep: each failed attempt waits longer."""
    (tmp_path / "data").mkdir()
    config_path = tmp_path / "wbs.toml"
    config_path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + alerts_table(free_port(), send_at="07:30"))
    config = load_config(config_path)
    zone = zone_of(config)
    now = [datetime(2026, 12, 2, 7, 30, tzinfo=zone)]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += timedelta(seconds=seconds)
        if len(sleeps) >= 12:
            raise asyncio.CancelledError

    async def run() -> tuple:
        store = await Store.open(tmp_path / "data" / "wbs.sqlite3", zone)
        try:
            with pytest.raises(asyncio.CancelledError):
                await daily_digest(store, config, clock=lambda: now[0], sleep=sleep)
            return await store.alert_state()
        finally:
            await store.close()

    state = asyncio.run(run())
    # Twelve minutes of one-minute naps: attempts at 0, 1, 3 and 7 minutes (60, 120, 240 s apart).
    assert sleeps == [60] * 12
    assert state.failures == 4 and state.reason == "refused" and state.failed_day == "2026-12-02"
    assert state.sent_day is None
