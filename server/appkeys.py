"""Every ``web.AppKey`` of the server, in one place."""

from __future__ import annotations

import jinja2
from aiohttp import web

from server.context import Context
from server.defences.throttle import LoginLimiter
from server.staff.workflow import StaffSessionStore

CONTEXT = web.AppKey("context", Context)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
STAFF_SESSIONS = web.AppKey("staff_sessions", StaffSessionStore)
STAFF_THROTTLE = web.AppKey("staff_throttle", LoginLimiter)
