"""The desk application in this process, on a real loopback socket, where a test needs to hold
its clock or its work lock: the 15-minute idle lock crossed on an injected clock, and a reply or
a note sent while an import runs comes back with its text."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestServer

from conftest import free_port
from keytools.cases import CasesFolder
from keytools.desk.app import create_app
from keytools.desk.appkeys import WORK
from keytools.desk.config import DeskConfig
from keytools.desk.state import DeskState
from keytools.opener import open_bundle
from test_keytools_support import PASSPHRASE, PLAIN_FIELDS, Case, write_cheap_keyring, write_export

CODE = "WBS-AB2CD-EF3GH"


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def desk_app(tmp: Path, clock: FakeClock):
    key, _, ring = write_cheap_keyring(tmp / "keyholder")
    write_export(tmp / "e.zip", ring, [Case(CODE, dict(PLAIN_FIELDS))])
    open_bundle(tmp / "e.zip", ring, CasesFolder.prepare(tmp / "kasus", create=True))
    config = DeskConfig(keyring=key, cases=tmp / "kasus", port=free_port())
    return create_app(config, state=DeskState(config, clock=clock)), config


async def csrf(session: ClientSession, url: str) -> str:
    async with session.get(url, allow_redirects=False) as response:
        return re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)


async def unlocked(session: ClientSession, base: str) -> None:
    token = await csrf(session, base + "/unlock")
    async with session.post(base + "/unlock", data={"csrf_token": token, "passphrase": PASSPHRASE},
                            allow_redirects=False) as response:
        assert response.status == 303


def run(tmp_path: Path, journey) -> None:
    async def main() -> None:
        clock = FakeClock()
        app, config = desk_app(tmp_path, clock)
        server = TestServer(app, host="127.0.0.1", port=config.port)
        await server.start_server()
        try:
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:  # cookies for 127.0.0.1
                await unlocked(session, f"http://127.0.0.1:{config.port}")
                await journey(session, f"http://127.0.0.1:{config.port}", clock, app)
        finally:
            await server.close()

    asyncio.run(main())


def test_idle_lock_at_fifteen_minutes_on_the_desks_clock(tmp_path):
    async def journey(session, base, clock, app):
        clock.now += 15 * 60 - 1
        async with session.get(f"{base}/cases/{CODE}", allow_redirects=False) as response:
            assert response.status == 200  # a request: the fifteen minutes start again
        clock.now += 15 * 60 - 1
        async with session.get(f"{base}/", allow_redirects=False) as response:
            assert response.status == 200
        clock.now += 15 * 60
        async with session.get(f"{base}/cases/{CODE}", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/unlock"

    run(tmp_path, journey)


def test_text_sent_while_an_import_runs_comes_back(tmp_path):
    async def journey(session, base, clock, app):
        token = await csrf(session, f"{base}/cases/{CODE}")
        async with app[WORK]:  # an import is running
            async with session.post(f"{base}/cases/{CODE}/reply", allow_redirects=False,
                                    data={"csrf_token": token, "body": "Balasan yang tidak boleh hilang"}) as response:
                page = await response.text()
                assert response.status == 503 and "Balasan yang tidak boleh hilang" in page and "sibuk" in page
            async with session.post(f"{base}/cases/{CODE}/notes", allow_redirects=False,
                                    data={"csrf_token": token, "text": "Catatan yang tidak boleh hilang"}) as response:
                page = await response.text()
                assert response.status == 503 and "Catatan yang tidak boleh hilang" in page
            async with session.get(f"{base}/replies/bundle", allow_redirects=False) as response:
                assert response.status == 503
        async with session.post(f"{base}/cases/{CODE}/reply", allow_redirects=False,
                                data={"csrf_token": token, "body": "Balasan yang tidak boleh hilang"}) as response:
            assert response.status == 303

    run(tmp_path, journey)
