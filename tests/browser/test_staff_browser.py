"""The staff journey on the staff listener, in a real Chromium with JavaScript
off: TOTP login, the forced password change, the dashboard, a status change
and an online reply; then the reporter, in a browser of their own, logs in
and reads the reply."""

from __future__ import annotations

import pytest

from harness import StaffAccount, submit_over_http

pytestmark = pytest.mark.browser

REPLY = "Terima kasih. Mohon kirim salinan kuitansi bila ada."


def test_staff_journey_then_the_reporter_reads_the_reply(browsers, server):
    receipt = submit_over_http(server)  # the reporter's side of sending is test_reporter_browser's
    account = StaffAccount.add(server, "kepala", "admin")

    staff = browsers("staff", server, staff=True)
    staff.open("/staff/login")
    staff.step("login")
    staff.fill_and_press("/staff/login", username=account.name, password=account.password, totp=account.code())
    staff.step("forced-password-change")
    assert staff.path == "/staff/password"
    new_password = "kata-sandi-baru-yang-panjang"
    staff.fill_and_press("/staff/password", old=account.password, new=new_password, confirm=new_password)

    staff.step("dashboard")
    assert staff.path == "/staff"
    assert staff.text("#count-received") == "1"
    staff.click_link(f"/staff/reports/{receipt.code}")
    staff.step("report")
    assert staff.find("h1").text == receipt.code
    assert "Pungutan" not in staff.text("main"), "staff pages show metadata only"

    staff.choose("status", "verification")
    staff.press(f"/staff/reports/{receipt.code}/status")
    staff.step("status-confirm")
    assert "Verifikasi" in staff.text("#confirm-status") and "Diterima" in staff.text(".timeline")
    staff.press(f"/staff/reports/{receipt.code}/status")
    staff.step("status-changed")
    assert staff.find("[role=status]").text
    assert "Verifikasi" in staff.text(".timeline")

    staff.type("body", REPLY)
    staff.press(f"/staff/reports/{receipt.code}/reply")
    staff.step("replied")
    assert staff.find("[role=status]").text
    assert "Balasan (petugas, daring)" in staff.text("table")
    assert REPLY not in staff.text("main"), "a reply is sealed on arrival, never shown back on the staff side"

    staff.press("/staff/logout")
    staff.step("logged-out")
    staff.open("/staff")
    assert staff.path == "/staff/login"

    reporter = browsers("reporter", server)
    reporter.open("/login")
    reporter.fill_and_press("/login", codename=receipt.codename, passphrase=receipt.passphrase)
    reporter.step("mailbox")
    assert "Verifikasi" in reporter.text(".card") and "Balasan baru" in reporter.text(".card .mark")
    reporter.click_link(f"/mailbox/reports/{receipt.code}")
    reporter.step("case-with-reply")
    assert REPLY in reporter.text(".entry.org")
