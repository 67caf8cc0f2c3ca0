import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from crypto.encoding import b64, canonical_json
from crypto.errors import FormatError, KeyPolicyError, SignatureError
from crypto.keys import (
    check_key_update,
    fingerprint,
    generate_org_key,
    make_public_key_file,
    parse_public_key_file,
)

T0 = datetime(2026, 1, 5, 2, 0, 0, tzinfo=timezone.utc)


def two_generations():
    old = generate_org_key(T0).retired()
    new = generate_org_key(T0 + timedelta(days=400))
    return old, new


def test_public_key_file_round_trip(fixed_now):
    key = generate_org_key(T0)
    data = make_public_key_file("Inspektorat Daerah Kabupaten Klungkung", [key], fixed_now)
    pub = parse_public_key_file(data)
    assert pub.org_name == "Inspektorat Daerah Kabupaten Klungkung"
    assert pub.created_at == "2026-11-28T08:30:00Z"
    assert [k.key_id for k in pub.keys] == [key.key_id]
    assert pub.fingerprint == key.public.fingerprint
    assert pub.keys[0].enc_pk == bytes(key.private_key.public_key)


def test_fingerprint_is_labelled_blake2b_of_both_keys():
    key = generate_org_key(T0).public
    assert fingerprint(key.enc_pk, key.sig_pk) == key.fingerprint
    assert fingerprint(key.sig_pk, key.enc_pk) != key.fingerprint
    assert len(key.fingerprint.replace(" ", "")) == 64


def test_signed_by_newest_active_generation():
    old, new = two_generations()
    pub = parse_public_key_file(make_public_key_file("Org", [old, new]))
    assert pub.newest.key_id == new.key_id
    assert [k.key_id for k in pub.active] == [new.key_id]


def _resign(obj, signer):
    body = {k: v for k, v in obj.items() if k != "sig"}
    obj["sig"] = b64(signer.signing_key.sign(canonical_json(body)).signature)
    return json.dumps(obj).encode()


def test_tampering_breaks_the_signature():
    key = generate_org_key(T0)
    obj = json.loads(make_public_key_file("Org", [key]))
    obj["org_name"] = "Evil"
    with pytest.raises(SignatureError):
        parse_public_key_file(json.dumps(obj).encode())


def test_signature_by_a_retired_key_is_refused():
    old, new = two_generations()
    obj = json.loads(make_public_key_file("Org", [old, new]))
    with pytest.raises(SignatureError):
        parse_public_key_file(_resign(obj, old))


def test_key_id_must_match_and_status_must_be_known():
    key = generate_org_key(T0)
    obj = json.loads(make_public_key_file("Org", [key]))
    obj["keys"][0]["key_id"] = "00" * 8
    with pytest.raises(FormatError):
        parse_public_key_file(_resign(obj, key))
    obj = json.loads(make_public_key_file("Org", [key]))
    obj["keys"][0]["status"] = "revoked"
    with pytest.raises(FormatError):
        parse_public_key_file(_resign(obj, key))


def test_not_a_public_key_file():
    for data in (b"", b"[]", b'{"format":"x"}', b"\x00" * 10, b"{" * 10):
        with pytest.raises(FormatError):
            parse_public_key_file(data)


def test_update_keeps_known_keys():
    old, new = two_generations()
    first = parse_public_key_file(make_public_key_file("Org", [replace(old, status="active")]))
    rotated = parse_public_key_file(make_public_key_file("Org", [old, new]))
    check_key_update(first, rotated)
    with pytest.raises(KeyPolicyError):
        check_key_update(first, parse_public_key_file(make_public_key_file("Org", [new])))
    with pytest.raises(KeyPolicyError):
        check_key_update(rotated, parse_public_key_file(make_public_key_file("Org", [replace(old, status="active"), new])))
    # A key already retired may be dropped.
    check_key_update(rotated, parse_public_key_file(make_public_key_file("Org", [new])))


def test_repr_never_shows_secrets():
    key = generate_org_key(T0)
    assert b64(key.enc_sk) not in repr(key) and key.enc_sk.hex() not in repr(key)
