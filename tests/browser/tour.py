"""Every page of both listeners, in every state a person can bring it to,
fetched over plain HTTP: the bytes exactly as served, for the Nu checker and
the link check. (test_accessibility.py walks the same states in a browser.)"""

from __future__ import annotations

from dataclasses import dataclass

from harness import (Client, FileField, Receipt, Server, StaffAccount, report_fields, reporter_over_http,
                     staff_over_http, submit_over_http)


@dataclass
class Page:
    name: str
    staff: bool
    path: str
    status: int
    html: str


def reporter_pages(server: Server) -> tuple[list[Page], Receipt]:
    pages: list[Page] = []
    client = server.client()

    def get(name: str, path: str, expect: int = 200) -> None:
        response = client.get(path)
        assert response.status == expect, (name, response.status)
        pages.append(Page(name, False, path, response.status, response.text))

    def keep(name: str, path: str, response, expect: int) -> None:
        assert response.status == expect, (name, response.status, response.text[:500])
        pages.append(Page(name, False, path, response.status, response.text))

    for path in ("/", "/criteria", "/org-key", "/submit", "/login"):
        get(path.strip("/") or "home", path)
    get("not-found", "/tidak-ada", 404)
    for path in ("/", "/criteria", "/submit"):
        get(f"{path.strip('/') or 'home'}-en", f"{path}?lang=en")
    client.get("/?lang=id")

    form = client.get("/submit")
    blank = {k: "   " for k in ("what", "who", "where", "when", "how")}
    keep("submit-errors", "/submit", client.post_multipart(
        "/submit", report_fields(form, **blank, incident_date="kemarin") +
        [("attachments", FileField("bukti.pdf", b"%PDF bukti"))]), 400)
    form = client.get("/submit")
    done = client.post_multipart("/submit", report_fields(form))
    keep("submitted", "/submit", done, 200)
    receipt = Receipt(*(done.element_text(i) for i in ("codename", "passphrase", "report-code")))

    form = client.get("/login")
    keep("login-failed", "/login", client.post("/login", {"csrf_token": form.csrf, "codename": receipt.codename,
                                                          "passphrase": "bukan frasa sandinya"}), 200)
    client = reporter_over_http(server, receipt)
    get("mailbox", "/mailbox")
    case = f"/mailbox/reports/{receipt.code}"
    get("case", case)
    form = client.get(case)
    keep("case-message-error", case, client.post_multipart(f"{case}/messages", [("csrf_token", form.csrf),
                                                                                ("body", "  ")]), 400)
    form = client.get(case)
    sent = client.post_multipart(f"{case}/messages", [("csrf_token", form.csrf), ("body", "Tambahan bukti.")])
    assert sent.status == 303
    get("case-message-sent", sent.headers["Location"])
    get("mailbox-submit", "/mailbox/submit")
    form = client.get("/mailbox/submit")
    keep("mailbox-submitted", "/mailbox/submit", client.post_multipart("/mailbox/submit", report_fields(form)), 200)
    get("mailbox-en", "/mailbox?lang=en")
    client.get("/?lang=id")
    get("delete", "/mailbox/delete")
    form = client.get("/mailbox/delete")
    keep("deleted", "/mailbox/delete", client.post("/mailbox/delete", {"csrf_token": form.csrf, "confirm": "1"}),
         200)
    return pages, submit_over_http(server)


def staff_pages(server: Server, receipt: Receipt) -> list[Page]:
    pages: list[Page] = []
    account = StaffAccount.add(server, "kepala", "admin")
    client = server.staff_client()

    def get(name: str, path: str, expect: int = 200) -> None:
        response = client.get(path)
        assert response.status == expect, (name, response.status)
        pages.append(Page(name, True, path, response.status, response.text))

    def post(name: str, path: str, fields: dict[str, str], expect: int = 200) -> None:
        form = client.get("/staff/login")  # any page: the token is the session's
        response = client.post(path, {"csrf_token": form.csrf, **fields})
        assert response.status == expect, (name, response.status, response.text[:500])
        pages.append(Page(name, True, path, response.status, response.text))

    get("staff-login", "/staff/login")
    post("staff-login-failed", "/staff/login", {"username": account.name, "password": "salah-salah-salah",
                                                "totp": "000000"})
    form = client.get("/staff/login")
    first = client.post("/staff/login", {"csrf_token": form.csrf, "username": account.name,
                                         "password": account.password, "totp": account.code()})
    assert first.headers["Location"] == "/staff/password"
    get("staff-password-forced", "/staff/password")
    post("staff-password-error", "/staff/password", {"old": account.password, "new": "kata-sandi-baru-satu",
                                                     "confirm": "kata-sandi-baru-dua"}, 400)
    form = client.get("/staff/password")
    new = "kata-sandi-baru-yang-panjang"
    assert client.post("/staff/password", {"csrf_token": form.csrf, "old": account.password, "new": new,
                                           "confirm": new}).status == 303
    code = receipt.code
    for name, path in (("staff-dashboard", "/staff"), ("staff-reports", "/staff/reports"),
                       ("staff-reports-filtered", "/staff/reports?status=received"),
                       ("staff-report", f"/staff/reports/{code}"), ("staff-import", "/staff/import"),
                       ("staff-stats", "/staff/stats"), ("staff-users", "/staff/users"),
                       ("staff-dashboard-en", "/staff?lang=en")):
        get(name, path)
    client.get("/staff?lang=id")
    form = client.get("/staff/login")
    asked = client.post(f"/staff/reports/{code}/status", {"csrf_token": form.csrf, "status": "verification"})
    assert asked.status == 200, asked.status
    pages.append(Page("staff-status-confirm", True, f"/staff/reports/{code}/status", asked.status, asked.text))
    for name, path, fields in (("staff-status-changed", f"/staff/reports/{code}/status", {"status": "verification", "confirm_from": "received"}),
                               ("staff-replied", f"/staff/reports/{code}/reply", {"body": "Mohon kirim kuitansi."})):
        form = client.get("/staff/login")
        done = client.post(path, {"csrf_token": form.csrf, **fields})
        assert done.status == 303, (name, done.status)
        get(name, done.headers["Location"])
    form = client.get("/staff/import")
    rejected = client.post_multipart("/staff/import", [("csrf_token", form.csrf),
                                                       ("bundle", FileField("balasan.wbsr", b"bukan bundel"))])
    assert rejected.status == 400, rejected.status
    pages.append(Page("staff-import-rejected", True, "/staff/import", rejected.status, rejected.text))
    post("staff-user-added", "/staff/users", {"action": "add", "username": "analis", "role": "handler"})
    get("staff-audit", "/staff/audit")
    get("staff-not-found", "/staff/tidak-ada", 404)
    handler = staff_over_http(server, StaffAccount.add(server, "pemeriksa", "handler"))
    forbidden = handler.get("/staff/users")
    assert forbidden.status == 403, forbidden.status
    pages.append(Page("staff-forbidden", True, "/staff/users", forbidden.status, forbidden.text))
    return pages


def all_pages(server: Server) -> list[Page]:
    reporter, receipt = reporter_pages(server)
    return reporter + staff_pages(server, receipt)


def client_for(server: Server, page: Page) -> Client:
    return server.staff_client() if page.staff else server.client()
