"""Reading a multipart form as it streams in, sealing files on the way.

The body is read straight from the request stream and split by
python-multipart's streaming parser, which hands over each part's bytes as
slices of what arrived (no copies, no temp files: ``request.post()`` would
spool uploads to plaintext temp files). Text fields are read with a bound
and kept in memory for this request only. Each file part goes through an
``EnvelopeWriter`` into a temp blob: the event loop parses the next block
while a thread of the server's shared sealing pool seals the previous one
and another hashes and writes the ciphertext, so no plaintext byte of a
file ever touches the disk and the loop never waits on encryption or
``fsync``. No thread belongs to an upload: a crowd of slow ones costs
queue entries, not threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import unicodedata
from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Awaitable, Callable, Sequence

from aiohttp import ClientPayloadError, StreamReader
from aiohttp.multipart import content_disposition_filename, parse_content_disposition
from python_multipart.multipart import MultipartParser, parse_options_header

from crypto.encoding import new_item_id
from crypto.envelope import EnvelopeWriter
from crypto.items import AttachmentRef

from server.defences.chains import SerialChain
from server.defences.tokens import same_token
from server.defences.uploadlimits import Pace
from server.errors import BadRequest, CsrfError, FormNotStored, PayloadTooLarge, UploadAborted, UploadStalled
from server.storage.blobstore import BlobStore, TempBlob, no_room

log = logging.getLogger("wbs")

BLOCK = 1024 * 1024
IN_FLIGHT = 4
# A slow upload hands over what it has once this much has waited this long,
# rather than hold up to BLOCK of plaintext for minutes: at Tor speed a
# crowd of uploads then costs tens of KiB each, not a MiB.
SLOW_BATCH = 64 * 1024
SLOW_WAIT = 0.5
MAX_PARTS = 200
MAX_FILENAME = 255
MAX_PART_HEADERS = 8
MAX_HEADER_BYTES = 8 * 1024
MAX_BOUNDARY = 70  # RFC 2046
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
    """The last path component, without controls or line breaks, at most 255 characters; "file"
    when nothing but dots is left. A cut never parts a letter from its combining marks."""
    name = "".join(ch for ch in raw or ""
                   if unicodedata.category(ch)[0] != "C" and unicodedata.category(ch) not in ("Zl", "Zp"))
    name = unicodedata.normalize("NFC", name)
    name = PureWindowsPath(PurePosixPath(name.strip()).name).name.strip()
    cut = MAX_FILENAME
    while 0 < cut < len(name) and unicodedata.category(name[cut])[0] == "M":
        cut -= 1
    name = name[:cut].strip()
    return name if name.strip(".") else "file"


def media_type(raw: str | None) -> str:
    value = (raw or "").split(";")[0].strip().lower()
    return value if _MEDIA_TYPE.match(value) else "application/octet-stream"


class _Collect:
    """The stream an ``EnvelopeWriter`` writes into during one task: its buffers, kept for the next stage."""

    def __init__(self) -> None:
        self._parts: list[bytes | bytearray | memoryview] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._parts.append(data)  # a fresh buffer each time: the writer never touches it again
        return len(data)

    def take(self) -> list[bytes | bytearray | memoryview]:
        parts, self._parts = self._parts, []
        return parts


class _Sealer:
    """One file in two stages, each a task on the shared sealing pool: ``seal``
    (hash the plaintext, seal it) and ``store`` (hash and write the
    ciphertext), so one block is written while the next is sealed."""

    def __init__(self, temp: TempBlob, recipients: Sequence[bytes]) -> None:
        self.temp = temp
        self.digest = hashlib.sha256()
        self._out = _Collect()
        self.writer = EnvelopeWriter(self._out, recipients)

    def seal(self, parts: Sequence[bytes | memoryview]) -> list[bytes | bytearray | memoryview]:
        for data in parts:
            self.digest.update(data)
            self.writer.write(data)
        return self._out.take()

    def close(self) -> list[bytes | bytearray | memoryview]:
        self.writer.close()
        return self._out.take()

    def store(self, sealed: Future) -> None:
        for data in sealed.result():  # the seal task has ended: this never waits
            self.temp.write(data)

    def finish(self, sealed: Future) -> None:
        """Write the last ciphertext and make the temp blob durable."""
        self.store(sealed)
        self.temp.finish()


class _Part:
    """The part being read: its headers, then what it is and where its bytes go."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.name = ""
        self.filename: str | None = None
        self.kind = ""  # "text", "file", or "skip" (a file that cannot be kept), once the headers are in
        self.text = bytearray()
        self.text_limit = 0
        # a file part
        self.sealed: SealedFile | None = None
        self.sealer: _Sealer | None = None
        self.seals: SerialChain | None = None
        self.writes: SerialChain | None = None
        self.waiting: deque[asyncio.Future] = deque()
        self.pending: list[bytes | memoryview] = []
        self.pending_bytes = 0
        self.pending_since = 0.0
        self.size = 0


