"""Every URL of the desk (a contract: the keyholder guides and the tests name them)."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from . import views


def desk_routes(app: web.Application) -> None:
    app.router.add_get("/unlock", views.unlock_form)
    app.router.add_post("/unlock", views.unlock)
    app.router.add_post("/lock", views.lock)
    app.router.add_get("/", views.index)
    app.router.add_get("/import", views.import_form)
    app.router.add_post("/import", views.import_upload)
    app.router.add_post("/import/inbox", views.import_inbox)
    app.router.add_get("/cases/{code}", views.case_page)
    app.router.add_get("/cases/{code}/files/{item_id}", views.attachment)
    app.router.add_get("/cases/{code}/files/{item_id}/cleaned", views.cleaned_copy)
    app.router.add_post("/cases/{code}/files/{item_id}/clean", views.clean)
    app.router.add_post("/cases/{code}/reply", views.reply)
    app.router.add_post("/cases/{code}/notes", views.note)
    app.router.add_get("/replies", views.replies)
    app.router.add_get("/replies/bundle", views.reply_bundle)
    templates = resources.files("templates")
    app.router.add_get("/static/style.css", views.stylesheet(templates / "static" / "style.css"))
    app.router.add_get("/static/desk.css", views.stylesheet(templates / "keytools" / "desk.css"))
