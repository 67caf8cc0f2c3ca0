"""Many Inspektorats on one server: the ``[[tenants]]`` of ``wbs.toml``.

Each tenant is a whole WBS of its own, in its own data folder
(``DATA/tenants/SLUG/``: database, blobs, instance secret, organisation
keys), reached on its own Host names. The listeners, their connection
guards and the thread pools (key derivation, sealing) are shared. With no
``[[tenants]]`` the server is the single WBS it has always been.

A tenant inherits every top-level setting and may set its own value of
those in ``TENANT_SETTINGS`` (and its own ``[tenants.alerts]`` table);
the rest belong to the server as a whole.

Where a tenant's metadata and ciphertext live: its own ``database_url``
and ``blob_dir`` if it sets them; else, with a top-level ``database_url``,
a PostgreSQL schema of its own (``tenant_<slug>``) in that database, never
rows beside another tenant's; with a top-level ``blob_dir``, the folder
``blob_dir/<slug>``; else its data folder, as with one WBS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.errors import ConfigError

if TYPE_CHECKING:
    from server.config import Config

TENANTS_SUBFOLDER = "tenants"
SLUG_RE = re.compile(r"[a-z0-9-]{2,32}\Z")
# A Host name as the listeners match it (aiohttp's domain rule): dot-separated labels, no port.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
MAX_HOSTS = 8
MAX_ORG_NAME = 200
REQUIRED = ("slug", "org_name", "hosts", "staff_hosts", "report_prefix")
# Settings that belong to one organisation rather than to the server, which a tenant may set for itself.
TENANT_SETTINGS = (
    "default_lang", "holidays_file", "timezone",
    "max_file_bytes", "max_report_bytes", "max_files", "max_text_chars", "max_short_chars",
    "acknowledge_working_days", "feedback_days", "retention_days",
    "new_accounts_per_minute", "login_failures_before_delay", "login_global_per_minute",
    "database_url", "blob_dir",
)


@dataclass(frozen=True)
class Tenant:
    """One ``[[tenants]]`` entry, checked."""

    slug: str
    org_name: str
    hosts: tuple[str, ...]
    staff_hosts: tuple[str, ...]
    report_prefix: str
    overrides: tuple[tuple[str, Any], ...] = ()  # (setting, value) pairs from TENANT_SETTINGS and "alerts"


def tenant_folder(data_dir: Path, slug: str) -> Path:
    return Path(data_dir) / TENANTS_SUBFOLDER / slug


def tenant_schema(slug: str) -> str:
    """The PostgreSQL schema of a tenant in the top-level database: ``tenant_`` and the slug, its
    hyphens as underscores (a slug has no underscore, so no two slugs share a schema)."""
    return "tenant_" + slug.replace("-", "_")


def tenant_config(base: "Config", tenant: Tenant) -> "Config":
    """The whole configuration one tenant runs with: its own folder, name, prefix and overrides."""
    from server.config import _ONION, check

    # The home page shows reporters its onion address to compare: the tenant's first one.
    onion = next((host for host in tenant.hosts if _ONION.match(host)), "")
    own = dict(tenant.overrides)
    schema = "" if "database_url" in own or not base.database_url else tenant_schema(tenant.slug)
    if "blob_dir" not in own and base.blob_dir:
        own["blob_dir"] = str(Path(base.blob_dir) / tenant.slug)
    config = replace(base, tenants=(), data_dir=tenant_folder(base.data_dir, tenant.slug),
                     instance_name=tenant.org_name, report_prefix=tenant.report_prefix, onion_address=onion,
                     database_schema=schema, **own)
    try:
        return check(config)
    except ConfigError as exc:
        raise ConfigError(f"tenant {tenant.slug!r}: {exc}") from None


def check_tenant_places(configs: dict[str, "Config"]) -> None:
    """Refuse two tenants (each ``tenant_config``, by slug) in one database schema or one blob folder: each
    keeps a store of its own. URLs are compared as written: two spellings of one database are not caught."""
    databases: dict[tuple[str, str], str] = {}
    blob_dirs: dict[str, str] = {}
    for slug, config in configs.items():
        if config.database_url:
            place = (config.database_url, config.database_schema)
            if place in databases:
                raise ConfigError(f"tenant {slug!r}: database_url is tenant {databases[place]!r}'s too; each tenant"
                                  " needs a database of its own (or leave database_url out of both, and each gets a"
                                  " schema of its own in the top-level database_url)")
            databases[place] = slug
        if config.blob_dir:
            folder = str(Path(config.blob_dir))
            if folder in blob_dirs:
                raise ConfigError(f"tenant {slug!r}: blob_dir is tenant {blob_dirs[folder]!r}'s too; each tenant"
                                  " needs a folder of its own")
            blob_dirs[folder] = slug


def find_tenant(config: "Config", slug: str) -> Tenant:
    for tenant in config.tenants:
        if tenant.slug == slug:
            return tenant
    raise ConfigError(f"no tenant {slug!r} in the configuration; configured: {slugs(config)}")


def slugs(config: "Config") -> str:
    return ", ".join(t.slug for t in config.tenants)


def _host(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a list of host names")
    host = value.rstrip(".").lower()
    if not 0 < len(host) <= 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise ConfigError(f"{where}: {value!r} is not a host name such as 'abcd...xyz.onion' (no port, no scheme)")
    return host


def _hosts(raw: dict, name: str, where: str) -> tuple[str, ...]:
    value = raw[name]
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_HOSTS:
        raise ConfigError(f"{where}: {name} must list 1 to {MAX_HOSTS} host names")
    hosts = tuple(_host(v, f"{where}: {name}") for v in value)
    if len(set(hosts)) != len(hosts):
        raise ConfigError(f"{where}: {name} names a host twice")
    return hosts


def _tenant(raw: Any, index: int, coerce: Any) -> Tenant:
    where = f"[[tenants]] entry {index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    slug = raw.get("slug")
    if isinstance(slug, str) and SLUG_RE.match(slug):
        where = f"tenant {slug!r}"
    elif "slug" in raw:
        raise ConfigError(f"{where}: slug must be 2 to 32 of a-z, 0-9 and '-', e.g. \"klungkung\"")
    missing = [name for name in REQUIRED if name not in raw]
    if missing:
        raise ConfigError(f"{where} needs {', '.join(missing)}")
    unknown = sorted(set(raw) - set(REQUIRED) - set(TENANT_SETTINGS) - {"alerts"})
    if unknown:
        raise ConfigError(f"{where}: unknown or server-wide setting(s): {', '.join(unknown)}"
                          f" (a tenant may set: {', '.join(TENANT_SETTINGS)}, alerts)")
    org_name = raw["org_name"]
    if not isinstance(org_name, str) or not org_name.strip() or len(org_name) > MAX_ORG_NAME:
        raise ConfigError(f"{where}: org_name must be the organisation's name, at most {MAX_ORG_NAME} characters")
    prefix = raw["report_prefix"]
    from crypto.items import PREFIX_RE

    if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
        raise ConfigError(f"{where}: report_prefix must be 1 to 12 of A-Z and 0-9")
    overrides: list[tuple[str, Any]] = []
    for name in TENANT_SETTINGS:
        if name in raw:
            try:
                overrides.append((name, coerce(name, raw[name])))
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
    if "alerts" in raw:
        from server.config import _alerts_from_toml

        try:
            overrides.append(("alerts", _alerts_from_toml(raw["alerts"])))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return Tenant(slug, org_name.strip(), _hosts(raw, "hosts", where), _hosts(raw, "staff_hosts", where), prefix,
                  tuple(overrides))


def parse_tenants(raw: Any, coerce: Any) -> tuple[Tenant, ...]:
    """The ``[[tenants]]`` array, each entry checked and all of them unique where they must be.

    ``coerce(name, value)`` is config.py's type check of a top-level setting.
    """
    if not isinstance(raw, list) or not raw:
        raise ConfigError("tenants must be one or more [[tenants]] tables")
    tenants = tuple(_tenant(entry, i, coerce) for i, entry in enumerate(raw))
    seen_slugs: dict[str, int] = {}
    seen_prefixes: dict[str, str] = {}
    seen_hosts: dict[str, str] = {}
    for tenant in tenants:
        if tenant.slug in seen_slugs:
            raise ConfigError(f"tenant {tenant.slug!r} is configured twice: each slug must be unique")
        seen_slugs[tenant.slug] = 1
        if tenant.report_prefix in seen_prefixes:
            raise ConfigError(f"tenant {tenant.slug!r}: report_prefix {tenant.report_prefix!r} is already"
                              f" tenant {seen_prefixes[tenant.report_prefix]!r}'s")
        seen_prefixes[tenant.report_prefix] = tenant.slug
        for side, hosts in (("hosts", tenant.hosts), ("staff_hosts", tenant.staff_hosts)):
            for host in hosts:
                if host in seen_hosts:
                    raise ConfigError(f"tenant {tenant.slug!r}: {side} {host!r} is already in use"
                                      f" ({seen_hosts[host]}); every Host name serves one side of one tenant")
                seen_hosts[host] = f"{side} of tenant {tenant.slug!r}"
    return tenants
