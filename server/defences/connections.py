"""What each listener does with a connection before and between requests: caps, timeouts, the PROXY line.

asyncio accepts the connection; a ``GuardedConnection`` stands in front of
aiohttp's own protocol object (made by the ``web.Server`` of an
``AppRunner``) and decides whether the connection may stay:

- **A cap per listener** (``ListenerGuard``; sizes from
  ``descriptors.plan_connections``). When a listener is full, a new
  connection pushes out the one that has waited longest without a request
  in progress (idle, or still sending its request head); only when every
  connection is inside a request is the new one closed at once. A flood of
  connections that send nothing therefore cannot lock out a visitor who
  sends a request: it only makes the flood's own connections short-lived.
- **Header timeout** (``header_timeout_seconds``, default 40 s): from the
  moment a connection is accepted, or sends the first byte of a request
  after a keep-alive pause, until the request head is complete and handed
  to the application. A slow sender cannot stretch it: the deadline is
  fixed when it starts.
- **Idle timeout** (``idle_timeout_seconds``, default 60 s): a kept-alive
  connection with no request in progress and no byte of a new one.
- **A bound on the request head** (``MAX_HEAD_BYTES``): a connection whose
  head has not ended (no blank line) after 32 KiB is closed. aiohttp alone
  would buffer up to 128 lines of 8 KiB each, about 1 MiB per connection;
  Tor Browser's heads are under 2 KiB.

Why those values, for Tor. Tor connects to the listener when the visitor's
BEGIN cell arrives; the request follows one round trip of the rendezvous
circuit later. That round trip is usually 1-5 s and reaches 10-20 s on a
congested circuit; Tor Browser then sends the head in one or two cells. 40 s
covers two bad round trips with room to spare, so a real reporter on a slow
circuit is not cut off, while a connection that sends nothing holds its
slot for 40 s at most (and less when the listener is full, see above). Tor
Browser keeps connections open for the next page (saving a round trip,
seconds over Tor); 60 s covers reading a short page and following a link.
Idle connections are the first pushed out when a listener is full, so a
generous idle timeout costs no availability. aiohttp's own keep-alive timer
is set to the longer of the two, as a backstop only.

A request in progress has no timeout here: the body-inactivity limit of
uploads belongs to the upload code (``server/reporter/intake.py``).

**PROXY protocol v1** (``proxy_protocol = true``, reporter listener only;
see ``proxyproto.py``): every connection must start with a valid PROXY line
within the header timeout, else it is closed without an answer. The opaque
circuit name it yields is counted (at most ``circuit_max_connections`` open
connections per circuit; the next one is closed at once) and set on each
request as ``request[CIRCUIT]``; without the feature the key is absent.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Awaitable, Callable, cast

from aiohttp import web

from server.appkeys import CIRCUIT
from server.defences.descriptors import ACCEPT_BACKLOG
from server.defences.proxyproto import MAX_LINE, CircuitNames, parse_proxy_line
from server.errors import ProxyLineError
from server.web import Handler

Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

MAX_HEAD_BYTES = 32 * 1024
HEAD_ENDS = (b"\r\n\r\n", b"\n\n")  # the blank line; bare LF too, in case the parser accepts it


@dataclass(frozen=True)
class ListenerLimits:
    """The limits of one listener."""

    max_connections: int
    header_timeout: float
    idle_timeout: float
    proxy_protocol: bool = False
    circuit_max_connections: int = 0  # 0: no per-circuit cap (only meaningful with proxy_protocol)

    @property
    def backstop(self) -> float:
        """aiohttp's keep-alive timeout: never earlier than ours."""
        return max(self.header_timeout, self.idle_timeout)


class Wait(enum.Enum):
    HEAD = "head"  # accepted, or bytes of a request head arriving
    IDLE = "idle"  # kept alive between requests, nothing received yet


