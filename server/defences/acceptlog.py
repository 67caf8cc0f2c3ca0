"""Failed ``accept()`` calls, logged as one counted line per interval instead of a traceback per try.

When the process is out of descriptors (EMFILE) or the kernel out of memory
for sockets, asyncio reports every failed ``accept()`` to the loop's
exception handler, and the default handler logs a traceback each time. Its
retry schedules one more try per failed call, so a held flood of
connections produced 870,000 lines (60 MB) in 30 s (issue 12, finding 1).
``AcceptErrorLog`` replaces that handler: the first failure is logged at
once, later ones are counted and summed up once per interval. A line names
the error (e.g. "Too many open files") and how often it happened; nothing of
any client. Every other loop error goes to asyncio's default handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

ACCEPT_FAILED = "socket.accept() out of system resource"  # asyncio's message (selector_events.py)
INTERVAL_SECONDS = 60.0

log = logging.getLogger("wbs")


class AcceptErrorLog:
    """A loop exception handler: ``loop.set_exception_handler(AcceptErrorLog())``."""

    def __init__(self, interval: float = INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 logger: logging.Logger = log) -> None:
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self._counted = 0
        self._reason = ""
        self._quiet_until = float("-inf")
        self._flush: asyncio.TimerHandle | None = None

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_FAILED:
            loop.default_exception_handler(context)
            return
        exc = context.get("exception")
        self._reason = getattr(exc, "strerror", None) or type(exc).__name__
        now = self.clock()
        if now >= self._quiet_until:
            self.logger.warning("cannot accept connections: %s; further failures are counted and logged"
                                " once every %.0f s", self._reason, self.interval)
            self._quiet_until = now + self.interval
            return
        self._counted += 1
        if self._flush is None:
            self._flush = loop.call_later(max(0.0, self._quiet_until - now), self.flush)

    def flush(self) -> None:
        """Log the failures counted since the last line (the loop calls this at the interval's end)."""
        self._flush = None
        if self._counted:
            self.logger.warning("cannot accept connections: %s, %d more time(s) in the last %.0f s",
                                self._reason, self._counted, self.interval)
            self._counted = 0
            self._quiet_until = self.clock() + self.interval
