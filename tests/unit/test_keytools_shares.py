"""Recovery shares: SLIP-0039's published vectors, the shared secret's layout, and the share files."""

import itertools
import zlib
from pathlib import Path

import pytest
import shamir_mnemonic

from crypto.kdf import TEST_CHEAPEST
from crypto.keyring import new_keyring, read_keyring, write_keyring
from keytools.errors import ShareError, UsageError
from keytools.shares import (
    CODEC_KEYRING,
    CODEC_ZLIB,
    combine_shares,
    keyring_from_payload,
    keyring_payload,
    parse_share_text,
    split_keyring,
)

# From SLIP-0039's test vectors (trezor/python-shamir-mnemonic, vectors.json); every
# vector there is made with the passphrase "TREZOR". Valid ones give the master
# secret; an empty secret marks a set that must be refused.
SLIP39_VECTORS = [
    ("1. valid mnemonic without sharing (128 bits)",
     ["duckling enlarge academic academic agency result length solution fridge kidney coal piece deal husband "
      "erode duke ajar critical decision keyboard"], "bb54aac4b89dc868ba37d9cc21b2cece"),
    ("2. mnemonic with invalid checksum (128 bits)",
     ["duckling enlarge academic academic agency result length solution fridge kidney coal piece deal husband "
      "erode duke ajar critical decision kidney"], ""),
    ("4. basic sharing 2-of-3 (128 bits)",
     ["shadow pistol academic always adequate wildlife fancy gross oasis cylinder mustang wrist rescue view "
      "short owner flip making coding armed",
      "shadow pistol academic acid actress prayer class unknown daughter sweater depict flip twice unkind "
      "craft early superior advocate guest smoking"], "b43ceb7e57a0ea8766221624d01b0864"),
    ("5. basic sharing 2-of-3, one share only (128 bits)",
     ["shadow pistol academic always adequate wildlife fancy gross oasis cylinder mustang wrist rescue view "
      "short owner flip making coding armed"], ""),
    ("6. mnemonics with different identifiers (128 bits)",
     ["adequate smoking academic acid debut wine petition glen cluster slow rhyme slow simple epidemic rumor "
      "junk tracks treat olympic tolerate",
      "adequate stay academic agency agency formal party ting frequent learn upstairs remember smear leaf "
      "damage anatomy ladle market hush corner"], ""),
    ("22. basic sharing 2-of-3 (256 bits)",
     ["humidity disease academic always aluminum jewelry energy woman receiver strategy amuse duckling lying "
      "evidence network walnut tactics forget hairy rebound impulse brother survive clothes stadium mailman "
      "rival ocean reward venture always armed unwrap",
      "humidity disease academic agency actress jacket gross physics cylinder solution fake mortgage benefit "
      "public busy prepare sharp friar change work slow purchase ruler again tricycle involve viral wireless "
      "mixture anatomy desert cargo upgrade"], "c938b319067687e990e05e0da0ecce1278f75ff58d9853f19dcaeed5de104aae"),
]


@pytest.mark.parametrize("name, mnemonics, secret", SLIP39_VECTORS, ids=[v[0] for v in SLIP39_VECTORS])
def test_slip39_vectors(name, mnemonics, secret):
    if secret:
        assert shamir_mnemonic.combine_mnemonics(mnemonics, b"TREZOR").hex() == secret
    else:
        with pytest.raises(shamir_mnemonic.MnemonicError):
            shamir_mnemonic.combine_mnemonics(mnemonics, b"TREZOR")


@pytest.fixture(scope="module")
def keyring_file():
    ring = new_keyring("Inspektorat Daerah Kabupaten Klungkung").rotated()
    return write_keyring(ring, "frasa sandi keyholder yang panjang", kdf=TEST_CHEAPEST)


def test_payload_is_compact_for_our_keyrings_and_zlib_otherwise(keyring_file):
    payload = keyring_payload(keyring_file)
    assert payload[1] == CODEC_KEYRING and len(payload) % 2 == 0
    assert len(payload) < len(keyring_file) * 0.7
    assert keyring_from_payload(payload) == keyring_file
    reindented = keyring_file.replace(b'\n  "', b'\n    "')  # another writer's layout: still byte for byte
    other = keyring_payload(reindented)
    assert other[1] == CODEC_ZLIB and keyring_from_payload(other) == reindented


