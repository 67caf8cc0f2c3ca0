"""Every ``web.AppKey`` of the server, in one place."""

from __future__ import annotations

import jinja2
from aiohttp import web

from .context import Context
from .staff import StaffSessions
from .throttle import LoginThrottle

CONTEXT = web.AppKey("context", Context)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
STAFF_SESSIONS = web.AppKey("staff_sessions", StaffSessions)
STAFF_THROTTLE = web.AppKey("staff_throttle", LoginThrottle)
