"""A SOCKS5 CONNECT (RFC 1928), enough to reach a mail server through Tor's SOCKS port.

Only what that needs: no authentication, and the host name sent to the proxy
(address type 3), so the proxy resolves it and this machine makes no DNS
query of its own. The handshake runs on a non-blocking socket with the
loop's ``sock_*`` calls, so the connected socket can be handed to a client
that takes one (aiosmtplib's ``sock``).

Written here rather than taken from python-socks: one request, no login, a
reply of a few bytes: smaller than a dependency (and its own dependencies)
that every production install would have to carry and keep updated, and
tested against a SOCKS5 server in tests/integration/test_alerts.py.
"""

from __future__ import annotations

import asyncio
import socket
import struct

from crypto.errors import WbsError

from server.config import split_addr

VERSION = 5
NO_AUTH = 0
CONNECT = 1
DOMAIN = 3
IPV4 = 1
IPV6 = 4


class Socks5Error(WbsError):
    """The SOCKS proxy could not connect to the destination."""


async def _recv_exactly(loop: asyncio.AbstractEventLoop, sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = await loop.sock_recv(sock, n - len(data))
        if not chunk:
            raise Socks5Error("the SOCKS proxy closed the connection")
        data += chunk
    return data


async def _handshake(loop: asyncio.AbstractEventLoop, sock: socket.socket, host: str, port: int) -> None:
    await loop.sock_sendall(sock, bytes((VERSION, 1, NO_AUTH)))
    version, method = await _recv_exactly(loop, sock, 2)
    if version != VERSION or method != NO_AUTH:
        raise Socks5Error("the SOCKS proxy wants a login this client does not offer")
    name = host.encode("idna")
    if not 0 < len(name) < 256:
        raise Socks5Error("the destination host name is too long for SOCKS5")
    await loop.sock_sendall(sock, bytes((VERSION, CONNECT, 0, DOMAIN, len(name))) + name + struct.pack(">H", port))
    version, reply, _, kind = await _recv_exactly(loop, sock, 4)
    if version != VERSION:
        raise Socks5Error("the SOCKS proxy answered in another protocol")
    if reply != 0:
        raise Socks5Error(f"the SOCKS proxy could not connect (reply {reply})")
    if kind == IPV4:
        await _recv_exactly(loop, sock, 4 + 2)
    elif kind == IPV6:
        await _recv_exactly(loop, sock, 16 + 2)
    elif kind == DOMAIN:
        (length,) = await _recv_exactly(loop, sock, 1)
        await _recv_exactly(loop, sock, length + 2)
    else:
        raise Socks5Error("the SOCKS proxy's answer is malformed")


async def open_socket(proxy: str, host: str, port: int, *, timeout: float) -> socket.socket:
    """A socket connected through the SOCKS5 proxy ``proxy`` (HOST:PORT) to ``host``:``port``."""
    proxy_host, proxy_port = split_addr(proxy)
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in proxy_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        async with asyncio.timeout(timeout):
            try:
                await loop.sock_connect(sock, (proxy_host, proxy_port))
            except OSError as exc:
                raise Socks5Error(f"cannot reach the SOCKS proxy {proxy}: {exc.strerror or exc}") from None
            await _handshake(loop, sock, host, port)
    except TimeoutError:
        sock.close()
        raise Socks5Error("the SOCKS proxy did not answer in time") from None
    except BaseException:
        sock.close()
        raise
    return sock
