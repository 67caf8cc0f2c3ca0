"""The envelope ``.wbse`` (PROTOCOL.md §4): multi-recipient, streaming,
authenticated, truncation-proof and length-hiding.

Layout::

    "WBSE" | 0x01 | n | n × (key_id(pk) ‖ crypto_box_seal(file_key, pk)) | secretstream header | chunks

The writer holds at most one batch of 16 chunks (1 MiB) and the reader one
64 KiB piece at a time, so memory stays flat whatever the size. The reader
never hands out plaintext from a chunk that has not authenticated; it holds
back the last piece that contains data until it knows where the padding
starts.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Sequence

import nacl.exceptions
from nacl.bindings import (
    crypto_box_seal,
    crypto_box_seal_open,
    crypto_secretstream_xchacha20poly1305_ABYTES as ABYTES,
    crypto_secretstream_xchacha20poly1305_HEADERBYTES as SS_HEADER_BYTES,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
)
from nacl.public import PrivateKey, PublicKey

from .encoding import KEY_ID_BYTES, key_id
from .errors import DecryptionError, FormatError
from .padding import MARKER, padded_length

MAGIC = b"WBSE"
VERSION = 1
MAX_RECIPIENTS = 16
FILE_KEY_BYTES = 32
SEALED_BYTES = 80  # crypto_box_seal of 32 bytes: ephemeral pk (32) + MAC (16) + 32
STANZA_BYTES = KEY_ID_BYTES + SEALED_BYTES
PIECE_BYTES = 65536
CHUNK_BYTES = PIECE_BYTES + ABYTES  # 65,553
BATCH_PIECES = 16  # pieces sealed into one buffer and written at once
PREFIX_BYTES = 6

_ZEROS = bytes(PIECE_BYTES)


def header_length(recipients: int) -> int:
    """Bytes before the first chunk for ``recipients`` stanzas."""
    return PREFIX_BYTES + STANZA_BYTES * recipients + SS_HEADER_BYTES


def envelope_length(data_length: int, recipients: int) -> int:
    """The exact size of the envelope of ``data_length`` bytes."""
    padded = padded_length(data_length)
    chunks = -(-padded // PIECE_BYTES)
    return header_length(recipients) + padded + chunks * ABYTES


def _public_bytes(recipient: PublicKey | bytes) -> bytes:
    raw = bytes(recipient)
    if len(raw) != 32:
        raise ValueError("a recipient is a 32-byte X25519 public key")
    return raw


try:  # PyNaCl's cffi module: lets push read a memoryview without a copy
    from nacl._sodium import ffi as _ffi, lib as _lib
except ImportError:  # pragma: no cover - a PyNaCl without it: the public binding
    _ffi = _lib = None


# Batches of sealed chunks are allocated without zeroing them first: libsodium
# overwrites every byte (see ``_push_batch``).
_uncleared = _ffi.new_allocator(should_clear_after_alloc=False) if _ffi is not None else None


def _new_chunk_buffer() -> object:
    return _ffi.new("unsigned char[]", CHUNK_BYTES) if _ffi is not None else None


def _push_into(state: object, out: object, piece: bytes | bytearray | memoryview, ad: bytes | None, tag: int) -> None:
    """``crypto_secretstream_xchacha20poly1305_push`` of one piece into ``out``, reading it in place.

    PyNaCl's public binding accepts only ``bytes``, which would cost a 64 KiB
    copy per piece; the same libsodium call through its cffi module reads the
    writer's buffer directly. Both give identical bytes.
    """
    size = len(piece)
    if size > PIECE_BYTES:  # each output slot holds one chunk: never let libsodium write past it
        raise ValueError("a piece is at most 64 KiB")
    rc = _lib.crypto_secretstream_xchacha20poly1305_push(
        state.statebuf, out, _ffi.NULL, _ffi.from_buffer(piece), size,
        _ffi.NULL if ad is None else ad, 0 if ad is None else len(ad), tag,
    )
    if rc != 0:
        raise RuntimeError("crypto_secretstream push failed")


def _push(state: object, out: object, piece: bytes | bytearray | memoryview, ad: bytes | None, tag: int) -> bytes:
    """Seal one piece through ``out`` (a one-chunk buffer) and return the chunk."""
    if _lib is None:
        if len(piece) > PIECE_BYTES:
            raise ValueError("a piece is at most 64 KiB")
        return crypto_secretstream_xchacha20poly1305_push(state, bytes(piece), ad, tag)
    _push_into(state, out, piece, ad, tag)
    return _ffi.buffer(out, len(piece) + ABYTES)[:]


class EnvelopeWriter:
    """Seal a stream of bytes to up to 16 recipients.

    ``write()`` as often as needed, then ``close()``, which appends the padding
    and the final chunk. A writer that is never closed leaves an envelope that
    does not open (it lacks its final chunk), so an interrupted upload can
    never pass for a complete one.
    """

    def __init__(
        self,
        dst: BinaryIO,
        recipients: Sequence[PublicKey | bytes],
        *,
        file_key: bytes | None = None,
    ) -> None:
        keys = [_public_bytes(r) for r in recipients]
        if not 1 <= len(keys) <= MAX_RECIPIENTS:
            raise ValueError(f"an envelope has 1..{MAX_RECIPIENTS} recipients")
        if len(set(keys)) != len(keys):
            raise ValueError("a recipient appears twice")
        if file_key is None:
            file_key = secrets.token_bytes(FILE_KEY_BYTES)
        if len(file_key) != FILE_KEY_BYTES:
            raise ValueError("file_key must be 32 bytes")
        stanzas = b"".join(key_id(pk) + crypto_box_seal(file_key, pk) for pk in keys)
        self._state = crypto_secretstream_xchacha20poly1305_state()
        self._out_buf = _new_chunk_buffer()
        ss_header = crypto_secretstream_xchacha20poly1305_init_push(self._state, file_key)
        header = MAGIC + bytes((VERSION, len(keys))) + stanzas + ss_header
        self._dst = dst
        self._ad: bytes | None = header
        self._buf = bytearray()
        self._data_length = 0
        self._padded_emitted = 0
        self._closed = False
        self.size = 0
        self._out(header)

    def _out(self, data: bytes) -> None:
        self._dst.write(data)
        self.size += len(data)

    def _push(self, piece: bytes | bytearray | memoryview, tag: int) -> None:
        ad, self._ad = self._ad, None
        self._out(_push(self._state, self._out_buf, piece, ad, tag))
        self._padded_emitted += len(piece)

    def _push_batch(self, pieces: list[bytes | bytearray | memoryview]) -> None:
        """Seal whole pieces (never the last) into one fresh buffer and write it once.

        One ``dst.write`` per call of ``write()`` rather than one per 64 KiB,
        and no copy of each chunk out of libsodium's buffer. The buffer is new
        each time and never touched again, so ``dst`` may keep it.
        """
        if _lib is None:
            out = bytearray(len(pieces) * CHUNK_BYTES)
            offset = 0
            for piece in pieces:
                chunk = self._seal_piece(piece)
                out[offset : offset + len(chunk)] = chunk
                offset += len(chunk)
        else:
            # Not cleared first: every byte is written below, since each piece is
            # whole and its chunk fills its slot exactly.
            base = _uncleared("unsigned char[]", len(pieces) * CHUNK_BYTES)
            for i, piece in enumerate(pieces):
                if len(piece) != PIECE_BYTES:
                    raise ValueError("a batch holds whole pieces only")
                ad, self._ad = self._ad, None
                _push_into(self._state, base + i * CHUNK_BYTES, piece, ad, TAG_MESSAGE)
                self._padded_emitted += PIECE_BYTES
            out = _ffi.buffer(base)  # keeps ``base`` alive as long as it is referenced
        self._out(out)

    def _seal_piece(self, piece: bytes | bytearray | memoryview) -> bytes:
        ad, self._ad = self._ad, None
        self._padded_emitted += len(piece)
        return _push(self._state, self._out_buf, piece, ad, TAG_MESSAGE)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Seal more bytes. A whole 64 KiB piece is never the last (padding follows it)."""
        if self._closed:
            raise ValueError("write to a closed envelope")
        view = memoryview(data).cast("B")
        self._data_length += len(view)
        pieces: list[bytes | bytearray | memoryview] = []
        start = 0
        if self._buf:
            start = min(PIECE_BYTES - len(self._buf), len(view))
            self._buf += view[:start]
            if len(self._buf) < PIECE_BYTES:
                return
            pieces.append(self._buf)
            self._buf = bytearray()
        end = len(view)
        while end - start >= PIECE_BYTES:
            pieces.append(view[start : start + PIECE_BYTES])
            start += PIECE_BYTES
            if len(pieces) == BATCH_PIECES:  # however large the write, at most 1 MiB is sealed at a time
                self._push_batch(pieces)
                pieces = []
        if pieces:
            self._push_batch(pieces)
        if start < end:
            self._buf += view[start:end]

    def close(self) -> int:
        """Append padding and the final chunk; returns the envelope's size in bytes."""
        if self._closed:
            return self.size
        self._closed = True
        remaining = padded_length(self._data_length) - self._padded_emitted
        tail = self._buf
        tail.append(MARKER)
        first = min(remaining, PIECE_BYTES)
        tail += _ZEROS[: first - len(tail)]
        remaining -= first
        self._push(tail, TAG_FINAL if remaining == 0 else TAG_MESSAGE)
        self._buf = bytearray()
        while remaining > 0:
            size = min(remaining, PIECE_BYTES)
            remaining -= size
            self._push(_ZEROS[:size], TAG_FINAL if remaining == 0 else TAG_MESSAGE)
        return self.size

    def __enter__(self) -> "EnvelopeWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()


