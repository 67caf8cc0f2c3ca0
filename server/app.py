"""The application factory and the runner of both listeners."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import AsyncIterator, Callable

import jinja2
from aiohttp import web, web_response

from server import i18n
from server.appkeys import CONTEXT, STAFF_SESSIONS, STAFF_THROTTLE, TEMPLATES
from server.config import Config
from server.context import Context, TenantLanes
from server.defences.acceptlog import AcceptErrorLog
from server.defences.connections import ListenerGuard, ListenerLimits, Middleware, connection_middleware
from server.defences.descriptors import plan_connections, raise_open_file_limit
from server.defences.throttle import LoginLimiter, login_throttle
from server.operations.alerts import daily_digest
from server.operations.upkeep import hourly_upkeep
from server.operations.retention import daily_purge
from server.routes import reporter_routes, staff_routes
from server.staff.workflow import StaffSessionStore, staff_session_store
from server.storage.datafolder import DataFolder
from server.tenants import tenant_config
from server.web import frame_middleware, on_prepare, template_environment, without_date_header

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
    """Expired sessions end; on a shared database, every expired live-state row goes
    (sessions of both kinds, throttles), whichever node gets there first."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await ctx.sessions.sweep()
        except Exception as exc:  # the database away for a while: the next round sweeps again
            log.warning("session sweep failed: %s", type(exc).__name__)


def _guard_only(guard: ListenerGuard | None) -> list[Middleware]:
    return [connection_middleware(guard)] if guard is not None else []


def _middlewares(guard: ListenerGuard | None) -> list[Middleware]:
    return _guard_only(guard) + [frame_middleware]


def _background_tasks(ctx: Context) -> list[asyncio.Task]:
    """One data folder's jobs: the session sweep, the retention purge, the digest, and on
    PostgreSQL the hourly upkeep (tables in key order, the shared blob folder's orphans)."""
    tasks = [
        asyncio.create_task(_sweeper(ctx)),
        asyncio.create_task(daily_purge(ctx.store, ctx.blobs, ctx.config.retention_days)),
    ]
    if ctx.config.alerts is not None:
        tasks.append(asyncio.create_task(daily_digest(ctx.store, ctx.config)))
    if ctx.store.shared:
        tasks.append(asyncio.create_task(hourly_upkeep(ctx.store, ctx.blobs)))
    return tasks


def create_reporter_app(ctx: Context, guard: ListenerGuard | None = None, *,
                        background: bool = True, templates: jinja2.Environment | None = None) -> web.Application:
    """The reporter side; its client_max_size only bounds small forms (uploads stream).

    ``guard`` is the listener's connection guard (``serve`` passes it): it
    learns when requests begin and end, and sets ``request[CIRCUIT]``.
    ``background=False``: the caller runs the daily jobs (a tenant's app).
    ``templates``: the template environment, when several apps share it (each compiles every page it renders).
    """
    app = web.Application(middlewares=_middlewares(guard), client_max_size=64 * 1024)
    app[CONTEXT] = ctx
    app[TEMPLATES] = templates or template_environment()
    app.on_response_prepare.append(on_prepare)
    if ctx.config.onion_address:
        onion = ctx.config.onion_address

        async def onion_location(request: web.Request, response: web.StreamResponse) -> None:
            response.headers["Onion-Location"] = f"http://{onion}{request.path_qs}"

        app.on_response_prepare.append(onion_location)
    reporter_routes(app)
    if background:
        app.cleanup_ctx.append(_jobs([ctx]))
    return app


def _jobs(contexts: list[Context]) -> Callable[[web.Application], AsyncIterator[None]]:
    async def background(app: web.Application) -> AsyncIterator[None]:
        tasks = [task for ctx in contexts for task in _background_tasks(ctx)]
        yield
        for task in tasks:
            task.cancel()

    return background


def staff_state(ctx: Context) -> tuple[StaffSessionStore, LoginLimiter]:
    """One data folder's staff sessions and staff login throttle (in its database when shared)."""
    return (staff_session_store(ctx.store, ctx.config.session_idle_seconds * 2, ctx.config.session_max_seconds * 4),
            login_throttle(ctx.store, ctx.instance_secret, scope="staff", failures_before_delay=3,
                           max_delay=ctx.config.login_max_delay_seconds,
                           global_per_minute=ctx.config.login_global_per_minute,
                           tarpit_seconds=ctx.config.login_tarpit_seconds))


