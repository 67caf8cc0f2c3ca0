"""Coroutine tests without a plugin: ``@run`` runs the test in an event loop of its own."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Coroutine


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper
