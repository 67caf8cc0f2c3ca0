"""The frame every desk page shares: headers, the Host check, CSRF, the lock,
rendering, and errors turned into pages a keyholder understands.

Headers as on the site, stricter where a page holds plaintext reports: a
CSP with no script, no image, no frame; no referrer; no caching; no server
name. Only requests whose ``Host`` is the desk's own loopback address are
answered, so a web page elsewhere cannot reach the desk by renaming a
domain to 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import errno
import hmac
import logging
import secrets
from datetime import date
from importlib import resources
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, quote

import jinja2
from aiohttp import web

from crypto.keyring import Keyring

from locales import N_

from ..cleaned import mat2_command
from ..deadlines import ACKNOWLEDGE_WORKING_DAYS
from ..errors import KeytoolsError
from ..labels import BILINGUAL, STATUS_KEYS, bilingual, category_label, flag_label, flag_level, status_label, warning_label
from ..reader import REPORT_FIELDS, size_label
from .appkeys import CSRF_NEW, RING, STATE, TEMPLATES
from .errors import BadRequest, DeskError, NotFound, message_of

log = logging.getLogger("wbs-keytools.desk")

CSRF_COOKIE = "desk_csrf"
SESSION_COOKIE = "desk_session"
OPEN_PATHS = ("/unlock", "/static/")

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'none'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=(), display-capture=()",
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Cache-Control": "no-store",
}


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("templates") / "keytools")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(BILINGUAL)
    env.globals.update(status_label=status_label, category_label=category_label, flag_label=flag_label,
                       flag_level=flag_level, warning_label=warning_label, size_label=size_label,
                       FIELDS=REPORT_FIELDS, STATUS_KEYS=STATUS_KEYS, ACK_DAYS=ACKNOWLEDGE_WORKING_DAYS,
                       file_href=lambda view, rec: f"/cases/{quote(view.code)}/files/{quote(rec.item_id)}",
                       cleaned_href=lambda view, copy: f"/cases/{quote(view.code)}/files/{quote(copy.item_id)}/cleaned",
                       can_clean=mat2_command() is not None)
    return env


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.pop("Server", None)


def csrf_token(request: web.Request) -> str:
    token = request.get(CSRF_NEW) or request.cookies.get(CSRF_COOKIE, "")
    if len(token) != 43:
        token = secrets.token_urlsafe(32)
        request[CSRF_NEW] = token
    return token


def check_csrf(request: web.Request, submitted: str) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    if len(expected) != 43 or not hmac.compare_digest(expected.encode("utf-8", "replace"),
                                                      submitted.encode("utf-8", "replace")):
        raise BadRequest(bilingual(N_("This form has expired; reload the page and try again.")))


def set_cookie(response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", path="/")


def finish(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    if request.get(CSRF_NEW):
        set_cookie(response, CSRF_COOKIE, request[CSRF_NEW])
    return response


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    page = request.app[TEMPLATES].get_template(f"desk/{template}").render(
        csrf_token=csrf_token(request), unlocked=request.get(RING) is not None, today=date.today(), **values)
    response = web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
    finish(request, response)
    return response


def redirect(request: web.Request, location: str) -> web.HTTPSeeOther:
    response = web.HTTPSeeOther(location)
    finish(request, response)
    return response


async def read_form(request: web.Request, limit: int = 8192, fields: int = 8) -> dict[str, str]:
    """A small urlencoded form, read with a bound; the CSRF token is checked here."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest()
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise BadRequest(bilingual(N_("The form is too long.")))
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=fields))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest() from None
    check_csrf(request, form.get("csrf_token", ""))
    return form


def keyring(request: web.Request) -> Keyring:
    """The unlocked keyring (the middleware let only unlocked sessions reach a view that asks)."""
    ring = request.get(RING)
    if ring is None:
        raise redirect(request, "/unlock")
    return ring


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _host_allowed(request: web.Request) -> bool:
    config = request.app[STATE].config
    host = f"[{config.host}]" if ":" in config.host else config.host
    names = {f"{host}:{config.port}"}
    if config.host == "127.0.0.1":
        names.add(f"localhost:{config.port}")
    return request.headers.get("Host", "") in names


@web.middleware
async def frame_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _host_allowed(request):
        return web.Response(status=421, text="Misdirected request\n")
    state = request.app[STATE]
    request[RING] = state.keyring_for(request.cookies.get(SESSION_COOKIE))
    if request[RING] is None and not request.path.startswith(OPEN_PATHS):
        if request.method == "GET":
            raise redirect(request, "/unlock")
        return error_page(request, 403, bilingual(N_("The desk is locked; unlock it again.")))
    try:
        return await handler(request)
    except DeskError as exc:
        return error_page(request, exc.status, message_of(exc), exc.hint)
    except KeytoolsError as exc:
        return error_page(request, 400, str(exc), exc.hint)
    except OSError as exc:  # a full disk, a folder gone: the file operations say which, never what was in it
        log.error("file error %s", exc.strerror)
        return error_page(request, 507 if exc.errno == errno.ENOSPC else 500,
                          bilingual(N_("A file could not be read or written (%(error)s); nothing was changed halfway."),
                                    error=exc.strerror))
    except web.HTTPNotFound:
        return error_page(request, 404, message_of(NotFound()))
    except web.HTTPMethodNotAllowed:
        return error_page(request, 405, message_of(BadRequest()))
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_page(request, exc.status, message_of(BadRequest()))
        raise
    except Exception as exc:  # a bug: say where, never what (the values may be report text)
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("internal error %s at %s", type(exc).__name__, where)
        return error_page(request, 500, bilingual(N_("The desk made an error; nothing was changed halfway.")))


def error_page(request: web.Request, status: int, message: str, hint: str | None = None) -> web.Response:
    response = render(request, "error.html", status=status, message=message, hint=hint)
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response