def create_staff_app(ctx: Context, guard: ListenerGuard | None = None, *,
                     state: tuple[StaffSessionStore, LoginLimiter] | None = None,
                     templates: jinja2.Environment | None = None) -> web.Application:
    """The staff side, for its own listener: none of its routes exists on the reporter side.

    ``state``: the staff sessions and throttle, when several apps (a tenant's Host names) share them.
    """
    app = web.Application(middlewares=_middlewares(guard), client_max_size=64 * 1024)
    app[CONTEXT] = ctx
    app[TEMPLATES] = templates or template_environment()
    app[STAFF_SESSIONS], app[STAFF_THROTTLE] = state or staff_state(ctx)
    app.on_response_prepare.append(on_prepare)

    async def root(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/staff")

    app.router.add_get("/", root)
    staff_routes(app)
    return app


def create_tenant_apps(config: Config, contexts: dict[str, Context], reporter_guard: ListenerGuard | None = None,
                       staff_guard: ListenerGuard | None = None) -> tuple[web.Application, web.Application]:
    """The reporter and staff listeners' apps of a server with tenants: each Host name leads to its tenant.

    A tenant's app is mounted once per Host name (aiohttp matches it without
    its port, whatever its case); its contexts, staff sessions and throttles
    are the tenant's own whichever of its names is used. Any other Host
    gets the neutral page, which names no tenant. One template environment
    serves every app: each environment compiles (and keeps) every page it
    renders, which per app cost every tenant's first visitors a compile and
    the server memory for each tenant.
    """
    reporter = web.Application(middlewares=_guard_only(reporter_guard), client_max_size=64 * 1024)
    staff = web.Application(middlewares=_guard_only(staff_guard), client_max_size=64 * 1024)
    templates = template_environment()
    for tenant in config.tenants:
        ctx = contexts[tenant.slug]
        for host in tenant.hosts:
            reporter.add_domain(host, create_reporter_app(ctx, background=False, templates=templates))
        state = staff_state(ctx)
        for host in tenant.staff_hosts:
            staff.add_domain(host, create_staff_app(ctx, state=state, templates=templates))
    for app in (reporter, staff):
        app[TEMPLATES] = templates
        app.router.add_route("*", "/{tail:.*}", unknown_host)
        app.on_response_prepare.append(on_prepare)
    reporter.cleanup_ctx.append(_jobs(list(contexts.values())))
    return reporter, staff


async def unknown_host(request: web.Request) -> web.Response:
    """A Host name no tenant answers to: one neutral page in both languages, naming nobody."""
    page = request.app[TEMPLATES].get_template("unknown_host.html").render(translate=i18n.translate)
    return web.Response(text=page, status=421, content_type="text/html", charset="utf-8")


async def open_tenants(config: Config) -> dict[str, Context]:
    """Every tenant's context, the first one owning the pools all of them share."""
    contexts: dict[str, Context] = {}
    kdf = TenantLanes.pool_for(config, [tenant.slug for tenant in config.tenants])
    try:
        for tenant in config.tenants:
            tenant_cfg = tenant_config(config, tenant)
            first = next(iter(contexts.values()), None)
            contexts[tenant.slug] = await Context.open(tenant_cfg, DataFolder(tenant_cfg.data_dir), pools=first,
                                                       kdf=TenantLanes(kdf, tenant.slug),
                                                       tenants=len(config.tenants))
    except BaseException:
        await close_contexts(contexts)
        if not contexts:
            kdf.close()
        raise
    return contexts


async def close_contexts(contexts: dict[str, Context]) -> None:
    """Close the tenants sharing the pools before the one owning them."""
    for ctx in reversed(list(contexts.values())):
        await ctx.close()


def listener_guards(config: Config, open_files: int) -> tuple[ListenerGuard, ListenerGuard]:
    """The reporter's and the staff's guards, their caps fitted to the open-file limit."""
    plan = plan_connections(open_files, config.reporter_max_connections, config.staff_max_connections,
                            len(config.tenants))
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
    if config.tenants:
        contexts = await open_tenants(config)
        reporter_app, staff_app = create_tenant_apps(config, contexts, reporter_guard, staff_guard)
        log.info("serving %d tenants: %s", len(contexts), ", ".join(contexts))
    else:
        ctx = await Context.open(config, folder)
        contexts = {"": ctx}
        reporter_app, staff_app = create_reporter_app(ctx, reporter_guard), create_staff_app(ctx, staff_guard)
    guards = (reporter_guard, staff_guard)
    runners = []
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for name, app, guard, (host, port) in (
            ("reporter", reporter_app, reporter_guard, config.reporter_host_port),
            ("staff", staff_app, staff_guard, config.staff_host_port),
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
        await close_contexts(contexts)
