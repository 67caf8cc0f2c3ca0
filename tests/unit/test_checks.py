"""``wbs check``'s findings (server/operations/checks.py) on good and bad setups in temporary folders.

The machine-dependent inputs (the running user, free disk, swap) are passed
in, so every case here is the same on any machine.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from crypto.keyring import new_keyring, write_keyring
from server.config import Config
from server.operations import cli
from server.operations.checks import OK, PROBLEM, WARNING, has_problems, looks_like_keyring, run_checks
from server.storage.datafolder import DataFolder
from skips import require_root

ONION = "a" * 56 + ".onion"
GiB = 1024 ** 3
ORG = "Inspektorat Daerah Kabupaten Klungkung"


@pytest.fixture(scope="module")
def keyring():
    return new_keyring(ORG)


def make_folder(root: Path, keyring=None) -> DataFolder:
    folder = DataFolder(root)
    folder.initialize()
    folder.database.touch(mode=0o600)
    if keyring is not None:
        folder.install_public_keys(keyring.public_key_file())
    return folder


@pytest.fixture
def good(tmp_path, keyring):
    """A production-like setup: absolute data folder, key installed, onion address, loopback."""
    folder = make_folder(tmp_path / "data", keyring)
    config = Config(data_dir=folder.root, onion_address=ONION)
    return config, folder


def check(config: Config, *, swaps: Path | None = None, free: int = 100 * GiB, euid: int | None = None,
          config_path: Path | None = Path("/etc/wbs/wbs.toml"), sys_root: Path = Path("/nonexistent")):
    return run_checks(config, config_path=config_path, euid=os.geteuid() if euid is None else euid,
                      disk_free=lambda _: free, swaps=swaps, sys_root=sys_root)


def levels(findings, level):
    return [f.message for f in findings if f.level == level]


def one(findings, level, *words):
    """The single finding of ``level`` whose message holds every word."""
    hits = [m for m in levels(findings, level) if all(w in m for w in words)]
    assert len(hits) == 1, (level, words, findings)
    return hits[0]


# -- a good setup ---------------------------------------------------------------------------------------------------


def test_good_setup_has_no_problem_and_no_warning(good):
    config, folder = good
    findings = check(config)
    assert not levels(findings, PROBLEM) and not levels(findings, WARNING), findings
    assert not has_problems(findings)
    fingerprint = folder.load_public_keys().fingerprint
    assert fingerprint in one(findings, OK, "fingerprint", ORG)
    one(findings, OK, "mode 700")
    one(findings, OK, "instance.secret", "mode 600")
    one(findings, OK, "no keyring")
    one(findings, OK, "MiB free")
    one(findings, OK, ONION)
    assert [f.level for f in findings] == sorted((f.level for f in findings), key=[PROBLEM, WARNING, OK].index)


def test_findings_print_as_level_and_message(good):
    config, _ = good
    finding = check(config)[0]
    assert str(finding) == f"{finding.level}: {finding.message}"


# -- the data folder --------------------------------------------------------------------------------------------------


def test_missing_data_folder(tmp_path):
    findings = check(Config(data_dir=tmp_path / "nowhere", onion_address=ONION))
    one(findings, PROBLEM, "does not exist", "wbs init")


def test_a_folder_that_is_not_a_data_folder(tmp_path):
    (tmp_path / "empty").mkdir(mode=0o700)
    findings = check(Config(data_dir=tmp_path / "empty", onion_address=ONION))
    one(findings, PROBLEM, "no instance.secret")


def test_data_folder_open_to_others(good):
    config, folder = good
    folder.root.chmod(0o750)
    one(check(config), PROBLEM, "readable by others", "750", "chmod 700")


def test_data_folder_of_another_user(good):
    config, folder = good
    other = os.geteuid() + 4242
    findings = check(config, euid=other)
    one(findings, PROBLEM, f"the data folder {folder.root} belongs", "not to the user running this")
    one(findings, PROBLEM, f"the instance secret {folder.secret_file} belongs", "not to the user running this")


def test_root_checking_the_service_users_folder_is_told_to_switch_user(good):
    require_root("to give the folder to another user")
    config, folder = good
    for path in (folder.root, folder.secret_file):
        os.chown(path, 1, 1)
    findings = check(config, euid=0)
    message = one(findings, WARNING, "the data folder", "runs as root")
    assert "runuser -u daemon" in message or "runuser -u 1 " in message
    assert not levels(findings, PROBLEM)


def test_instance_secret_readable_by_others(good):
    config, folder = good
    folder.secret_file.chmod(0o644)
    one(check(config), PROBLEM, "instance.secret", "readable by others", "chmod 600")


def test_damaged_instance_secret(good):
    config, folder = good
    folder.secret_file.write_bytes(b"short")
    one(check(config), PROBLEM, "damaged")


def test_missing_database_is_a_warning(good):
    config, folder = good
    folder.database.unlink()
    one(check(config), WARNING, "wbs.sqlite3", "does not exist yet")


# -- the public key -------------------------------------------------------------------------------------------------


def test_no_public_key(tmp_path):
    folder = make_folder(tmp_path / "data")
    one(check(Config(data_dir=folder.root, onion_address=ONION)), PROBLEM, "no organisation key installed")


def test_altered_public_key(good):
    config, folder = good
    data = json.loads(folder.public_keys.read_text())
    data["org_name"] = "Someone Else"
    folder.public_keys.write_text(json.dumps(data))
    one(check(config), PROBLEM, "org.pub.json is not valid", "signature")


def test_retired_generations_are_counted(tmp_path, keyring):
    folder = make_folder(tmp_path / "data", keyring)
    folder.install_public_keys(keyring.rotated().public_key_file())
    one(check(Config(data_dir=folder.root, onion_address=ONION)), OK, "1 retired generation")


# -- keyrings and demo stores ---------------------------------------------------------------------------------------


def test_org_key_anywhere_in_the_data_folder(good):
    config, folder = good
    (folder.blobs / "ab").mkdir()
    (folder.blobs / "ab" / "org.key").write_text("{}")
    message = one(check(config), PROBLEM, "keyring", "offline")
    assert str(folder.blobs / "ab" / "org.key") in message


def test_a_keyring_under_another_name_is_found_by_its_format(good, keyring, cheap_kdf):
    config, folder = good
    hidden = folder.root / "notes.json"
    hidden.write_bytes(write_keyring(keyring, "rahasia sekali", kdf=cheap_kdf))
    assert looks_like_keyring(hidden)
    assert str(hidden) in one(check(config), PROBLEM, "keyring")


def test_other_json_files_are_not_keyrings(good):
    config, folder = good
    (folder.root / "other.json").write_text(json.dumps({"format": "wbs-backup/1"}))
    (folder.root / "broken.json").write_text("{not json")
    (folder.root / "big.json").write_bytes(b"{" + b" " * (300 * 1024) + b"}")
    assert not levels(check(config), PROBLEM)


def fake_demo(root: Path, keyring, kdf) -> None:
    """What ``wbs serve --demo`` leaves: a keyring with its passphrase beside it."""
    keyholder = root / "keyholder"
    keyholder.mkdir(mode=0o700)
    (keyholder / "PASSPHRASE.txt").write_text("demo passphrase\n")
    (keyholder / "org.key").write_bytes(write_keyring(keyring, "demo passphrase", kdf=kdf))


def test_a_demo_store_is_a_problem(tmp_path, keyring, cheap_kdf):
    folder = make_folder(tmp_path / "demo", keyring)
    fake_demo(folder.root, keyring, cheap_kdf)
    findings = check(Config(data_dir=folder.root, onion_address=ONION))
    message = one(findings, PROBLEM, "DEMO")
    assert "Never use it for real reports" in message
    # One clear finding, not a second one about the same keyring.
    assert len(levels(findings, PROBLEM)) == 1


def test_the_real_demo_mode_output_is_recognised(tmp_path):
    from server.operations.demo import prepare_demo
    from server.storage.datafolder import demo_folder

    folder = DataFolder(demo_folder(tmp_path / "var"))
    prepare_demo(folder, ORG)
    one(check(Config(data_dir=folder.root, onion_address=ONION)), PROBLEM, "DEMO")


def test_a_demo_folder_beside_production_is_a_warning(good, keyring, cheap_kdf):
    config, folder = good
    demo = make_folder(folder.root / "demo", keyring)
    fake_demo(demo.root, keyring, cheap_kdf)
    findings = check(config)
    assert not levels(findings, PROBLEM)
    assert "rm -r" in one(findings, WARNING, "demo")


def test_a_real_keyring_beside_a_demo_folder_is_still_a_problem(good, keyring, cheap_kdf):
    config, folder = good
    demo = make_folder(folder.root / "demo", keyring)
    fake_demo(demo.root, keyring, cheap_kdf)
    (folder.root / "org.key").write_text("{}")
    one(check(config), PROBLEM, "keyring")


# -- disk -----------------------------------------------------------------------------------------------------------


def test_free_disk_below_the_minimum(good):
    config, _ = good
    one(check(config, free=config.min_free_bytes - 1), PROBLEM, "new reports are refused")


def test_free_disk_close_to_the_minimum(good):
    config, _ = good
    one(check(config, free=config.min_free_bytes + 1), WARNING, "close to the limit")


# -- settings -------------------------------------------------------------------------------------------------------


def test_staff_on_the_reporter_address(good):
    config, _ = good
    one(check(replace(config, staff_addr=config.reporter_addr)), PROBLEM, "same address")
    one(check(replace(config, reporter_addr="localhost:8080", staff_addr="127.0.0.1:8080")), PROBLEM, "same address")


def test_a_wildcard_overlaps_every_address_on_its_port(good):
    config, _ = good
    both = replace(config, allow_non_loopback=True, reporter_addr="0.0.0.0:8080", staff_addr="127.0.0.1:8080")
    one(check(both), PROBLEM, "same address")
    apart = replace(both, staff_addr="127.0.0.1:8081")
    assert not any("same address" in m for m in levels(check(apart), PROBLEM))


def test_non_loopback_without_permission_is_a_problem(good):
    config, _ = good
    one(check(replace(config, reporter_addr="192.0.2.10:8080")), PROBLEM, "reporter listener", "will refuse")


def test_non_loopback_with_permission_is_warned_about(good):
    config, _ = good
    findings = check(replace(config, allow_non_loopback=True, staff_addr="192.0.2.10:8081"))
    assert not levels(findings, PROBLEM)
    assert "client-authorised onion" in one(findings, WARNING, "staff listener", "reachable from other machines")
    one(findings, WARNING, "secure_cookies = false")


def test_non_loopback_with_secure_cookies_has_no_cookie_warning(good):
    config, _ = good
    findings = check(replace(config, allow_non_loopback=True, secure_cookies=True, reporter_addr="192.0.2.10:80"))
    assert not [m for m in levels(findings, WARNING) if "secure_cookies" in m]


def test_unused_permission_for_non_loopback(good):
    config, _ = good
    one(check(replace(config, allow_non_loopback=True, secure_cookies=True)), WARNING, "both listeners are on loopback")


@pytest.mark.parametrize("change, words", [
    ({"onion_address": ""}, ("onion_address is not set",)),
    ({"retention_days": 0}, ("kept forever",)),
    ({"min_free_bytes": 0}, ("min_free_bytes = 0",)),
    ({"kdf_m_kib": 8}, ("weaker than the default",)),
    ({"kdf_t": 1}, ("weaker than the default",)),
    ({"session_max_seconds": 86400}, ("session_max_seconds",)),
    ({"data_dir": Path("var")}, ("relative",)),
])
def test_settings_worth_a_warning(good, change, words):
    config, _ = good
    findings = check(replace(config, **change))
    one(findings, WARNING, *words)


def test_no_config_file_is_a_warning(good):
    config, _ = good
    one(check(config, config_path=None), WARNING, "no configuration file")


# -- swap -----------------------------------------------------------------------------------------------------------

SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def swaps_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "swaps"
    path.write_text(SWAPS_HEADER + "".join(line + "\n" for line in lines))
    return path


def fake_dm(sys_root: Path, name: str, uuid: str, slaves: tuple[str, ...] = ()) -> None:
    block = sys_root / "block" / name
    (block / "dm").mkdir(parents=True)
    (block / "dm" / "uuid").write_text(uuid + "\n")
    (block / "slaves").mkdir()
    for slave in slaves:
        (block / "slaves" / slave).mkdir()


def test_no_swap(good, tmp_path):
    config, _ = good
    one(check(config, swaps=swaps_file(tmp_path)), OK, "no swap")


def test_plain_swap_partition_is_warned_about(good, tmp_path):
    config, _ = good
    swaps = swaps_file(tmp_path, "/dev/sda5                               partition\t999420\t\t0\t\t-2")
    one(check(config, swaps=swaps), WARNING, "/dev/sda5", "may not be encrypted")


def test_swap_on_dm_crypt_or_zram_is_fine(good, tmp_path):
    config, _ = good
    sys_root = tmp_path / "sys"
    fake_dm(sys_root, "dm-1", "CRYPT-PLAIN-cryptswap")
    fake_dm(sys_root, "dm-0", "CRYPT-LUKS2-0123-sda5_crypt")
    fake_dm(sys_root, "dm-2", "LVM-abcdef", slaves=("dm-0",))  # Debian's "encrypted LVM": swap LV inside LUKS
    swaps = swaps_file(tmp_path, "/dev/dm-1 partition 1000 0 -2", "/dev/dm-2 partition 1000 0 -3",
                       "/dev/zram0 partition 1000 0 100")
    findings = check(config, swaps=swaps, sys_root=sys_root)
    assert not levels(findings, WARNING)
    one(findings, OK, "swap is encrypted")


def test_swap_on_plain_lvm_is_warned_about(good, tmp_path):
    config, _ = good
    sys_root = tmp_path / "sys"
    fake_dm(sys_root, "dm-3", "LVM-abcdef")
    (sys_root / "block" / "dm-3" / "slaves" / "sda3").mkdir()
    one(check(config, swaps=swaps_file(tmp_path, "/dev/dm-3 partition 1000 0 -2"), sys_root=sys_root),
        WARNING, "/dev/dm-3")


# -- the command ----------------------------------------------------------------------------------------------------


def write_toml(path: Path, **settings: object) -> Path:
    lines = []
    for key, value in settings.items():
        text = str(value).lower() if isinstance(value, bool) else json.dumps(str(value) if isinstance(value, Path)
                                                                              else value)
        lines.append(f"{key} = {text}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_wbs_check_prints_findings_and_exits_0_without_problems(good, tmp_path, capsys):
    config, folder = good
    toml = write_toml(tmp_path / "wbs.toml", data_dir=folder.root, onion_address=ONION, min_free_bytes=0)
    assert cli.main(["check", "--config", str(toml)]) == 0
    out = capsys.readouterr().out
    assert folder.load_public_keys().fingerprint in out
    assert "problem:" not in out and "warning: min_free_bytes = 0" in out
    assert out.strip().splitlines()[-1].startswith("no problems")


def test_wbs_check_exits_1_on_a_problem(good, tmp_path, capsys):
    config, folder = good
    folder.root.chmod(0o755)
    toml = write_toml(tmp_path / "wbs.toml", data_dir=folder.root, min_free_bytes=0)
    assert cli.main(["check", "--config", str(toml)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("problem: ") and "readable by others" in out
    assert "1 problem(s)" in out.strip().splitlines()[-1]


def test_wbs_check_reports_a_bad_config_as_a_problem(tmp_path, capsys):
    toml = write_toml(tmp_path / "wbs.toml", no_such_setting=1)
    assert cli.main(["check", "--config", str(toml)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("problem: configuration:") and "no_such_setting" in out


def test_a_keyring_elsewhere_in_a_demo_folder_is_still_a_problem(good, keyring, cheap_kdf):
    config, folder = good
    demo = make_folder(folder.root / "demo", keyring)
    fake_demo(demo.root, keyring, cheap_kdf)
    (demo.root / "blobs" / "org.key").write_text("{}")
    assert str(demo.root / "blobs" / "org.key") in one(check(config), PROBLEM, "keyring")


def test_a_recovery_share_in_the_data_folder(good):
    config, folder = good
    share = folder.root / "bagian-1.txt"
    share.write_text("WBS - BAGIAN PEMULIHAN KEYRING / KEYRING RECOVERY SHARE\nformat: wbs-keyring-share/1\n"
                     "set: 1234\nshare: 1 of 5\nthreshold: 3\n")
    assert str(share) in one(check(config), PROBLEM, "recovery share")
