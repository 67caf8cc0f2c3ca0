"""The open-file limit raised at start, and connection caps that fit inside it."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import astuple
from pathlib import Path

import pytest

from server.defences.descriptors import (
    MIN_OPEN_FILES,
    MIN_PER_LISTENER,
    PER_CONNECTION,
    RESERVED,
    STORE_FILES,
    plan_connections,
    raise_open_file_limit,
)
from server.errors import ConfigError
from skips import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def fits(plan) -> bool:
    return PER_CONNECTION * (plan.reporter + plan.staff) + RESERVED <= plan.open_files


def test_plenty_of_descriptors_gives_the_configured_caps():
    plan = plan_connections(65536, 4096, 256)
    assert (plan.reporter, plan.staff) == (4096, 256) and fits(plan)


@pytest.mark.parametrize("open_files", [MIN_OPEN_FILES, 400, 1024, 2048, 4096, 8191])
def test_a_small_limit_shrinks_the_caps_to_fit(open_files):
    plan = plan_connections(open_files, 4096, 256)
    assert fits(plan)
    assert plan.staff >= MIN_PER_LISTENER and plan.reporter >= MIN_PER_LISTENER
    assert plan.staff <= max(MIN_PER_LISTENER, (open_files - RESERVED) // PER_CONNECTION // 4)
    # Nothing usable is left over.
    assert PER_CONNECTION * (plan.reporter + plan.staff + 1) + RESERVED > open_files


def test_systemd_default_soft_limit():
    plan = plan_connections(1024, 4096, 256)
    assert (plan.reporter, plan.staff) == (264, 88)


def test_small_configured_caps_are_kept():
    plan = plan_connections(1024, 10, 9)
    assert (plan.reporter, plan.staff) == (10, 9)


def test_too_few_descriptors_refuse_to_start():
    with pytest.raises(ConfigError, match="LimitNOFILE"):
        plan_connections(MIN_OPEN_FILES - 1, 4096, 256)


def test_every_tenant_s_store_is_kept_out_of_the_caps():
    plan = plan_connections(1024, 4096, 256, tenants=100)
    assert PER_CONNECTION * (plan.reporter + plan.staff) + RESERVED + 100 * STORE_FILES <= 1024
    assert plan.reporter + plan.staff < sum(astuple(plan_connections(1024, 4096, 256))[1:]) - 100
    assert plan_connections(65536, 4096, 256, tenants=550) == plan_connections(65536, 4096, 256)
    plan_connections(MIN_OPEN_FILES + 10 * STORE_FILES, 4096, 256, tenants=10)
    with pytest.raises(ConfigError, match=r"10 tenants' databases hold 30 of them"):
        plan_connections(MIN_OPEN_FILES + 10 * STORE_FILES - 1, 4096, 256, tenants=10)


def test_soft_limit_is_raised_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 600:
        skip_or_fail(f"the hard open-file limit this test was started with is {hard}: the test needs a finite one"
                     " above 600 to lower the soft limit below it", outside_control=True)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        assert raise_open_file_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_soft_equal_to_hard_stays():
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        skip_or_fail("prlimit is not installed (Debian package util-linux)")
    done = subprocess.run([prlimit, "--nofile=700:700", sys.executable, "-c",
                           "from server.defences.descriptors import raise_open_file_limit as r; print(r())"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "700"
