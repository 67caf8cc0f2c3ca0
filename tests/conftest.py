"""Shared fixtures: cheap KDF costs are passed in, never patched."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crypto.kdf import TEST_CHEAPEST, KdfParams


@pytest.fixture
def cheap_kdf() -> KdfParams:
    return TEST_CHEAPEST


@pytest.fixture
def fixed_now() -> datetime:
    return datetime(2026, 11, 28, 8, 30, 0, tzinfo=timezone.utc)
