"""Accessibility of every reporter and staff page, in every state a person can
bring it to: axe-core finds no serious or critical violation, every field has
a label, every error message is tied to its field, the keyboard reaches every
control in document order with a visible focus ring, and (reporter pages, on
a 360 px phone) nothing overflows and every control is big enough to tap.

axe-core is JavaScript, so these audit sessions have JavaScript on. They see
the same pages as a reporter with JavaScript off: each page is first checked
to carry no <script> at all (and the server's CSP says script-src 'none').
axe is injected through the DevTools protocol (Runtime.evaluate), which the
page's CSP does not govern. (In a JavaScript-off session, Runtime.evaluate
still runs, but axe's promise never settles: page timers do not fire.)
"""

from __future__ import annotations

import pytest

from browserkit import INTERACTIVE, PHONE, Browser
from harness import StaffAccount, submit_over_http

pytestmark = pytest.mark.browser

IMPACTS = ("serious", "critical")

UNLABELLED = """
return [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type))
  .filter(e => !(e.labels && [...e.labels].some(l => l.textContent.trim())))
  .map(e => e.outerHTML.slice(0, 120));
"""

UNTIED_ERRORS = """
const problems = [];
for (const error of document.querySelectorAll('.field-error')) {
  const owners = [...document.querySelectorAll('[aria-describedby]')]
    .filter(f => f.getAttribute('aria-describedby').split(/\\s+/).includes(error.id));
  if (!error.id || owners.length !== 1) problems.push(`error #${error.id} described ${owners.length} fields`);
  else if (owners[0].getAttribute('aria-invalid') !== 'true') problems.push(`#${owners[0].id} lacks aria-invalid`);
}
for (const field of document.querySelectorAll('[aria-invalid=true]')) {
  const ids = (field.getAttribute('aria-describedby') || '').split(/\\s+/);
  if (!ids.some(id => document.getElementById(id)?.classList.contains('field-error')))
    problems.push(`#${field.id} is invalid but no error message describes it`);
}
for (const field of document.querySelectorAll('[aria-describedby]'))
  for (const id of field.getAttribute('aria-describedby').split(/\\s+/))
    if (!document.getElementById(id)) problems.push(`#${field.id} is described by missing #${id}`);
return problems;
"""

# The controls a keyboard must reach, in document order (rendered ones only;
# every <details> is opened first, as a person would with Enter on its summary).
CONTROLS = """
document.querySelectorAll('details').forEach(d => d.open = true);
window.__controls = [...document.querySelectorAll(arguments[0])].filter(e => e.getClientRects().length);
return window.__controls.map(e => e.outerHTML.slice(0, 80));
"""
FOCUSED = """
const e = document.activeElement, style = getComputedStyle(e);
return [window.__controls.indexOf(e), e.outerHTML.slice(0, 80),
        style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0];
"""


