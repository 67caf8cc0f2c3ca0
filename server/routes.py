"""The reporter listener's routes (ARCHITECTURE.md): registration only."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from . import views


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
    r.add_post("/logout", views.logout)
    r.add_get("/org-key", views.org_key)
    r.add_static("/static/", str(resources.files("templates").joinpath("static")), append_version=False)