class GuardedConnection(asyncio.Protocol):
    """One accepted connection: admitted or refused, timed while it waits, then aiohttp's protocol behind it."""

    def __init__(self, guard: "ListenerGuard", inner_factory: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._inner_factory = inner_factory
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._wait_kind: Wait | None = None
        self._line = b""
        self._head_left: int | None = None  # bytes a request head may still take; None once it ended
        self._head_tail = b""
        self._busy = 0
        self.circuit: str | None = None

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # a listening socket's connections are streams
        self._transport = transport
        if not self._guard.admit(self):
            transport.abort()
            self._transport = None
            return
        self._wait(Wait.HEAD)
        if not self._guard.limits.proxy_protocol:
            self._hand_over(b"")

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        if self._wait_kind is Wait.IDLE:
            self._wait(Wait.HEAD)
        if self._inner is None:
            self._read_proxy_line(data)
        elif self._head_within_bound(data):
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self._guard.forget(self)
        self._transport = None
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    # -- what the listener and the application tell it

    def drop(self) -> None:
        """Close at once, without an answer (refused, pushed out, or a bad PROXY line)."""
        self._cancel_timer()
        self._guard.forget(self)
        if self._transport is not None:
            self._transport.abort()

    def request_began(self) -> None:
        self._busy += 1
        self._head_left = None
        self._cancel_timer()
        self._guard.busy(self)

    def request_ended(self) -> None:
        self._busy -= 1
        if self._busy == 0 and self._transport is not None and not self._transport.is_closing():
            self._wait(Wait.IDLE)
            self._guard.waiting(self)

    @property
    def inner(self) -> asyncio.Protocol | None:
        return self._inner

    # -- inside

    def _hand_over(self, data: bytes) -> None:
        assert self._transport is not None
        self._inner = self._inner_factory()
        self._guard.bind(self)
        self._inner.connection_made(self._transport)
        if data and self._head_within_bound(data):
            self._inner.data_received(data)

    def _read_proxy_line(self, data: bytes) -> None:
        self._line += data
        end = self._line.find(b"\r\n", 0, MAX_LINE)
        if end < 0:
            if len(self._line) >= MAX_LINE:
                self.drop()
            return
        line, rest = self._line[:end + 2], self._line[end + 2:]
        self._line = b""
        try:
            circuit = self._guard.circuit_name(line)
        except ProxyLineError:
            self.drop()
            return
        if not self._guard.join_circuit(self, circuit):
            self.drop()
            return
        self._hand_over(rest)

    def _head_within_bound(self, data: bytes) -> bool:
        """Count the bytes of a request head until its blank line; False (and closed) past MAX_HEAD_BYTES."""
        if self._head_left is None:
            return True
        seen = self._head_tail + data
        if any(end in seen for end in HEAD_ENDS):
            self._head_left = None
            return True
        self._head_left -= len(data)
        if self._head_left < 0:
            self.drop()
            return False
        self._head_tail = seen[-3:]
        return True

    def _wait(self, kind: Wait) -> None:
        self._cancel_timer()
        self._wait_kind = kind
        if kind is Wait.HEAD:
            self._head_left, self._head_tail = MAX_HEAD_BYTES, b""
        limits = self._guard.limits
        delay = limits.header_timeout if kind is Wait.HEAD else limits.idle_timeout
        self._timer = asyncio.get_running_loop().call_later(delay, self._expire)

    def _cancel_timer(self) -> None:
        self._wait_kind = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        self._wait_kind = None
        transport = self._transport
        if self._busy or transport is None or transport.is_closing():
            return
        self._guard.forget(self)
        if transport.get_write_buffer_size():
            transport.abort()  # its last answer is still unread after a whole timeout: the reader is gone
        else:
            transport.close()


class ListenerGuard:
    """The open connections of one listener: the cap, who may be pushed out, and their circuits."""

    def __init__(self, limits: ListenerLimits, circuits: CircuitNames | None = None) -> None:
        self.limits = limits
        self._circuits = circuits or CircuitNames()
        self._open: set[GuardedConnection] = set()
        self._waiting: OrderedDict[GuardedConnection, None] = OrderedDict()  # oldest first
        self._by_inner: dict[asyncio.Protocol, GuardedConnection] = {}
        self._per_circuit: Counter[str] = Counter()
        self._servers: list[asyncio.AbstractServer] = []

    @property
    def open_count(self) -> int:
        return len(self._open)

    def factory(self, inner_factory: Callable[[], asyncio.Protocol]) -> Callable[[], GuardedConnection]:
        return lambda: GuardedConnection(self, inner_factory)

    async def listen(self, inner_factory: Callable[[], asyncio.Protocol], host: str, port: int) -> None:
        """Start accepting on ``host:port``; each connection goes through this guard to ``inner_factory``."""
        loop = asyncio.get_running_loop()
        self._servers.append(await loop.create_server(self.factory(inner_factory), host, port,
                                                      backlog=ACCEPT_BACKLOG, reuse_address=True))

    def stop_listening(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()

    def close_all(self) -> None:
        """Close every connection aiohttp does not know yet (still sending its PROXY line)."""
        for conn in list(self._open):
            if conn.inner is None:
                conn.drop()

    # -- bookkeeping, called by GuardedConnection

    def admit(self, conn: GuardedConnection) -> bool:
        if len(self._open) >= self.limits.max_connections:
            if not self._waiting:
                return False
            oldest = next(iter(self._waiting))
            oldest.drop()
        self._open.add(conn)
        self._waiting[conn] = None
        return True

    def forget(self, conn: GuardedConnection) -> None:
        if conn not in self._open:
            return
        self._open.discard(conn)
        self._waiting.pop(conn, None)
        if conn.inner is not None:
            self._by_inner.pop(conn.inner, None)
        if conn.circuit is not None:
            self._per_circuit[conn.circuit] -= 1
            if self._per_circuit[conn.circuit] <= 0:
                del self._per_circuit[conn.circuit]

    def bind(self, conn: GuardedConnection) -> None:
        assert conn.inner is not None
        self._by_inner[conn.inner] = conn

    def busy(self, conn: GuardedConnection) -> None:
        self._waiting.pop(conn, None)

    def waiting(self, conn: GuardedConnection) -> None:
        if conn in self._open:
            self._waiting[conn] = None
            self._waiting.move_to_end(conn)

    def circuit_name(self, line: bytes) -> str:
        return self._circuits.name(parse_proxy_line(line))

    def join_circuit(self, conn: GuardedConnection, circuit: str) -> bool:
        cap = self.limits.circuit_max_connections
        if cap and self._per_circuit[circuit] >= cap:
            return False
        self._per_circuit[circuit] += 1
        conn.circuit = circuit
        return True

    def connection_of(self, request: web.BaseRequest) -> GuardedConnection | None:
        return self._by_inner.get(request.protocol)


def connection_middleware(guard: ListenerGuard) -> Middleware:
    """Tells the guard when a request is in progress, and puts the circuit name on the request."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        conn = guard.connection_of(request)
        if conn is None:
            return await handler(request)
        conn.request_began()
        if conn.circuit is not None:
            request[CIRCUIT] = conn.circuit
        try:
            return await handler(request)
        finally:
            conn.request_ended()

    return middleware
