"""Configuration: one TOML file, every key with a safe default, unknown keys refused."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workdays import Calendar, CalendarError, load_calendar

from server.errors import ConfigError

if TYPE_CHECKING:
    from server.tenants import Tenant

MiB = 1024 * 1024


@dataclass(frozen=True)
class Config:
    """Everything ``wbs`` can be told. Sizes are bytes, durations seconds."""

    data_dir: Path = Path("var")
    # The metadata's database: "" for SQLite in the data folder, or a postgresql:// URL without a password
    # (docs/storage.md); and the ciphertext's folder: "" for DATA/blobs, or a path (a shared filesystem)
    database_url: str = ""
    blob_dir: str = ""
    reporter_addr: str = "127.0.0.1:8080"
    staff_addr: str = "127.0.0.1:8081"
    instance_name: str = "Inspektorat Daerah Kabupaten Klungkung"
    report_prefix: str = "WBS"
    default_lang: str = "id"
    # Uploads
    max_file_bytes: int = 500 * MiB
    max_report_bytes: int = 1024 * MiB
    max_files: int = 20
    max_text_chars: int = 20_000
    max_short_chars: int = 300
    min_free_bytes: int = 2048 * MiB
    # Uploads at once, how slow one may be (server/defences/uploadlimits.py), and the threads that seal them
    max_uploads: int = 16
    upload_idle_seconds: float = 60.0
    upload_grace_seconds: float = 120.0
    upload_min_rate_bytes: int = 4096
    seal_workers: int = 4
    # Mailbox key derivation (PROTOCOL.md §3) and its thread pool
    kdf_t: int = 3
    kdf_m_kib: int = 65536
    kdf_p: int = 1
    kdf_workers: int = 2
    kdf_queue: int = 4  # reporter logins waiting for a thread, beyond kdf_workers running
    kdf_create_slots: int = 2  # new accounts (reports without a session) running or waiting: never more
    kdf_staff_slots: int = 2  # staff logins and password changes, a lane reporters cannot fill
    kdf_wait_seconds: float = 60.0  # how long a new report waits for a creation slot before "busy"
    kdf_login_wait_seconds: float = 1.0  # how long a login waits, first come first served, before "busy"
    new_accounts_per_minute: int = 20  # the whole server's; a minute's worth may come at once
    # Sessions and login throttling
    session_idle_seconds: int = 15 * 60
    session_max_seconds: int = 2 * 60 * 60
    secure_cookies: bool = False
    login_failures_before_delay: int = 5
    login_max_delay_seconds: int = 3600
    login_global_per_minute: int = 120  # failed logins a minute, all accounts together, before failures slow down
    login_tarpit_seconds: float = 2.0  # how long a failed login past that budget waits for its answer
    # Per Tor circuit, when the reporter listener is told circuit ids (PROXY protocol)
    circuit_logins_per_minute: int = 10
    circuit_reports_per_minute: int = 3
    # Case deadlines, in working days (the staff side uses them)
    acknowledge_working_days: int = 7
    feedback_days: int = 90
    # Extra non-working days (and days worked after all) on top of the national and Bali calendars:
    # a TOML file of [[holiday]] / [[working_day]] entries (docs/deploy.md); "" for none
    holidays_file: str = ""
    # Retention: days after a case reaches a final status before its items are purged (0 = never)
    retention_days: int = 730
    # Deployment
    allow_non_loopback: bool = False
    onion_address: str = ""
    # Connections, per listener (server/defences/connections.py says why these values suit Tor)
    header_timeout_seconds: float = 40.0
    idle_timeout_seconds: float = 60.0
    reporter_max_connections: int = 4096
    staff_max_connections: int = 256
    # PROXY protocol v1 on the reporter listener (torrc: HiddenServiceExportCircuitID haproxy)
    proxy_protocol: bool = False
    circuit_max_connections: int = 20
    # The IANA time zone whose calendar decides which day a thing happened (WITA for Klungkung)
    timezone: str = "Asia/Makassar"
    # The daily digest by e-mail (the [alerts] table; server/operations/alerts.py). None: no mail is sent.
    alerts: AlertsConfig | None = None
    # Many Inspektorats on one server (the [[tenants]] tables; server/tenants.py). Empty: one WBS, as always.
    tenants: tuple[Tenant, ...] = ()
    # The PostgreSQL schema of a tenant sharing the top-level database_url (tenant_<slug>); never set in wbs.toml
    database_schema: str = ""

    @property
    def reporter_host_port(self) -> tuple[str, int]:
        return split_addr(self.reporter_addr)

    @property
    def staff_host_port(self) -> tuple[str, int]:
        return split_addr(self.staff_addr)


@dataclass(frozen=True)
class AlertsConfig:
    """The ``[alerts]`` table of ``wbs.toml``: where and when the daily digest goes."""

    smtp_host: str
    from_addr: str
    to: tuple[str, ...]
    smtp_port: int = 587
    smtp_security: str = "starttls"  # "starttls", "tls" or "none"
    smtp_user: str = ""  # empty: no login
    smtp_password_file: str = ""  # a file holding the password (read at each sending)
    smtp_ca_file: str = ""  # CA certificates to trust instead of the system's (a mail server with its own CA)
    send_at: str = "07:30"  # local time, in the configured time zone
    socks_proxy: str = ""  # HOST:PORT of a SOCKS5 proxy (Tor's: 127.0.0.1:9050); empty: connect directly
    timeout_seconds: float = 60.0

    @property
    def send_time(self) -> time:
        hours, minutes = self.send_at.split(":")
        return time(int(hours), int(minutes))


ALERTS_MAX_RECIPIENTS = 20
_SEND_AT = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]\Z")
# An address as a mail header and the SMTP envelope take it: local@domain, no spaces, quotes or brackets.
_MAIL_ADDR = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?\Z")
_ALERTS_TYPES = {f.name: f.type for f in fields(AlertsConfig)}


def _alerts_from_toml(raw: Any) -> AlertsConfig:
    """The ``[alerts]`` table, checked: every value a digest needs, nothing unknown."""
    if not isinstance(raw, dict):
        raise ConfigError("alerts must be a table ([alerts])")
    unknown = sorted(set(raw) - set(_ALERTS_TYPES))
    if unknown:
        raise ConfigError(f"unknown setting(s) in [alerts]: {', '.join(unknown)}")
    missing = [name for name in ("smtp_host", "from_addr", "to") if name not in raw]
    if missing:
        raise ConfigError(f"[alerts] needs {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        kind = _ALERTS_TYPES[name]
        if name == "to":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError("alerts.to must be a list of addresses")
            values[name] = tuple(value)
            continue
        expected = {"int": int, "str": str, "float": (int, float)}[kind]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(f"alerts.{name} must be of type {kind}")
        values[name] = float(value) if kind == "float" else value
    return check_alerts(AlertsConfig(**values))


def check_alerts(alerts: AlertsConfig) -> AlertsConfig:
    if not _HOST.match(alerts.smtp_host):
        raise ConfigError(f"alerts.smtp_host {alerts.smtp_host!r} is not a host name")
    if not 0 < alerts.smtp_port < 65536:
        raise ConfigError("alerts.smtp_port must be between 1 and 65535")
    if alerts.smtp_security not in ("starttls", "tls", "none"):
        raise ConfigError("alerts.smtp_security must be 'starttls', 'tls' or 'none'")
    if not 1 <= len(alerts.to) <= ALERTS_MAX_RECIPIENTS:
        raise ConfigError(f"alerts.to must list 1 to {ALERTS_MAX_RECIPIENTS} addresses")
    for addr in (alerts.from_addr, *alerts.to):
        if not _MAIL_ADDR.match(addr):
            raise ConfigError(f"{addr!r} in [alerts] is not an e-mail address such as inspektur@example.go.id")
    if not _SEND_AT.match(alerts.send_at):
        raise ConfigError("alerts.send_at must be HH:MM, 24-hour (e.g. \"07:30\")")
    if bool(alerts.smtp_user) != bool(alerts.smtp_password_file):
        raise ConfigError("alerts.smtp_user and alerts.smtp_password_file go together: set both, or neither")
    if alerts.smtp_user and alerts.smtp_security == "none" and not is_loopback(alerts.smtp_host):
        raise ConfigError("alerts.smtp_security = 'none' would send the SMTP password in clear: use 'starttls' or"
                          " 'tls'")
    if alerts.socks_proxy:
        try:
            split_addr(alerts.socks_proxy)
        except ConfigError:
            raise ConfigError(f"alerts.socks_proxy {alerts.socks_proxy!r} is not HOST:PORT (Tor's is"
                              " 127.0.0.1:9050)") from None
    if not 0 < alerts.timeout_seconds <= 600:
        raise ConfigError("alerts.timeout_seconds must be more than 0 and at most 600")
    return alerts


_ONION = re.compile(r"[a-z2-7]{56}\.onion\Z")
_TYPES = {f.name: f.type for f in fields(Config) if f.name not in ("alerts", "tenants", "database_schema")}
DATABASE_SCHEMES = ("postgresql", "postgres")


def zone_of(config: Config) -> ZoneInfo:
    """The configured time zone; a name the system's tz database lacks is a config error."""
    try:
        return ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {config.timezone!r} is not a time zone name such as 'Asia/Makassar'") from None


