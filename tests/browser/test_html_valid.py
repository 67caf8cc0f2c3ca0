"""Every page of both listeners, as served over HTTP, passes the Nu HTML
checker (vnu-jar, from npm) with no error; and every link on them leads
somewhere."""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from tour import Page, all_pages, client_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[Page]:
    from harness import start_server

    server = start_server(tmp_path_factory.mktemp("pages"))
    try:
        yield all_pages(server), server
    finally:
        server.stop()


def check_html(pages: list[Page], vnu: list[str], tmp_path) -> list[str]:
    """Every page through the Nu checker in one run (it takes seconds to start)."""
    files = []
    for number, page in enumerate(pages, 1):
        path = tmp_path / f"{number:02d}-{page.name}.html"
        path.write_text(page.html, encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(vnu + ["--format", "json", "--stdout", *files], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    errors = [f"{m.get('url', '').rsplit('/', 1)[-1]} line {m.get('lastLine')}: {m['message']}  "
              f"«{' '.join(m.get('extract', '').split())}»"
              for m in report["messages"] if m["type"] in ("error", "non-document-error")]
    assert not errors, f"{len(errors)} HTML errors (the pages are in {tmp_path}):\n" + "\n".join(errors)
    assert done.returncode == 0, done.stderr
    return files


def test_every_page_is_valid_html(pages, vnu, tmp_path):
    pages, _ = pages
    assert len(check_html(pages, vnu, tmp_path)) >= 35


def test_every_desk_page_is_valid_html(vnu, tmp_path):
    from desk_tour import desk_pages

    pages = desk_pages(tmp_path / "desk")
    assert len(check_html(pages, vnu, tmp_path)) >= 18


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag in ("a", "link") and href:
            self.hrefs.append(href)


def links_of(page: Page) -> set[str]:
    """Links to other pages of the same listener (not the page's own language switch, not downloads)."""
    parser = _Links()
    parser.feed(page.html)
    own = urlsplit(page.path).path
    return {h.split("#")[0] for h in parser.hrefs
            if not urlsplit(h).scheme and not h.startswith("#") and "/export" not in h and urlsplit(h).path != own}


def dead_links(pages: list[Page], server) -> dict[str, list[str]]:
    dead: dict[str, list[str]] = {}
    for page in pages:
        client = client_for(server, page)
        for href in sorted(links_of(page)):
            if client.get(href).status == 404:
                dead.setdefault(page.name, []).append(href)
    return dead


def test_every_link_leads_somewhere(pages):
    pages, server = pages
    assert any(p.staff and p.status == 404 for p in pages) and any(p.staff and p.status == 403 for p in pages)
    dead = dead_links(pages, server)
    assert not dead, dead
