"""Property tests of the envelope ``.wbse`` (PROTOCOL.md §4).

Alongside ``crypto.envelope`` this module keeps a small independent writer and
reader written from PROTOCOL.md alone (``ref_seal``/``ref_open``), so that the
module's output is checked against the text of the protocol and not only
against itself.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import random
from array import array
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from nacl.bindings import (
    crypto_box_seal,
    crypto_box_seal_open,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
)
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey

import crypto.envelope as envelope_module
from crypto.envelope import (
    EnvelopeWriter,
    envelope_key_ids,
    envelope_length,
    open_bytes,
    open_stream,
    open_to_stream,
    seal_bytes,
)
from crypto.errors import DecryptionError, FormatError
from skips import skip_or_fail

# --- constants straight from PROTOCOL.md §4 (not imported from the module) ---

PIECE = 65536
ABYTES = 17
CHUNK = PIECE + ABYTES  # 65,553
SS_HEADER = 24
STANZA = 88
TAG_MESSAGE = 0
TAG_FINAL = 3

REJECTED = (FormatError, DecryptionError)


def settings_(n: int, **kw):
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        **kw,
    )


# --- keys: a fixed, reproducible pool ---

POOL = [PrivateKey(hashlib.blake2b(b"wbs-envelope-test-%d" % i, digest_size=32).digest()) for i in range(24)]
PKS = [bytes(k.public_key) for k in POOL]


def ref_key_id(pk: bytes) -> bytes:
    return hashlib.blake2b(pk, digest_size=32).digest()[:8]


# --- an independent reading of PROTOCOL.md §4 ---


def ref_padded_length(n: int) -> int:
    length = max(n + 1, 1024)
    e = length.bit_length() - 1
    s = len(bin(e)) - 2  # floor(log2 E) + 1
    step = 1 << (e - s)
    return -(-length // step) * step


def ref_header_length(recipients: int) -> int:
    return 6 + STANZA * recipients + SS_HEADER


def ref_envelope_length(n: int, recipients: int) -> int:
    p = ref_padded_length(n)
    return ref_header_length(recipients) + p + ABYTES * -(-p // PIECE)


def ref_seal(
    data: bytes,
    pks: list[bytes],
    *,
    key_ids: list[bytes] | None = None,
    padded: int | None = None,
    plain: bytes | None = None,
    pieces: list[bytes] | None = None,
    tags: list[int] | None = None,
    sealed_key: bytes | None = None,
) -> bytes:
    """Write an envelope as PROTOCOL.md says; the keyword arguments forge deviations.

    ``key_ids``: arbitrary key ids; ``padded``: another len(P); ``plain``: P
    itself; ``pieces``: P cut differently; ``tags``: other chunk tags;
    ``sealed_key``: what the stanzas seal instead of the 32-byte file key.
    """
    file_key = os.urandom(32)
    key_ids = key_ids if key_ids is not None else [ref_key_id(pk) for pk in pks]
    sealed = file_key if sealed_key is None else sealed_key
    header = b"WBSE" + bytes([1, len(pks)])
    header += b"".join(kid + crypto_box_seal(sealed, pk) for kid, pk in zip(key_ids, pks))
    state = crypto_secretstream_xchacha20poly1305_state()
    header += crypto_secretstream_xchacha20poly1305_init_push(state, file_key)
    if plain is None:
        padded = ref_padded_length(len(data)) if padded is None else padded
        plain = data + b"\x80" + bytes(padded - len(data) - 1)
    if pieces is None:
        pieces = [plain[i : i + PIECE] for i in range(0, len(plain), PIECE)]
    if tags is None:
        tags = [TAG_MESSAGE] * (len(pieces) - 1) + [TAG_FINAL]
    out = [header]
    for i, (piece, tag) in enumerate(zip(pieces, tags, strict=True)):
        out.append(crypto_secretstream_xchacha20poly1305_push(state, piece, header if i == 0 else None, tag))
    return b"".join(out)


def ref_open(env: bytes, key: PrivateKey) -> tuple[bytes, int]:
    """Open strictly by PROTOCOL.md; returns (data, len(P)). Asserts on any deviation."""
    assert env[:4] == b"WBSE" and env[4] == 1
    n = env[5]
    assert 1 <= n <= 16
    hlen = ref_header_length(n)
    header = env[:hlen]
    file_key = None
    for i in range(n):
        stanza = header[6 + STANZA * i : 6 + STANZA * (i + 1)]
        try:
            candidate = crypto_box_seal_open(stanza[8:], bytes(key.public_key), bytes(key))
        except CryptoError:
            continue
        assert len(candidate) == 32
        file_key = candidate
        break
    assert file_key is not None, "no stanza opens"
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, header[-SS_HEADER:], file_key)
    body = env[hlen:]
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    assert chunks, "no chunk"
    plain = []
    for i, chunk in enumerate(chunks):
        piece, tag = crypto_secretstream_xchacha20poly1305_pull(state, chunk, header if i == 0 else None)
        if i < len(chunks) - 1:
            assert tag == TAG_MESSAGE and len(chunk) == CHUNK
        else:
            assert tag == TAG_FINAL and 1 <= len(piece) <= PIECE
        plain.append(piece)
    padded = b"".join(plain)
    stripped = padded.rstrip(b"\x00")
    assert stripped.endswith(b"\x80")
    return stripped[:-1], len(padded)


# --- strategies ---

BOUNDARY_SIZES = [
    0, 1, 2, 1022, 1023, 1024, 1025, 1087, 1088, 4095, 4096,
    65534, 65535, 65536, 65537,
    2 * PIECE - 1, 2 * PIECE, 2 * PIECE + 1,
    3 * PIECE - 1, 3 * PIECE, 3 * PIECE + 1,
    4 * PIECE - 1, 4 * PIECE, 4 * PIECE + 1,
    # padmé rounding lands exactly on a chunk boundary: P fills its last piece.
    63488, 63489, 129023, 129024, 196607,
]

sizes = st.one_of(
    st.builds(lambda k, d: max(0, k * PIECE + d), st.integers(0, 4), st.integers(-40, 40)),
    st.sampled_from(BOUNDARY_SIZES),
    st.integers(0, 300 * 1024),
    st.integers(0, 3000),
)


class Data(bytes):
    """Bytes with a short repr, so that failing examples stay readable."""

    def __repr__(self) -> str:
        nonzero = len(self.rstrip(b"\x00"))
        return f"<{len(self)} bytes, {len(self) - nonzero} trailing zeros, starts {bytes(self[:8])!r}>"


@st.composite
def payloads(draw, size_strategy=sizes):
    return Data(draw(_payloads(size_strategy)))


@st.composite
def _payloads(draw, size_strategy):
    n = draw(size_strategy)
    kind = draw(st.sampled_from(["random", "zeros", "zero_tail", "looks_padded", "markers"]))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    if kind == "random":
        return rng.randbytes(n)
    if kind == "zeros":
        return bytes(n)
    tail = draw(st.one_of(st.integers(0, n), st.sampled_from([min(n, t) for t in (1, 2, PIECE - 1, PIECE, PIECE + 1)])))
    if kind == "zero_tail":
        return rng.randbytes(n - tail) + bytes(tail)
    if kind == "looks_padded":  # data that itself ends like padding: ... 0x80 00 00 ...
        if n == 0:
            return b""
        return (rng.randbytes(n - tail) + b"\x80" + bytes(tail))[:n]
    return b"\x80" * n


def write_all(writer: EnvelopeWriter, data: bytes, pattern: str, rng: random.Random) -> None:
    """Feed ``data`` to ``writer`` in pieces of various sizes and buffer types."""
    n = len(data)
    if pattern == "one":
        cuts = [n]
    else:
        cuts = []
        pos = 0
        while pos < n:
            if pattern == "small":
                size = rng.randint(0, 200)
            elif pattern == "tiny":
                size = rng.randint(0, 3)
            else:
                size = rng.choice(
                    [0, 1, rng.randint(0, 100), rng.randint(0, 70000), PIECE - 1, PIECE, PIECE + 1, 2 * PIECE]
                )
            pos = min(n, pos + size)
            cuts.append(pos)
        if pattern == "tiny" or rng.random() < 0.3:
            cuts.append(n)  # an empty last write
    start = 0
    for end in cuts:
        part = data[start:end]
        how = rng.choice(["bytes", "bytearray", "memoryview", "memoryview_of_bytearray", "offset_view", "array"])
        if how == "bytes":
            writer.write(part)
        elif how == "bytearray":
            buf = bytearray(part)
            writer.write(buf)
            buf[:] = b"\xa5" * len(buf)  # the writer must not keep a reference
        elif how == "memoryview":
            writer.write(memoryview(part))
        elif how == "memoryview_of_bytearray":
            buf = bytearray(part)
            writer.write(memoryview(buf))
            buf[:] = b"\x5a" * len(buf)
        elif how == "offset_view":
            big = bytearray(b"\xee" * 7 + part + b"\xee" * 5)
            writer.write(memoryview(big)[7 : 7 + len(part)])
            big[:] = b"\x11" * len(big)
        else:  # a view whose items are not bytes
            if len(part) % 2 == 0:
                writer.write(memoryview(part).cast("H"))
            else:
                writer.write(array("B", part))
        start = end
    assert start == n


class RetainingSink:
    """A destination that keeps the very objects handed to write(), as a queue to another thread would."""

    def __init__(self) -> None:
        self.parts: list = []

    def write(self, b) -> int:
        self.parts.append(b)
        return len(b)

    def getvalue(self) -> bytes:
        return b"".join(bytes(p) for p in self.parts)


def seal_with(data: bytes, recipients, pattern: str, rng: random.Random) -> tuple[bytes, int]:
    out = RetainingSink() if rng.random() < 0.5 else io.BytesIO()
    writer = EnvelopeWriter(out, recipients)
    write_all(writer, data, pattern, rng)
    size = writer.close()
    return out.getvalue(), size


# --- 1. round trips ---


@settings_(150)
@given(
    data=payloads(),
    rec=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=16, unique=True),
    pattern=st.sampled_from(["one", "small", "random", "random", "tiny"]),
    seed=st.integers(0, 2**32 - 1),
    choice=st.data(),
)
def test_round_trip(data, rec, pattern, seed, choice):
    rng = random.Random(seed)
    if pattern == "tiny" and len(data) > 5000:
        pattern = "small"
    recipients = [POOL[i].public_key if rng.random() < 0.5 else PKS[i] for i in rec]
    env, size = seal_with(data, recipients, pattern, rng)

    assert size == len(env) == envelope_length(len(data), len(rec)) == ref_envelope_length(len(data), len(rec))
    assert envelope_key_ids(env) == [ref_key_id(PKS[i]).hex() for i in rec]

    opener = POOL[rec[choice.draw(st.integers(0, len(rec) - 1), label="opener")]]
    assert open_bytes(env, [opener]) == data

    # With extra keys that are not recipients, in any order.
    others = [k for i, k in enumerate(POOL) if i not in rec]
    decoys = choice.draw(st.lists(st.sampled_from(others), max_size=3, unique_by=lambda k: bytes(k)), label="decoys") if others else []
    keys = decoys + [opener]
    rng.shuffle(keys)
    sink = io.BytesIO()
    assert open_to_stream(io.BytesIO(env), sink, keys) == len(data)
    assert sink.getvalue() == data

    # The independent reader agrees, and P has exactly the padmé length.
    plain, padded = ref_open(env, opener)
    assert plain == data
    assert padded == ref_padded_length(len(data))


@pytest.mark.parametrize("n", BOUNDARY_SIZES)
@pytest.mark.parametrize("kind", ["random", "zeros"])
def test_round_trip_boundaries(n, kind):
    data = random.Random(n).randbytes(n) if kind == "random" else bytes(n)
    for pattern in ("one", "random"):
        env, size = seal_with(data, [PKS[0], PKS[1]], pattern, random.Random(n))
        assert size == len(env) == envelope_length(n, 2) == ref_envelope_length(n, 2)
        assert open_bytes(env, [POOL[1]]) == data
        assert ref_open(env, POOL[0]) == (data, ref_padded_length(n))


@pytest.mark.parametrize("n", [2**22 + 1, 2**22 + 2 * PIECE, 2**23 + 1])
def test_padding_spills_into_chunks_of_zeros(n):
    """From 4 MiB on, padmé's step exceeds 64 KiB: whole chunks of padding follow the marker."""
    data = b"\x01" + bytes(n - 2) + b"\x02"
    assert ref_padded_length(n) - n - 1 >= PIECE  # at least one all-zero piece
    env = seal_bytes(data, [PKS[3]])
    assert len(env) == envelope_length(n, 1) == ref_envelope_length(n, 1)
    assert open_bytes(env, [POOL[3]]) == data
    zeros = bytes(n)
    env = seal_bytes(zeros, [PKS[3]])
    assert open_bytes(env, [POOL[3]]) == zeros