class Audit:
    """The checks run at each step; findings are gathered, then asserted at the end."""

    def __init__(self, axe_source: str, *, phone: bool) -> None:
        self.axe_source = axe_source
        self.phone = phone
        self.findings: dict[str, list[str]] = {}
        self.pages = 0

    def __call__(self, browser: Browser, label: str) -> None:
        self.pages += 1
        found = self.findings.setdefault(label, [])
        if browser.find_all("script"):
            found.append("the page carries a <script>")
        found += [f"axe {v}" for v in self.axe(browser)]
        found += [f"no label: {e}" for e in browser.driver.execute_script(UNLABELLED)]
        found += browser.driver.execute_script(UNTIED_ERRORS)
        if self.phone:
            content, viewport = browser.overflow()
            if not content <= viewport == PHONE["width"]:
                found.append(f"{content} px wide on a {PHONE['width']} px screen: {browser.wider_than(PHONE['width'])}")
            found += [f"small tap target {t}" for t in browser.small_tap_targets()]
        found += self.keyboard(browser)
        if not found:
            del self.findings[label]

    def axe(self, browser: Browser) -> list[str]:
        browser.cdp("Runtime.evaluate", {"expression": self.axe_source})
        result = browser.cdp("Runtime.evaluate", {
            "expression": "axe.run(document).then(r => ({passes: r.passes.length, violations: r.violations.map("
                          "v => ({id: v.id, impact: v.impact, help: v.help,"
                          " nodes: v.nodes.map(n => n.target.join(' '))}))}))",
            "awaitPromise": True, "returnByValue": True, "timeout": 60000})
        value = result["result"]["value"]
        assert value["passes"] > 10, "axe ran no checks"
        return [f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}" for v in value["violations"]
                if v["impact"] in IMPACTS]

    def keyboard(self, browser: Browser) -> list[str]:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        controls = browser.driver.execute_script(CONTROLS, INTERACTIVE)
        if not controls:
            return []
        # A headless window may not hold the system focus, and then no :focus
        # style applies: emulate a focused page, as a person's browser is.
        browser.cdp("Emulation.setFocusEmulationEnabled", {"enabled": True})
        browser.driver.execute_script("window.__controls[0].focus()")  # the skip link, where Tab starts
        # Some controls take several Tab presses (a date field: month, day,
        # year, then its calendar button): one control is one run of stops.
        order: list[int] = []
        ringed: dict[int, bool] = {}
        unknown: list[str] = []
        for _ in range(4 * len(controls) + 8):
            index, html, ring = browser.driver.execute_script(FOCUSED)
            if index < 0:
                if order and order[-1] == len(controls) - 1:
                    break  # past the last control: focus has left the page
                unknown.append(html)
            elif not order or order[-1] != index:
                if index in ringed:
                    break  # Tab came round to a control already met
                order.append(index)
            if index >= 0:
                ringed[index] = ringed.get(index, False) or ring
            ActionChains(browser.driver).send_keys(Keys.TAB).perform()
        problems = [f"no visible focus on {controls[i]}" for i, ring in ringed.items() if not ring]
        problems += [f"Tab stops on something that is not a control: {html}" for html in unknown]
        if order != list(range(len(controls))):
            missed = [controls[i] for i in range(len(controls)) if i not in order]
            problems.append(f"Tab order {order} of {len(controls)} controls; not reached: {missed}")
        return problems

    def assert_clean(self, at_least: int) -> None:
        assert self.pages >= at_least, f"only {self.pages} pages audited"
        assert not self.findings, "\n".join(f"{page}:\n  " + "\n  ".join(found) for page, found in self.findings.items())


def login(browser: Browser, codename: str, passphrase: str) -> None:
    browser.open("/login")
    browser.fill_and_press("/login", codename=codename, passphrase=passphrase)


def test_reporter_pages(browsers, server, axe_source, tmp_path):
    audit = Audit(axe_source, phone=True)
    browser = browsers("reporter-audit", server, js=True, phone=True)
    for path in ("/", "/criteria", "/org-key", "/submit", "/login", "/tidak-ada",
                 "/?lang=en", "/criteria?lang=en", "/submit?lang=en", "/?lang=id"):
        browser.open(path)
        browser.step(path.strip("/").replace("?", "-") or "home", audit)

    # Server-side errors on every required text (spaces pass the browser's
    # `required`), a refused date (typed into a browser without a date picker),
    # and a file that has to be chosen again.
    browser.open("/submit")
    browser.choose("category", "pungli")
    for name in ("what", "who", "where", "when", "how"):
        browser.type(name, "   ")
    evidence = tmp_path / "bukti.pdf"
    evidence.write_bytes(b"%PDF bukti")
    browser.attach("attachments", evidence)
    browser.tick("input[name=confirm]")
    browser.type("incident_date", "kemarin")
    browser.press("/submit")
    browser.step("submit-errors", audit)
    assert len(browser.find_all(".field-error")) == 6

    receipt = submit_over_http(server)
    login(browser, receipt.codename, "bukan frasa sandinya")
    browser.step("login-failed", audit)

    browser.open("/submit")
    browser.choose("category", "suap_gratifikasi")
    for name in ("what", "who", "where", "when", "how"):
        browser.type(name, f"Isi {name}")
    browser.tick("input[name=confirm]")
    browser.press("/submit")
    browser.step("submitted", audit)
    codename, passphrase, code = (browser.text(f"#{i}") for i in ("codename", "passphrase", "report-code"))

    login(browser, codename, passphrase)
    browser.step("mailbox", audit)
    case = f"/mailbox/reports/{code}"
    browser.open(case)
    browser.step("case", audit)
    browser.press(f"{case}/messages")  # nothing typed, nothing attached
    browser.step("case-message-error", audit)
    assert browser.find("#body").get_attribute("aria-invalid") == "true"
    browser.type("body", "Tambahan keterangan.")
    browser.press(f"{case}/messages")
    browser.step("case-message-sent", audit)
    for path in ("/mailbox/submit", "/mailbox?lang=en", "/mailbox/delete?lang=id"):
        browser.open(path)
        browser.step(path.strip("/").replace("/", "-").replace("?", "-"), audit)
    browser.tick("input[name=confirm]")
    browser.press("/mailbox/delete")
    browser.step("deleted", audit)
    audit.assert_clean(at_least=20)


