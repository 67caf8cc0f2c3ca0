"""Reading a multipart form as it streams in, sealing files on the way.

Text fields are read with a bound and kept in memory for this request only.
Each file part goes through an ``EnvelopeWriter`` into a temp blob: the
event loop parses the next block while one thread seals the previous one and
another hashes and writes the ciphertext, so no plaintext byte of a file
ever touches the disk and the loop never waits on encryption or ``fsync``. ``request.post()`` is never
used: it would spool uploads to plaintext temp files.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import unicodedata
from collections import deque
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Sequence

from aiohttp import BodyPartReader, MultipartReader
from aiohttp.http_exceptions import HttpProcessingError

from crypto.encoding import new_item_id
from crypto.envelope import EnvelopeWriter
from crypto.streams import WriteBehind
from crypto.items import AttachmentRef

from .blobstore import BlobStore, TempBlob
from .errors import BadRequest, CsrfError, PayloadTooLarge

BLOCK = 1024 * 1024
IN_FLIGHT = 4
MAX_PARTS = 200
MAX_FILENAME = 255
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\Z")


@dataclass
class SealedFile:
    """An uploaded file, sealed to the organisation keys in a durable temp blob."""

    item_id: str
    temp: TempBlob
    ref: AttachmentRef


@dataclass
class Limits:
    text: dict[str, int]  # field name -> max characters
    file_field: str | None
    max_file_bytes: int
    max_total_bytes: int
    max_files: int


@dataclass
class FormData:
    values: dict[str, str] = field(default_factory=dict)
    files: list[SealedFile] = field(default_factory=list)


def safe_filename(raw: str | None) -> str:
    """The last path component, without controls, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:MAX_FILENAME] or "file"


def media_type(raw: str | None) -> str:
    value = (raw or "").split(";")[0].strip().lower()
    return value if _MEDIA_TYPE.match(value) else "application/octet-stream"


class _Sealer:
    """Runs in an I/O thread: hash the plaintext and seal it; a second thread writes."""

    def __init__(self, temp: TempBlob, recipients: Sequence[bytes]) -> None:
        self.temp = temp
        self.digest = hashlib.sha256()
        self.sink = WriteBehind(temp, depth=IN_FLIGHT, name="seal-write")
        try:
            self.writer = EnvelopeWriter(self.sink, recipients)
        except BaseException:
            self.stop()
            raise

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.writer.write(data)

    def finish(self) -> None:
        self.writer.close()
        self.sink.close()
        self.temp.finish()

    def stop(self) -> None:
        """End the writing thread after a failure, before the temp blob is discarded."""
        self.sink.abandon()


class Intake:
    def __init__(
        self,
        *,
        blobs: BlobStore,
        io: Executor,
        recipients: Sequence[bytes],
        limits: Limits,
        csrf_expected: str,
    ) -> None:
        self._blobs = blobs
        self._io = io
        self._recipients = list(recipients)
        self._limits = limits
        self._csrf = csrf_expected
        self._csrf_ok = False
        self._total = 0
        self.data = FormData()

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def read(self, reader: MultipartReader) -> FormData:
        """Read every part; on any error, discard what was sealed and re-raise."""
        try:
            parts = 0
            while (part := await reader.next()) is not None:
                parts += 1
                if parts > MAX_PARTS or not isinstance(part, BodyPartReader):
                    raise BadRequest()
                await self._read_part(part)
            if not self._csrf_ok:
                raise CsrfError()
        except (ValueError, HttpProcessingError):  # aiohttp's word for a malformed body
            await self.discard()
            raise BadRequest() from None
        except BaseException:
            await self.discard()
            raise
        return self.data

    async def discard(self) -> None:
        files, self.data.files = self.data.files, []
        for sealed in files:
            await self._run(sealed.temp.discard)

    async def _read_part(self, part: BodyPartReader) -> None:
        name = part.name or ""
        if name == self._limits.file_field and part.filename is not None:
            if not self._csrf_ok:
                raise CsrfError()
            await self._read_file(part)
        elif name in self._limits.text:
            value = await self._read_text(part, self._limits.text[name])
            if name == "csrf_token":
                self._csrf_ok = bool(self._csrf) and hmac.compare_digest(value, self._csrf)
                if not self._csrf_ok:
                    raise CsrfError()
            elif name not in self.data.values:
                self.data.values[name] = value
        else:
            raise BadRequest()

    async def _read_text(self, part: BodyPartReader, max_chars: int) -> str:
        limit = max_chars * 4  # UTF-8 needs at most 4 bytes a character
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data += chunk
            if len(data) > limit:
                raise PayloadTooLarge()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest() from None

    async def _read_file(self, part: BodyPartReader) -> None:
        first = await part.read_chunk(BLOCK)
        if not first and not part.filename:
            return  # the empty part a browser sends when no file was chosen
        if len(self.data.files) >= self._limits.max_files:
            raise PayloadTooLarge()
        temp = await self._run(self._blobs.new_temp)
        sealed = SealedFile(new_item_id(), temp, None)  # type: ignore[arg-type]
        self.data.files.append(sealed)
        sealer: _Sealer = await self._run(_Sealer, temp, self._recipients)
        # One thread per file keeps the blocks in order while the loop parses
        # ahead; at most IN_FLIGHT blocks wait for it, so memory stays bounded.
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seal")
        loop = asyncio.get_running_loop()
        waiting: deque[asyncio.Future] = deque()
        size = 0
        chunk = first
        try:
            while chunk:
                size += len(chunk)
                self._total += len(chunk)
                if size > self._limits.max_file_bytes or self._total > self._limits.max_total_bytes:
                    raise PayloadTooLarge()
                waiting.append(loop.run_in_executor(worker, sealer.write, chunk))
                if len(waiting) >= IN_FLIGHT:
                    await waiting.popleft()
                chunk = await self._read_block(part)
            while waiting:
                await waiting.popleft()
            await loop.run_in_executor(worker, sealer.finish)
        except BaseException:
            if waiting:
                await asyncio.gather(*waiting, return_exceptions=True)
            await loop.run_in_executor(worker, sealer.stop)
            raise
        finally:
            worker.shutdown(wait=False)
        sealed.ref = AttachmentRef(
            item_id=sealed.item_id,
            filename=safe_filename(part.filename),
            media_type=media_type(part.headers.get("Content-Type")),
            size=size,
            sha256=sealer.digest.hexdigest(),
        )

    @staticmethod
    async def _read_block(part: BodyPartReader) -> bytes:
        """Gather up to 1 MiB, so each hop to the I/O thread carries a good load."""
        data = await part.read_chunk(BLOCK)
        if not data or len(data) >= BLOCK:
            return data
        parts = [data]
        size = len(data)
        while size < BLOCK:
            # aiohttp needs room for a boundary in every read: never ask for a sliver
            more = await part.read_chunk(max(BLOCK - size, 64 * 1024))
            if not more:
                break
            parts.append(more)
            size += len(more)
        return b"".join(parts)
