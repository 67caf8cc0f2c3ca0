"""Every ``web.AppKey`` and ``web.RequestKey`` of the desk, in one place."""

from __future__ import annotations

import asyncio

import jinja2
from aiohttp import web

from crypto.keyring import Keyring
from .state import DeskState

STATE = web.AppKey("desk_state", DeskState)
TEMPLATES = web.AppKey("desk_templates", jinja2.Environment)
WORK = web.AppKey("desk_work", asyncio.Lock)

# What one request carries from the middleware to its handler and its answer.
RING = web.RequestKey("ring", Keyring | None)  # type: ignore[arg-type]  # the unlocked keyring, if any
CSRF_NEW = web.RequestKey("csrf_new", str)  # a CSRF token made for this visit: the answer sets the cookie
