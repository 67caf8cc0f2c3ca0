"""The application factory and the runner of both listeners."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import AsyncIterator

from aiohttp import web, web_response

from .appkeys import CONTEXT, STAFF_SESSIONS, STAFF_THROTTLE, TEMPLATES
from .config import Config
from .context import Context
from .datafolder import DataFolder
from .retention import daily_purge
from .routes import reporter_routes, staff_routes
from .staff import StaffSessions
from .throttle import LoginThrottle
from .web import frame_middleware, on_prepare, template_environment, without_date_header

log = logging.getLogger("wbs")

# aiohttp names itself in a Server header on the answers it makes on its own
# (malformed requests), where no on_response_prepare hook runs; say nothing.
web_response.SERVER_SOFTWARE = ""

SWEEP_SECONDS = 60
# How much of a request body aiohttp buffers before it stops reading the
# socket (it holds up to twice this). aiohttp's default, 64 KiB, makes the
# loop wake for every few hundred KiB of an upload; 1 MiB lets it hand whole
# blocks to the sealing thread and stay idle in between.
READ_BUFSIZE = 1024 * 1024


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
    if ctx.config.onion_address:
        onion = ctx.config.onion_address

        async def onion_location(request: web.Request, response: web.StreamResponse) -> None:
            response.headers["Onion-Location"] = f"http://{onion}{request.path_qs}"

        app.on_response_prepare.append(onion_location)
    reporter_routes(app)

    async def background(app: web.Application) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(_sweeper(ctx)),
            asyncio.create_task(daily_purge(ctx.store, ctx.blobs, ctx.config.retention_days)),
        ]
        yield
        for task in tasks:
            task.cancel()

    app.cleanup_ctx.append(background)
    return app


def create_staff_app(ctx: Context) -> web.Application:
    """The staff side, for its own listener: none of its routes exists on the reporter side."""
    app = web.Application(middlewares=[frame_middleware], client_max_size=64 * 1024)
    app[CONTEXT] = ctx
    app[TEMPLATES] = template_environment()
    app[STAFF_SESSIONS] = StaffSessions(ctx.config.session_idle_seconds * 2, ctx.config.session_max_seconds * 4)
    app[STAFF_THROTTLE] = LoginThrottle(failures_before_delay=3, max_delay=ctx.config.login_max_delay_seconds,
                                        global_per_minute=ctx.config.login_global_per_minute)
    app.on_response_prepare.append(on_prepare)

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/staff")

    app.router.add_get("/", root)
    staff_routes(app)
    return app


async def serve(config: Config, folder: DataFolder) -> None:
    """Open the store, start the listeners, run until SIGINT or SIGTERM."""
    ctx = await Context.open(config, folder)
    runners = []
    for name, app, (host, port) in (
        ("reporter", create_reporter_app(ctx), config.reporter_host_port),
        ("staff", create_staff_app(ctx), config.staff_host_port),
    ):
        runner = web.AppRunner(app, access_log=None, handle_signals=False, read_bufsize=READ_BUFSIZE)
        await runner.setup()
        without_date_header(runner)
        runners.append(runner)
        await web.TCPSite(runner, host, port, backlog=128).start()
        log.info("%s side listening on http://%s:%d/", name, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()
        await ctx.close()
