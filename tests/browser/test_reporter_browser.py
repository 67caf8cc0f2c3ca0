"""The reporter's journey in a real Chromium with JavaScript off, as on Tor
Browser at "Safest": on a desktop window, and on a 360x740 phone where
nothing may overflow sideways and every control is big enough for a thumb."""

from __future__ import annotations

from pathlib import Path

import pytest

from browserkit import PHONE, Browser
from harness import StaffAccount, staff_over_http, staff_post

pytestmark = pytest.mark.browser

TYPED = {
    "what": "Pungutan liar pada pelayanan KTP elektronik.\nBaris kedua: <b>bukan HTML</b> & “kutipan”.",
    "where": "Kantor Kecamatan Banjarangkan, loket 2",
    "when": "September sampai Oktober 2026",
    "how": "Meminta Rp100.000 di luar ketentuan agar KTP cepat selesai;\ntanpa kuitansi resmi.",
    "loss_estimate": "Sekitar Rp15 juta",
    "evidence_note": "Foto kuitansi dan rekaman percakapan.",
    "person1_name": "I Made Contoh",
    "person1_position": "Petugas loket",
    "person1_unit": "Kecamatan Banjarangkan",
}
PHONE_WIDTH = PHONE["width"]
DESKTOP_WIDTH = 1280
WHO = "Oknum petugas loket pelayanan"
MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
             "November", "Desember")


