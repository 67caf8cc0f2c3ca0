"""Shared fixtures: cheap KDF costs are passed in, never patched.

Hypothesis runs under one of two profiles, loaded here for every test:
``ci`` (chosen when ``CI=true``) draws the same examples on every run
(``derandomize``) and keeps no example database, so a CI run is repeatable
and a red one can be run again to the same failure; ``dev`` draws new
examples each time and remembers failing ones in ``.hypothesis/``.
``HYPOTHESIS_PROFILE`` picks one by name. Neither sets a deadline, nor
counts slow data generation as a failure: the test machine is shared by
parallel jobs, and timing goals live in ``bench/``.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, settings

from crypto.kdf import TEST_CHEAPEST, KdfParams
from pgcluster import open_store, pg_cluster, pg_database  # noqa: F401  (fixtures: a throwaway PostgreSQL)

_UNTIMED = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_UNTIMED)
settings.register_profile("dev", **_UNTIMED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))


@pytest.fixture
def cheap_kdf() -> KdfParams:
    return TEST_CHEAPEST


@pytest.fixture
def fixed_now() -> datetime:
    return datetime(2026, 11, 28, 8, 30, 0, tzinfo=timezone.utc)
