"""Sending the daily digest (server/operations/digest.py says what it holds) and the schedule that sends it.

The server sends it once a day at ``send_at`` in the configured time zone.
Which day was last sent is in the database, so a restart after ``send_at``
does not send again, and a server that was down at ``send_at`` sends as soon
as it is up again that day. A failure is logged (its kind only: no address,
no server answer, no content), recorded for the dashboard and ``wbs check``,
and retried with a growing delay.

The mail goes to the configured SMTP server directly or, with ``socks_proxy``,
through a SOCKS5 proxy (Tor's), which then resolves the server's name too.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from datetime import date, datetime, timedelta, timezone, tzinfo
from email.message import EmailMessage
from pathlib import Path
from typing import Awaitable, Callable

import aiosmtplib

from crypto.errors import WbsError

from server.config import AlertsConfig, Config, zone_of
from server.errors import ConfigError, JobRunning
from server.operations import socks5
from server.operations.digest import Digest, digest_message, gather
from server.storage.store import AlertState, Store

log = logging.getLogger("wbs")

MAX_PASSWORD_BYTES = 1024
RETRY_FIRST_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0
# The schedule looks at the clock at least this often, so a changed clock
# (or a digest sent meanwhile by 'wbs alerts send') is noticed within a minute.
NAP_SECONDS = 60.0
DIGEST_LOCK = "daily-digest"  # Store.exclusive: one node of a deployment sends at a time

# What went wrong, as the log, the dashboard (i18n "alerts.reason.*") and 'wbs check' name it.
REASONS = {
    "refused": "the mail server could not be reached or refused the connection",
    "timeout": "the mail server did not answer in time",
    "tls": "the encrypted connection to the mail server failed (certificate, or TLS/STARTTLS not offered)",
    "auth": "the mail server refused the login (smtp_user, smtp_password_file)",
    "rejected": "the mail server refused the sender, a recipient or the message",
    "closed": "the mail server closed the connection",
    "proxy": "the SOCKS proxy (socks_proxy) could not connect to the mail server",
    "password": "the password file (smtp_password_file) cannot be read",
}


class AlertError(WbsError):
    """The mail could not be sent."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(REASONS[reason] + (f" ({detail})" if detail else ""))


def _read_password(path: str) -> str:
    try:
        with open(path, "rb") as src:
            data = src.read(MAX_PASSWORD_BYTES + 1)
    except OSError as exc:
        raise AlertError("password", exc.strerror or "") from None
    if len(data) > MAX_PASSWORD_BYTES:
        raise AlertError("password", "longer than 1024 bytes")
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise AlertError("password", "not UTF-8") from None


def _tls_context(alerts: AlertsConfig) -> ssl.SSLContext | None:
    if alerts.smtp_security == "none":
        return None
    try:
        return ssl.create_default_context(cafile=alerts.smtp_ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise AlertError("tls", f"smtp_ca_file: {getattr(exc, 'strerror', None) or exc}") from None


def _prepare(alerts: AlertsConfig) -> tuple[str | None, ssl.SSLContext | None]:
    """Blocking: the password and the TLS context (which reads certificate files)."""
    password = _read_password(alerts.smtp_password_file) if alerts.smtp_user else None
    return password, _tls_context(alerts)


def _reason_of(exc: BaseException) -> AlertError:
    if isinstance(exc, AlertError):
        return exc
    if isinstance(exc, socks5.Socks5Error):
        return AlertError("proxy", str(exc))
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return AlertError("auth", f"SMTP {exc.code}")
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
        return AlertError("timeout")
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError, aiosmtplib.SMTPNotSupported)):
        return AlertError("tls")
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        cause = exc.__cause__
        if isinstance(cause, (ssl.SSLError, ssl.CertificateError)):
            return AlertError("tls")
        return AlertError("refused")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return AlertError("closed")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return AlertError("rejected", "SMTP " + ",".join(sorted({str(r.code) for r in exc.recipients})))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return AlertError("rejected", f"SMTP {exc.code}")
    if isinstance(exc, ConnectionError):
        return AlertError("closed")
    return AlertError("refused", type(exc).__name__)


async def send_mail(alerts: AlertsConfig, message: EmailMessage) -> None:
    """Send ``message`` as ``[alerts]`` says; every failure is an ``AlertError``."""
    try:
        password, context = await asyncio.to_thread(_prepare, alerts)
        sock = None
        if alerts.socks_proxy:
            sock = await socks5.open_socket(alerts.socks_proxy, alerts.smtp_host, alerts.smtp_port,
                                            timeout=alerts.timeout_seconds)
        client = aiosmtplib.SMTP(
            hostname=alerts.smtp_host,
            port=None if sock else alerts.smtp_port,
            sock=sock,
            use_tls=alerts.smtp_security == "tls",
            start_tls=alerts.smtp_security == "starttls",
            tls_context=context,
            # Never this machine's name: the sender's mail domain.
            local_hostname=alerts.from_addr.rpartition("@")[2],
            timeout=alerts.timeout_seconds,
        )
        async with asyncio.timeout(alerts.timeout_seconds * 3):
            async with client:
                if alerts.smtp_user:
                    await client.login(alerts.smtp_user, password or "")
                await client.send_message(message)
    except Exception as exc:
        raise _reason_of(exc) from None


Sender = Callable[[AlertsConfig, EmailMessage], Awaitable[None]]


