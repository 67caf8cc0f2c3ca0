"""The weight of each public page over Tor: HTML plus what it loads (the CSS), in both languages.

Run::

    .venv/bin/python bench/pages_bench.py

A measurement, not a test: it exits 0 unless the benchmark itself crashes.

Method
------
A real ``wbs serve`` (fresh data folder, organisation key installed) is
asked for ``/``, ``/criteria``, ``/submit``, ``/login`` and ``/org-key`` by a
first-time visitor in Indonesian (the default) and, after following the
``?lang=en`` switch, in English. For each page: the HTML body, plus every
stylesheet, image, icon or script it references (today: ``/static/style.css``),
each fetched once. The figure is bytes of bodies as served (the server
compresses nothing); response headers are shown apart (under 1 KiB, mostly the
same security headers on every answer). Target: HTML + CSS <= 16 KiB
for every page, in both languages.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CHEAP_KDF, KiB, Response, Server, emit, make_workdir, remove_tree, summary_row, verdict  # noqa: E402

PAGES = ("/", "/criteria", "/submit", "/login", "/org-key")
TARGET = 16 * KiB
_SUBRESOURCE = re.compile(r'<(?:link|img|script|source|audio|video|iframe)\b[^>]*?\b(?:href|src)="([^"]+)"', re.I)


def header_bytes(response: Response) -> int:
    return len(str(response.headers).encode("latin-1")) + len("HTTP/1.1 200 OK\r\n")


def subresources(html: str) -> list[str]:
    """Same-origin things the page makes the browser load (links to other pages excluded)."""
    found = []
    for tag in re.finditer(r"<[^>]+>", html):
        text = tag.group(0)
        if text.lower().startswith("<a ") or text.lower().startswith("<form"):
            continue
        if text.lower().startswith("<link") and "stylesheet" not in text and "icon" not in text:
            continue
        for url in _SUBRESOURCE.findall(text):
            if url.startswith("/") and not url.startswith("//"):
                found.append(url)
    return list(dict.fromkeys(found))


def run() -> None:
    work = make_workdir("pages")
    rows_out = []
    try:
        server = Server.create(work / "srv", **CHEAP_KDF)
        with server:
            server.start()
            for lang in ("id", "en"):
                client = server.client()
                if lang == "en":
                    client.get("/?lang=en")
                cache: dict[str, int] = {}
                for path in PAGES:
                    page = client.get(path)
                    if page.status != 200:
                        raise RuntimeError(f"GET {path} ({lang}) answered {page.status}")
                    if f'lang="{lang}"' not in page.text:
                        raise RuntimeError(f"GET {path} is not in {lang}")
                    extra = 0
                    for url in subresources(page.text):
                        if url not in cache:
                            sub = client.get(url)
                            if sub.status != 200:
                                raise RuntimeError(f"GET {url} answered {sub.status}")
                            cache[url] = len(sub.body)
                        extra += cache[url]
                    rows_out.append((lang, path, len(page.body), extra, header_bytes(page),
                                     ", ".join(subresources(page.text)) or "-"))
    finally:
        remove_tree(work)

    print("WBS public pages: HTML body + what it loads (CSS), as served (no compression)")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; target <= {TARGET // KiB} KiB each")
    print()
    head = f"{'lang':>4} {'page':>9} | {'HTML B':>7} {'+ loads B':>9} {'= total B':>9} {'KiB':>5} | {'headers B':>9} | loads"
    print(head)
    print("-" * len(head))
    for lang, path, html, extra, headers, loads in rows_out:
        print(f"{lang:>4} {path:>9} | {html:7d} {extra:9d} {html + extra:9d} {(html + extra) / KiB:5.1f} | "
              f"{headers:9d} | {loads}")
    print()
    rows = []
    for lang in ("id", "en"):
        mine = [r for r in rows_out if r[0] == lang]
        lang_, path, html, extra, _, _ = max(mine, key=lambda r: r[2] + r[3])
        total = html + extra
        rows.append(summary_row(
            "pages", f"largest page + CSS ({lang}: {path}) KiB", f"{total / KiB:.1f}",
            reference=f"HTML {html / KiB:.1f} + CSS {extra / KiB:.1f}", target=f"<= {TARGET // KiB} KiB",
            met=all(r[2] + r[3] <= TARGET for r in mine)))
    print("TARGETS: " + "; ".join(f"{r['figure']} {r['target']}: {verdict(r['met'])} ({r['value']})" for r in rows))
    emit(rows, pages=[{"lang": r[0], "path": r[1], "html": r[2], "loads": r[3], "headers": r[4]} for r in rows_out])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same (it takes a few seconds)")
    parser.parse_args(argv)
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
