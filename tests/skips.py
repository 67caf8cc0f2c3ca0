"""Skips that say why, and that CI cannot pass by.

A test that cannot run on this machine skips and names what is missing. Under
``CI=true`` the same test fails instead: CI is where every tool, permission and
package the project needs is installed, so a skip there would hide a test that
never ran. Only a reason outside the project's control (the host's kernel, say)
may skip under CI too, and its message says so.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_or_fail(reason: str, *, outside_control: bool = False) -> NoReturn:
    """Skip with ``reason``; under CI fail, unless the reason is outside the project's control."""
    if outside_control:
        pytest.skip(f"{reason} (outside the project's control)")
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this test may not skip)", pytrace=False)
    pytest.skip(reason)


def require_root(why: str) -> None:
    """Root is needed for ``why``; CI runs as root, so under CI its absence is a failure."""
    if os.geteuid() != 0:
        skip_or_fail(f"needs root {why}")
