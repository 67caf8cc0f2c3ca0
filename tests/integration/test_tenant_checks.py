"""``wbs check`` on a server with ``[[tenants]]``: the shared settings once, then each tenant under its slug."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import wbs, write_config
from crypto.keyring import new_keyring
from test_tenants import TENANTS, tenant_tables

ONION = "a" * 56 + ".onion"
# Alpha's reporter side has a real onion name besides its short one; beta's has only short test names.
CHECKED = {**TENANTS, "alpha": {**TENANTS["alpha"], "hosts": ["alpha.onion", ONION]}}


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """Alpha has its key installed; beta has none yet."""
    tmp = tmp_path_factory.mktemp("checks")
    path = tmp / "wbs.toml"
    write_config(path, tmp / "data", reporter_addr="127.0.0.1:18611", staff_addr="127.0.0.1:18612",
                 min_free_bytes=0, tables=tenant_tables(CHECKED))
    wbs("init", "--config", str(path), cwd=tmp)
    pub = tmp / "alpha.pub.json"
    pub.write_bytes(new_keyring(TENANTS["alpha"]["org_name"]).public_key_file())
    wbs("keys", "install", str(pub), "--tenant", "alpha", "--config", str(path))
    return path


def sections(stdout: str) -> dict[str, list[str]]:
    """The lines before the first tenant heading (under ""), and each tenant's lines under its heading.

    The last line, the count of problems and warnings, is left out.
    """
    out: dict[str, list[str]] = {"": []}
    current = ""
    for line in stdout.splitlines()[:-1]:
        if line.startswith("tenant "):
            current = line
            out[current] = []
        else:
            out[current].append(line)
    return out


def test_every_tenant_is_checked_under_its_own_heading(config):
    done = wbs("check", "--config", str(config), check=False)
    assert done.returncode == 1, done.stdout  # beta cannot receive reports
    assert "--tenant" not in done.stdout.split("tenant alpha")[0]  # no "say which tenant" problem
    parts = sections(done.stdout)
    alpha = "tenant alpha (Inspektorat Daerah Kabupaten Alpha):"
    beta = "tenant beta (Inspektorat Daerah Kota Beta):"
    assert list(parts) == ["", alpha, beta]
    shared = "\n".join(parts[""])
    assert shared.count(f"configuration {config} is valid") == 1 and "2 tenant(s) configured" in shared
    assert "listener 127.0.0.1:18611 is on loopback" in shared and "MiB free for the data folder" in shared
    assert "onion address" not in shared and "organisation key" not in shared
    assert all(line.startswith("  ") for line in parts[alpha] + parts[beta])
    alpha_text, beta_text = "\n".join(parts[alpha]), "\n".join(parts[beta])
    assert f"ok: onion address {ONION}" in alpha_text
    assert "warning: none of the tenant's hosts is an onion address" in beta_text
    assert "organisation key for 'Inspektorat Daerah Kabupaten Alpha' installed" in alpha_text
    assert "problem" not in alpha_text and str(config.parent / "data" / "tenants" / "alpha") in alpha_text
    assert ("problem: no organisation key installed: reports cannot be received"
            " ('wbs keys install org.pub.json --tenant beta')") in beta_text
    assert "MiB free" not in alpha_text + beta_text  # the disk is the shared one, checked once
    assert done.stdout.rstrip().endswith("fix the problems before serving real reports")
    assert "1 problem(s)" in done.stdout


def test_one_tenant_with_the_shared_settings(config):
    done = wbs("check", "--tenant", "alpha", "--config", str(config), check=False)
    assert done.returncode == 0, done.stdout
    parts = sections(done.stdout)
    assert list(parts) == ["", "tenant alpha (Inspektorat Daerah Kabupaten Alpha):"]
    assert f"ok: configuration {config} is valid" in parts[""]
    beta = wbs("check", "--tenant", "beta", "--config", str(config), check=False)
    assert beta.returncode == 1 and "'wbs keys install org.pub.json --tenant beta'" in beta.stdout
    unknown = wbs("check", "--tenant", "gamma", "--config", str(config), check=False)
    assert unknown.returncode == 1 and "problem: configuration: no tenant 'gamma'" in unknown.stdout


def test_a_tenant_data_folder_readable_by_others_and_a_stray_keyring(config):
    beta = config.parent / "data" / "tenants" / "beta"
    stray = config.parent / "data" / "org.key"
    beta.chmod(0o755)
    stray.write_text("{}")
    try:
        parts = sections(wbs("check", "--config", str(config), check=False).stdout)
    finally:
        beta.chmod(0o700)
        stray.unlink()
    shared = "\n".join(parts[""])
    beta_text = "\n".join(parts["tenant beta (Inspektorat Daerah Kota Beta):"])
    assert f"the data folder {beta} is readable by others (mode 755)" in beta_text
    assert str(stray) in shared and "keyring" in shared and "readable by others" not in shared