def calendar_of(config: Config) -> Calendar:
    """The working-day calendar with ``holidays_file``; a file that cannot be used is a config error."""
    try:
        return load_calendar(config.holidays_file)
    except CalendarError as exc:
        raise ConfigError(f"holidays_file: {exc}") from None


def check_database_url(url: str, key: str = "database_url") -> None:
    """A ``postgresql://`` URL with no password in it: ``wbs.toml`` is the same file on every node,
    and whoever may read it must not learn a way into the database from it."""
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        has_password = parts.password is not None
    except ValueError:
        raise ConfigError(f"{key} is not a URL such as postgresql://wbs@/wbs?host=/run/postgresql") from None
    if parts.scheme not in DATABASE_SCHEMES:
        raise ConfigError(f"{key} must be a postgresql:// URL (SQLite needs none: leave {key} out)")
    if has_password or "password" in query:
        raise ConfigError(f"{key} must not carry a password: use ~/.pgpass, peer authentication over a Unix"
                          " socket, or a client certificate")


def split_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"listen address {addr!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _coerce(name: str, value: Any) -> Any:
    kind = _TYPES[name]
    if kind == "Path":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a path string")
        return Path(value)
    expected = {"int": int, "str": str, "bool": bool, "float": (int, float)}[kind]
    if not isinstance(value, expected) or (kind != "bool" and isinstance(value, bool)):
        raise ConfigError(f"{name} must be of type {kind}")
    return float(value) if kind == "float" else value


