from datetime import datetime, timedelta, timezone

import pytest

from crypto.encoding import (
    b64,
    canonical_json,
    check_day,
    check_time,
    format_day,
    format_fingerprint,
    format_time,
    key_id,
    key_id_hex,
    new_item_id,
    parse_json,
    unb64,
    unhex,
)
from crypto.errors import FormatError


def test_b64_round_trip_and_strictness():
    assert b64(b"\x00\xffab") == "AP9hYg=="
    assert unb64("AP9hYg==") == b"\x00\xffab"
    for bad in ("AP9hYg", "AP9h Yg==", "AP9hYg==\n", "AP9hYh==", "!!!!", 5, None):
        with pytest.raises(FormatError):
            unb64(bad)
    with pytest.raises(FormatError):
        unb64(b64(b"abc"), size=4)


def test_unhex_is_lowercase_only():
    assert unhex("00ff") == b"\x00\xff"
    for bad in ("00FF", "0", "zz", 12):
        with pytest.raises(FormatError):
            unhex(bad)


def test_canonical_json_sorts_and_keeps_unicode():
    obj = {"b": [1, {"z": None, "a": True}], "a": "Désa Klungkung ✓"}
    assert canonical_json(obj) == '{"a":"Désa Klungkung ✓","b":[1,{"a":true,"z":null}]}'.encode()


def test_parse_json_refuses_duplicates_constants_and_size():
    with pytest.raises(FormatError):
        parse_json(b'{"a":1,"a":2}', limit=100)
    with pytest.raises(FormatError):
        parse_json(b'{"a":NaN}', limit=100)
    with pytest.raises(FormatError):
        parse_json(b'{"a":"' + b"x" * 200 + b'"}', limit=100)
    with pytest.raises(FormatError):
        parse_json(b"\xff", limit=100)
    with pytest.raises(FormatError):
        parse_json(b"[" * 100_000 + b"]" * 100_000, limit=10**6)


def test_key_id_is_blake2b_prefix():
    pk = bytes(range(32))
    assert len(key_id(pk)) == 8
    assert key_id_hex(pk) == key_id(pk).hex()
    assert key_id(pk) != key_id(bytes(32))


def test_fingerprint_groups():
    text = format_fingerprint(bytes(range(32)))
    groups = text.split(" ")
    assert len(groups) == 16 and all(len(g) == 4 and g == g.upper() for g in groups)


def test_times_are_utc_and_days_only_dates():
    wita = timezone(timedelta(hours=8))
    moment = datetime(2026, 1, 1, 7, 5, 9, tzinfo=wita)
    assert format_time(moment) == "2025-12-31T23:05:09Z"
    assert format_day(moment) == "2025-12-31"
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))
    assert check_time("2026-02-28T00:00:00Z")
    for bad in ("2026-02-30T00:00:00Z", "2026-02-28 00:00:00", "2026-02-28T00:00:00+00:00"):
        with pytest.raises(FormatError):
            check_time(bad)
    with pytest.raises(FormatError):
        check_day("2026-13-01")


def test_item_ids_are_random_hex():
    a, b = new_item_id(), new_item_id()
    assert a != b and len(a) == 32 and int(a, 16) >= 0


def test_lone_surrogates_are_refused_at_parse_time():
    with pytest.raises(FormatError):
        parse_json(b'{"org_name":"\\ud800"}', limit=100)
    assert parse_json(b'{"a":"\\ud83d\\ude00"}', limit=100) == {"a": "\U0001F600"}
