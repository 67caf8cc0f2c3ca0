"""The browser is what the other tests say it is: JavaScript really off, and
the means of measuring a page still working without it."""

from __future__ import annotations

import pytest

import browserkit

pytestmark = pytest.mark.browser


def test_page_script_does_not_run_with_javascript_off(browsers):
    browser = browsers("js-off")
    browser.driver.get(browserkit.JS_PROBE)
    assert browser.driver.title == "script did not run"


def test_the_probe_can_fail(browsers):
    """The same probe in a session with JavaScript on: the script runs, so the check above means something."""
    browser = browsers("js-on", js=True)
    browser.driver.get(browserkit.JS_PROBE)
    assert browser.driver.title == "script ran"


def test_measuring_needs_no_page_script(browsers, server):
    browser = browsers("phone", server, phone=True)
    browser.open("/submit")
    assert browser.overflow() == (360, 360)
    boxes = [b for _, _, b in browser.boxes() if b]
    assert any(b.description.startswith("textarea#what") and b.height >= browserkit.MIN_TAP_PX for b in boxes)
    assert browser.screenshot("measured").stat().st_size > 1000
