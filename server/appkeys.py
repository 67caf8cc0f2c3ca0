"""Every ``web.AppKey`` and ``web.RequestKey`` of the server, in one place."""

from __future__ import annotations

import jinja2
from aiohttp import web

from server.context import Context
from server.defences.sessions import Session
from server.defences.throttle import LoginLimiter
from server.staff.workflow import StaffSessionStore
from server.storage.store import StaffMember

CONTEXT = web.AppKey("context", Context)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
STAFF_SESSIONS = web.AppKey("staff_sessions", StaffSessionStore)
STAFF_THROTTLE = web.AppKey("staff_throttle", LoginLimiter)

# What one request carries from the middleware to its handler and its answer.
LANG = web.RequestKey("lang", str)
LANG_CHOSEN = web.RequestKey("lang_chosen", bool)  # chosen by a link: the answer sets the cookie
CSRF_NEW = web.RequestKey("csrf_new", str)  # a CSRF token made for this visitor: the answer sets the cookie
SESSION = web.RequestKey("session", Session | None)  # type: ignore[arg-type]
STAFF = web.RequestKey("staff", StaffMember)
CIRCUIT = web.RequestKey("circuit", str)  # the Tor circuit id, when the PROXY protocol gives one