def test_payload_checks_its_digest(keyring_file):
    payload = bytearray(keyring_payload(keyring_file))
    payload[40] ^= 1
    with pytest.raises(ShareError, match="checksum"):
        keyring_from_payload(bytes(payload))
    with pytest.raises(ShareError, match="not a keyring"):
        keyring_from_payload(b"\x01\x00" + b"\xff" * 30)
    with pytest.raises(ShareError):
        keyring_from_payload(bytes([1, CODEC_ZLIB, 0, 0, 0, 4]) + zlib.compress(b"x")[:4] + b"\x00" * 16)


def _files(shares, tmp_path):
    return [parse_share_text(text, tmp_path / name) for name, text in shares]


def test_every_three_of_five_restore_and_two_do_not(keyring_file, tmp_path):
    files = _files(split_keyring(keyring_file, shares=5, threshold=3), tmp_path)
    assert [f.number for f in files] == [1, 2, 3, 4, 5]
    for combo in itertools.combinations(files, 3):
        assert combine_shares(list(combo)) == keyring_file
    assert read_keyring(combine_shares(files), "frasa sandi keyholder yang panjang").keys
    for pair in itertools.combinations(files, 2):
        with pytest.raises(ShareError, match="not enough shares: set .* needs 3, 2 given"):
            combine_shares(list(pair))


def test_mixed_sets_and_repeated_shares_are_refused(keyring_file, tmp_path):
    one = _files(split_keyring(keyring_file, shares=3, threshold=2), tmp_path)
    two = _files(split_keyring(keyring_file, shares=3, threshold=2), tmp_path)
    with pytest.raises(ShareError, match="another set"):
        combine_shares([one[0], two[1]])
    with pytest.raises(ShareError, match="given twice"):
        combine_shares([one[0], one[0]])


def test_share_text_locates_typing_errors(keyring_file, tmp_path):
    [(name, text), *_] = split_keyring(keyring_file, shares=2, threshold=2)
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith("7 "))
    words = lines[index].split("|")[0].split()
    # Four letters of each word are enough.
    short = lines[:index] + [f"  7  {' '.join(w[:4] for w in words[1:])}  |{lines[index].split('|')[1]}"] + lines[index + 1:]
    assert parse_share_text("\n".join(short), Path(name)).mnemonic == parse_share_text(text, Path(name)).mnemonic
    # A real word in the wrong place: the line's check says where.
    swapped = words[1:]
    swapped[0], swapped[1] = swapped[1], swapped[0]
    typo = lines[:index] + [f"  7  {' '.join(swapped)}  |{lines[index].split('|')[1]}"] + lines[index + 1:]
    with pytest.raises(ShareError, match="line 7: the words do not match"):
        parse_share_text("\n".join(typo), Path(name))
    # Not a word at all.
    with pytest.raises(ShareError, match="is not a share word"):
        parse_share_text(text.replace(f"  {words[1]} ", "  zzzzzz ", 1), Path(name))
    # A line left out.
    with pytest.raises(ShareError, match="missing, repeated or out of order"):
        parse_share_text("\n".join(lines[:index] + lines[index + 1:]), Path(name))
    # A header that does not match the words.
    with pytest.raises(ShareError, match="header's share number"):
        parse_share_text(text.replace("share: 1 of 2", "share: 2 of 2"), Path(name))


def test_split_bounds(keyring_file):
    with pytest.raises(UsageError):
        split_keyring(keyring_file, shares=5, threshold=1)
    with pytest.raises(UsageError):
        split_keyring(keyring_file, shares=17, threshold=3)
    with pytest.raises(UsageError):
        split_keyring(keyring_file, shares=3, threshold=4)
    with pytest.raises(UsageError, match="not a keyring"):
        split_keyring(b'{"format": "wbs-org-public/1"}', shares=3, threshold=2)
