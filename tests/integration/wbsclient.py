"""A small HTTP client for tests: cookies, urlencoded and multipart forms,
streamed bodies for large uploads. Standard library only, so it speaks to
the server exactly as a browser's bytes would, with nothing hidden."""

from __future__ import annotations

import http.client
import re
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Iterable, Iterator
from urllib.parse import urlencode


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def element_text(self, element_id: str) -> str:
        match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)<', self.text, re.S)
        assert match, f"no element #{element_id}"
        return match.group(1).strip()

    @property
    def csrf(self) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.text)
        assert match, "no csrf_token in page"
        return match.group(1)


class FileField:
    """A file part whose content is produced in blocks (never all in memory)."""

    def __init__(self, filename: str, blocks: Iterable[bytes] | bytes, content_type: str = "application/octet-stream"):
        self.filename = filename
        self.blocks = [blocks] if isinstance(blocks, bytes) else blocks
        self.content_type = content_type


class Client:
    def __init__(self, port: int, host: str = "127.0.0.1", *, vhost: str | None = None) -> None:
        """``vhost``: the Host header to send (a tenant's name), instead of ``host:port``."""
        self.host = host
        self.port = port
        self.vhost = vhost
        self.cookies: dict[str, str] = {}

    def _conn(self, timeout: float = 120) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.vhost is not None:
            headers["Host"] = self.vhost
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _read(self, conn: http.client.HTTPConnection) -> Response:
        raw = conn.getresponse()
        body = raw.read()
        for header in raw.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";")[0]
            if 'expires=Thu, 01 Jan 1970' in header or "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Response(raw.status, raw.headers, body)

    def get(self, path: str) -> Response:
        conn = self._conn()
        try:
            conn.request("GET", path, headers=self._headers())
            return self._read(conn)
        finally:
            conn.close()

    def post(self, path: str, fields: dict[str, str]) -> Response:
        conn = self._conn()
        try:
            conn.request("POST", path, body=urlencode(fields).encode(),
                         headers=self._headers({"Content-Type": "application/x-www-form-urlencoded"}))
            return self._read(conn)
        finally:
            conn.close()

    def post_multipart(self, path: str, fields: list[tuple[str, str | FileField]], *, timeout: float = 600) -> Response:
        """Send a multipart form with chunked transfer encoding, streaming file blocks."""
        boundary = "----wbs" + secrets.token_hex(12)
        conn = self._conn(timeout)
        try:
            conn.putrequest("POST", path, skip_host=self.vhost is not None)
            for k, v in self._headers({"Content-Type": f"multipart/form-data; boundary={boundary}",
                                       "Transfer-Encoding": "chunked"}).items():
                conn.putheader(k, v)
            conn.endheaders()
            for block in multipart_blocks(boundary, fields):
                conn.send(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            conn.send(b"0\r\n\r\n")
            return self._read(conn)
        finally:
            conn.close()


def multipart_blocks(boundary: str, fields: list[tuple[str, str | FileField]]) -> Iterator[bytes]:
    for name, value in fields:
        if isinstance(value, FileField):
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{value.filename}"\r\n'
                   f"Content-Type: {value.content_type}\r\n\r\n").encode()
            for block in value.blocks:
                if block:
                    yield block
            yield b"\r\n"
        else:
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode() + \
                value.encode("utf-8") + b"\r\n"
    yield f"--{boundary}--\r\n".encode()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())
