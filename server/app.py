"""The application factory and the runner of both listeners."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import AsyncIterator

from aiohttp import web, web_response

from .acceptlog import AcceptErrorLog
from .alerts import daily_digest
from .appkeys import CONTEXT, STAFF_SESSIONS, STAFF_THROTTLE, TEMPLATES
from .config import Config
from .connections import ListenerGuard, ListenerLimits, Middleware, connection_middleware
from .context import Context
from .datafolder import DataFolder
from .descriptors import plan_connections, raise_open_file_limit
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


def _middlewares(guard: ListenerGuard | None) -> list[Middleware]:
    return ([connection_middleware(guard)] if guard is not None else []) + [frame_middleware]


def create_reporter_app(ctx: Context, guard: ListenerGuard | None = None) -> web.Application:
    """The reporter side; its client_max_size only bounds small forms (uploads stream).

    ``guard`` is the listener's connection guard (``serve`` passes it): it
    learns when requests begin and end, and sets ``request["circuit"]``.
    """
    app = web.Application(middlewares=_middlewares(guard), client_max_size=64 * 1024)
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
        if ctx.config.alerts is not None:
            tasks.append(asyncio.create_task(daily_digest(ctx.store, ctx.config)))
        yield
        for task in tasks:
            task.cancel()

    app.cleanup_ctx.append(background)
    return app


def create_staff_app(ctx: Context, guard: ListenerGuard | None = None) -> web.Application:
    """The staff side, for its own listener: none of its routes exists on the reporter side."""
    app = web.Application(middlewares=_middlewares(guard), client_max_size=64 * 1024)
    app[CONTEXT] = ctx
    app[TEMPLATES] = template_environment()
    app[STAFF_SESSIONS] = StaffSessions(ctx.config.session_idle_seconds * 2, ctx.config.session_max_seconds * 4)
    app[STAFF_THROTTLE] = LoginThrottle(failures_before_delay=3, max_delay=ctx.config.login_max_delay_seconds,
                                        global_per_minute=ctx.config.login_global_per_minute,
                                        tarpit_seconds=ctx.config.login_tarpit_seconds)
    app.on_response_prepare.append(on_prepare)

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/staff")

    app.router.add_get("/", root)
    staff_routes(app)
    return app


def listener_guards(config: Config, open_files: int) -> tuple[ListenerGuard, ListenerGuard]:
    """The reporter's and the staff's guards, their caps fitted to the open-file limit."""
    plan = plan_connections(open_files, config.reporter_max_connections, config.staff_max_connections)
    timeouts = {"header_timeout": config.header_timeout_seconds, "idle_timeout": config.idle_timeout_seconds}
    reporter = ListenerLimits(plan.reporter, proxy_protocol=config.proxy_protocol,
                              circuit_max_connections=config.circuit_max_connections, **timeouts)
    return ListenerGuard(reporter), ListenerGuard(ListenerLimits(plan.staff, **timeouts))


async def serve(config: Config, folder: DataFolder) -> None:
    """Open the store, start the listeners, run until SIGINT or SIGTERM."""
    open_files = raise_open_file_limit()
    reporter_guard, staff_guard = listener_guards(config, open_files)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(AcceptErrorLog())
    ctx = await Context.open(config, folder)
    guards = (reporter_guard, staff_guard)
    runners = []
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for name, app, guard, (host, port) in (
            ("reporter", create_reporter_app(ctx, reporter_guard), reporter_guard, config.reporter_host_port),
            ("staff", create_staff_app(ctx, staff_guard), staff_guard, config.staff_host_port),
        ):
            runner = web.AppRunner(app, access_log=None, handle_signals=False, read_bufsize=READ_BUFSIZE,
                                   keepalive_timeout=guard.limits.backstop)
            await runner.setup()
            without_date_header(runner)
            runners.append(runner)
            assert runner.server is not None
            await guard.listen(runner.server, host, port)
            log.info("%s side listening on http://%s:%d/ (at most %d connections%s)", name, host, port,
                     guard.limits.max_connections, ", PROXY protocol" if guard.limits.proxy_protocol else "")
        log.info("open-file limit %d; header timeout %g s, idle timeout %g s", open_files,
                 config.header_timeout_seconds, config.idle_timeout_seconds)
        await stop.wait()
    finally:
        for guard in guards:
            guard.stop_listening()
        for runner in runners:
            await runner.cleanup()
        for guard in guards:
            guard.close_all()
        await ctx.close()