def test_staff_pages(browsers, server, axe_source):
    receipt = submit_over_http(server)
    account = StaffAccount.add(server, "kepala", "admin")
    audit = Audit(axe_source, phone=False)
    browser = browsers("staff-audit", server, staff=True, js=True)
    browser.open("/staff/login")
    browser.step("login", audit)
    browser.fill_and_press("/staff/login", username=account.name, password="bukan-kata-sandinya", totp="123456")
    browser.step("login-failed", audit)
    browser.fill_and_press("/staff/login", username=account.name, password=account.password, totp=account.code())
    browser.step("password-forced", audit)
    browser.fill_and_press("/staff/password", old=account.password, new="kata-sandi-baru-satu",
                           confirm="kata-sandi-baru-dua")
    browser.step("password-mismatch", audit)
    new = "kata-sandi-baru-yang-panjang"
    browser.fill_and_press("/staff/password", old=account.password, new=new, confirm=new)
    browser.step("dashboard", audit)

    code = receipt.code
    for path in ("/staff/reports", "/staff/reports?status=received", f"/staff/reports/{code}", "/staff/import",
                 "/staff/stats", "/staff/users", "/staff/audit", "/staff?lang=en", f"/staff/reports/{code}?lang=en",
                 "/staff/tidak-ada?lang=id"):
        browser.open(path)
        browser.step(path.strip("/").replace("/", "-").replace("?", "-"), audit)
    browser.open(f"/staff/reports/{code}")
    browser.choose("status", "verification")
    browser.press(f"/staff/reports/{code}/status")
    browser.step("status-confirm", audit)
    browser.press(f"/staff/reports/{code}/status")
    browser.step("status-changed", audit)
    browser.type("body", "Mohon kirim kuitansi.")
    browser.press(f"/staff/reports/{code}/reply")
    browser.step("replied", audit)
    browser.open("/staff/import")
    bundle = browser.profile / "balasan.wbsr"
    bundle.write_bytes(b"bukan bundel balasan")
    browser.attach("bundle", bundle)
    browser.press("/staff/import")
    browser.step("import-rejected", audit)
    browser.open("/staff/users")
    browser.type("new-user", "analis")
    browser.press_form_of("new-user")
    browser.step("user-added", audit)
    assert browser.find("#new-password").text
    audit.assert_clean(at_least=18)


def test_desk_pages(browsers, axe_source, tmp_path):
    from desk_support import start_desk
    from desk_tour import CODE, attachment_id, desk_fixture, require_mat2
    from test_keytools_support import PASSPHRASE

    require_mat2()
    key, inbox, outbox = desk_fixture(tmp_path)
    desk = start_desk(tmp_path, key, tmp_path / "kasus", "--inbox", inbox, "--outbox", outbox)
    try:
        audit = Audit(axe_source, phone=False)
        browser = browsers("desk-audit", js=True)
        browser.base = f"http://127.0.0.1:{desk.port}"
        browser.open("/unlock")
        browser.step("unlock", audit)
        browser.fill_and_press("/unlock", passphrase="bukan frasa sandinya")
        browser.step("unlock-failed", audit)
        browser.fill_and_press("/unlock", passphrase=PASSPHRASE)
        browser.step("cases-empty", audit)
        browser.open("/import")
        browser.step("import", audit)
        browser.press_form_of_value("rusak.zip")
        browser.step("import-damaged", audit)
        browser.open("/import")
        browser.press_form_of_value("ekspor.zip")
        browser.step("imported", audit)
        for path in ("/", "/?q=ZZZZ", f"/cases/{CODE}", "/replies", "/cases/WBS-AAAAA-AAAAA", "/tidak-ada"):
            browser.open(path)
            browser.step(path.strip("/").replace("/", "-").replace("?", "-") or "cases", audit)
        for name in ("kuitansi.pdf", "foto.png"):  # a broken PDF mat2 refuses; a photo it cleans
            browser.open(f"/cases/{CODE}")
            browser.press(f"/cases/{CODE}/files/{attachment_id(tmp_path / 'kasus', name)}/clean")
            browser.step(f"clean-{name}", audit)
        browser.open(f"/cases/{CODE}")
        browser.type("body", "   ")
        browser.press(f"/cases/{CODE}/reply")
        browser.step("case-reply-error", audit)
        browser.type("body", "Terima kasih.")
        browser.choose("new-status", "verification")
        browser.press(f"/cases/{CODE}/reply")
        browser.step("case-replied", audit)
        browser.open("/replies")
        browser.step("replies", audit)
        browser.click_link("/replies/bundle")
        browser.step("replies-written", audit)
        audit.assert_clean(at_least=16)
    finally:
        desk.stop()
