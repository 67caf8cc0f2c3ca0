"""An export bundle sent from the import form, streamed to a file.

Never ``request.post()``: the body is read part by part and the bundle in
1 MiB pieces straight to a private file beside the cases (same disk, so
``open`` reads it from there), whatever its size; memory stays flat. The
bundle is ciphertext, and the file is removed when the import ends.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from locales import N_

from ..errors import UsageError
from ..labels import bilingual
from .errors import BadRequest
from .frame import check_csrf

UPLOAD_PREFIX = ".upload-"
PIECE = 1024 * 1024
MAX_PARTS = 4  # the form has two: csrf_token and bundle
MAX_TOKEN = 1024


@contextmanager
def upload_file(folder: Path) -> Iterator[Path]:
    """A private file name for an upload, removed whatever happens."""
    fd, name = tempfile.mkstemp(prefix=UPLOAD_PREFIX, suffix=".zip", dir=folder)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


async def _token(part: BodyPartReader) -> str:
    raw = bytearray()
    while chunk := await part.read_chunk(MAX_TOKEN):
        raw += chunk
        if len(raw) > MAX_TOKEN:
            raise BadRequest()
    return raw.decode("utf-8", "replace")


async def _copy(part: BodyPartReader, target: Path) -> int:
    """Gather the body into pieces of ``PIECE`` bytes, each written by a thread (the loop never blocks on disk)."""
    size = 0
    with open(target, "wb") as out:
        piece = bytearray()
        while chunk := await part.read_chunk(PIECE):
            piece += chunk
            if len(piece) >= PIECE:
                size += await asyncio.to_thread(out.write, piece)
                piece = bytearray()
        if piece:
            size += await asyncio.to_thread(out.write, piece)
        await asyncio.to_thread(os.fsync, out.fileno())
    return size


async def receive_bundle(request: web.Request, target: Path) -> int:
    """Stream the form's ``bundle`` into ``target`` (the CSRF token must come first); returns its size."""
    if not request.content_type.startswith("multipart/form-data"):
        raise BadRequest()
    token = None
    size = -1
    try:
        reader = await request.multipart()
        parts = 0
        while (part := await reader.next()) is not None:
            parts += 1
            if parts > MAX_PARTS or not isinstance(part, BodyPartReader):
                raise BadRequest()
            if part.name == "csrf_token":
                token = await _token(part)
            elif part.name == "bundle" and token is not None and size < 0:
                check_csrf(request, token)
                size = await _copy(part, target)
            else:
                raise BadRequest()
    except (ValueError, HttpProcessingError):  # aiohttp's word for a malformed body
        raise BadRequest() from None
    except OSError as exc:  # a full disk, most likely: the file is removed by upload_file
        raise UsageError(f"the bundle could not be stored on this computer: {exc.strerror}",
                         hint="make room on the disk of the cases folder, then import again") from None
    if size <= 0:
        raise BadRequest(bilingual(N_("Choose an export bundle (.zip) first.")))
    return size
