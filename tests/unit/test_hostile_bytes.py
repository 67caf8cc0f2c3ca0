"""Hostile bytes where secrets are compared and where JSON is parsed: a
clear refusal, never an exception that becomes a 500."""

from __future__ import annotations

import json

import pyotp
import pytest

from crypto.encoding import MAX_JSON_INT, parse_json
from crypto.errors import FormatError
from crypto.keyring import new_keyring
from crypto.keys import parse_public_key_file
from crypto.reply_bundle import read_reply_bundle
from server.defences.tokens import same_token
from server.staff.workflow import totp_step

TOKEN = "a" * 43


@pytest.mark.parametrize("submitted", ["é" * 43, "\u202e" + "a" * 42, "\udcff", "", "a" * 42 + "ä", "\x00" * 43])
def test_a_token_of_any_characters_is_simply_wrong(submitted):
    assert same_token(TOKEN, submitted) is False
    assert same_token(submitted, TOKEN) is False


def test_tokens_equal_only_when_every_character_is():
    assert same_token(TOKEN, TOKEN)
    assert not same_token(TOKEN, TOKEN[:8] + "b" * 35)  # the same first 8 characters
    assert not same_token(TOKEN, TOKEN[:-1] + "b")  # differs only in the last one
    assert not same_token(TOKEN, TOKEN[:-1])
    assert not same_token(TOKEN, TOKEN + "a")
    assert same_token("é" * 3, "é" * 3)


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６", "12345٦", "12³456", "1234567", "", "abcdef"])
def test_totp_codes_in_other_digit_scripts_are_wrong_not_errors(code):
    assert totp_step(pyotp.random_base32(), code, 1_800_000_000.0) is None


def test_totp_code_of_each_neighbouring_step_is_accepted():
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_015.0
    step = int(now // 30)
    for candidate in (step - 1, step, step + 1):
        assert totp_step(secret, totp.at(candidate * 30), now) == candidate
    assert totp_step(secret, totp.at((step + 2) * 30), now) in (None, step - 1, step, step + 1)


@pytest.mark.parametrize("text", [
    "1" * 5000, "-" + "9" * 5000, str(MAX_JSON_INT + 1), str(-MAX_JSON_INT - 2), "1" + "0" * 400 + ".5",
    "1e400", "-1e400", "0." + "1" * 5000,
])
def test_json_numbers_beyond_the_bound_are_a_format_error(text):
    for data in (text, f'{{"n": {text}}}', f"[1, {text}]"):
        with pytest.raises(FormatError):
            parse_json(data.encode(), limit=1 << 20)


def test_json_numbers_within_the_bound_parse():
    assert parse_json(str(MAX_JSON_INT).encode(), limit=100) == MAX_JSON_INT
    assert parse_json(str(-MAX_JSON_INT - 1).encode(), limit=100) == -MAX_JSON_INT - 1
    assert parse_json(b'{"size": 65536, "t": 2.5, "e": 1e10}', limit=100) == {"size": 65536, "t": 2.5, "e": 1e10}


def test_a_reply_bundle_with_a_huge_integer_is_a_format_error():
    ring = new_keyring("Inspektorat")
    keys = parse_public_key_file(ring.public_key_file())
    for field in ("set_status", "created_at", "signer_key_id"):
        body = {"format": "wbs-replies/1", "created_at": "2026-11-28T08:00:00Z", "signer_key_id": ring.newest.key_id,
                "replies": [{"report_code": "X", "item_id": "0" * 32, "envelope": "", "set_status": None}], "sig": ""}
        raw = json.dumps(body).replace('"' + str(body.get(field)) + '"' if body.get(field) else "null", "9" * 5000, 1)
        with pytest.raises(FormatError):
            read_reply_bundle(raw.encode(), keys)