@settings_(20)
@given(data=payloads(st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(0, 200_000))), seed=st.integers(0, 2**32 - 1))
def test_round_trip_through_the_public_push_binding(data, seed):
    """The writer's fallback when PyNaCl's cffi module is missing writes the same format."""
    rng = random.Random(seed)
    with mock.patch.object(envelope_module, "_lib", None), mock.patch.object(envelope_module, "_ffi", None):
        env, size = seal_with(data, [PKS[0], PKS[1]], rng.choice(["one", "random"]), rng)
    assert size == len(env) == envelope_length(len(data), 2)
    assert open_bytes(env, [POOL[1]]) == data
    assert ref_open(env, POOL[0]) == (data, ref_padded_length(len(data)))


@settings_(60)
@given(
    size=st.one_of(st.integers(0, PIECE), st.sampled_from([0, 1, PIECE - 1, PIECE])),
    kind=st.sampled_from([bytes, bytearray, memoryview]),
    with_ad=st.booleans(),
    tag=st.sampled_from([TAG_MESSAGE, TAG_FINAL]),
    seed=st.integers(0, 2**32 - 1),
)
def test_in_place_push_matches_the_public_binding(size, kind, with_ad, tag, seed):
    """``_push`` through cffi gives the same bytes as PyNaCl's public ``push`` from the same state."""
    ffi = envelope_module._ffi
    if ffi is None:
        skip_or_fail("PyNaCl's cffi module (nacl._sodium) is missing: there is no in-place push to compare")
    rng = random.Random(seed)
    piece = rng.randbytes(size)
    ad = rng.randbytes(rng.randint(0, 200)) if with_ad else None
    a = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_push(a, rng.randbytes(32))
    b = crypto_secretstream_xchacha20poly1305_state()
    raw = bytes(ffi.buffer(a.statebuf))
    b.statebuf[0 : len(raw)] = raw
    out = envelope_module._new_chunk_buffer()
    mine = envelope_module._push(a, out, kind(piece), ad, tag)
    assert isinstance(mine, bytes)
    theirs = crypto_secretstream_xchacha20poly1305_push(b, piece, ad, tag)
    assert mine == theirs
    # And the next push from each state agrees too (the state advanced the same way).
    assert envelope_module._push(a, out, b"next", None, TAG_MESSAGE) == crypto_secretstream_xchacha20poly1305_push(
        b, b"next", None, TAG_MESSAGE
    )
    assert mine == theirs  # the first result is not a view into the reused buffer