def check(config: Config) -> Config:
    """Refuse settings that cannot work; ``wbs check`` warns about unsafe ones."""
    if config.default_lang not in ("id", "en"):
        raise ConfigError("default_lang must be 'id' or 'en'")
    for name in ("max_file_bytes", "max_report_bytes", "max_files", "max_text_chars", "max_short_chars",
                 "kdf_workers", "session_idle_seconds", "session_max_seconds", "login_global_per_minute",
                 "max_uploads", "upload_idle_seconds", "upload_min_rate_bytes", "seal_workers",
                 "kdf_create_slots", "kdf_staff_slots", "new_accounts_per_minute", "circuit_logins_per_minute",
                 "circuit_reports_per_minute"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    if config.upload_grace_seconds < 0:
        raise ConfigError("upload_grace_seconds must not be negative")
    if config.retention_days < 0:
        raise ConfigError("retention_days must not be negative")
    if config.onion_address and not _ONION.match(config.onion_address):
        raise ConfigError("onion_address must be a v3 onion host name (56 characters + .onion)")
    if config.kdf_queue < 0:
        raise ConfigError("kdf_queue must not be negative")
    for name in ("login_tarpit_seconds", "kdf_login_wait_seconds", "kdf_wait_seconds"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must not be negative")
    for name in ("header_timeout_seconds", "idle_timeout_seconds"):
        if not 0 < getattr(config, name) <= 3600:
            raise ConfigError(f"{name} must be more than 0 and at most 3600")
    for name in ("reporter_max_connections", "staff_max_connections", "circuit_max_connections"):
        if not 1 <= getattr(config, name) <= 1_000_000:
            raise ConfigError(f"{name} must be between 1 and 1000000")
    split_addr(config.reporter_addr)
    split_addr(config.staff_addr)
    if config.database_url:
        check_database_url(config.database_url)
    zone_of(config)
    calendar_of(config)
    from crypto.items import PREFIX_RE
    from crypto.kdf import KdfParams

    if not PREFIX_RE.match(config.report_prefix):
        raise ConfigError("report_prefix must be 1..12 of A-Z and 0-9")
    try:
        KdfParams(config.kdf_t, config.kdf_m_kib, config.kdf_p).check()
    except Exception as exc:
        raise ConfigError(f"kdf settings: {exc}") from None
    return config


def load_config(path: Path | None = None, **overrides: Any) -> Config:
    """Read ``wbs.toml`` (``--config``, else ``$WBS_CONFIG``, else defaults) and apply overrides."""
    values: dict[str, Any] = {}
    path = path or (Path(os.environ["WBS_CONFIG"]) if os.environ.get("WBS_CONFIG") else None)
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        alerts = raw.pop("alerts", None)
        tenants = raw.pop("tenants", None)
        unknown = sorted(set(raw) - set(_TYPES))
        if unknown:
            raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
        values = {k: _coerce(k, v) for k, v in raw.items()}
        if alerts is not None:
            values["alerts"] = _alerts_from_toml(alerts)
        if tenants is not None:
            from server.tenants import parse_tenants

            values["tenants"] = parse_tenants(tenants, _coerce)
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = check(replace(Config(), **values))
    if config.tenants:
        from server.tenants import check_tenant_places, tenant_config

        check_tenant_places({tenant.slug: tenant_config(config, tenant) for tenant in config.tenants})
    return config


def config_template() -> str:
    """The commented ``wbs.toml`` that ``wbs init`` writes: every key at its default."""
    lines = ["# WBS configuration. Every key is optional; the values shown are the defaults.", ""]
    for f in fields(Config):
        if f.name not in _TYPES:
            continue
        value = getattr(Config(), f.name)
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"# {f.name} = {text}")
    return "\n".join(lines + ALERTS_TEMPLATE) + "\n"


ALERTS_TEMPLATE = [
    "",
    "# The daily digest by e-mail: counts only, sent every day at send_at (docs/deploy.en.md).",
    "# [alerts]",
    '# smtp_host = "mail.example.go.id"',
    "# smtp_port = 587",
    '# smtp_security = "starttls"        # "starttls", "tls" or "none"',
    '# smtp_user = ""                    # empty: no login',
    '# smtp_password_file = ""           # a file holding the password',
    '# from_addr = "wbs@example.go.id"',
    '# to = ["inspektur@example.go.id"]',
    '# send_at = "07:30"                 # local time, in the configured time zone',
    '# socks_proxy = ""                  # "127.0.0.1:9050": through Tor',
]
