"""Floats in untrusted JSON: at most 32 characters are parsed, and none may be infinite.

A longer number is refused before ``float`` sees it, like the integer bound.
"""

from __future__ import annotations

import pytest

from crypto.encoding import parse_json
from crypto.errors import FormatError


def test_a_float_of_exactly_32_characters_is_read():
    text = "0." + "1" * 30
    assert len(text) == 32
    assert parse_json(b'{"x": ' + text.encode() + b"}", limit=1024) == {"x": float(text)}


@pytest.mark.parametrize("text", ["0." + "1" * 31, "1e999", "-1e999"], ids=["33-chars", "inf", "-inf"])
def test_a_longer_or_infinite_float_is_refused(text):
    with pytest.raises(FormatError, match="^a number in the JSON is out of range$"):
        parse_json(b'{"x": ' + text.encode() + b"}", limit=1024)
