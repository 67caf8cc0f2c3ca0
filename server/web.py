"""The web frame shared by every page: headers, language, CSRF, errors, rendering.

Headers: a strict CSP with no script at all, no framing, no referrer, no
sniffing, same-origin isolation, every browser feature off, no indexing, no
caching of pages, and no server software name.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from urllib.parse import parse_qsl
from importlib import resources
from typing import Any, Awaitable, Callable

import jinja2
from aiohttp import web

from server import i18n
from server.appkeys import CONTEXT, CSRF_NEW, LANG, LANG_CHOSEN, SESSION, STAFF, STAFF_SESSIONS, TEMPLATES
from server.defences.sessions import SESSION_COOKIE, Session
from server.defences.tokens import same_token
from server.errors import BadRequest, NotFound, PayloadTooLarge, ServerError, UploadAborted, UploadStalled

log = logging.getLogger("wbs")

LANG_COOKIE = "wbs_lang"
CSRF_COOKIE = "wbs_csrf"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
        "payment=(), usb=(), interest-cohort=(), browsing-topics=(), display-capture=(), fullscreen=()"
    ),
    "X-Robots-Tag": "noindex, nofollow, noarchive",
}


def template_environment() -> jinja2.Environment:
    root = resources.files("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env)
    env.globals.update(
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        STATUSES=i18n.STATUSES,
        CATEGORIES=i18n.CATEGORIES,
        status_label=i18n.status_label,
        status_explained=i18n.status_explained,
        size_label=i18n.size_label,
        category_label=i18n.category_label,
        alert_reason=i18n.alert_reason,
        key_state_label=i18n.key_state_label,
        long_date=i18n.long_date,
    )
    return env


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers:
        static = request.path.startswith("/static/")
        response.headers["Cache-Control"] = "public, max-age=3600" if static else "no-store"
    response.headers.pop("Server", None)


class _DatelessRequest(web.Request):
    """A request whose answer carries no ``Date``: the clock of the server is nobody's business.

    aiohttp adds ``Date`` just before the on_response_prepare hooks, and to
    the answers it makes on its own (malformed requests) where no hook runs;
    every response passes through here, so both lose it.
    """

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        await super()._prepare_hook(response)
        response.headers.popall("Date", None)


def without_date_header(runner: web.AppRunner) -> None:
    """Make the requests of a set-up runner ``_DatelessRequest``s."""
    if runner.server is None:
        raise RuntimeError("set the runner up first")
    runner.server.request_factory = functools.partial(runner.app._make_request, _cls=_DatelessRequest)


def lang_of(request: web.Request) -> str:
    return request.get(LANG, i18n.DEFAULT_LANG)


def session_of(request: web.Request) -> Session | None:
    return request.get(SESSION)


def csrf_token(request: web.Request) -> str:
    """The token forms carry: the visitor's CSRF cookie (made on first use)."""
    token = request.get(CSRF_NEW) or request.cookies.get(CSRF_COOKIE, "")
    if len(token) != 43:
        token = secrets.token_urlsafe(32)
        request[CSRF_NEW] = token
    return token


def csrf_expected(request: web.Request) -> str:
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if len(token) == 43 else ""


def check_csrf(request: web.Request, submitted: str) -> bool:
    expected = csrf_expected(request)
    return bool(expected) and same_token(expected, submitted)


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, **extra: Any) -> None:
    ctx = request.app[CONTEXT]
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", secure=ctx.config.secure_cookies, path="/", **extra
    )


def page_path(request: web.Request) -> str:
    """This page's path for links on it (the language switch), made from the route that
    matched, never from the request's own bytes: ``GET //evil.example/x`` must not
    become ``href="//evil.example/x"``, a link off our site. Unmatched: the home page."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    if resource is None:
        return "/"
    try:
        path = str(resource.url_for(**info))
    except (KeyError, ValueError):
        return "/"
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/"


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    lang = lang_of(request)
    ctx = request.app[CONTEXT]
    page = request.app[TEMPLATES].get_template(template).render(
        lang=lang,
        path=page_path(request),
        session=session_of(request),
        csrf_token=csrf_token(request),
        config=ctx.config,
        **values,
    )
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    finish(request, response)
    return response


def finish(request: web.Request, response: web.StreamResponse) -> None:
    """Cookies a response must carry: a fresh CSRF token, a language choice.

    The language cookie lasts the browser session: on a shared device a
    year-long cookie would tell the next user that someone chose a language here.
    """
    if request.get(CSRF_NEW):
        set_cookie(request, response, CSRF_COOKIE, request[CSRF_NEW])
    if request.get(LANG_CHOSEN):
        set_cookie(request, response, LANG_COOKIE, request[LANG])


def redirect(request: web.Request, location: str) -> web.HTTPSeeOther:
    response = web.HTTPSeeOther(location)
    finish(request, response)
    return response


async def read_small_form(request: web.Request, limit: int = 8192) -> dict[str, str]:
    """A small urlencoded form, bounded in size and in time; never request.post() on uploads.

    The whole body must arrive within the uploads' idle timeout (a few KiB
    take well under a second even over Tor), read until its end: a body
    that comes in pieces is read whole, one that stalls is abandoned.
    """
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest()
    body = bytearray()
    try:
        async with asyncio.timeout(request.app[CONTEXT].pace.idle_seconds):
            while len(body) <= limit and (piece := await request.content.read(limit + 1 - len(body))):
                body += piece
    except TimeoutError:
        raise UploadStalled() from None
    except ConnectionError:
        raise UploadAborted() from None
    if len(body) > limit:
        raise PayloadTooLarge()
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest() from None



Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def frame_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Language, session, and every error turned into a page a person understands."""
    chosen = request.query.get("lang")
    if chosen in i18n.LANGS:
        request[LANG] = chosen
        request[LANG_CHOSEN] = True
    else:
        cookie = request.cookies.get(LANG_COOKIE)
        request[LANG] = cookie if cookie in i18n.LANGS else request.app[CONTEXT].config.default_lang
    try:
        request[SESSION] = await request.app[CONTEXT].sessions.get(request.cookies.get(SESSION_COOKIE))
        return await handler(request)
    except ServerError as exc:
        return error_page(request, exc.status, exc.message_key)
    except web.HTTPNotFound:
        return error_page(request, 404, NotFound.message_key)
    except web.HTTPMethodNotAllowed:
        return error_page(request, 405, BadRequest.message_key)
    except web.HTTPRequestEntityTooLarge:
        return error_page(request, 413, PayloadTooLarge.message_key)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_page(request, exc.status, BadRequest.message_key)
        raise
    except Exception as exc:  # a bug: log where, never what (it may hold reporter text)
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("internal error %s at %s", type(exc).__name__, where)
        return error_page(request, 500, ServerError.message_key)


def error_page(request: web.Request, status: int, message_key: str) -> web.Response:
    """A page in the visitor's language; the limits are there for a message that names them."""
    config = request.app[CONTEXT].config
    message = i18n.translate(
        lang_of(request),
        message_key,
        file_size=i18n.size_label(config.max_file_bytes),
        report_size=i18n.size_label(config.max_report_bytes),
        count=config.max_files,
    )
    # Each listener answers in its own frame: the reporter pages' links lead nowhere on the staff side.
    if STAFF_SESSIONS in request.app:
        response = render(request, "staff/error.html", status=status, message=message,
                          staff_member=request.get(STAFF))
    else:
        response = render(request, "error.html", status=status, message=message)
    if status == 503:
        response.headers["Retry-After"] = "10"
    return response