def test_seal_bytes_and_edge_data():
    for data in (b"", b"\x00", b"\x80", b"\x80\x00", b"a\x80", b"\x00" * 1023, b"\x80" * 1024, b"\xff" * 70000):
        env = seal_bytes(data, [PKS[0]])
        assert open_bytes(env, [POOL[0]]) == data
        assert len(env) == envelope_length(len(data), 1)


@settings_(40)
@given(
    data=payloads(st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(0, 140_000))),
    rec=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=16, unique=True),
    ids=st.sampled_from(["random", "zero", "rotated", "same"]),
    extra_padding=st.sampled_from([0, 0, 1, 1000, PIECE, 2 * PIECE + 7]),
    choice=st.data(),
)
def test_opens_envelopes_of_the_reference_writer(data, rec, ids, extra_padding, choice):
    """Key ids are only hints: with wrong ones the reader must try every stanza.

    Written by the independent writer (the key ids are in the first chunk's
    associated data, so they can only be "wrong" from the start, never
    changed afterwards). Also any amount of zero padding opens.
    """
    pks = [PKS[i] for i in rec]
    if ids == "random":
        key_ids = [os.urandom(8) for _ in pks]
    elif ids == "zero":
        key_ids = [bytes(8)] * len(pks)
    elif ids == "rotated":  # each stanza claims the next recipient's id
        key_ids = [ref_key_id(pks[(i + 1) % len(pks)]) for i in range(len(pks))]
    else:  # every stanza claims the first recipient's key id
        key_ids = [ref_key_id(pks[0])] * len(pks)
    padded = ref_padded_length(len(data)) + extra_padding
    env = ref_seal(data, pks, key_ids=key_ids, padded=padded)
    opener = POOL[rec[choice.draw(st.integers(0, len(rec) - 1), label="opener")]]
    assert open_bytes(env, [opener]) == data
    keys = [POOL[i] for i in range(len(POOL)) if i not in rec][:2] + [opener]
    assert open_bytes(env, keys) == data
    if extra_padding == 0:
        assert len(env) == envelope_length(len(data), len(rec))