class _Events:
    """The parser's callbacks, queued for the loop to act on (the parser is
    synchronous; sealing and waiting for threads are not)."""

    def __init__(self) -> None:
        self.queue: list[tuple] = []
        self._field = bytearray()
        self._value = bytearray()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": lambda: self.queue.append(("begin",)),
            "on_header_field": self._on_field,
            "on_header_value": self._on_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": lambda: self.queue.append(("headers",)),
            "on_part_data": self._on_data,
            "on_part_end": lambda: self.queue.append(("end",)),
            "on_end": lambda: self.queue.append(("finished",)),
        }

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self.queue.append(("header", bytes(self._field), bytes(self._value)))
        self._field.clear()
        self._value.clear()

    def _on_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            # The parser passes slices of the chunk it was given (bytes, never
            # changed again): keep a view of them rather than a copy.
            view = memoryview(data)[start:end] if type(data) is bytes else bytes(data[start:end])
            self.queue.append(("data", view))


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a ``multipart/form-data`` Content-Type."""
    try:
        kind, params = parse_options_header(content_type)
    except ValueError:  # not latin-1: not a header a browser sends
        raise BadRequest() from None
    boundary = params.get(b"boundary", b"")
    if kind != b"multipart/form-data" or not 1 <= len(boundary) <= MAX_BOUNDARY or not boundary.isascii():
        raise BadRequest()
    return boundary


class _NoRoom(Exception):
    """Free space fell below the reserve while a file arrived."""


def _settle(done: asyncio.Future, task: Future) -> None:
    if done.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(None)


class Intake:
    """One form, read as it arrives.

    Files are sealed on the shared ``seal`` pool, each by two ``SerialChain``s
    (seal, then write), with at most ``IN_FLIGHT`` blocks of a file in
    flight. The body must keep to ``pace``. When the disk has no room (free
    space below the reserve, or ENOSPC anywhere), every file is dropped and
    the rest of the body is still read, so the text typed after the files
    can be shown again: ``read`` then raises ``FormNotStored``.
    """

    def __init__(
        self,
        *,
        blobs: BlobStore,
        io: Executor,
        seal: Executor,
        recipients: Sequence[bytes],
        limits: Limits,
        csrf_expected: str,
        pace: Pace,
        has_room: Callable[[int], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._blobs = blobs
        self._io = io
        self._seal = seal
        self._recipients = list(recipients)
        self._limits = limits
        self._csrf = csrf_expected
        self._pace = pace
        self._has_room = has_room
        self._clock = clock
        self._csrf_ok = False
        self._total = 0
        self._parts = 0
        self._part: _Part | None = None
        self._finished = False
        self._no_room = False
        self._had_files = False
        # Everything a well-formed form of these limits can hold, with room
        # for part headers and boundaries: reading stops beyond it.
        self._budget = (limits.max_total_bytes + 4 * sum(limits.text.values())
                        + MAX_PARTS * (MAX_HEADER_BYTES + 2 * MAX_BOUNDARY + 16))
        self.data = FormData()

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def read(self, content: StreamReader, boundary: bytes, expected: int = 0) -> FormData:
        """Read every part; on any error, discard what was sealed and re-raise.

        ``expected`` is the declared length of the body, if any: without room
        for it, no file is kept from the start.
        """
        events = _Events()
        self._no_room = not self._has_room(expected)
        try:
            parser = MultipartParser(boundary, events.callbacks(), max_header_count=MAX_PART_HEADERS,
                                     max_header_size=MAX_HEADER_BYTES)
            received = 0
            started = self._clock()
            while not self._finished:
                # Each piece as aiohttp received it: no joining of what it buffered.
                chunk = await self._next_chunk(content, received, self._clock() - started)
                if not chunk:
                    if content.at_eof():
                        break
                    continue  # the end of an HTTP chunk, with no data
                received += len(chunk)
                if received > self._budget:
                    raise PayloadTooLarge()
                self._pace.check(received, self._clock() - started)
                parser.write(chunk)
                await self._act(events)
            if not self._finished:
                parser.finalize()
                await self._act(events)
            if not self._finished:
                raise BadRequest()  # the body ended before its closing boundary
            if not self._csrf_ok:
                raise CsrfError()
        except ValueError:  # the parser's word for a malformed body
            await self._abort()
            raise BadRequest() from None
        except UploadStalled:
            log.warning("upload abandoned: too slow or stalled")
            await self._abort()
            raise
        except UploadAborted:
            log.info("upload aborted by the client")
            await self._abort()
            raise
        except BaseException:
            await self._abort()
            raise
        if self._no_room:
            raise FormNotStored(self.data.values, self._had_files)
        return self.data

    async def _next_chunk(self, content: StreamReader, received: int, elapsed: float) -> bytes:
        """The next piece of the body, within the idle timeout and the minimum average rate."""
        too_slow_at = max(self._pace.grace_seconds, received / self._pace.min_rate)
        wait = max(0.0, min(self._pace.idle_seconds, too_slow_at - elapsed))
        try:
            async with asyncio.timeout(wait):
                chunk, _ = await content.readchunk()
        except TimeoutError:
            raise UploadStalled() from None
        except (ConnectionError, ClientPayloadError):
            raise UploadAborted() from None
        return chunk

    async def _abort(self) -> None:
        part, self._part = self._part, None
        if part is not None and part.sealer is not None:
            await self._stop_file(part)
        await self.discard()

    async def discard(self) -> None:
        files, self.data.files = self.data.files, []
        for sealed in files:
            await self._run(sealed.temp.discard)

    async def _act(self, events: _Events) -> None:
        queue, events.queue = events.queue, []
        for event in queue:
            kind = event[0]
            if kind == "data":
                await self._data(event[1])
            elif kind == "header":
                self._header(event[1], event[2])
            elif kind == "begin":
                self._parts += 1
                if self._parts > MAX_PARTS:
                    raise BadRequest()
                self._part = _Part()
            elif kind == "headers":
                self._headers_done()
            elif kind == "end":
                await self._end_part()
            elif kind == "finished":
                self._finished = True
                return

    def _current(self) -> _Part:
        if self._part is None:
            raise BadRequest()
        return self._part

    def _header(self, name: bytes, value: bytes) -> None:
        part = self._current()
        key = name.decode("latin-1").lower()
        if key not in part.headers:
            part.headers[key] = value.decode("utf-8", "surrogateescape")

    def _headers_done(self) -> None:
        part = self._current()
        disposition, params = parse_content_disposition(part.headers.get("content-disposition"))
        if disposition != "form-data":
            raise BadRequest()
        part.name = params.get("name") or ""
        part.filename = content_disposition_filename(params, "filename")
        if part.name == self._limits.file_field and part.filename is not None:
            if not self._csrf_ok:
                raise CsrfError()
            part.kind = "skip" if self._no_room else "file"
        elif part.name in self._limits.text:
            part.kind = "text"
            part.text_limit = self._limits.text[part.name] * 4  # UTF-8 needs at most 4 bytes a character
        else:
            raise BadRequest()

    async def _data(self, view: bytes | memoryview) -> None:
        part = self._current()
        if part.kind == "text":
            part.text += view
            if len(part.text) > part.text_limit:
                raise PayloadTooLarge()
        elif part.kind in ("file", "skip"):
            self._count(part, view)
            if part.kind == "file":
                await self._without_room_drop_files(self._file_data(part, view))
        else:
            raise BadRequest()

    async def _end_part(self) -> None:
        part = self._current()
        if part.kind == "text":
            self._text_done(part)
        elif part.kind == "file":
            await self._without_room_drop_files(self._file_done(part))
        elif part.kind != "skip":
            raise BadRequest()
        self._part = None

    def _text_done(self, part: _Part) -> None:
        try:
            value = part.text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest() from None
        if part.name == "csrf_token":
            self._csrf_ok = bool(self._csrf) and same_token(self._csrf, value)
            if not self._csrf_ok:
                raise CsrfError()
        elif part.name not in self.data.values:
            self.data.values[part.name] = value

    async def _without_room_drop_files(self, step: Awaitable[None]) -> None:
        """Run a step of a file; if the disk has no room, drop every file and read on."""
        try:
            await step
        except (OSError, _NoRoom) as exc:
            if not isinstance(exc, _NoRoom) and not no_room(exc):
                raise
            log.warning("no room on the disk: the files of a form were not kept")
            self._no_room = True
            part = self._current()
            part.kind = "skip"
            if part.sealer is not None:
                await self._stop_file(part)
            await self.discard()

    def _count(self, part: _Part, view: bytes | memoryview) -> None:
        self._had_files = True
        part.size += len(view)
        self._total += len(view)
        if part.size > self._limits.max_file_bytes or self._total > self._limits.max_total_bytes:
            raise PayloadTooLarge()

    async def _start_file(self, part: _Part) -> None:
        if len(self.data.files) >= self._limits.max_files:
            raise PayloadTooLarge()
        temp = await self._run(self._blobs.new_temp)
        part.sealed = SealedFile(new_item_id(), temp, None)  # type: ignore[arg-type]
        self.data.files.append(part.sealed)
        part.seals, part.writes = SerialChain(self._seal), SerialChain(self._seal)
        part.sealer = await asyncio.wrap_future(part.seals.submit(_Sealer, temp, self._recipients))

    async def _file_data(self, part: _Part, view: bytes | memoryview) -> None:
        if part.sealed is None:
            await self._start_file(part)
        if not part.pending:
            part.pending_since = self._clock()
        part.pending.append(view)
        part.pending_bytes += len(view)
        if part.pending_bytes >= BLOCK or (part.pending_bytes >= SLOW_BATCH
                                           and self._clock() - part.pending_since >= SLOW_WAIT):
            await self._hand_over(part)

    def _pipeline(self, part: _Part, seal: Callable[..., Any], args: tuple, store: Callable[[Future], None]) -> asyncio.Future:
        """Seal on the file's seal chain, then store on its write chain; one future for both."""
        assert part.seals is not None and part.writes is not None
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        writes = part.writes

        def sealed(task: Future) -> None:  # in a pool thread, right after the seal task
            stored = writes.submit(store, task)
            stored.add_done_callback(lambda t: loop.call_soon_threadsafe(_settle, done, t))

        part.seals.submit(seal, *args).add_done_callback(sealed)
        return done

    async def _hand_over(self, part: _Part) -> None:
        assert part.sealer is not None
        if not self._has_room(part.pending_bytes):
            raise _NoRoom()
        batch, part.pending, part.pending_bytes = part.pending, [], 0
        part.waiting.append(self._pipeline(part, part.sealer.seal, (batch,), part.sealer.store))
        if len(part.waiting) >= IN_FLIGHT:
            await part.waiting.popleft()

    async def _file_done(self, part: _Part) -> None:
        if part.sealed is None:
            if not part.filename:
                return  # the empty part a browser sends when no file was chosen
            await self._start_file(part)
        assert part.sealer is not None and part.sealed is not None
        if part.pending:
            await self._hand_over(part)
        part.waiting.append(self._pipeline(part, part.sealer.close, (), part.sealer.finish))
        while part.waiting:
            await part.waiting.popleft()
        part.sealed.ref = AttachmentRef(
            item_id=part.sealed.item_id,
            filename=safe_filename(part.filename),
            media_type=media_type(part.headers.get("content-type")),
            size=part.size,
            sha256=part.sealer.digest.hexdigest(),
        )
        part.sealer = None

    async def _stop_file(self, part: _Part) -> None:
        """After a failure: let the blocks in flight end, before the temp blob is discarded."""
        waiting, part.waiting = list(part.waiting), deque()
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)
        part.sealer = None
