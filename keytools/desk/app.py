"""The desk's application factory and its runner."""

from __future__ import annotations

import asyncio
import signal
from typing import AsyncIterator, Callable

from aiohttp import web, web_response

from ..cases import CasesFolder
from .appkeys import STATE, TEMPLATES, WORK
from .config import DeskConfig
from .frame import frame_middleware, on_prepare, template_environment
from .routes import desk_routes
from .state import DeskState

web_response.SERVER_SOFTWARE = ""
MAX_SWEEP_SECONDS = 30.0
# As on the server: an import's body reaches the view in blocks of up to 1 MiB, not aiohttp's
# default 64 KiB, so the loop wakes (and hands a block to the writing thread) 16 times less often.
READ_BUFSIZE = 1024 * 1024


def create_app(config: DeskConfig, *, state: DeskState | None = None) -> web.Application:
    """The desk; ``state`` (with its clock) may be given by tests."""
    app = web.Application(middlewares=[frame_middleware], client_max_size=64 * 1024)
    app[STATE] = state or DeskState(config)
    app[TEMPLATES] = template_environment()
    app[WORK] = asyncio.Lock()
    app.on_response_prepare.append(on_prepare)
    desk_routes(app)

    async def idle_lock(app: web.Application) -> AsyncIterator[None]:
        """Lock on time even when no request comes: the keys leave memory on schedule."""
        desk = app[STATE]

        async def sweep() -> None:
            while True:
                await asyncio.sleep(min(MAX_SWEEP_SECONDS, desk.config.lock_after_seconds / 4))
                desk.expire()

        task = asyncio.create_task(sweep())
        yield
        task.cancel()

    app.cleanup_ctx.append(idle_lock)
    return app


async def serve_desk(config: DeskConfig, *, announce: Callable[[str], None] = print) -> None:
    """Prepare the cases folder, listen on the loopback address, run until SIGINT or SIGTERM."""
    CasesFolder.prepare(config.cases, create=True)
    state = DeskState(config)
    runner = web.AppRunner(create_app(config, state=state), access_log=None, handle_signals=False,
                           read_bufsize=READ_BUFSIZE)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port, backlog=16).start()
        announce(f"The desk is open at {config.url} (this computer only). Stop it with Ctrl+C.")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
