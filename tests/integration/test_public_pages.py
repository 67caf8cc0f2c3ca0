"""Every page a reporter can see, in both languages, checked as delivered by a
real server: no script, nothing from another host, strict security headers,
small pages, the right ``lang``, forms with CSRF tokens and labelled fields."""

from __future__ import annotations

import re
import socket
from html.parser import HTMLParser

import pytest

from conftest import start_server
from wbsclient import Client, FileField, Response, page_text

REPORT = {
    "category": "suap_gratifikasi",
    "what": "Penerimaan hadiah dari rekanan",
    "who": "Kepala bidang",
    "where": "Dinas Pekerjaan Umum",
    "when": "Desember 2026",
    "how": "Hadiah diantar ke rumah sebelum lelang",
}
MAX_PAGE = 16 * 1024  # the page and its stylesheet, uncompressed
URL_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "srcset", "background", "cite",
             "longdesc", "manifest", "ping", "xlink:href"}
CONTROLS = {"input", "select", "textarea"}
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}
ENGLISH = {"/": "Make a report", "/criteria": "Reporting criteria", "/submit": "Send report", "/login": "Log in"}


class Page(HTMLParser):
    """What the checks need from one HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.label_for: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []
        self.forms: list[tuple[dict[str, str | None], list[dict[str, str | None]]]] = []
        self._label_depth = 0
        self._form: list[dict[str, str | None]] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])  # type: ignore[arg-type]
        elif tag == "form":
            self._form = []
            self.forms.append((a, self._form))
        if tag in CONTROLS:
            self.controls.append((tag, a, self._label_depth > 0))
            if self._form is not None:
                self._form.append({"tag": tag, **a})
        if tag == "button" and self._form is not None:
            self._form.append({"tag": tag, **a})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth = max(0, self._label_depth - 1)
        elif tag == "form":
            self._form = None

    def links(self, **match: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == "a" and all(a.get(k) == v for k, v in match.items())]


def login(client: Client, codename: str, passphrase: str) -> Response:
    page = client.get("/login")
    return client.post("/login", {"csrf_token": page.csrf, "codename": codename, "passphrase": passphrase})


def report_fields(page: Response, **extra: str) -> list:
    return [("csrf_token", page.csrf)] + list({**REPORT, **extra}.items()) + [
        ("attachments", FileField("bukti.txt", b"bukti")), ("confirm", "1")]


def visit_everything(srv, lang: str) -> list[tuple[str, int, Response]]:
    """(name, expected status, response) for every page a reporter can reach, in ``lang``."""
    client = srv.client()
    pages: list[tuple[str, int, Response]] = []
    if lang == "en":
        pages.append(("switch to English", 200, client.get("/?lang=en")))
    for path in ("/", "/criteria", "/submit", "/login", "/org-key"):
        pages.append((path, 200, client.get(path)))
    pages.append(("404 page", 404, client.get("/tidak-ada-halaman-ini")))
    pages.append(("404 under /mailbox/reports", 303, client.get("/mailbox/reports/WBS-AAAAA-BBBBB")))
    pages.append(("csrf error page", 403, client.post("/login", {"codename": "x", "passphrase": "y"})))
    page = client.get("/submit")
    pages.append(("form with errors", 400, client.post_multipart("/submit", [("csrf_token", page.csrf),
                                                                            ("what", "hanya apa")])))
    done = client.post_multipart("/submit", report_fields(client.get("/submit")))
    pages.append(("success page", 200, done))
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))
    pages.append(("login failed", 200, login(client, codename, "salah sekali frasa sandi ini bukan")))
    logged = login(client, codename, passphrase)
    assert logged.status == 303
    pages.append(("/mailbox", 200, client.get("/mailbox")))
    case = client.get(f"/mailbox/reports/{code}")
    pages.append(("case page", 200, case))
    sent = client.post_multipart(f"/mailbox/reports/{code}/messages", [("csrf_token", case.csrf),
                                                                       ("body", "Pesan tambahan")])
    assert sent.status == 303
    pages.append(("case page after a message", 200, client.get(sent.headers["Location"].split("#")[0])))
    pages.append(("message form with errors", 400, client.post_multipart(
        f"/mailbox/reports/{code}/messages", [("csrf_token", case.csrf), ("body", "  ")])))
    pages.append(("other's case: 404", 404, client.get("/mailbox/reports/WBS-AAAAA-BBBBB")))
    pages.append(("/mailbox/submit", 200, client.get("/mailbox/submit")))
    second = client.post_multipart("/mailbox/submit", report_fields(client.get("/mailbox/submit")))
    pages.append(("success page (logged in)", 200, second))
    pages.append(("/mailbox with two reports", 200, client.get("/mailbox")))
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("pages"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module", params=["id", "en"])
def visited(request, site):
    return request.param, visit_everything(site, request.param)


def check_headers(name: str, response: Response, *, html: bool = True) -> None:
    h = response.headers
    csp = h.get("Content-Security-Policy")
    assert csp, name
    directives = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "'unsafe-hashes'" not in csp, name
    assert directives.get("default-src") == ["'none'"], name
    assert directives.get("script-src", ["'none'"]) == ["'none'"], name
    assert "script-src-elem" not in directives and "script-src-attr" not in directives, name
    assert directives.get("frame-ancestors") == ["'none'"], name
    assert directives.get("form-action") == ["'self'"], name
    assert all("http" not in w and w != "*" for values in directives.values() for w in values), name
    assert h.get("Referrer-Policy") == "no-referrer", name
    assert h.get("X-Content-Type-Options") == "nosniff", name
    assert h.get("Cross-Origin-Opener-Policy") == "same-origin", name
    assert h.get("Cross-Origin-Resource-Policy") == "same-origin", name
    assert h.get("Permissions-Policy"), name
    assert "noindex" in (h.get("X-Robots-Tag") or ""), name
    if html:
        assert h.get("Cache-Control") == "no-store", name
        assert h.get("Content-Type", "").startswith("text/html"), name
    assert "Server" not in h and "X-Powered-By" not in h, name
    for key, value in h.items():
        assert "aiohttp" not in value.lower() and "python" not in value.lower(), (name, key, value)
    for cookie in h.get_all("Set-Cookie") or []:
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie, (name, cookie)


def check_html(name: str, html: str, page: Page) -> None:
    lower = html.lower()
    for bad in ("<script", "<iframe", "<object", "<embed", "<frame", "<applet", "<base", "<style",
                "javascript:", "@import", "@font-face", "http-equiv"):
        assert bad not in lower, (name, bad)
    assert not re.search(r"https?://", html, re.I), (name, re.findall(r"https?://\S+", html, re.I))
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", html, re.I), name
    for tag, attrs in page.tags:
        for attr, value in attrs.items():
            assert not attr.startswith("on"), (name, tag, attr)
            assert attr != "style", (name, tag, "inline style (the CSP would block it)")
            if attr in URL_ATTRS and value is not None:
                assert value.startswith(("/", "#", "?")) and not value.startswith("//"), (name, tag, attr, value)
        if tag == "link":
            assert attrs.get("rel") == "stylesheet" and (attrs.get("href") or "").startswith("/static/"), (name, attrs)
        if tag in ("img", "audio", "video", "source", "track", "input") and attrs.get("src"):
            assert attrs["src"].startswith("/") and not attrs["src"].startswith("//"), (name, attrs)


def check_forms(name: str, page: Page) -> None:
    for attrs, fields in page.forms:
        tokens = [f for f in fields if f.get("name") == "csrf_token"]
        assert len(tokens) == 1 and tokens[0].get("type") == "hidden" and len(tokens[0].get("value") or "") == 43, \
            (name, attrs)
        assert (attrs.get("action") or "").startswith("/"), (name, attrs)
    for tag, attrs, inside_label in page.controls:
        if tag == "input" and (attrs.get("type") or "text").lower() in UNLABELLED_TYPES:
            continue
        labelled = inside_label or (attrs.get("id") and attrs["id"] in page.label_for)
        assert labelled, (name, tag, attrs)
    ids = [a["id"] for _, a in page.tags if a.get("id")]
    assert len(ids) == len(set(ids)), (name, "duplicate ids")
    assert all(f in ids for f in page.label_for), (name, "a label points at no element")


def check_menu(name: str, html: str, lang: str) -> None:
    """"Pengaduan Saya" is the first link of the header's menu: the report form before login, the mailbox after."""
    nav = re.search(r"<header class=\"top\">.*?<nav\b[^>]*>(.*?)</nav>", html, re.S)
    assert nav, (name, "no menu in the header")
    first = re.search(r"<a href=\"([^\"]+)\"[^>]*>([^<]+)</a>", nav.group(1))
    assert first and first.group(2) == ("My reports" if lang == "en" else "Pengaduan Saya"), (name, first)
    logged_in = "/logout" in nav.group(1)
    assert first.group(1) == ("/mailbox" if logged_in else "/submit"), (name, first.group(1))