@dataclass(frozen=True)
class EnvelopeHeader:
    """The parsed, not yet authenticated, header of an envelope."""

    stanzas: tuple[tuple[bytes, bytes], ...]  # (key_id, sealed file key)
    ss_header: bytes
    raw: bytes

    @property
    def key_ids(self) -> list[str]:
        return [kid.hex() for kid, _ in self.stanzas]


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads; less only at end of input."""
    data = src.read(size)
    if data is None:
        data = b""
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_header(src: BinaryIO) -> EnvelopeHeader:
    """Parse the header, checking every bound before reading what it announces."""
    prefix = _read_exact(src, PREFIX_BYTES)
    if len(prefix) < PREFIX_BYTES or prefix[:4] != MAGIC:
        raise FormatError("not a WBS envelope")
    if prefix[4] != VERSION:
        raise FormatError(f"unsupported envelope version {prefix[4]}")
    count = prefix[5]
    if not 1 <= count <= MAX_RECIPIENTS:
        raise FormatError(f"envelope recipient count {count} out of range 1..{MAX_RECIPIENTS}")
    rest = _read_exact(src, header_length(count) - PREFIX_BYTES)
    if len(rest) != header_length(count) - PREFIX_BYTES:
        raise FormatError("envelope header is truncated")
    stanzas = tuple(
        (rest[i : i + KEY_ID_BYTES], rest[i + KEY_ID_BYTES : i + STANZA_BYTES])
        for i in range(0, STANZA_BYTES * count, STANZA_BYTES)
    )
    return EnvelopeHeader(stanzas=stanzas, ss_header=rest[-SS_HEADER_BYTES:], raw=prefix + rest)


def envelope_key_ids(src: BinaryIO | bytes) -> list[str]:
    """The recipients' key ids (hex) as the header claims them; nothing is verified."""
    stream = io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else src
    return read_header(stream).key_ids


