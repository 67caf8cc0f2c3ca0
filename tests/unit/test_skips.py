"""tests/skips.py: a skip names its reason, and CI cannot pass by skipping."""

from __future__ import annotations

import pytest

from skips import skip_or_fail


def test_a_skip_outside_ci_says_why(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="tor is not installed"):
        skip_or_fail("tor is not installed")


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_under_ci_a_skip_fails(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="tor is not installed.*CI=true"):
        skip_or_fail("tor is not installed")


def test_under_ci_a_reason_outside_the_projects_control_still_skips_and_says_so(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.skip.Exception, match=r"old kernel \(outside the project's control\)"):
        skip_or_fail("old kernel", outside_control=True)