def test_every_page(site, visited):
    lang, pages = visited
    css_cache: dict[str, Response] = {}
    client = site.client()
    forms = controls = 0
    for name, status, response in pages:
        assert response.status == status, (name, response.status)
        if status == 303:
            assert response.headers["Location"] == "/login?next=required"
            check_headers(name, response, html=False)
            continue
        check_headers(name, response)
        html = response.text
        page = Page(html)
        match = re.search(r"<html\b[^>]*\blang=\"([a-z-]+)\"", html)
        assert match and match.group(1) == lang, (name, match and match.group(1))
        check_html(name, html, page)
        check_menu(name, html, lang)
        check_forms(name, page)
        forms += len(page.forms)
        controls += len(page.controls)
        stylesheets = [a["href"] for t, a in page.tags if t == "link"]
        assert stylesheets, name
        total = len(response.body)
        for href in stylesheets:
            if href not in css_cache:
                css_cache[href] = client.get(href)
            css = css_cache[href]
            assert css.status == 200 and css.headers["Content-Type"].startswith("text/css"), href
            total += len(css.body)
        assert total < MAX_PAGE, (name, total)
        # The switch to the other language is a plain link on every page.
        other = "en" if lang == "id" else "id"
        switch = page.links(hreflang=other)
        assert len(switch) == 1 and (switch[0]["href"] or "").endswith(f"?lang={other}"), name
    # The parser really saw the forms (report form: 20+ fields; login, logout, message forms).
    assert forms >= 15 and controls >= 80, (forms, controls)


