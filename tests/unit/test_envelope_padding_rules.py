"""Padding must be exactly the 0x80 marker and zeros (PROTOCOL.md §4), checked byte for byte.

The envelopes here are built by hand from the libsodium bindings, so the
padded plaintext can be anything a hostile writer might choose.
"""

from __future__ import annotations

import pytest
from nacl.bindings import (
    crypto_box_seal,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
)
from nacl.public import PrivateKey

from crypto.encoding import key_id
from crypto.envelope import MAGIC, VERSION, open_bytes
from crypto.errors import DecryptionError

FILE_KEY = bytes(range(32))


def one_chunk_envelope(key: PrivateKey, padded: bytes) -> bytes:
    """A one-recipient envelope whose only chunk (final) holds ``padded`` as it is."""
    pk = bytes(key.public_key)
    state = crypto_secretstream_xchacha20poly1305_state()
    ss_header = crypto_secretstream_xchacha20poly1305_init_push(state, FILE_KEY)
    header = MAGIC + bytes((VERSION, 1)) + key_id(pk) + crypto_box_seal(FILE_KEY, pk) + ss_header
    chunk = crypto_secretstream_xchacha20poly1305_push(
        state, padded, header, crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    return header + chunk


def test_a_hand_built_envelope_with_good_padding_opens():
    key = PrivateKey.generate()
    assert open_bytes(one_chunk_envelope(key, b"abc\x80" + bytes(1020)), [key]) == b"abc"


@pytest.mark.parametrize("at", [4, 5, 1023])
def test_a_nonzero_byte_anywhere_after_the_marker_is_refused(at):
    key = PrivateKey.generate()
    padded = bytearray(b"abc\x80" + bytes(1020))
    padded[at] = 1
    with pytest.raises(DecryptionError):
        open_bytes(one_chunk_envelope(key, bytes(padded)), [key])
