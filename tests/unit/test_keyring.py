import json
import os

import pytest

from crypto.errors import DecryptionError, FormatError
from crypto.kdf import KEYRING_DEFAULT, KdfParams
from crypto.keyring import new_keyring, read_keyring, read_keyring_header, write_keyring
from crypto.keys import parse_public_key_file


def test_round_trip(cheap_kdf, fixed_now):
    ring = new_keyring("Inspektorat Klungkung", fixed_now)
    data = write_keyring(ring, "kata sandi rahasia", kdf=cheap_kdf)
    assert read_keyring(data, "kata sandi rahasia") == ring
    obj = json.loads(data)
    assert obj["format"] == "wbs-keyring/1"
    assert obj["kdf"] == {"alg": "argon2id", "salt": obj["kdf"]["salt"], "t": 1, "m_kib": 8, "p": 1}


def test_passphrase_is_nfkc_normalised(cheap_kdf):
    ring = new_keyring("Org")
    data = write_keyring(ring, "ｐａｓｓ　ｗｏｒｄ", kdf=cheap_kdf)  # full-width forms
    assert read_keyring(data, "pass word") == ring


def test_wrong_passphrase_and_damage_are_one_error(cheap_kdf):
    ring = new_keyring("Org")
    data = write_keyring(ring, "right", kdf=cheap_kdf)
    with pytest.raises(DecryptionError):
        read_keyring(data, "wrong")
    with pytest.raises(DecryptionError):
        read_keyring(data, "")
    obj = json.loads(data)
    box = bytearray(__import__("base64").b64decode(obj["box"]))
    box[5] ^= 1
    obj["box"] = __import__("base64").b64encode(bytes(box)).decode()
    with pytest.raises(DecryptionError):
        read_keyring(json.dumps(obj).encode(), "right")


def test_default_cost_is_what_the_protocol_asks():
    assert KEYRING_DEFAULT == KdfParams(t=4, m_kib=262144, p=1)


@pytest.mark.parametrize("kdf", [
    {"alg": "argon2id", "t": 0, "m_kib": 8, "p": 1},
    {"alg": "argon2id", "t": 1, "m_kib": 2**40, "p": 1},
    {"alg": "argon2id", "t": 1, "m_kib": 8, "p": 0},
    {"alg": "argon2i", "t": 1, "m_kib": 8, "p": 1},
    {"alg": "argon2id", "t": "1", "m_kib": 8, "p": 1},
    {"alg": "argon2id", "t": True, "m_kib": 8, "p": 1},
])
def test_hostile_kdf_parameters_are_refused_before_deriving(cheap_kdf, kdf):
    data = json.loads(write_keyring(new_keyring("Org"), "x", kdf=cheap_kdf))
    data["kdf"] = dict(kdf, salt=data["kdf"]["salt"])
    with pytest.raises(FormatError):
        read_keyring_header(json.dumps(data).encode())


def test_rotation_keeps_old_keys_retired(cheap_kdf, fixed_now):
    ring = new_keyring("Org")
    rotated = ring.rotated(fixed_now)
    assert [k.status for k in rotated.keys] == ["retired", "active"]
    assert rotated.keys[0].enc_sk == ring.keys[0].enc_sk
    assert rotated.newest.created_at == "2026-11-28T08:30:00Z"
    pub = parse_public_key_file(rotated.public_key_file())
    assert pub.newest.key_id == rotated.newest.key_id
    assert read_keyring(write_keyring(rotated, "p", kdf=cheap_kdf), "p") == rotated


def test_salt_and_nonce_are_fresh(cheap_kdf):
    ring = new_keyring("Org")
    a = json.loads(write_keyring(ring, "p", kdf=cheap_kdf))
    b = json.loads(write_keyring(ring, "p", kdf=cheap_kdf))
    assert a["kdf"]["salt"] != b["kdf"]["salt"] and a["nonce"] != b["nonce"]


def test_secret_bytes_never_appear_in_the_file(cheap_kdf):
    ring = new_keyring("Org")
    data = write_keyring(ring, "p", kdf=cheap_kdf)
    import base64

    for key in ring.keys:
        assert base64.b64encode(key.enc_sk) not in data and base64.b64encode(key.sig_seed) not in data
