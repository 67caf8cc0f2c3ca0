"""The connection guard in front of a small aiohttp app, in this process, over real loopback sockets.

What the full server's tests cannot see from outside: the exact
``request[CIRCUIT]`` contract that the per-circuit limits rely on, and
which connection a full listener pushes out.
"""

from __future__ import annotations

import asyncio
import re
import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator

from aiohttp import web

from server.appkeys import CIRCUIT
from server.defences.connections import MAX_HEAD_BYTES, ListenerGuard, ListenerLimits, connection_middleware

HOME = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
SLOW = b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def proxy_line(circuit: int) -> bytes:
    return f"PROXY TCP6 fc00:dead:beef:4dad::{circuit >> 16:x}:{circuit & 0xFFFF:x} ::1 65535 42\r\n".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def guarded(limits: ListenerLimits, release: asyncio.Event | None = None) -> AsyncIterator[int]:
    """An app answering ``/`` with the request's circuit (or "absent"), and ``/slow`` once ``release`` is set."""
    guard = ListenerGuard(limits)

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=f"circuit={request.get(CIRCUIT, 'absent')}")

    async def slow(request: web.Request) -> web.Response:
        assert release is not None
        await release.wait()
        return web.Response(text="done")

    app = web.Application(middlewares=[connection_middleware(guard)], client_max_size=4 * 1024 * 1024)
    app.router.add_get("/", home)
    app.router.add_get("/slow", slow)

    async def upload(request: web.Request) -> web.Response:
        return web.Response(text=f"read {len(await request.read())}")

    app.router.add_post("/upload", upload)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.backstop)
    await runner.setup()
    port = free_port()
    assert runner.server is not None
    await guard.listen(runner.server, "127.0.0.1", port)
    try:
        yield port
    finally:
        guard.stop_listening()
        await runner.cleanup()
        guard.close_all()


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        return await asyncio.wait_for(reader.read(), 10)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def body(port: int, data: bytes) -> str:
    answer = await exchange(port, data)
    return answer.partition(b"\r\n\r\n")[2].decode()


async def closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


def limits(**kw: object) -> ListenerLimits:
    values: dict = {"max_connections": 50, "header_timeout": 30.0, "idle_timeout": 30.0}
    values.update(kw)
    return ListenerLimits(**values)


def test_no_circuit_key_without_the_proxy_protocol():
    async def run() -> None:
        async with guarded(limits()) as port:
            assert await body(port, HOME) == "circuit=absent"

    asyncio.run(run())


def test_each_request_carries_its_circuits_opaque_name():
    async def run() -> None:
        async with guarded(limits(proxy_protocol=True, circuit_max_connections=5)) as port:
            first = await body(port, proxy_line(0x2A) + HOME)
            again = await body(port, proxy_line(0x2A).replace(b"fc00:dead:beef:4dad", b"fc00:1:2:3") + HOME)
            other = await body(port, proxy_line(0x2B) + HOME)
            assert re.fullmatch(r"circuit=[0-9a-f]{32}", first)
            assert first == again != other

    asyncio.run(run())


def test_a_full_listener_pushes_out_its_longest_waiting_connection():
    async def run() -> None:
        async with guarded(limits(max_connections=3)) as port:
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
            await asyncio.sleep(0.2)
            assert await body(port, HOME) == "circuit=absent"  # a fourth, with a request: served
            assert await closed(idle[0][0])  # the oldest made room
            idle.append(await asyncio.open_connection("127.0.0.1", port))  # full again
            idle[1][1].write(b"GET / HT")  # a request begun still waits: it may be pushed out next
            await asyncio.sleep(0.2)
            assert await body(port, HOME) == "circuit=absent"
            assert await closed(idle[1][0])
            assert not idle[2][0].at_eof() and not idle[3][0].at_eof()
            for _, writer in idle:
                writer.close()

    asyncio.run(run())


def test_a_listener_full_of_requests_in_progress_refuses_at_once():
    async def run() -> None:
        release = asyncio.Event()
        async with guarded(limits(max_connections=2), release) as port:
            busy = [asyncio.create_task(body(port, SLOW)) for _ in range(2)]
            await asyncio.sleep(0.3)
            assert await exchange(port, HOME) == b""  # nothing to push out: closed unanswered
            release.set()
            assert await asyncio.gather(*busy) == ["done", "done"]  # the requests in progress were untouched
            assert await body(port, HOME) == "circuit=absent"

    asyncio.run(run())


def test_a_request_head_without_end_is_cut_at_its_bound():
    async def run() -> None:
        async with guarded(limits()) as port:
            line = b"X-Filler: " + b"a" * 4000 + b"\r\n"
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
            for _ in range(MAX_HEAD_BYTES // len(line) + 2):
                writer.write(line)
                await asyncio.sleep(0.01)
            assert await closed(reader)  # no answer: cut while it was still sending its head
            writer.close()
            # A head just under the bound is fine, and so is a large body sent with it in one go.
            big_head = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + line * 7 + b"\r\n"
            assert await body(port, big_head) == "circuit=absent"
            payload = b"z" * (3 * 1024 * 1024)
            post = (b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
                    + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            assert await body(port, post) == f"read {len(payload)}"

    asyncio.run(run())
