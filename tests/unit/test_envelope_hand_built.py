"""Envelopes a hostile writer might build (PROTOCOL.md §4), and streams that end oddly.

The envelopes here are built by hand from the libsodium bindings, so the
padded plaintext and the sealed file key can be anything: padding must be
exactly the 0x80 marker and zeros, and a file key exactly 32 bytes.
"""

from __future__ import annotations

import io

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
from crypto.envelope import MAGIC, VERSION, open_bytes, open_stream, open_to_stream, seal_bytes
from crypto.errors import DecryptionError

FILE_KEY = bytes(range(32))


def one_chunk_envelope(key: PrivateKey, padded: bytes, *, sealed_key: bytes = FILE_KEY) -> bytes:
    """A one-recipient envelope whose only chunk (final) holds ``padded`` as it is;
    its stanza seals ``sealed_key``."""
    pk = bytes(key.public_key)
    state = crypto_secretstream_xchacha20poly1305_state()
    ss_header = crypto_secretstream_xchacha20poly1305_init_push(state, FILE_KEY)
    header = MAGIC + bytes((VERSION, 1)) + key_id(pk) + crypto_box_seal(sealed_key, pk) + ss_header
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


@pytest.mark.parametrize("size", [31, 33])
def test_a_stanza_that_seals_a_key_of_another_length_does_not_open(size):
    key = PrivateKey.generate()
    envelope = one_chunk_envelope(key, b"abc\x80" + bytes(1020), sealed_key=FILE_KEY[:size] + bytes(max(0, size - 32)))
    with pytest.raises(DecryptionError):
        open_bytes(envelope, [key])


class EndsWithNone(io.RawIOBase):
    """A raw stream that says "nothing now" (None) once its bytes are used up."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes | None:
        return self._data.read(size) or None


def test_a_stream_that_ends_with_none_opens_like_one_that_ends_empty():
    key = PrivateKey.generate()
    assert b"".join(open_stream(EndsWithNone(seal_bytes(b"isi laporan", [key.public_key])), [key])) == b"isi laporan"


class WriteOnly(io.RawIOBase):
    """A destination that cannot seek, like a pipe."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)


def test_opening_into_a_stream_that_cannot_seek():
    key = PrivateKey.generate()
    dst = WriteOnly()
    assert open_to_stream(io.BytesIO(seal_bytes(b"bukti", [key.public_key])), dst, [key]) == 5
    assert b"".join(dst.parts) == b"bukti"