@settings_(15)
@given(data=payloads(st.integers(0, 70_000)), nrec=st.integers(1, 16), choice=st.data())
def test_fallback_with_module_writer(data, nrec, choice):
    """The module's own writer, with ``key_id`` replaced, still opens by trying every stanza."""
    with mock.patch.object(envelope_module, "key_id", lambda pk: hashlib.sha256(pk).digest()[:8]):
        env = seal_bytes(data, PKS[:nrec])
    assert envelope_key_ids(env) == [hashlib.sha256(pk).digest()[:8].hex() for pk in PKS[:nrec]]
    opener = POOL[choice.draw(st.integers(0, nrec - 1))]
    assert open_bytes(env, [opener]) == data


def test_wrong_keys_are_refused():
    env = seal_bytes(b"secret", PKS[:3])
    with pytest.raises(DecryptionError):
        open_bytes(env, POOL[3:8])
    with pytest.raises(ValueError):
        open_bytes(env, [])


def test_open_bytes_limit():
    env = seal_bytes(b"x" * 70000, [PKS[0]])
    assert open_bytes(env, [POOL[0]], limit=70000) == b"x" * 70000
    with pytest.raises(FormatError):
        open_bytes(env, [POOL[0]], limit=69999)


# --- 2. tampering: flips, truncation, appending ---


