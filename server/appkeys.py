"""Every ``web.AppKey`` of the server, in one place."""

from __future__ import annotations

import jinja2
from aiohttp import web

from .context import Context

CONTEXT = web.AppKey("context", Context)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
