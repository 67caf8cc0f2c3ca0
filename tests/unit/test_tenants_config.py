"""The [[tenants]] of wbs.toml: what is accepted, and the error that names the entry for what is not."""

from __future__ import annotations

import asyncio
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest

from server.app import close_contexts, open_tenants
from server.config import Config, config_template, load_config
from server.defences.kdfpool import LOGIN
from server.errors import Busy, ConfigError, UploadsBusy
from server.storage.datafolder import DataFolder
from server.tenants import find_tenant, tenant_config

ALPHA = """
[[tenants]]
slug = "alpha"
org_name = "Inspektorat Daerah Kabupaten Alpha"
hosts = ["Alpha.onion."]
staff_hosts = ["staff.alpha.onion"]
report_prefix = "ALP"
"""

BETA = """
[[tenants]]
slug = "beta-2"
org_name = "Inspektorat Daerah Kota Beta"
hosts = ["beta.onion", "www.beta.onion"]
staff_hosts = ["staff.beta.onion"]
report_prefix = "BET"
default_lang = "en"
max_files = 5
retention_days = 0
"""


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "wbs.toml"
    path.write_text('data_dir = "/srv/wbs"\nmax_files = 20\n' + text)
    return load_config(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_no_tenants_is_the_single_wbs(tmp_path):
    config = load(tmp_path, "")
    assert config.tenants == () and config.data_dir == Path("/srv/wbs")
    assert "tenants" not in config_template()


def test_two_tenants_with_their_own_settings(tmp_path):
    config = load(tmp_path, ALPHA + BETA)
    assert [t.slug for t in config.tenants] == ["alpha", "beta-2"]
    alpha, beta = (tenant_config(config, t) for t in config.tenants)
    assert config.tenants[0].hosts == ("alpha.onion",)  # lower case, no trailing dot: as the Host is matched
    assert alpha.data_dir == Path("/srv/wbs/tenants/alpha") and beta.data_dir == Path("/srv/wbs/tenants/beta-2")
    assert alpha.instance_name == "Inspektorat Daerah Kabupaten Alpha" and alpha.report_prefix == "ALP"
    assert (alpha.default_lang, alpha.max_files, alpha.retention_days) == ("id", 20, 730)
    assert (beta.default_lang, beta.max_files, beta.retention_days) == ("en", 5, 0)
    assert alpha.tenants == () and beta.tenants == ()
    assert alpha.onion_address == "" and beta.onion_address == ""  # no v3 onion address among their hosts
    assert find_tenant(config, "beta-2").report_prefix == "BET"
    with pytest.raises(ConfigError, match="no tenant 'gamma'.*alpha, beta-2"):
        find_tenant(config, "gamma")


def test_the_home_page_shows_the_tenants_own_onion_address(tmp_path):
    onion = "a" * 56 + ".onion"
    config = load(tmp_path, 'onion_address = "' + "b" * 56 + '.onion"\n'
                  + ALPHA.replace('hosts = ["Alpha.onion."]', f'hosts = ["alpha.onion", "{onion.upper()}"]'))
    assert tenant_config(config, config.tenants[0]).onion_address == onion


def test_a_tenant_alerts_table(tmp_path):
    config = load(tmp_path, ALPHA + '[tenants.alerts]\nsmtp_host = "mail.alpha.go.id"\n'
                  'from_addr = "wbs@alpha.go.id"\nto = ["inspektur@alpha.go.id"]\n')
    alerts = tenant_config(config, config.tenants[0]).alerts
    assert alerts is not None and alerts.to == ("inspektur@alpha.go.id",)
    assert config.alerts is None


@pytest.mark.parametrize("change, message", [
    (('slug = "alpha"', 'slug = "Alpha"'), "entry 1: slug must be 2 to 32 of a-z"),
    (('slug = "alpha"', 'slug = "a"'), "entry 1: slug must be"),
    (('slug = "alpha"\n', ''), "entry 1 needs slug"),
    (('report_prefix = "ALP"\n', ''), "tenant 'alpha' needs report_prefix"),
    (('report_prefix = "ALP"', 'report_prefix = "alp"'), "tenant 'alpha': report_prefix must be"),
    (('hosts = ["Alpha.onion."]', 'hosts = []'), "tenant 'alpha': hosts must list 1 to 8"),
    (('hosts = ["Alpha.onion."]', 'hosts = ["alpha.onion:80"]'), "tenant 'alpha': hosts: 'alpha.onion:80' is not a host name"),
    (('hosts = ["Alpha.onion."]', 'hosts = ["http://alpha.onion"]'), "is not a host name"),
    (('hosts = ["Alpha.onion."]', 'hosts = ["alpha.onion", "ALPHA.onion"]'), "names a host twice"),
    (('org_name = "Inspektorat Daerah Kabupaten Alpha"', 'org_name = " "'), "tenant 'alpha': org_name"),
    (('report_prefix = "ALP"', 'report_prefix = "ALP"\nreporter_addr = "0.0.0.0:80"'),
     "tenant 'alpha': unknown or server-wide setting(s): reporter_addr"),
    (('report_prefix = "ALP"', 'report_prefix = "ALP"\nmax_files = "many"'), "tenant 'alpha': max_files must be"),
    (('report_prefix = "ALP"', 'report_prefix = "ALP"\nmax_files = 0'), "tenant 'alpha': max_files must be positive"),
    (('report_prefix = "ALP"', 'report_prefix = "ALP"\ndefault_lang = "fr"'), "tenant 'alpha': default_lang"),
    (('report_prefix = "ALP"', 'report_prefix = "ALP"\ntimezone = "Mars/Olympus"'), "tenant 'alpha': timezone"),
    (('report_prefix = "ALP"', 'report_prefix = "ALP"\nalerts = 1'), "tenant 'alpha': alerts must be a table"),
])
def test_a_bad_entry_is_named(tmp_path, change, message):
    old, new = change
    assert old in ALPHA
    assert message in refused(tmp_path, ALPHA.replace(old, new, 1))


@pytest.mark.parametrize("second, message", [
    (BETA.replace('slug = "beta-2"', 'slug = "alpha"'), "tenant 'alpha' is configured twice"),
    (BETA.replace('"BET"', '"ALP"'), "tenant 'beta-2': report_prefix 'ALP' is already tenant 'alpha''s"),
    (BETA.replace('"www.beta.onion"', '"alpha.onion"'),
     "tenant 'beta-2': hosts 'alpha.onion' is already in use (hosts of tenant 'alpha')"),
    (BETA.replace('"staff.beta.onion"', '"staff.alpha.onion"'), "staff_hosts 'staff.alpha.onion' is already in use"),
    (BETA.replace('"staff.beta.onion"', '"beta.onion"'),
     "tenant 'beta-2': staff_hosts 'beta.onion' is already in use (hosts of tenant 'beta-2')"),
])
def test_what_must_be_unique_is(tmp_path, second, message):
    assert message in refused(tmp_path, ALPHA + second)


def test_tenants_must_be_tables(tmp_path):
    assert "tenants must be one or more [[tenants]] tables" in refused(tmp_path, "tenants = []\n")
    assert "entry 1 must be a table" in refused(tmp_path, "tenants = [1]\n")


def two_tenants(tmp_path: Path) -> Config:
    path = tmp_path / "wbs.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\nkdf_workers = 2\nkdf_queue = 4\n' + ALPHA + BETA)
    config = load_config(path)
    for tenant in config.tenants:
        DataFolder(tenant_config(config, tenant).data_dir).initialize()
    return config


def test_tenants_share_the_pools_and_keep_their_own_secrets_and_throttles(tmp_path):
    config = two_tenants(tmp_path)

    async def run() -> None:
        contexts = await open_tenants(config)
        try:
            alpha, beta = contexts["alpha"], contexts["beta-2"]
            for pool in ("io", "seal", "pace"):
                assert getattr(alpha, pool) is getattr(beta, pool), pool
            assert alpha.uploads is not beta.uploads and alpha.uploads.shared is beta.uploads.shared
            assert alpha.kdf.pool is beta.kdf.pool and alpha.kdf is not beta.kdf
            for own in ("store", "sessions", "throttle", "new_accounts", "circuit_logins", "circuit_reports"):
                assert getattr(alpha, own) is not getattr(beta, own), own
            assert alpha.instance_secret != beta.instance_secret
            assert alpha.owns_pools and not beta.owns_pools
            assert (alpha.config.max_files, beta.config.max_files) == (20, 5)
        finally:
            await close_contexts(contexts)

    asyncio.run(run())


def test_slow_uploads_at_one_tenant_leave_the_other_half_of_the_slots(tmp_path):
    config = two_tenants(tmp_path)

    async def run() -> None:
        contexts = await open_tenants(config)
        try:
            alpha, beta = contexts["alpha"], contexts["beta-2"]
            limit = config.max_uploads
            with ExitStack() as held:
                for _ in range(limit // 2):
                    held.enter_context(alpha.uploads.hold())
                with pytest.raises(UploadsBusy):  # alpha's share is full ...
                    held.enter_context(alpha.uploads.hold())
                for _ in range(limit - limit // 2):  # ... and beta has the rest of the server's slots
                    held.enter_context(beta.uploads.hold())
                assert alpha.uploads.shared.active == limit
            assert alpha.uploads.active == beta.uploads.active == alpha.uploads.shared.active == 0
        finally:
            await close_contexts(contexts)

    asyncio.run(run())


def test_a_login_flood_at_one_tenant_does_not_refuse_another_tenants_logins(tmp_path):
    """Each tenant has its own places in the shared key-derivation pool's lanes."""
    config = two_tenants(tmp_path)
    gate = threading.Event()

    def derive(tag: str) -> str:
        gate.wait(10)
        return tag

    async def run() -> None:
        contexts = await open_tenants(config)
        try:
            alpha, beta = contexts["alpha"], contexts["beta-2"]
            flood = [asyncio.create_task(alpha.kdf.run(derive, "alpha", lane=LOGIN)) for _ in range(2 + 4)]
            await asyncio.sleep(0.05)  # both threads busy, four of alpha's logins waiting: its lane is full
            with pytest.raises(Busy):
                await alpha.kdf.run(derive, "alpha", lane=LOGIN)
            login = asyncio.create_task(beta.kdf.run(derive, "beta", lane=LOGIN))
            await asyncio.sleep(0.1)
            assert not login.done()  # waiting for a thread, not refused
            gate.set()
            assert await login == "beta"
            assert await asyncio.gather(*flood) == ["alpha"] * 6
        finally:
            gate.set()
            await close_contexts(contexts)

    asyncio.run(run())