@functools.cache
def fixed_envelope(name: str) -> tuple[bytes, bytes, tuple[int, ...]]:
    """(envelope, data, recipient indices) of a few fixed small envelopes."""
    rng = random.Random(name)
    if name == "one_chunk_1":
        data, rec = rng.randbytes(100), (0,)
    elif name == "one_chunk_2":
        data, rec = rng.randbytes(700) + bytes(50), (4, 5)
    elif name == "three_chunks":
        data, rec = rng.randbytes(140_000), (6, 7, 8)
    elif name == "full_last_chunk":  # P is exactly two pieces: the final chunk is full-size
        data, rec = rng.randbytes(130_000), (11,)
    else:  # data ends exactly at a piece boundary; the marker starts a new chunk
        data, rec = rng.randbytes(2 * PIECE), (9, 10)
    env = seal_bytes(data, [PKS[i] for i in rec])
    return env, data, rec


ENVELOPES = ["one_chunk_1", "one_chunk_2", "three_chunks", "marker_alone", "full_last_chunk"]


def test_fixed_envelopes_have_the_expected_shapes():
    assert len(fixed_envelope("one_chunk_1")[0]) == ref_header_length(1) + 1024 + ABYTES
    assert len(fixed_envelope("one_chunk_2")[0]) == ref_header_length(2) + 1024 + ABYTES
    env, data, rec = fixed_envelope("three_chunks")
    assert -(-(len(env) - ref_header_length(3)) // CHUNK) == 3
    env, data, rec = fixed_envelope("marker_alone")
    assert -(-(len(env) - ref_header_length(2)) // CHUNK) == 3
    env, data, rec = fixed_envelope("full_last_chunk")
    assert len(env) == ref_header_length(1) + 2 * CHUNK


def assert_rejected(env: bytes, data: bytes, key: PrivateKey) -> None:
    """Opening must fail with FormatError/DecryptionError; whatever was yielded is a prefix of the data."""
    got = []
    with pytest.raises(REJECTED) as info:
        for piece in open_stream(io.BytesIO(env), [key]):
            got.append(piece)
    assert type(info.value) in REJECTED
    yielded = b"".join(got)
    assert data.startswith(yielded)
    with pytest.raises(REJECTED):
        open_bytes(env, [key])
    sink = io.BytesIO(b"before")
    sink.seek(0, io.SEEK_END)
    with pytest.raises(REJECTED):
        open_to_stream(io.BytesIO(env), sink, [key])
    assert sink.getvalue() == b"before"


def interesting_positions(env: bytes, recipients: int) -> list[int]:
    hlen = ref_header_length(recipients)
    positions = set(range(0, hlen + 40))
    for start in range(hlen, len(env), CHUNK):
        positions.update(range(max(0, start - 20), min(len(env), start + 20)))
    positions.update(range(len(env) - 40, len(env)))
    return sorted(p for p in positions if 0 <= p < len(env))


@st.composite
def positions_in(draw, name):
    env, _, rec = fixed_envelope(name)
    return draw(st.one_of(st.integers(0, len(env) - 1), st.sampled_from(interesting_positions(env, len(rec)))))


@pytest.mark.parametrize("name", ENVELOPES)
@settings_(150)
@given(choice=st.data(), flip=st.one_of(st.integers(0, 7).map(lambda b: 1 << b), st.integers(1, 255)))
def test_any_flipped_byte_is_rejected(name, choice, flip):
    env, data, rec = fixed_envelope(name)
    pos = choice.draw(positions_in(name), label="position")
    key = POOL[rec[choice.draw(st.integers(0, len(rec) - 1), label="opener")]]
    bad = bytearray(env)
    bad[pos] ^= flip
    assert_rejected(bytes(bad), data, key)


@pytest.mark.parametrize("name", ["one_chunk_1", "one_chunk_2"])
def test_every_position_of_a_small_envelope(name):
    env, data, rec = fixed_envelope(name)
    keys = [POOL[i] for i in rec]
    for pos in range(len(env)):
        bad = bytearray(env)
        bad[pos] ^= 1 << (pos % 8)
        key = keys[pos % len(keys)]
        with pytest.raises(REJECTED):
            open_bytes(bytes(bad), [key])


def test_header_positions_of_a_three_chunk_envelope():
    env, data, rec = fixed_envelope("three_chunks")
    for pos in interesting_positions(env, len(rec)):
        for bit in (0, 7):
            bad = bytearray(env)
            bad[pos] ^= 1 << bit
            with pytest.raises(REJECTED):
                open_bytes(bytes(bad), [POOL[rec[pos % 3]]])


@pytest.mark.parametrize("name", ENVELOPES)
@settings_(100)
@given(choice=st.data())
def test_truncation_is_rejected(name, choice):
    env, data, rec = fixed_envelope(name)
    cut = choice.draw(positions_in(name), label="cut")
    key = POOL[rec[choice.draw(st.integers(0, len(rec) - 1), label="opener")]]
    assert_rejected(env[:cut], data, key)


def test_truncation_at_every_chunk_boundary():
    for name in ENVELOPES:
        env, data, rec = fixed_envelope(name)
        hlen = ref_header_length(len(rec))
        for cut in [0, 1, 4, 5, 6, hlen - 1, hlen, *range(hlen + CHUNK, len(env), CHUNK)]:
            for delta in (-1, 0, 1):
                if 0 <= cut + delta < len(env):
                    with pytest.raises(REJECTED):
                        open_bytes(env[: cut + delta], [POOL[rec[0]]])


@pytest.mark.parametrize("name", ENVELOPES)
@settings_(60)
@given(extra=st.binary(min_size=1, max_size=300), choice=st.data())
def test_appended_bytes_are_rejected(name, extra, choice):
    env, data, rec = fixed_envelope(name)
    key = POOL[rec[choice.draw(st.integers(0, len(rec) - 1), label="opener")]]
    assert_rejected(env + extra, data, key)


def test_appending_a_chunk_or_envelope_is_rejected():
    env, data, rec = fixed_envelope("three_chunks")
    hlen = ref_header_length(3)
    last = env[hlen + 2 * CHUNK :]
    first = env[hlen : hlen + CHUNK]
    for extra in (last, first, env, bytes(CHUNK), b"\x00"):
        with pytest.raises(REJECTED):
            open_bytes(env + extra, [POOL[6]])


def test_reordered_dropped_duplicated_chunks_are_rejected():
    env, data, rec = fixed_envelope("three_chunks")
    hlen = ref_header_length(3)
    header = env[:hlen]
    c = [env[hlen + i * CHUNK : hlen + (i + 1) * CHUNK] for i in range(3)]
    for chunks in ([c[1], c[0], c[2]], [c[0], c[2]], [c[0], c[1], c[1], c[2]], [c[0], c[0], c[1], c[2]], [c[2]], [c[0], c[1]]):
        with pytest.raises(REJECTED):
            open_bytes(header + b"".join(chunks), [POOL[6]])


def test_stanzas_are_bound_to_the_first_chunk():
    env, data, rec = fixed_envelope("three_chunks")
    s = [env[6 + STANZA * i : 6 + STANZA * (i + 1)] for i in range(3)]
    rest = env[6 + 3 * STANZA :]
    variants = [
        env[:5] + bytes([3]) + s[1] + s[0] + s[2] + rest,  # reordered
        env[:5] + bytes([2]) + s[0] + s[1] + rest,  # one dropped
        env[:5] + bytes([4]) + s[0] + s[1] + s[2] + s[2] + rest,  # one repeated
        env[:5] + bytes([3]) + s[1][:8] + s[0][8:] + s[1] + s[2] + rest,  # a key id changed
    ]
    other = seal_bytes(data, [PKS[6]])  # another envelope's stanza for the same key
    variants.append(env[:5] + bytes([3]) + other[6 : 6 + STANZA] + s[1] + s[2] + rest)
    for bad in variants:
        for i in rec:
            with pytest.raises(REJECTED):
                open_bytes(bad, [POOL[i]])


def test_reference_writer_agrees_with_the_module():
    for n in (0, 1, 1023, 1024, 65535, 65536, 2 * PIECE):
        data = random.Random(n).randbytes(n)
        env = ref_seal(data, [PKS[0], PKS[1]])
        assert len(env) == envelope_length(n, 2)
        assert open_bytes(env, [POOL[1]]) == data


FORGERIES = {
    # P without the 0x80 marker, or with something else than zeros after it
    "no_marker": dict(plain=b"data" + bytes(1020)),
    "all_zero_P": dict(plain=bytes(1024)),
    "all_zero_P_three_pieces": dict(plain=bytes(2 * PIECE + 5)),
    "byte_after_marker": dict(plain=b"data\x80" + bytes(1018) + b"\x01"),
    "marker_then_data": dict(plain=b"data\x80more" + bytes(1015)),
    "marker_only_in_earlier_piece": dict(plain=b"x" * 100 + b"\x80" + bytes(PIECE - 101) + b"y" + bytes(99)),
    "marker_in_piece_then_nonzero_piece": dict(plain=b"\x80" + bytes(PIECE - 1) + b"\x01" * 10),
    # tags: the last chunk must be TAG_FINAL and only the last
    "last_tag_message": dict(plain=b"data\x80" + bytes(1019), tags=[TAG_MESSAGE]),
    "last_tag_push": dict(plain=b"data\x80" + bytes(1019), tags=[1]),
    "last_tag_rekey": dict(plain=b"data\x80" + bytes(1019), tags=[2]),
    "short_last_chunk_tag_message": dict(
        plain=b"d" * PIECE + b"\x80" + bytes(1000), tags=[TAG_MESSAGE, TAG_MESSAGE]
    ),
    "final_in_the_middle": dict(plain=b"d" * PIECE + b"\x80" + bytes(1000), tags=[TAG_FINAL, TAG_FINAL]),
    "first_tag_push": dict(plain=b"d" * PIECE + b"\x80" + bytes(1000), tags=[1, TAG_FINAL]),
    # pieces: every chunk but the last is exactly 65,553 bytes; the last piece has 1..65,536 bytes
    "short_first_piece": dict(pieces=[b"d" * 1000, b"\x80" + bytes(1000)]),
    "long_first_piece": dict(pieces=[b"d" * (PIECE + 1), b"\x80" + bytes(1000)]),
    "empty_final_piece": dict(pieces=[b"d" * 100 + b"\x80" + bytes(PIECE - 101), b""]),
    "only_an_empty_piece": dict(pieces=[b""]),
    # the stanzas must seal exactly 32 bytes
    "file_key_31": dict(plain=b"data\x80" + bytes(1019), sealed_key=bytes(31)),
    "file_key_33": dict(plain=b"data\x80" + bytes(1019), sealed_key=bytes(33)),
    "file_key_wrong": dict(plain=b"data\x80" + bytes(1019), sealed_key=bytes(32)),
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_envelopes_are_rejected(name):
    """Envelopes made with the file key (so every chunk authenticates) but breaking §4's rules."""
    env = ref_seal(b"", [PKS[0], PKS[1]], **FORGERIES[name])
    for key in (POOL[0], POOL[1]):
        with pytest.raises(DecryptionError):
            open_bytes(env, [key])
        sink = io.BytesIO(b"keep")
        sink.seek(0, io.SEEK_END)
        with pytest.raises(DecryptionError):
            open_to_stream(io.BytesIO(env), sink, [key])
        assert sink.getvalue() == b"keep"


def test_bad_prefixes_are_format_errors():
    env, data, rec = fixed_envelope("one_chunk_1")
    for bad in (b"", b"WBS", b"WBSF" + env[4:], env[:4] + b"\x02" + env[5:], env[:5] + b"\x00" + env[6:], env[:5] + b"\x11" + env[6:]):
        with pytest.raises(FormatError):
            open_bytes(bad, [POOL[0]])
        if len(bad) >= 6:
            with pytest.raises(FormatError):
                envelope_key_ids(bad)


# --- 4. open_to_stream removes partial output ---


@settings_(25)
@given(
    data=payloads(st.one_of(st.integers(0, 3000), st.integers(PIECE, 4 * PIECE), st.sampled_from(BOUNDARY_SIZES))),
    prefix=st.binary(max_size=100),
    how=st.sampled_from(["flip_last", "flip_last_byte", "truncate_last", "drop_last"]),
)
def test_open_to_stream_cuts_back_on_error(data, prefix, how):
    env = seal_bytes(data, [PKS[0], PKS[1]])
    hlen = ref_header_length(2)
    chunks = -(-(len(env) - hlen) // CHUNK)
    last_start = hlen + (chunks - 1) * CHUNK
    bad = bytearray(env)
    if how == "flip_last":
        bad[last_start + (len(env) - last_start) // 2] ^= 0x10
    elif how == "flip_last_byte":
        bad[-1] ^= 0x01
    elif how == "truncate_last":
        del bad[-1]
    else:
        del bad[last_start:]

    class Recording(io.BytesIO):
        high_water = 0

        def write(self, b):
            n = super().write(b)
            self.high_water = max(self.high_water, len(self.getbuffer()))
            return n

    sink = Recording(prefix)
    sink.seek(0, io.SEEK_END)
    with pytest.raises(DecryptionError):
        open_to_stream(io.BytesIO(bytes(bad)), sink, [POOL[1]])
    assert sink.getvalue() == prefix
    assert sink.tell() == len(prefix)
    if chunks >= 3 and data[PIECE : 2 * PIECE].strip(b"\x00"):
        # Plaintext really was written before the failure (so the cut-back was needed):
        # the first piece goes out once the second, holding data, has authenticated.
        assert sink.high_water > len(prefix)

    good = Recording(prefix)
    good.seek(0, io.SEEK_END)
    assert open_to_stream(io.BytesIO(env), good, [POOL[0]]) == len(data)
    assert good.getvalue() == prefix + data


def test_open_to_stream_cuts_back_a_real_file(tmp_path):
    env, data, rec = fixed_envelope("three_chunks")
    bad = env[:-1] + bytes([env[-1] ^ 0x40])
    path = tmp_path / "out.bin"
    path.write_bytes(b"existing content")
    with open(path, "ab") as dst, pytest.raises(DecryptionError):
        open_to_stream(io.BytesIO(bad), dst, [POOL[7]])
    assert path.read_bytes() == b"existing content"


# --- 5. the writer's guards ---


def test_writer_recipient_counts():
    for recipients in ([], PKS[:17], PKS[:20]):
        out = io.BytesIO()
        with pytest.raises(ValueError):
            EnvelopeWriter(out, recipients)
        assert out.getvalue() == b""
    for count in (1, 16):
        env = seal_bytes(b"ok", PKS[:count])
        assert len(env) == envelope_length(2, count)
        assert open_bytes(env, [POOL[count - 1]]) == b"ok"


def test_writer_refuses_duplicates_and_bad_keys():
    for recipients in (
        [PKS[0], PKS[0]],
        [PKS[0], PKS[1], PKS[0]],
        [POOL[2].public_key, PKS[2]],  # the same key, once as PublicKey and once as bytes
        [PKS[0]] * 16,
    ):
        out = io.BytesIO()
        with pytest.raises(ValueError):
            EnvelopeWriter(out, recipients)
        assert out.getvalue() == b""
    for bad in (b"", b"\x01" * 31, b"\x01" * 33):
        with pytest.raises(ValueError):
            EnvelopeWriter(io.BytesIO(), [bad])
    with pytest.raises(ValueError):
        EnvelopeWriter(io.BytesIO(), [PKS[0]], file_key=b"\x00" * 31)


def test_write_after_close_raises():
    out = io.BytesIO()
    writer = EnvelopeWriter(out, [PKS[0]])
    writer.write(b"abc")
    size = writer.close()
    assert size == len(out.getvalue()) == envelope_length(3, 1)
    for data in (b"more", b"", bytearray(b"x"), memoryview(b"y")):
        with pytest.raises(ValueError):
            writer.write(data)
    assert writer.close() == size  # closing again changes nothing
    assert len(out.getvalue()) == size
    assert open_bytes(out.getvalue(), [POOL[0]]) == b"abc"


def test_context_manager_closes_and_an_exception_leaves_an_unopenable_envelope():
    out = io.BytesIO()
    with EnvelopeWriter(out, [PKS[0]]) as writer:
        writer.write(b"inside")
    assert open_bytes(out.getvalue(), [POOL[0]]) == b"inside"

    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with EnvelopeWriter(out, [PKS[0]]) as writer:
            writer.write(bytes(3 * PIECE))
            raise RuntimeError("upload interrupted")
    with pytest.raises(DecryptionError):
        open_bytes(out.getvalue(), [POOL[0]])


@settings_(20)
@given(n=st.one_of(st.integers(0, 3 * PIECE + 5), st.sampled_from(BOUNDARY_SIZES)))
def test_unclosed_writer_never_opens(n):
    out = io.BytesIO()
    writer = EnvelopeWriter(out, [PKS[0]])
    writer.write(bytes(n))
    with pytest.raises(REJECTED):
        open_bytes(out.getvalue(), [POOL[0]])


def test_a_large_write_is_sealed_a_batch_at_a_time():
    """Memory stays flat: one write of many MiB reaches the sink in slices of at most 16 chunks."""
    sizes = []

    class Sink(io.BytesIO):
        def write(self, data):
            sizes.append(len(data))
            return super().write(data)

    key = PrivateKey.generate()
    data = os.urandom(5 * 1024 * 1024 + 12345)
    sink = Sink()
    writer = EnvelopeWriter(sink, [key.public_key])
    writer.write(data)
    writer.close()
    assert max(sizes) <= 16 * CHUNK
    assert b"".join(open_stream(io.BytesIO(sink.getvalue()), [key])) == data
