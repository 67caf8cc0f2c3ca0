"""``wbs-keytools`` run as a keyholder would: a real process, real files."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from crypto.keyring import read_keyring
from crypto.keys import parse_public_key_file

PASSPHRASE = "pura besakih di lereng agung"


def keytools(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "keytools.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
    )


@pytest.fixture(scope="module")
def keyring_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keyholder")
    (folder / "pass.txt").write_text(PASSPHRASE + "\n")
    done = keytools("init", "--keyring", folder / "org.key", "--org-name", "Inspektorat Daerah Kabupaten Klungkung",
                    "--passphrase-file", folder / "pass.txt")
    assert done.returncode == 0, done.stderr
    return folder, done.stdout


def test_init_writes_keyring_and_public_file(keyring_dir):
    folder, out = keyring_dir
    key_file = folder / "org.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ring = read_keyring(key_file.read_bytes(), PASSPHRASE)
    pub = parse_public_key_file((folder / "org.pub.json").read_bytes())
    assert pub.org_name == ring.org_name == "Inspektorat Daerah Kabupaten Klungkung"
    assert f"Fingerprint: {pub.fingerprint}" in out
    assert json.loads(key_file.read_bytes())["kdf"]["m_kib"] >= 262144
    assert not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_init_refuses_to_overwrite(keyring_dir):
    folder, _ = keyring_dir
    done = keytools("init", "--keyring", folder / "org.key", "--org-name", "X", "--passphrase-file", folder / "pass.txt")
    assert done.returncode == 1
    assert done.stderr.startswith("wbs-keytools: error: ") and "hint:" in done.stderr


def test_fingerprint_of_both_files_agree(keyring_dir):
    folder, _ = keyring_dir
    pub = keytools("fingerprint", folder / "org.pub.json")
    ring = keytools("fingerprint", folder / "org.key", "--passphrase-file", folder / "pass.txt")
    assert pub.returncode == ring.returncode == 0
    assert pub.stdout == ring.stdout and "active" in pub.stdout


def test_pubkey_rewrites_the_public_file(keyring_dir, tmp_path):
    folder, _ = keyring_dir
    done = keytools("pubkey", "--keyring", folder / "org.key", "--out", tmp_path / "org.pub.json",
                    "--passphrase-file", folder / "pass.txt")
    assert done.returncode == 0, done.stderr
    assert parse_public_key_file((tmp_path / "org.pub.json").read_bytes()).keys == \
        parse_public_key_file((folder / "org.pub.json").read_bytes()).keys


def test_wrong_passphrase_is_one_clear_line(keyring_dir, tmp_path):
    folder, _ = keyring_dir
    (tmp_path / "wrong.txt").write_text("bukan ini")
    done = keytools("pubkey", "--keyring", folder / "org.key", "--out", tmp_path / "o.json", "--passphrase-file", tmp_path / "wrong.txt")
    assert done.returncode == 1
    assert done.stderr == "wbs-keytools: error: wrong passphrase, or the keyring file is damaged\n"
    assert not (tmp_path / "o.json").exists()


def test_short_new_passphrase_and_missing_files(tmp_path):
    (tmp_path / "short.txt").write_text("pendek")
    done = keytools("init", "--keyring", tmp_path / "org.key", "--org-name", "X", "--passphrase-file", tmp_path / "short.txt")
    assert done.returncode == 1 and "shorter than" in done.stderr and not (tmp_path / "org.key").exists()
    done = keytools("fingerprint", tmp_path / "nothing.json")
    assert done.returncode == 1 and "does not exist" in done.stderr
    (tmp_path / "junk.json").write_text("{}")
    done = keytools("fingerprint", tmp_path / "junk.json")
    assert done.returncode == 1 and done.stderr.startswith("wbs-keytools: error: ")


def test_rotate_with_a_wrong_passphrase_changes_nothing(tmp_path):
    from test_keytools_support import write_cheap_keyring

    key, _, ring = write_cheap_keyring(tmp_path)
    (tmp_path / "org.pub.json").write_bytes(ring.public_key_file())
    before = key.read_bytes(), (tmp_path / "org.pub.json").read_bytes()
    (tmp_path / "wrong.txt").write_text("bukan ini")
    done = keytools("rotate", "--keyring", key, "--passphrase-file", tmp_path / "wrong.txt")
    assert done.returncode == 1
    assert done.stderr == "wbs-keytools: error: wrong passphrase, or the keyring file is damaged\n"
    assert (key.read_bytes(), (tmp_path / "org.pub.json").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["org.key", "org.pub.json", "pass.txt", "wrong.txt"]


def test_help_names_every_command():
    done = keytools("--help")
    assert done.returncode == 0
    for command in ("init", "pubkey", "fingerprint", "open", "reply", "rotate", "passwd", "split", "combine", "stats"):
        assert command in done.stdout
    done = keytools("open")
    assert done.returncode == 1 and "wbs-keytools: error: the following arguments are required" in done.stderr


def test_passwd_changes_the_passphrase_and_nothing_else(tmp_path):
    from test_keytools_support import write_cheap_keyring

    from crypto.errors import DecryptionError
    from crypto.keyring import read_keyring

    key, old_file, ring = write_cheap_keyring(tmp_path)
    old = old_file.read_text()
    (tmp_path / "new.txt").write_text("kata sandi baru yang cukup panjang\n")
    (tmp_path / "short.txt").write_text("pendek")
    (tmp_path / "wrong.txt").write_text("bukan ini")
    before = key.read_bytes()
    # A wrong old passphrase, or a new one too short: the file stays as it was.
    done = keytools("passwd", "--keyring", key, "--passphrase-file", tmp_path / "wrong.txt",
                    "--new-passphrase-file", tmp_path / "new.txt")
    assert done.returncode == 1 and "wrong passphrase" in done.stderr
    done = keytools("passwd", "--keyring", key, "--passphrase-file", old_file,
                    "--new-passphrase-file", tmp_path / "short.txt")
    assert done.returncode == 1 and "shorter than" in done.stderr
    assert key.read_bytes() == before
    done = keytools("passwd", "--keyring", key, "--passphrase-file", old_file,
                    "--new-passphrase-file", tmp_path / "new.txt")
    assert done.returncode == 0, done.stderr
    assert "new shares" in done.stdout
    data = key.read_bytes()
    assert read_keyring(data, "kata sandi baru yang cukup panjang") == ring
    with pytest.raises(DecryptionError):
        read_keyring(data, old)
    assert (key.stat().st_mode & 0o777) == 0o600
    done = keytools("fingerprint", key, "--passphrase-file", tmp_path / "new.txt")
    assert done.returncode == 0 and ring.newest.public.fingerprint in done.stdout