def evidence(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    pdf = folder / "kuitansi.pdf"
    pdf.write_bytes(b"%PDF-1.4 kuitansi palsu\n" + bytes(range(256)) * 40)
    jpg = folder / "foto loket.jpg"
    jpg.write_bytes(b"\xff\xd8\xff" + b"x" * 5000)
    note = folder / "pesan-tambahan.png"
    note.write_bytes(b"\x89PNG" + b"y" * 3000)
    return [pdf, jpg, note]


def fill_report(browser: Browser, texts: dict[str, str], who: str) -> None:
    browser.choose("category", "pungli")
    browser.open_details()  # "reported persons" is folded away until asked for
    for name, text in texts.items():
        browser.type(name, text)
    browser.type("who", who)
    browser.type("incident_date", "1/10/2026")  # day first, whatever locale the browser announces


def menu_first(browser: Browser, label: str) -> None:
    """"Pengaduan Saya" is the header menu's first link, at the top; on a wide
    screen in the window's right half."""
    first = browser.find("header.top nav a")
    assert first.text == "Pengaduan Saya", (label, first.text)
    logged_in = bool(browser.find_all('header.top form[action="/logout"]'))
    assert first.get_attribute("href").endswith("/mailbox" if logged_in else "/submit"), label
    box = browser.box_of("header.top nav a")
    assert box and box.y < 120, (label, box)
    if not browser.phone:
        assert box.x >= DESKTOP_WIDTH / 2, (label, f"the link starts at {box.x:.0f} px of {DESKTOP_WIDTH}")


def send_button_hidden_until_ticked(browser: Browser, form_action: str) -> None:
    """The send button appears only once the confirmation is ticked, from the keyboard."""
    from selenium.webdriver.common.keys import Keys

    button = f'form[action="{form_action}"] button[type=submit]'
    box = browser.find(f'form[action="{form_action}"] input[name=confirm]')
    if box.is_selected():
        box.send_keys(Keys.SPACE)
    assert not box.is_selected() and not browser.find(button).is_displayed()
    assert browser.box_of(button) is None, "hidden from every reader, not only from sight"
    box.send_keys(Keys.SPACE)
    assert box.is_selected() and browser.find(button).is_displayed()


def staff_answer(server, code: str) -> None:
    """The Inspektorat changes the status and replies, over HTTP on the staff listener."""
    staff = staff_over_http(server, StaffAccount.add(server, "petugas"))
    assert staff_post(staff, f"/staff/reports/{code}/status", {"status": "verification", "confirm_from": "received"}).status == 303
    assert staff_post(staff, f"/staff/reports/{code}/reply", {"body": "Mohon kirim salinan kuitansi."}).status == 303


def reporter_journey(browser: Browser, files: list[Path], server, check=None) -> None:
    """Home → criteria → form → a server-side validation error → credentials →
    login → case → message with a file → a staff reply marked in the mailbox →
    second report → logout."""
    def step(label: str) -> None:
        browser.step(label, check)
        menu_first(browser, label)

    browser.open("/mailbox")
    assert browser.path == "/login?next=required"
    assert "Silakan masuk terlebih dahulu" in browser.text("main")
    browser.open("/")
    step("home")
    assert browser.find("h1").text.startswith("Whistleblowing System")
    assert browser.find(".fingerprint").text  # the org key's fingerprint, to compare with the published one

    browser.click_link("/criteria")
    step("criteria")
    assert "4W+1H" in browser.find("h1").text

    browser.click_link("/submit", within="header")
    step("form")
    assert browser.path == "/submit"
    assert browser.find_all('main a[href="/login"]'), "a line for those who already have a codename"

    # An error only the server can find. Every browser check passes ("who" is
    # required, and spaces are a value), but the server strips the spaces and
    # finds the field empty: the page comes back with all the typed text.
    fill_report(browser, TYPED, who="   ")
    browser.attach("attachments", files[0], files[1])
    send_button_hidden_until_ticked(browser, "/submit")
    browser.step("form-filled", check)
    browser.press("/submit")
    step("form-error")
    assert browser.find("[role=alert]").text
    assert browser.find("#who-error").text
    who = browser.find("#who")
    assert who.get_attribute("aria-invalid") == "true"
    assert "who-error" in who.get_attribute("aria-describedby").split()
    for name, text in TYPED.items():
        assert browser.value(name) == text, name
    assert browser.chosen("category") == "pungli"
    assert browser.value("incident_date") == "1/10/2026"
    assert browser.find_all("details[open] #person1_name"), "the persons part stays open when it holds text"
    # Files cannot come back (a browser never re-fills a file field): the page says so.
    assert browser.value("attachments") == ""
    assert "berkas" in browser.find("[role=alert]").text.lower()

    browser.type("who", WHO)
    browser.attach("attachments", files[0], files[1])
    send_button_hidden_until_ticked(browser, "/submit")
    browser.press("/submit")
    step("credentials")
    codename = browser.text("#codename")
    passphrase = browser.text("#passphrase")
    code = browser.text("#report-code")
    assert len(codename) == 14 and len(passphrase.split()) == 7 and code.startswith("WBS-")
    # No session comes with the first report: nothing to log out of yet.
    assert not browser.find_all('form[action="/logout"]')

    browser.click_link("/login")
    step("login")
    browser.fill_and_press("/login", codename=codename, passphrase=passphrase)
    step("mailbox")
    assert browser.path == "/mailbox"
    card = browser.text(".card")
    assert code in card and "Pungutan liar" in card and "Diterima" in card
    assert any(month in card for month in MONTHS_ID) and not browser.find_all(".mark")

    browser.click_link(f"/mailbox/reports/{code}")
    step("case")
    page = browser.text("main")
    for text in (TYPED["loss_estimate"], "I Made Contoh", "kuitansi.pdf", "foto loket.jpg", "1 Oktober 2026"):
        assert text in page, text
    assert browser.find("dl.report").text.count("bukan HTML") == 1

    browser.type("body", "Saya menambahkan foto kuitansi kedua.")
    browser.attach("attachments", files[2])
    browser.press(f"/mailbox/reports/{code}/messages")
    step("message-sent")
    assert browser.find("[role=status]").text
    thread = browser.text(".entry:last-of-type")
    assert "Saya menambahkan foto kuitansi kedua." in thread and "pesan-tambahan.png" in thread

    staff_answer(server, code)
    browser.click_link("/mailbox", within="nav")
    step("mailbox-answered")
    mark = browser.find(".card .mark")
    assert mark.is_displayed() and mark.text == "Balasan baru (2)"
    assert "Verifikasi" in browser.text(".card")
    browser.click_link(f"/mailbox/reports/{code}")
    step("case-answered")
    latest = browser.box_of('a[href="#latest-reply"]')
    assert latest and latest.y < browser.box_of("dl.report").y, "the newest answer is linked before the report"
    assert "Mohon kirim salinan kuitansi." in browser.text("#latest-reply")
    browser.click_link("/mailbox", within="nav")
    assert not browser.find_all(".mark"), "read: the mark is gone"

    browser.click_link("/mailbox/submit", within="nav")
    step("second-form")
    fill_report(browser, {"what": "Laporan kedua tentang pengadaan", "where": "Dinas PUPR", "when": "Agustus 2026",
                          "how": "Pemenang lelang ditentukan sebelum lelang dibuka"}, who="Panitia lelang")
    send_button_hidden_until_ticked(browser, "/mailbox/submit")
    browser.press("/mailbox/submit")
    step("second-credentials")
    code2 = browser.text("#report-code")
    assert code2 != code and not browser.find_all("#passphrase")

    browser.click_link("/mailbox")
    step("mailbox-two")
    assert code in browser.text("main") and code2 in browser.text("main")

    browser.press("/logout")
    step("logged-out")
    assert browser.path == "/?out=1" and "Anda telah keluar" in browser.text("[role=status]")
    browser.open("/mailbox")
    assert browser.path == "/login?next=required", "after logout the mailbox sends you to the login page"
    assert "Silakan masuk terlebih dahulu" in browser.text("[role=status]")


def test_reporter_journey_without_javascript(browsers, server, tmp_path):
    browser = browsers("reporter", server)
    reporter_journey(browser, evidence(tmp_path / "files"), server)


def fits_a_phone(browser: Browser, label: str) -> None:
    # A phone widens the layout viewport to fit content that overflows, so the
    # viewport's width is checked as well as the content's.
    content, viewport = browser.overflow()
    assert content <= viewport == PHONE_WIDTH, \
        f"{label}: the page is {content} px wide on a {PHONE_WIDTH} px screen: {browser.wider_than(PHONE_WIDTH)}"
    small = browser.small_tap_targets()
    assert not small, f"{label}: tap targets under 44 px: {small}"
    split = browser.split_words()
    assert not split, f"{label}: words split across lines: {split}"


def test_reporter_journey_on_a_360px_phone(browsers, server, tmp_path):
    browser = browsers("phone", server, phone=True)
    reporter_journey(browser, evidence(tmp_path / "files"), server, check=fits_a_phone)


def test_the_longest_status_names_fit_a_phone(browsers, server):
    """The mailbox table with the statuses whose names are longest, on the phone."""
    from harness import StaffAccount, reporter_over_http, staff_over_http, staff_post, submit_over_http

    first = submit_over_http(server)
    reporter = reporter_over_http(server, first)
    codes = [first.code] + [submit_over_http(server, reporter, "/mailbox/submit").code for _ in range(2)]
    staff = staff_over_http(server, StaffAccount.add(server, "kepala"))
    for code, path in zip(codes, (["verification", "investigation"], ["verification", "referred"], ["rejected"])):
        for before, status in zip(["received", *path], path):
            assert staff_post(staff, f"/staff/reports/{code}/status",
                              {"status": status, "confirm_from": before}).status == 303

    browser = browsers("phone", server, phone=True)
    browser.open("/login")
    browser.fill_and_press("/login", codename=first.codename, passphrase=first.passphrase)
    for lang in ("id", "en"):
        browser.open(f"/mailbox?lang={lang}")
        browser.step(f"mailbox-{lang}", fits_a_phone)
        for code in codes:
            browser.open(f"/mailbox/reports/{code}")
            browser.step(f"case-{code}-{lang}", fits_a_phone)
