"""The keyholder desk in a real Chromium with JavaScript off: unlock (a wrong passphrase
first), import what a real ``wbs serve`` exported, read the report, download the attachment
byte for byte, reply with a new status, take the reply bundle, import it on that server, and
the reporter's mailbox shows the reply and the status. Then a damaged bundle, an unknown
case, and the idle lock."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import start_server, wbs
from desk_support import start_desk
from test_keytools_support import PASSPHRASE, write_cheap_keyring
from test_reporter_journey import login, submit
from wbsclient import FileField

pytestmark = pytest.mark.browser

EVIDENCE = b"%PDF-1.4 kuitansi asli\n" + bytes(range(256)) * 400
REPLY = "Terima kasih. Laporan Anda sedang kami verifikasi."


def downloads_to(browser, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    browser.cdp("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def downloaded(folder: Path, pattern: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(pattern) if not p.name.endswith(".crdownload")]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {pattern} in {folder} after {timeout} s: {list(folder.iterdir())}")


def display(browser, css: str) -> str:
    """The computed ``display`` of an element, through DevTools (page script is off)."""
    root = browser.cdp("DOM.getDocument")["root"]["nodeId"]
    node = browser.cdp("DOM.querySelector", {"nodeId": root, "selector": css})["nodeId"]
    browser.cdp("CSS.enable")
    style = browser.cdp("CSS.getComputedStyleForNode", {"nodeId": node})["computedStyle"]
    return next(p["value"] for p in style if p["name"] == "display")


def test_keyholder_answers_a_report_at_the_desk(browsers, tmp_path):
    key, _, ring = write_cheap_keyring(tmp_path / "keyholder")
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server", keyring=ring)
    desk = start_desk(tmp_path, key, tmp_path / "kasus")
    try:
        reporter = server.client()
        done = submit(reporter, files=[FileField("kuitansi asli.pdf", EVIDENCE)])
        codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
        export = tmp_path / "ekspor.zip"
        wbs("export", "--out", str(export), "--all", "--config", str(server.config))
        damaged = tmp_path / "rusak.zip"
        data = bytearray(export.read_bytes())
        data[len(data) // 3] ^= 1
        damaged.write_bytes(bytes(data))

        browser = browsers("desk")
        browser.base = f"http://127.0.0.1:{desk.port}"
        downloads_to(browser, tmp_path / "unduhan")
        browser.open("/")
        browser.step("locked")
        assert browser.path == "/unlock"
        browser.fill_and_press("/unlock", passphrase="bukan frasa sandinya")
        browser.step("wrong-passphrase")
        assert "Frasa sandi salah" in browser.text("#unlock-error")
        browser.fill_and_press("/unlock", passphrase=PASSPHRASE)
        browser.step("unlocked")
        assert browser.path == "/" and browser.find("#no-cases")

        browser.click_link("/import", within="header")
        browser.attach("bundle", damaged)
        browser.press("/import")
        browser.step("damaged-refused")
        assert "nothing from this bundle was written" in browser.text("main")

        browser.open("/import")
        browser.attach("bundle", export)
        browser.press("/import")
        browser.step("imported")
        assert "2 item baru" in browser.text("#import-result")

        browser.click_link("/", within="header")
        browser.step("cases")
        assert "2 baru" in browser.text(f"#case-{code}")
        browser.click_link(f"/cases/{code}")
        browser.step("case")
        assert "Pungutan liar" in browser.text("#report") and "kuitansi asli.pdf" in browser.text("#report")

        browser.find("#report ul.files a").click()
        saved = downloaded(tmp_path / "unduhan", "*kuitansi_asli.pdf")
        assert saved.read_bytes() == EVIDENCE

        browser.type("body", REPLY)
        browser.choose("new-status", "verification")
        browser.press(f"/cases/{code}/reply")
        browser.step("replied")
        assert REPLY in browser.text("#thread")

        browser.click_link("/replies", within="header")
        browser.step("outbox")
        assert code in browser.text("#pending")
        browser.find("#take-bundle").click()
        bundle = downloaded(tmp_path / "unduhan", "wbs-replies-*.wbsr")
        browser.open("/replies")
        browser.step("outbox-taken")
        assert browser.find("#none-pending") and code in browser.text("#taken")

        imported = wbs("import", str(bundle), "--config", str(server.config))
        assert "1 new repl(ies)" in imported.stdout and "1 status change(s)" in imported.stdout
        mailbox = browsers("reporter")
        mailbox.base = f"http://127.0.0.1:{server.port}"
        mailbox.open("/login")
        mailbox.fill_and_press("/login", codename=codename, passphrase=passphrase)
        mailbox.open(f"/mailbox/reports/{code}")
        mailbox.step("reporter-reads")
        assert REPLY in mailbox.text("main") and "Verifikasi" in mailbox.text("main")

        browser.open(f"/cases/{code}")
        browser.cdp("Emulation.setEmulatedMedia", {"media": "print"})
        browser.step("case-printed")
        printed = {css: display(browser, css) for css in ("header nav", "#reply", "#add-note", "footer", "#report",
                                                          "#thread", "#history")}
        assert printed == {"header nav": "none", "#reply": "none", "#add-note": "none", "footer": "none",
                           "#report": "block", "#thread": "block", "#history": "block"}
        browser.cdp("Emulation.setEmulatedMedia", {"media": ""})
        assert display(browser, "#reply") == "block"

        browser.open("/cases/WBS-AAAAA-AAAAA")
        browser.step("unknown-case")
        assert "tidak ada" in browser.text("#error-message")
        browser.press("/lock")
        browser.step("locked-by-hand")
        assert browser.path == "/unlock"
        browser.open(f"/cases/{code}")
        assert browser.path == "/unlock"
    finally:
        desk.stop()
        server.stop()


def test_idle_lock_ends_access(browsers, tmp_path):
    key, _, _ = write_cheap_keyring(tmp_path / "keyholder")
    desk = start_desk(tmp_path, key, tmp_path / "kasus", "--lock-after", "0.05")  # 3 seconds
    try:
        browser = browsers("desk-idle")
        browser.base = f"http://127.0.0.1:{desk.port}"
        browser.open("/unlock")
        browser.fill_and_press("/unlock", passphrase=PASSPHRASE)
        assert browser.path == "/"
        time.sleep(3.5)
        browser.open("/")
        browser.step("idle-locked")
        assert browser.path == "/unlock"
    finally:
        desk.stop()
