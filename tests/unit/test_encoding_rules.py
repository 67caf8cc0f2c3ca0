"""The encodings' edges: what each checker names when it refuses, days and times that
only look right, and UTC even on a server whose local zone is Bali's (WITA, UTC+8).
"""

from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from nacl.public import PrivateKey

from crypto.encoding import (
    check_day,
    check_item_id,
    check_time,
    format_day,
    format_time,
    key_id_hex,
    parse_json,
    parse_json_object,
    unb64,
    unhex,
)
from crypto.envelope import envelope_key_ids, seal_bytes
from crypto.errors import FormatError
from crypto.kdf import MAX_M_KIB, MAX_P, MAX_T, KdfParams

WITA = timezone(timedelta(hours=8))


@pytest.fixture
def local_zone_is_bali(monkeypatch):
    """The host's own zone set to WITA, as an Inspektorat's server in Bali may have it."""
    monkeypatch.setenv("TZ", "WITA-8")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_and_days_are_utc_whatever_the_host_zone(local_zone_is_bali):
    moment = datetime(2026, 11, 29, 7, 30, tzinfo=WITA)  # 28 November 23:30 UTC
    assert format_time(moment) == "2026-11-28T23:30:00Z"
    assert format_day(moment) == "2026-11-28"
    assert format_day(date(2026, 11, 29)) == "2026-11-29"


@pytest.mark.parametrize("value", ["20261128", "2026-11-28T00:00:00Z", "2026-W48-6", None, 20261128])
def test_a_day_in_another_iso_shape_is_refused(value):
    with pytest.raises(FormatError, match="^day: "):
        check_day(value)


@pytest.mark.parametrize("value", ["20261128T083000Z", "2026-11-28T08:30:00", "2026-11-28 08:30:00Z", None, 1.5])
def test_a_time_in_another_iso_shape_is_refused(value):
    with pytest.raises(FormatError, match="^time: "):
        check_time(value)


def test_checkers_name_what_they_refused():
    with pytest.raises(FormatError, match="^day: not a real day"):
        check_day("2026-02-30")
    with pytest.raises(FormatError, match="^time: not a real time"):
        check_time("2026-11-28T24:00:00Z")
    with pytest.raises(FormatError, match="^value: expected lowercase hex"):
        unhex("AB")
    with pytest.raises(FormatError, match="^value: expected 2 bytes of hex, got 1"):
        unhex("ab", size=2)
    with pytest.raises(FormatError, match="^value: "):
        unb64("!!")
    with pytest.raises(FormatError, match="^item_id: "):
        check_item_id("ab" * 15)


@pytest.mark.parametrize("value", ["ab" * 15, "ab" * 17, "", None])
def test_an_item_id_is_exactly_sixteen_bytes_of_hex(value):
    with pytest.raises(FormatError):
        check_item_id(value)


def test_kdf_errors_name_the_parameter_and_the_salt():
    for field, params in (("t", KdfParams(0, 8, 1)), ("p", KdfParams(1, 8, 0)), ("m_kib", KdfParams(1, 7, 1))):
        with pytest.raises(FormatError, match=f"^argon2id parameter {field} out of range"):
            params.check()
    with pytest.raises(FormatError, match="^kdf salt: "):
        KdfParams.from_json({"alg": "argon2id", "salt": "AAAA", "t": 1, "m_kib": 8, "p": 1})


def test_key_ids_are_read_from_a_stream_as_from_bytes():
    keys = [PrivateKey.generate().public_key for _ in range(2)]
    sealed = seal_bytes(b"isi", keys)
    expected = [key_id_hex(bytes(k)) for k in keys]
    assert envelope_key_ids(sealed) == expected
    assert envelope_key_ids(bytearray(sealed)) == expected
    stream = io.BytesIO(sealed)
    assert envelope_key_ids(stream) == expected


def test_kdf_costs_at_their_upper_bounds_are_accepted():
    assert KdfParams(t=MAX_T, m_kib=8 * MAX_P, p=MAX_P).check()
    assert KdfParams(t=1, m_kib=MAX_M_KIB, p=1).check()
    for params in (KdfParams(MAX_T + 1, 8, 1), KdfParams(1, MAX_M_KIB + 1, 1), KdfParams(1, 8 * 17, MAX_P + 1)):
        with pytest.raises(FormatError):
            params.check()


def test_json_of_exactly_the_limit_is_read_and_a_refusal_says_json():
    assert parse_json(b'"' + b"x" * 8 + b'"', limit=10) == "x" * 8
    with pytest.raises(FormatError, match="^JSON: larger than 9 bytes"):
        parse_json(b'"' + b"x" * 8 + b'"', limit=9)
    with pytest.raises(FormatError, match="^JSON: expected a JSON object"):
        parse_json_object(b"[]", limit=10)
