"""The free-disk guard at its boundary: the incoming bytes count against the reserve."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.config import Config
from server.errors import DiskFull
from server.reporter.reporting import check_free_space, has_free_space

MiB = 1024 * 1024


@dataclass
class FixedDisk:
    """A blob store's view of a disk with a known number of free bytes."""

    free: int

    def free_bytes(self) -> int:
        return self.free


@dataclass
class Ctx:
    blobs: FixedDisk
    config: Config


def ctx(free: int, reserve: int) -> Ctx:
    return Ctx(FixedDisk(free), Config(min_free_bytes=reserve))


def test_an_upload_that_leaves_exactly_the_reserve_is_allowed():
    assert has_free_space(ctx(100 * MiB, 40 * MiB), 60 * MiB)  # type: ignore[arg-type]
    check_free_space(ctx(100 * MiB, 40 * MiB), 60 * MiB)  # type: ignore[arg-type]


def test_one_byte_more_would_eat_into_the_reserve():
    assert not has_free_space(ctx(100 * MiB, 40 * MiB), 60 * MiB + 1)  # type: ignore[arg-type]
    with pytest.raises(DiskFull):
        check_free_space(ctx(100 * MiB, 40 * MiB), 60 * MiB + 1)  # type: ignore[arg-type]


def test_without_incoming_bytes_only_the_reserve_counts():
    assert has_free_space(ctx(40 * MiB, 40 * MiB))  # type: ignore[arg-type]
    assert not has_free_space(ctx(40 * MiB - 1, 40 * MiB))  # type: ignore[arg-type]