def _open_stanza(sealed: bytes, private_key: PrivateKey) -> bytes | None:
    try:
        file_key = crypto_box_seal_open(
            sealed, bytes(private_key.public_key), bytes(private_key)
        )
    except nacl.exceptions.CryptoError:
        return None
    return file_key if len(file_key) == FILE_KEY_BYTES else None


def _file_key(header: EnvelopeHeader, keys: Sequence[PrivateKey]) -> bytes:
    by_id = {key_id(bytes(k.public_key)): k for k in keys}
    tried: set[tuple[int, bytes]] = set()
    for index, (kid, sealed) in enumerate(header.stanzas):
        key = by_id.get(kid)
        if key is not None:
            tried.add((index, bytes(key.public_key)))
            file_key = _open_stanza(sealed, key)
            if file_key is not None:
                return file_key
    # A stanza's key id is not authenticated: fall back to every pairing.
    for index, (_, sealed) in enumerate(header.stanzas):
        for key in keys:
            if (index, bytes(key.public_key)) in tried:
                continue
            file_key = _open_stanza(sealed, key)
            if file_key is not None:
                return file_key
    raise DecryptionError("no key given can open this item")


def _decrypted_pieces(src: BinaryIO, keys: Sequence[PrivateKey]) -> Iterator[bytes]:
    """Authenticated padded pieces, in order; raises before yielding anything bad."""
    header = read_header(src)
    file_key = _file_key(header, keys)
    state = crypto_secretstream_xchacha20poly1305_state()
    try:
        crypto_secretstream_xchacha20poly1305_init_pull(state, header.ss_header, file_key)
    except (nacl.exceptions.CryptoError, ValueError):
        raise DecryptionError() from None
    ad: bytes | None = header.raw
    while True:
        chunk = _read_exact(src, CHUNK_BYTES)
        if len(chunk) <= ABYTES:
            raise DecryptionError("the item is truncated")
        try:
            piece, tag = crypto_secretstream_xchacha20poly1305_pull(state, chunk, ad)
        except (nacl.exceptions.CryptoError, ValueError):
            raise DecryptionError("the item was altered or damaged") from None
        ad = None
        if tag == TAG_FINAL:
            if _read_exact(src, 1):
                raise DecryptionError("data follows the final chunk")
            yield piece
            return
        if tag != TAG_MESSAGE or len(chunk) != CHUNK_BYTES:
            raise DecryptionError("the item is truncated or malformed")
        yield piece


