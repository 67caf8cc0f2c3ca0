"""The application factory and the runner of both listeners."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import AsyncIterator

from aiohttp import web

from .appkeys import CONTEXT, TEMPLATES
from .config import Config
from .context import Context
from .datafolder import DataFolder
from .routes import reporter_routes
from .web import frame_middleware, on_prepare, template_environment

log = logging.getLogger("wbs")

SWEEP_SECONDS = 60


async def _sweeper(ctx: Context) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        ctx.sessions.sweep()


def create_reporter_app(ctx: Context) -> web.Application:
    """The reporter side; its client_max_size only bounds small forms (uploads stream)."""
    app = web.Application(middlewares=[frame_middleware], client_max_size=64 * 1024)
    app[CONTEXT] = ctx
    app[TEMPLATES] = template_environment()
    app.on_response_prepare.append(on_prepare)
    reporter_routes(app)

    async def background(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweeper(ctx))
        yield
        task.cancel()

    app.cleanup_ctx.append(background)
    return app


async def serve(config: Config, folder: DataFolder, *, ready: "asyncio.Event | None" = None) -> None:
    """Open the store, start the listeners, run until SIGINT or SIGTERM."""
    ctx = await Context.open(config, folder)
    app = create_reporter_app(ctx)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    host, port = config.reporter_host_port
    site = web.TCPSite(runner, host, port, backlog=128)
    await site.start()
    log.info("reporter side listening on http://%s:%d/", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await ctx.close()
