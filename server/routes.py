"""The reporter and staff listeners' routes (ARCHITECTURE.md), and the static files."""

from __future__ import annotations

import mimetypes
from importlib import resources
from pathlib import Path

from aiohttp import web

from server.reporter import views

STATIC = Path(str(resources.files("templates").joinpath("static")))
# A few small files, read once (no blocking read on the loop).
STATIC_FILES = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.is_file()}


async def static_file(request: web.Request) -> web.StreamResponse:
    """One of the few files in ``templates/static``; anything else is the site's own 404 page.

    Served from bytes, without ``Last-Modified`` or an ``ETag`` made from the
    file's time: both would show when this copy was installed.
    """
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    body = STATIC_FILES[name]
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return web.Response(body=body, content_type=content_type, charset="utf-8" if content_type.startswith("text/") else None)


def reporter_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", views.home)
    r.add_get("/criteria", views.criteria)
    r.add_get("/submit", views.submit_form)
    r.add_post("/submit", views.submit)
    r.add_get("/login", views.login_form)
    r.add_post("/login", views.login)
    r.add_get("/mailbox", views.mailbox)
    r.add_get("/mailbox/submit", views.submit_form)
    r.add_post("/mailbox/submit", views.submit)
    r.add_get("/mailbox/reports/{code}", views.case)
    r.add_post("/mailbox/reports/{code}/messages", views.message)
    r.add_get("/mailbox/delete", views.delete_form)
    r.add_post("/mailbox/delete", views.delete_account)
    r.add_post("/logout", views.logout)
    r.add_get("/org-key", views.org_key)
    r.add_get("/static/{name}", static_file)


def staff_routes(app: web.Application) -> None:
    from server.staff import views as v

    r = app.router
    r.add_get("/staff/login", v.login_form)
    r.add_post("/staff/login", v.login)
    r.add_post("/staff/logout", v.logout)
    r.add_get("/staff/password", v.password_form)
    r.add_post("/staff/password", v.password)
    r.add_get("/staff", v.dashboard)
    r.add_get("/staff/reports", v.reports)
    r.add_get("/staff/reports/{code}", v.report)
    r.add_post("/staff/reports/{code}/status", v.set_status)
    r.add_post("/staff/reports/{code}/reply", v.reply)
    r.add_get("/staff/export", v.export)
    r.add_get("/staff/import", v.import_form)
    r.add_post("/staff/import", v.import_bundle)
    r.add_get("/staff/users", v.users)
    r.add_post("/staff/users", v.users_action)
    r.add_get("/staff/audit", v.audit)
    r.add_get("/staff/stats", v.statistics)
    r.add_get("/staff/stats.csv", v.statistics)
    r.add_get("/static/{name}", static_file)