async def send_digest(store: Store, config: Config, today: date, now: datetime, send: Sender = send_mail) -> Digest:
    """Send the digest of ``today`` and record it; a failure is recorded and raised.

    Under the deployment's digest lock, which the schedule takes too: while another node
    (or another 'wbs alerts send') is sending it, ``JobRunning``, at once.
    """
    async with store.exclusive(DIGEST_LOCK) as got:
        if not got:
            raise JobRunning("another node of this deployment is sending the daily digest right now;"
                             " look at its log, or try again in a minute")
        return await _send_and_record(store, config, today, now, send)


async def _send_and_record(store: Store, config: Config, today: date, now: datetime, send: Sender) -> Digest:
    alerts = config.alerts
    if alerts is None:
        raise ConfigError("no [alerts] table in the configuration")
    digest = await gather(store, config, today)
    try:
        await send(alerts, digest_message(alerts, digest, config.instance_name, now))
    except AlertError as exc:
        await store.record_alert_failure(today.isoformat(), exc.reason)
        raise
    await store.record_alert_sent(today.isoformat(), digest.first.isoformat())
    return digest


def retry_delay(failures: int) -> float:
    """Seconds before the next attempt after ``failures`` failed ones in a row: 1, 2, 4 ... 60 minutes."""
    return min(RETRY_FIRST_SECONDS * 2 ** max(failures - 1, 0), RETRY_MAX_SECONDS)


class DigestSchedule:
    """Decides, each time it is asked with the time it is, whether the digest is due, and sends it."""

    def __init__(self, store: Store, config: Config) -> None:
        assert config.alerts is not None
        self._store = store
        self._config = config
        self._alerts = config.alerts
        self._zone: tzinfo = zone_of(config)
        self._done_day: date | None = None
        self._failures = 0
        self._retry_at: datetime | None = None

    def _next_send(self, local: datetime) -> datetime:
        at = datetime.combine(local.date(), self._alerts.send_time, self._zone)
        return at if at > local else at + timedelta(days=1)

    async def tick(self, now: datetime) -> float:
        """Send if due at ``now`` (aware); returns how many seconds to wait before asking again."""
        local = now.astimezone(self._zone)
        today = local.date()
        wait = min((self._next_send(local) - local).total_seconds(), NAP_SECONDS)
        if local.time() < self._alerts.send_time or self._done_day == today:
            return wait
        async with self._store.exclusive(DIGEST_LOCK) as got:
            if not got:  # another node is sending it (or finding it sent): look again later
                return wait
            return await self._attempt(now, local, wait)

    async def _attempt(self, now: datetime, local: datetime, wait: float) -> float:
        """Holding the digest lock: send unless sent today. The state is read here, inside the
        lock, so that a node that sent it a moment ago (and has recorded it) is seen."""
        today = local.date()
        state = await self._store.alert_state()
        if state.sent_day is not None and state.sent_day >= today.isoformat():
            self._done_day, self._failures, self._retry_at = today, 0, None
            return wait
        if self._retry_at is not None and now < self._retry_at:
            return min((self._retry_at - now).total_seconds(), NAP_SECONDS)
        try:
            digest = await _send_and_record(self._store, self._config, today, local, send_mail)
        except AlertError as exc:
            self._failures += 1
            delay = retry_delay(self._failures)
            self._retry_at = now + timedelta(seconds=delay)
            log.error("alerts: the digest of %s was not sent: %s (attempt %d; next in %d s)",
                      today.isoformat(), REASONS[exc.reason], self._failures, delay)
            return min(delay, NAP_SECONDS)
        self._failures, self._retry_at, self._done_day = 0, None, today
        log.info("alerts: the digest of %s was sent (days %s to %s)", today.isoformat(),
                 digest.first.isoformat(), digest.last.isoformat())
        return wait


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def daily_digest(store: Store, config: Config, *, clock: Callable[[], datetime] = utc_now,
                       sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
    """The server's own task: ask the schedule, wait as long as it says, forever."""
    schedule = DigestSchedule(store, config)
    while True:
        try:
            delay = await schedule.tick(clock())
        except Exception as exc:  # keep serving; say what failed, never what it held
            log.error("alerts: the schedule failed: %s", type(exc).__name__)
            delay = NAP_SECONDS
        await sleep(max(delay, 1.0))


def status_problem(alerts: AlertsConfig | None, state: AlertState | None) -> str | None:
    """What 'wbs check' and the dashboard should warn about, in English; None if nothing."""
    if alerts is None or state is None:
        return None
    if state.failures:
        return (f"the daily digest failed {state.failures} time(s) since the last success, last on"
                f" {state.failed_day}: {REASONS.get(state.reason, state.reason)}")
    return None


def password_file_problem(alerts: AlertsConfig) -> str | None:
    """A password file that is missing, unreadable or readable by others (for 'wbs check')."""
    if not alerts.smtp_password_file:
        return None
    path = Path(alerts.smtp_password_file)
    try:
        mode = path.stat().st_mode & 0o777
        _read_password(str(path))
    except OSError as exc:
        return f"alerts.smtp_password_file {path}: {exc.strerror}"
    except AlertError as exc:
        return f"alerts.smtp_password_file {path}: {exc}"
    if mode & 0o077:
        return f"alerts.smtp_password_file {path} is readable by others (mode {mode:o}); use chmod 600"
    return None