def _is_zero(piece: bytes) -> bool:
    """All bytes zero? One memcmp against a slice of ``_ZEROS`` (slicing it whole copies nothing)."""
    return piece == _ZEROS[: len(piece)]


def _strip_padding(piece: bytes) -> bytes | None:
    """``piece`` up to its last ``MARKER`` when only zeros follow it; None otherwise."""
    end = piece.rfind(MARKER)
    if end < 0 or not _is_zero(piece[end + 1 :]):
        return None
    return piece[:end]


def open_stream(src: BinaryIO, keys: Sequence[PrivateKey]) -> Iterator[bytes]:
    """Yield the plaintext of an envelope piece by piece, padding removed.

    Raises ``FormatError`` for a header that is not an envelope, and
    ``DecryptionError`` for anything else that keeps it from opening; what was
    yielded before such an error belongs to authenticated chunks but is not
    the whole item, so the caller discards it.
    """
    if not keys:
        raise ValueError("no keys to open with")
    held: bytes | None = None  # the latest piece holding a non-zero byte
    zeros = 0  # zero bytes seen after ``held``
    for piece in _decrypted_pieces(src, keys):
        if piece and (piece[-1] != 0 or not _is_zero(piece)):
            if held is not None:
                yield held
            while zeros:
                size = min(zeros, PIECE_BYTES)
                yield _ZEROS[:size]
                zeros -= size
            held = piece
            zeros = 0
        else:
            zeros += len(piece)
    body = _strip_padding(held) if held is not None else None
    if body is None:
        raise DecryptionError("the padding marker is missing")
    if body:
        yield body


def open_to_stream(src: BinaryIO, dst: BinaryIO, keys: Sequence[PrivateKey]) -> int:
    """Write the plaintext to ``dst``; returns its length.

    On any error a seekable ``dst`` is cut back to where it started, so no
    partial plaintext stays behind; the caller removes an emptied file.
    """
    start = dst.tell() if dst.seekable() else None
    written = 0
    try:
        for piece in open_stream(src, keys):
            dst.write(piece)
            written += len(piece)
    except BaseException:
        if start is not None:
            dst.seek(start)
            dst.truncate()
        raise
    return written


def seal_bytes(data: bytes, recipients: Sequence[PublicKey | bytes]) -> bytes:
    """Seal a small item held in memory."""
    out = io.BytesIO()
    writer = EnvelopeWriter(out, recipients)
    writer.write(data)
    writer.close()
    return out.getvalue()


def open_bytes(envelope: bytes, keys: Sequence[PrivateKey], *, limit: int | None = None) -> bytes:
    """Open a small item into memory; ``limit`` bounds the plaintext kept."""
    parts: list[bytes] = []
    total = 0
    for piece in open_stream(io.BytesIO(envelope), keys):
        total += len(piece)
        if limit is not None and total > limit:
            raise FormatError(f"the item is larger than {limit} bytes")
        parts.append(piece)
    return b"".join(parts)
