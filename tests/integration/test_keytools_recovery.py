"""``split`` and ``combine`` as keyholders run them: 3-of-5 shares, every 3 restore the keyring
byte for byte, 2 never do, and a damaged share is named."""

from __future__ import annotations

import itertools
import stat

import pytest

from test_keytools_support import keytools, write_cheap_keyring


@pytest.fixture(scope="module")
def shares(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recovery")
    key, pw, _ = write_cheap_keyring(folder / "keyholder")
    done = keytools("split", "--keyring", key, "--shares", 5, "--threshold", 3, "--out", folder / "shares")
    assert done.returncode == 0, done.stderr
    files = sorted((folder / "shares").iterdir())
    return folder, key, pw, files, done.stdout


def test_split_writes_five_private_share_files(shares):
    folder, _, _, files, out = shares
    assert [f.name for f in files] == [f"share-{i}-of-5.txt" for i in range(1, 6)]
    for i, path in enumerate(files, start=1):
        text = path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert f"share: {i} of 5" in text and "threshold: 3" in text and "format: wbs-keyring-share/1" in text
        assert text.isascii()
    assert "any 3 of them restore" in out


def test_any_three_restore_the_keyring_byte_for_byte(shares):
    folder, key, pw, files, _ = shares
    original = key.read_bytes()
    combos = list(itertools.combinations(files, 3))
    assert len(combos) == 10
    for n, combo in enumerate(combos):
        out = folder / f"restored-{n}.key"
        done = keytools("combine", *reversed(combo), "--out", out)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == original
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
    done = keytools("fingerprint", folder / "restored-0.key", "--passphrase-file", pw)
    assert done.returncode == 0 and "active" in done.stdout


def test_two_shares_never_restore(shares):
    folder, _, _, files, _ = shares
    for pair in itertools.combinations(files, 2):
        out = folder / "dua.key"
        done = keytools("combine", *pair, "--out", out)
        assert done.returncode == 1
        assert done.stderr.startswith("wbs-keytools: error: not enough shares: set ")
        assert "needs 3, 2 given" in done.stderr and "hint: " in done.stderr
        assert not out.exists()


def test_damaged_or_mixed_shares_are_named(shares, tmp_path):
    folder, key, _, files, _ = shares
    lines = files[1].read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.strip().startswith("12 "))
    words = lines[row].split("|")[0].split()
    lines[row] = lines[row].replace(f" {words[3]} ", f" {words[4]} ", 1)  # one word typed twice
    (tmp_path / "salah.txt").write_text("\n".join(lines) + "\n")
    done = keytools("combine", files[0], tmp_path / "salah.txt", files[2], "--out", tmp_path / "x.key")
    assert done.returncode == 1 and "salah.txt, line 12: the words do not match" in done.stderr
    assert not (tmp_path / "x.key").exists()

    other = keytools("split", "--keyring", key, "--shares", 3, "--threshold", 2, "--out", tmp_path / "lain")
    assert other.returncode == 0
    done = keytools("combine", files[0], tmp_path / "lain" / "share-1-of-3.txt", files[1], "--out", tmp_path / "x.key")
    assert done.returncode == 1 and "belongs to another set" in done.stderr

    done = keytools("combine", files[0], files[0], files[1], "--out", tmp_path / "x.key")
    assert done.returncode == 1 and "given twice" in done.stderr

    (tmp_path / "bukan.txt").write_text("hanya catatan\n")
    done = keytools("combine", tmp_path / "bukan.txt", "--out", tmp_path / "x.key")
    assert done.returncode == 1 and "is not a wbs-keyring-share/1 file" in done.stderr
    assert not (tmp_path / "x.key").exists()


def test_split_and_combine_never_overwrite(shares, tmp_path):
    folder, key, _, files, _ = shares
    done = keytools("split", "--keyring", key, "--shares", 5, "--threshold", 3, "--out", folder / "shares")
    assert done.returncode == 1 and "already exists" in done.stderr
    assert sorted((folder / "shares").iterdir()) == files
    done = keytools("combine", *files[:3], "--out", key)
    assert done.returncode == 1 and "already exists" in done.stderr
    done = keytools("split", "--keyring", key, "--shares", 3, "--threshold", 1, "--out", tmp_path / "s")
    assert done.returncode == 1 and "hint: with a threshold of 1" in done.stderr
