"""Padding lengths of PROTOCOL.md §4: ``len(P) = padme(max(len(data) + 1, 1024))``.

The reference below follows the formula of PROTOCOL.md with integer
arithmetic only (no floats, so it stays exact far beyond 2^53) and is
written differently from ``crypto.padding``: floor(log2 x) by repeated
halving, and the rounding by ceiling division instead of a bit mask.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crypto.padding import MARKER, MIN_PADDED, padded_length, padme

FAST = settings(max_examples=400, deadline=None, database=None)

MAX_LEN = 2**40


def floor_log2(x: int) -> int:
    """floor(log2 x) for an integer x >= 1, by halving."""
    assert x >= 1
    e = 0
    while x >= 2:
        x //= 2
        e += 1
    return e


def ref_padme(length: int) -> int:
    if length < 2:  # E = 0 (or log2 0): nothing to round
        return length
    e = floor_log2(length)
    s = floor_log2(e) + 1
    step = 2 ** (e - s)
    return -(-length // step) * step


def ref_padded_length(n: int) -> int:
    return ref_padme(max(n + 1, 1024))


def e_and_s(length: int) -> tuple[int, int]:
    e = floor_log2(length)
    return e, floor_log2(e) + 1


def near_powers_of_two(max_exp: int = 40) -> st.SearchStrategy[int]:
    """k·2^j + d for small d: where rounding changes."""
    return st.builds(
        lambda j, k, d: max(0, k * 2**j + d),
        st.integers(0, max_exp - 2),
        st.integers(1, 3),
        st.integers(-3, 3),
    )


lengths = st.one_of(
    st.integers(0, MAX_LEN),
    st.integers(0, 300_000),
    st.integers(1000, 1100),
    near_powers_of_two(),
)


def test_constants():
    assert MIN_PADDED == 1024
    assert MARKER == 0x80


@pytest.mark.parametrize(
    ("n", "padded"),
    [
        (0, 1024),
        (1, 1024),
        (1022, 1024),
        (1023, 1024),  # data + marker fill 1 KiB exactly
        (1024, 1088),  # L = 1025: E = 10, S = 4, step 64
        (1087, 1088),
        (1088, 1152),
        (2047, 2048),
        (2048, 2176),  # L = 2049: E = 11, S = 4, step 128
        (65535, 65536),
        (65536, 67584),  # L = 65537: E = 16, S = 5, step 2048
        (131071, 131072),
        (131072, 135168),  # E = 17, S = 5, step 4096
        (2**22, 2**22 + 2**17),  # E = 22, S = 5, step 2^17: padding crosses a 64 KiB chunk
        (2**32 - 1, 2**32),
        (2**32, 2**32 + 2**26),  # E = 32, S = 6, step 2^26
    ],
)
def test_known_values(n, padded):
    assert padded_length(n) == padded
    assert ref_padded_length(n) == padded


def test_padme_small_lengths():
    for length in range(0, 5000):
        assert padme(length) == ref_padme(length), length


def test_negative_length_is_refused():
    with pytest.raises(ValueError):
        padded_length(-1)


@FAST
@given(lengths)
@example(0)
@example(1023)
@example(1024)
@example(MAX_LEN)
@example(2**53 + 1)  # beyond float precision
@example(2**64 - 1)
def test_matches_reference(n):
    assert padded_length(n) == ref_padded_length(n)


@FAST
@given(lengths)
def test_room_for_marker_and_minimum(n):
    p = padded_length(n)
    assert p >= n + 1
    assert p >= 1024
    assert isinstance(p, int)


@FAST
@given(lengths, lengths)
def test_monotone(a, b):
    a, b = min(a, b), max(a, b)
    assert padded_length(a) <= padded_length(b)


@FAST
@given(lengths)
def test_monotone_step(n):
    assert padded_length(n) <= padded_length(n + 1)


@FAST
@given(lengths)
def test_overhead_bound(n):
    length = max(n + 1, 1024)
    e, s = e_and_s(length)
    overhead = padded_length(n) - length
    # padmé rounds L up to a multiple of 2^(E−S): strictly less than one step.
    assert 0 <= overhead < 2 ** (e - s)
    if n >= 1024:
        # 2^(E−S) <= L / 2^S and S >= 4 for L >= 1024: at most 1/16 of n.
        assert (padded_length(n) - n - 1) * 2**s <= n
        assert padded_length(n) - n - 1 <= 0.0625 * n
        assert padded_length(n) - n - 1 <= 0.12 * n


@FAST
@given(lengths)
def test_low_bits_are_zero(n):
    length = max(n + 1, 1024)
    e, s = e_and_s(length)
    p = padded_length(n)
    assert p % 2 ** (e - s) == 0
    # At most S + 1 significant bits (S, or a single 1 when rounding carried into 2^(E+1)).
    significant = p.bit_length() - (p & -p).bit_length() + 1
    assert significant <= s + 1
    if p.bit_length() > e + 1:
        assert p == 2 ** (e + 1)


@FAST
@given(st.integers(2, MAX_LEN))
def test_padme_is_idempotent_and_a_fixed_point(length):
    p = padme(length)
    assert p >= length
    assert padme(p) == p
    # Nothing between L and padme(L) is itself a padmé size, except padme(L).
    assert padme(length - 1) <= p


@FAST
@given(st.integers(0, MAX_LEN))
def test_padded_length_is_a_padme_size(n):
    p = padded_length(n)
    assert padme(p) == p
    assert padded_length(p - 1) == p  # the largest data that fits in p is p − 1 bytes
