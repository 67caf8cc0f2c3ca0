"""The reporter's journey in Tor Browser's own engine: Debian's Firefox ESR
with JavaScript off, as on Tor Browser at "Safest", on a desktop window and on
a 360 px wide phone window where nothing may overflow sideways, every control
is big enough for a thumb and no word breaks mid-word. The journey and the
phone's checks are the Chromium tests' own
(test_reporter_browser.py: "Pengaduan Saya" first in the header of every
page, the send button hidden until the confirmation is ticked, and the rest);
firefoxkit.py gives it a Firefox window."""

from __future__ import annotations

import pytest

import firefoxkit
from firefoxkit import FirefoxBrowser
from test_reporter_browser import evidence, fits_a_phone, reporter_journey

pytestmark = pytest.mark.browser

PHONE_WIDTH = firefoxkit.PHONE[0]


def test_page_script_does_not_run_in_firefox(firefox_desktop):
    """The probe's own script would retitle it; the window fixture already
    asked once, this says so in a test of its own."""
    assert not firefox_desktop.page_script_runs()


def test_the_firefox_probe_can_fail(firefox):
    """The same probe in a Firefox with JavaScript on: the script runs, so the check above means something."""
    window = firefoxkit.Firefox("js-on", firefoxkit.DESKTOP, js=True)
    try:
        assert window.page_script_runs()
    finally:
        window.quit()


def test_the_phone_measures_can_fail(firefox_phone, tmp_path):
    """A page too wide, a small link and a word broken mid-word are found; a link in a sentence,
    a checkbox in a tall label and breaks at a hyphen or a slash are not faults."""
    page = tmp_path / "faults.html"
    page.write_text("<!DOCTYPE html><meta charset=utf-8><body style='margin:0'>"
                    "<p style='width:4em; word-break:break-all'>Diterima</p>"
                    "<p style='width:5em'>perundang-undangan dan/atau</p>"
                    "<div style='width:500px'>lebar</div>"
                    "<p><a href='#'>kecil</a></p><p>Baca <a href='#'>di sini</a> dulu.</p>"
                    "<p><label style='display:block; height:48px'><input type=checkbox> ya</label></p>")
    firefox_phone.client.navigate(page.as_uri())
    browser = FirefoxBrowser(firefox_phone, "faults", tmp_path)
    content, viewport = browser.overflow()
    assert (content, viewport) == (500, PHONE_WIDTH)
    assert browser.wider_than(PHONE_WIDTH) == ["div “lebar” (right edge 500 px)"]
    small = browser.small_tap_targets()
    assert len(small) == 1 and small[0].startswith("a[href=#] “kecil”: "), small
    split = browser.split_words()
    assert split and all(word.replace("|", "") == "Diterima" for word in split), split


def test_reporter_journey_in_firefox(firefox_windows, firefox_desktop, server, tmp_path):
    browser = firefox_windows(firefox_desktop, server)
    assert firefox_desktop.widths()[2] == firefoxkit.DESKTOP[0]
    reporter_journey(browser, evidence(tmp_path / "files"), server)


def test_reporter_journey_in_firefox_on_a_360px_phone(firefox_windows, firefox_phone, server, tmp_path):
    browser = firefox_windows(firefox_phone, server)
    assert firefox_phone.widths()[2] == PHONE_WIDTH, "the window really is a phone's width"
    reporter_journey(browser, evidence(tmp_path / "files"), server, check=fits_a_phone)


def test_the_language_switch_in_firefox(firefox_windows, firefox_phone, server):
    """Indonesian first; the header's switch turns every page English, and back."""
    browser = firefox_windows(firefox_phone, server)
    browser.open("/submit")
    assert browser.find("html").get_attribute("lang") == "id"
    browser.tick("#confirm")
    assert browser.text('form[action="/submit"] button[type=submit]') == "Kirim Pengaduan"

    browser.to_next_page(browser.find('header a[hreflang="en"]'))
    browser.step("form-en", fits_a_phone)
    assert browser.find("html").get_attribute("lang") == "en"
    assert browser.text("header.top nav a") == "My reports"
    browser.tick("#confirm")
    assert browser.text('form[action="/submit"] button[type=submit]') == "Send report"
    browser.open("/criteria")
    assert browser.find("html").get_attribute("lang") == "en", "the choice holds on the next page"

    browser.to_next_page(browser.find('header a[hreflang="id"]'))
    assert browser.find("html").get_attribute("lang") == "id"
    assert browser.text("header.top nav a") == "Pengaduan Saya"
