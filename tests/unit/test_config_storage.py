"""Where the metadata and the ciphertext live: ``database_url`` and ``blob_dir``,
at the top of wbs.toml and per tenant (docs/storage.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.config import config_template, load_config
from server.errors import ConfigError
from server.tenants import tenant_config, tenant_schema

URL = "postgresql://wbs@/wbs?host=/run/postgresql"


def tenant(slug: str, prefix: str, extra: str = "") -> str:
    return (f'\n[[tenants]]\nslug = "{slug}"\norg_name = "Inspektorat {slug}"\nhosts = ["{slug}.onion"]\n'
            f'staff_hosts = ["staff.{slug}.onion"]\nreport_prefix = "{prefix}"\n{extra}')


def load(tmp_path: Path, text: str):
    path = tmp_path / "wbs.toml"
    path.write_text('data_dir = "/srv/wbs"\n' + text, encoding="utf-8")
    return load_config(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def tenants_of(config) -> dict:
    return {t.slug: tenant_config(config, t) for t in config.tenants}


def test_by_default_the_store_is_in_the_data_folder(tmp_path):
    config = load(tmp_path, "")
    assert (config.database_url, config.blob_dir, config.database_schema) == ("", "", "")
    assert '# database_url = ""' in config_template() and '# blob_dir = ""' in config_template()
    assert "database_schema" not in config_template()


@pytest.mark.parametrize("url", [URL, "postgres://wbs@db.internal:5433/wbs?sslmode=verify-full",
                                 "postgresql:///wbs", "postgresql://wbs@h1:5432,h2:5432/wbs"])
def test_a_postgresql_url_without_a_password_is_taken(tmp_path, url):
    config = load(tmp_path, f'database_url = "{url}"\nblob_dir = "/mnt/shared/blobs"\n')
    assert config.database_url == url and config.blob_dir == "/mnt/shared/blobs"


@pytest.mark.parametrize("url", ["postgresql://wbs:secret@db/wbs", "postgresql://wbs:@db/wbs",
                                 "postgresql://wbs@db/wbs?password=secret"])
def test_a_url_with_a_password_is_refused_naming_the_key_and_what_to_use(tmp_path, url):
    message = refused(tmp_path, f'database_url = "{url}"\n')
    assert message.startswith("database_url must not carry a password")
    assert "~/.pgpass" in message and "peer authentication" in message and "client certificate" in message
    assert "secret" not in message


@pytest.mark.parametrize("url", ["sqlite:///var/wbs.sqlite3", "mysql://wbs@db/wbs", "db.internal/wbs", "http://[x/"])
def test_only_postgresql_urls(tmp_path, url):
    assert refused(tmp_path, f'database_url = "{url}"\n').startswith("database_url ")


def test_blob_dir_must_be_a_string(tmp_path):
    assert "blob_dir must be of type str" in refused(tmp_path, "blob_dir = 3\n")


def test_tenants_share_the_database_each_in_a_schema_of_its_own(tmp_path):
    config = load(tmp_path, f'database_url = "{URL}"\nblob_dir = "/mnt/blobs"\n'
                  + tenant("alpha", "ALP") + tenant("beta-2", "BET"))
    alpha, beta = tenants_of(config).values()
    assert alpha.database_url == beta.database_url == URL
    assert (alpha.database_schema, beta.database_schema) == ("tenant_alpha", "tenant_beta_2")
    assert (alpha.blob_dir, beta.blob_dir) == ("/mnt/blobs/alpha", "/mnt/blobs/beta-2")
    assert tenant_schema("beta-2") == "tenant_beta_2"


def test_a_tenant_may_have_a_database_and_a_blob_dir_of_its_own(tmp_path):
    own = 'database_url = "postgresql://klk@db2/wbs_klk"\nblob_dir = "/mnt/klk"\n'
    config = load(tmp_path, f'database_url = "{URL}"\n' + tenant("alpha", "ALP", own) + tenant("beta", "BET"))
    alpha, beta = tenants_of(config).values()
    assert (alpha.database_url, alpha.database_schema, alpha.blob_dir) == ("postgresql://klk@db2/wbs_klk", "",
                                                                            "/mnt/klk")
    assert (beta.database_url, beta.database_schema, beta.blob_dir) == (URL, "tenant_beta", "")


def test_a_tenant_without_database_url_stays_on_sqlite(tmp_path):
    config = load(tmp_path, tenant("alpha", "ALP") + tenant("beta", "BET", 'database_url = "postgresql:///b"\n'))
    alpha, beta = tenants_of(config).values()
    assert (alpha.database_url, alpha.database_schema) == ("", "")
    assert (beta.database_url, beta.database_schema) == ("postgresql:///b", "")


def test_a_tenants_url_with_a_password_is_refused_naming_the_tenant(tmp_path):
    message = refused(tmp_path, tenant("alpha", "ALP", 'database_url = "postgresql://a:pw@db/a"\n'))
    assert message.startswith("tenant 'alpha': database_url must not carry a password")


def test_two_tenants_never_share_a_database_or_a_blob_folder(tmp_path):
    same_db = 'database_url = "postgresql:///shared"\n'
    assert "each tenant needs a database of its own" in refused(
        tmp_path, tenant("alpha", "ALP", same_db) + tenant("beta", "BET", same_db))
    same_dir = 'blob_dir = "/mnt/b"\n'
    assert "each tenant needs a folder of its own" in refused(
        tmp_path, tenant("alpha", "ALP", same_dir) + tenant("beta", "BET", same_dir))


@pytest.mark.parametrize("guide", ["deploy.en.md", "deploy.id.md"])
def test_the_deploy_guides_settings_for_more_than_one_machine_load(tmp_path, guide):
    text = (Path(__file__).resolve().parents[2] / "docs" / guide).read_text(encoding="utf-8")
    section = text.split("## 16.")[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    url = re.search(r"`(database_url = \"postgresql://wbs@db\.internal[^`]*)`", section).group(1)
    for text in (block, url + "\n"):
        path = tmp_path / "wbs.toml"
        path.write_text(text, encoding="utf-8")
        assert load_config(path).database_url.startswith("postgresql://wbs@")
    assert load_config(tmp_path / "wbs.toml").database_url.count("sslmode=verify-full") == 1
