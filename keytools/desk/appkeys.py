"""Every ``web.AppKey`` of the desk, in one place."""

from __future__ import annotations

import asyncio

import jinja2
from aiohttp import web

from .state import DeskState

STATE = web.AppKey("desk_state", DeskState)
TEMPLATES = web.AppKey("desk_templates", jinja2.Environment)
WORK = web.AppKey("desk_work", asyncio.Lock)