def test_org_key_page_speaks_indonesian_and_asks_for_no_visit(site):
    text = page_text(site.client().get("/org-key").text)
    assert "aktif" in text and "active" not in text and "situs web resmi" in text
    assert "dicetak di kantor" not in text and "datang ke kantor" in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "dates are written out, not ISO"


def test_rewards_say_only_what_the_regents_regulation_says(site):
    for lang in ("id", "en"):
        text = page_text(site.client().get(f"/?lang={lang}").text)
        assert "85" in text and "2018" not in text and "Rp200" not in text and "‰" not in text, lang


def test_the_stylesheet(site):
    css = site.client().get("/static/style.css")
    assert css.status == 200
    check_headers("style.css", css, html=False)
    text = css.text.lower()
    assert "@import" not in text and "@font-face" not in text
    assert not re.search(r"url\(\s*['\"]?\s*(?:[a-z]+:|//)", text), "no url() to another host or scheme"
    assert "http" not in text and "//" not in text.replace("/*", "").replace("*/", "")


def test_language_switch_without_javascript(site):
    client = site.client()
    home = client.get("/")
    assert '<html lang="id"' in home.text and "Buat Pengaduan" in home.text
    link = Page(home.text).links(hreflang="en")[0]["href"]
    english = client.get(link)
    assert english.status == 200 and '<html lang="en"' in english.text
    assert client.cookies.get("wbs_lang") == "en"
    for path, words in ENGLISH.items():
        page = client.get(path)
        assert '<html lang="en"' in page.text and words in page.text, path
    # and back, from another page's link
    criteria = client.get("/criteria")
    back = Page(criteria.text).links(hreflang="id")[0]["href"]
    assert back == "/criteria?lang=id"
    assert '<html lang="id"' in client.get(back).text
    assert client.cookies.get("wbs_lang") == "id"
    assert '<html lang="id"' in client.get("/submit").text
    # an unknown language changes nothing
    assert '<html lang="id"' in client.get("/?lang=xx").text
    assert client.cookies.get("wbs_lang") == "id"
    # the error messages follow the language too
    client.get("/?lang=en")
    assert "Page not found." in client.get("/no-such-page").text


def test_submitted_page_is_not_cached_and_shows_secrets_once(site):
    client = site.client()
    done = client.post_multipart("/submit", report_fields(client.get("/submit")))
    assert done.status == 200
    assert done.headers["Cache-Control"] == "no-store"
    # A reload of the URL is just the empty form, never the secrets again.
    again = client.get("/submit")
    assert 'id="passphrase"' not in again.text and done.element_text("passphrase") not in again.text


def test_static_and_other_responses_carry_the_headers(site):
    client = site.client()
    for path in ("/static/style.css", "/static/no-such-file.css", "/org-key?format=json"):
        response = client.get(path)
        check_headers(path, response, html=False)


def test_a_missing_static_file_is_the_sites_own_not_found_page(site):
    client = site.client()
    for path in ("/static/no-such-file.css", "/static/.", "/static/%2e%2e/wbs.toml", "/static/style.css/x"):
        response = client.get(path)
        assert response.status == 404, path
        assert response.headers["Content-Type"].startswith("text/html"), path
        assert "Halaman tidak ditemukan" in response.text or "Page not found" in response.text, path
    assert client.get("/static/style.css").headers["Content-Type"].startswith("text/css")


def _raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_protocol_errors_do_not_name_the_software(site):
    for request in (b"GARBAGE\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01Header: y\r\n\r\n"):
        reply = _raw_exchange(site.port, request)
        head = reply.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.") and b" 400 " in head.split(b"\r\n", 1)[0]
        # An empty or neutral Server value would do; the software and its version must not show.
        assert b"aiohttp" not in head and b"python" not in head
