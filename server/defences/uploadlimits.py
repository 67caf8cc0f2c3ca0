"""How many uploads run at once, and how slow one may be before it is abandoned.

An upload holds a slot, a little memory and a temp blob for as long as its
bytes keep coming. Over Tor an honest upload can be slow (20 KB/s is
common) and can pause while a circuit is rebuilt, so the bounds are loose
for a person and tight for someone holding slots on purpose:

- at most ``max_uploads`` at a time; the next one gets a quick 503;
- no byte for ``idle_seconds`` and the upload is abandoned;
- after ``grace_seconds``, the average rate since the start must stay at or
  above ``min_rate`` bytes a second, so a trickle of a byte now and then
  cannot hold a slot until the body limit is reached.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from server.errors import UploadsBusy, UploadStalled


@dataclass(frozen=True)
class Pace:
    """The slowest an upload may be."""

    idle_seconds: float
    grace_seconds: float
    min_rate: int  # bytes per second, averaged from the start of the body

    def check(self, received: int, elapsed: float) -> None:
        """Raise ``UploadStalled`` when ``received`` bytes after ``elapsed`` seconds is too slow."""
        if elapsed > self.grace_seconds and received < self.min_rate * elapsed:
            raise UploadStalled()


class UploadSlots:
    """A count of the uploads being read; beyond ``limit``, ``UploadsBusy`` at once (no queue)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.active >= self.limit:
            raise UploadsBusy()
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


class TenantUploadSlots:
    """One tenant's share of the server's upload slots.

    A tenant may hold at most half of the server's slots (at least one), and
    the server's limit still holds for all of them together: one
    Inspektorat's address flooded with slow uploads leaves the other half to
    every other Inspektorat, instead of a 503 for all of them.
    """

    def __init__(self, shared: UploadSlots) -> None:
        self.shared = shared
        self.limit = max(1, shared.limit // 2)
        self.active = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self.active >= self.limit:
            raise UploadsBusy()
        with self.shared.hold():
            self.active += 1
            try:
                yield
            finally:
                self.active -= 1
