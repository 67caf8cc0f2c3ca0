"""Length hiding: the padmé scheme of PROTOCOL.md §4.

Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
Communication with PURBs", 2019) leaks O(log log L) bits of a length and costs
at most about 12 % overhead.
"""

from __future__ import annotations

MIN_PADDED = 1024
MARKER = 0x80


def padme(length: int) -> int:
    """Round ``length`` up to the next padmé size."""
    if length < 2:
        return length
    e = length.bit_length() - 1  # floor(log2 L)
    s = e.bit_length()  # floor(log2 E) + 1
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def padded_length(data_length: int) -> int:
    """``len(P)`` for ``len(data)`` bytes: room for the 0x80 marker, at least 1 KiB."""
    if data_length < 0:
        raise ValueError("negative length")
    return padme(max(data_length + 1, MIN_PADDED))
