"""The streaming form reader, fed bodies cut into arbitrary pieces.

Whatever the cuts, every text arrives whole, every file is sealed to exactly
its bytes, and a body that is malformed, too large, truncated or without its
CSRF token leaves no temp blob behind.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from aiohttp.streams import EmptyStreamReader
from nacl.public import PrivateKey

from crypto.envelope import open_stream
from server.defences.uploadlimits import Pace
from server.errors import BadRequest, CsrfError, FormNotStored, PayloadTooLarge, UploadAborted, UploadStalled
from server.reporter.intake import MAX_PARTS, Intake, Limits, boundary_of
from server.storage.blobstore import BlobStore, TempBlob

BOUNDARY = "----wbsTestBoundary7MA4YWxk"
TOKEN = "t" * 43
ORG = PrivateKey.generate()


class Chunks:
    """What ``request.content`` gives: ``readchunk()`` pieces, with the empty
    ends of HTTP chunks between them, then (b"", False) and ``at_eof()``."""

    def __init__(self, body: bytes, cuts: list[int]) -> None:
        points = sorted({c % (len(body) + 1) for c in cuts} | {0, len(body)})
        self.pieces = [body[a:b] for a, b in zip(points, points[1:]) if b > a]
        self.read = 0
        self._between = False

    async def readchunk(self) -> tuple[bytes, bool]:
        if self._between:
            self._between = False
            return b"", True
        if not self.pieces:
            return b"", False
        self.read += 1
        self._between = True
        return self.pieces.pop(0), False

    def at_eof(self) -> bool:
        return not self.pieces and not self._between


def body_of(fields: list[tuple[str, str | tuple[str, bytes]]], *, end: bool = True) -> bytes:
    out = b""
    for name, value in fields:
        if isinstance(value, tuple):
            filename, data = value
            out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: application/pdf\r\n\r\n").encode() + data + b"\r\n"
        else:
            out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + \
                value.encode() + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


LIMITS = dict(text={"csrf_token": 100, "what": 5000, "who": 300}, file_field="attachments",
              max_file_bytes=4 * 1024 * 1024, max_total_bytes=6 * 1024 * 1024, max_files=3)


ANY_PACE = Pace(idle_seconds=60, grace_seconds=120, min_rate=1)


def make_intake(blobs: BlobStore, io: ThreadPoolExecutor, **overrides: object) -> Intake:
    """An intake whose files are sealed on ``io`` too, with room on the disk unless told otherwise."""
    limits = overrides.pop("limits", Limits(**LIMITS))
    settings = dict(blobs=blobs, io=io, seal=io, recipients=[bytes(ORG.public_key)], limits=limits,
                    csrf_expected=TOKEN, pace=ANY_PACE, has_room=lambda incoming: True)
    return Intake(**{**settings, **overrides})  # type: ignore[arg-type]


def run(tmp: Path, body: bytes, cuts: list[int] = (), **limits: object):
    blobs = BlobStore(tmp / "blobs")
    blobs.prepare()
    io = ThreadPoolExecutor(2)
    intake = make_intake(blobs, io, limits=Limits(**{**LIMITS, **limits}))
    try:
        return asyncio.run(intake.read(Chunks(body, list(cuts)), BOUNDARY.encode())), blobs
    finally:
        io.shutdown()


def opened(sealed) -> bytes:
    with open(sealed.temp.path, "rb") as src:
        return b"".join(open_stream(src, [ORG]))


def leftovers(blobs: BlobStore) -> list[Path]:
    return list(blobs.tmp.iterdir())


# Contents that look like the boundary in every way but one.
TRICKY = [b"", b"\r", b"\r\n", b"\r\n-", b"\r\n--", f"\r\n--{BOUNDARY[:-1]}".encode(),
          f"\r\n--{BOUNDARY}x".encode(), f"--{BOUNDARY}".encode(), b"\r\n\r\n", b"\x00" * 70000]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    what=st.text(min_size=0, max_size=300),
    parts=st.lists(st.sampled_from(TRICKY) | st.binary(max_size=3000), min_size=1, max_size=6),
    big=st.sampled_from([0, 65536, 1024 * 1024 + 17]),
    cuts=st.lists(st.integers(min_value=0, max_value=10**7), max_size=30),
)
def test_any_cut_gives_the_same_form(tmp_path_factory, what, parts, big, cuts):
    tmp = tmp_path_factory.mktemp("intake")
    content = b"".join(parts) + os.urandom(big)
    # A client picks a boundary its content does not hold; with it inside, the body is another form.
    assume(f"\r\n--{BOUNDARY}".encode() not in content)
    body = body_of([("csrf_token", TOKEN), ("what", what), ("attachments", ("bukti.pdf", content)),
                    ("who", "Kepala Dinas")])
    form, blobs = run(tmp, body, cuts)
    assert form.values == {"what": what, "who": "Kepala Dinas"}
    (sealed,) = form.files
    assert opened(sealed) == content
    assert sealed.ref.size == len(content) and sealed.ref.sha256 == hashlib.sha256(content).hexdigest()
    assert sealed.ref.filename == "bukti.pdf" and sealed.ref.media_type == "application/pdf"


def test_no_file_chosen_is_no_file(tmp_path):
    body = body_of([("csrf_token", TOKEN), ("attachments", ("", b"")), ("what", "x")])
    form, blobs = run(tmp_path, body, [7, 50])
    assert form.files == [] and form.values == {"what": "x"} and leftovers(blobs) == []


def test_an_empty_named_file_is_kept(tmp_path):
    form, _ = run(tmp_path, body_of([("csrf_token", TOKEN), ("attachments", ("kosong.txt", b""))]))
    (sealed,) = form.files
    assert opened(sealed) == b"" and sealed.ref.size == 0


@pytest.mark.parametrize("body, error", [
    (body_of([("csrf_token", TOKEN), ("attachments", ("a.bin", os.urandom(300_000)))], end=False), BadRequest),
    (body_of([("csrf_token", TOKEN), ("attachments", ("a.bin", os.urandom(300_000)))])[:-40], BadRequest),
    (body_of([("attachments", ("a.bin", b"data")), ("csrf_token", TOKEN)]), CsrfError),
    (body_of([("csrf_token", "wrong"), ("attachments", ("a.bin", b"data"))]), CsrfError),
    (body_of([("what", "no token at all")]), CsrfError),
    (body_of([("csrf_token", TOKEN), ("unknown", "x")]), BadRequest),
    (body_of([("csrf_token", TOKEN), ("who", "x" * 1201)]), PayloadTooLarge),
    (body_of([("csrf_token", TOKEN), ("attachments", ("a", os.urandom(4 * 1024 * 1024 + 1)))]), PayloadTooLarge),
    (body_of([("csrf_token", TOKEN)] + [("attachments", ("a", os.urandom(2 * 1024 * 1024)))] * 2
             + [("attachments", ("b", os.urandom(2 * 1024 * 1024 + 1)))]), PayloadTooLarge),
    (body_of([("csrf_token", TOKEN)] + [("attachments", ("a", b"x"))] * 4), PayloadTooLarge),
    (body_of([("csrf_token", TOKEN)] + [("who", "x")] * MAX_PARTS), BadRequest),
    (b"no multipart here at all", BadRequest),
    (f"--{BOUNDARY}\r\nContent-Disposition: attachment; name=\"who\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
     BadRequest),
    (f"--{BOUNDARY}\r\nX-Long: {'a' * 9000}\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(), BadRequest),
    (body_of([("csrf_token", TOKEN), ("what", "ok")]).replace(b"ok", b"\xff\xfe"), BadRequest),
])
def test_a_bad_body_is_refused_and_leaves_nothing(tmp_path, body, error):
    with pytest.raises(error):
        run(tmp_path, body, [1000, 65536, 1_500_000])
    assert leftovers(BlobStore(tmp_path / "blobs")) == []


def test_reading_stops_at_the_closing_boundary(tmp_path):
    body = body_of([("csrf_token", TOKEN), ("who", "x")]) + b"epilogue" * 100_000
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    chunks = Chunks(body, list(range(0, len(body), 4096)))
    with ThreadPoolExecutor(1) as io:
        intake = make_intake(blobs, io)
        form = asyncio.run(intake.read(chunks, BOUNDARY.encode()))
    assert form.values == {"who": "x"}
    assert chunks.read < 5


@pytest.mark.parametrize("header, ok", [
    (f"multipart/form-data; boundary={BOUNDARY}", True),
    (f'multipart/form-data; boundary="{BOUNDARY}"', True),
    ("multipart/form-data", False),
    ("multipart/form-data; boundary=", False),
    (f"multipart/form-data; boundary={'b' * 71}", False),
    (f"text/plain; boundary={BOUNDARY}", False),
    ("multipart/form-data; boundary=\u0100", False),
])
def test_boundary_of(header, ok):
    if ok:
        assert boundary_of(header) == BOUNDARY.encode()
    else:
        with pytest.raises(BadRequest):
            boundary_of(header)


def test_an_empty_body_is_a_bad_request(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    with ThreadPoolExecutor(1) as io:
        intake = make_intake(blobs, io)
        with pytest.raises(BadRequest):
            asyncio.run(asyncio.wait_for(intake.read(EmptyStreamReader(), BOUNDARY.encode()), 5))


class FillingTemp(TempBlob):
    """A temp blob on a disk that fills up: a write beyond the room left fails with ENOSPC."""

    def __init__(self, path: Path, store: "FullAfter") -> None:
        super().__init__(path)
        self.store = store

    def write(self, data: bytes | bytearray) -> int:
        if len(data) > self.store.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.store.room -= len(data)
        return super().write(data)


class FullAfter(BlobStore):
    """A blob store with ``room`` bytes left for temp blobs."""

    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def new_temp(self) -> TempBlob:
        return FillingTemp(self.tmp / f"{os.urandom(16).hex()}.part", self)


FORM_AROUND_A_FILE = [("csrf_token", TOKEN), ("what", "teks sebelum berkas"),
                      ("attachments", ("bukti.pdf", b"%PDF" * 600_000)), ("who", "teks sesudah berkas")]


def test_without_room_every_file_is_dropped_and_all_text_kept(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    with ThreadPoolExecutor(2) as io:
        intake = make_intake(blobs, io, has_room=lambda incoming: False)
        with pytest.raises(FormNotStored) as lost:
            asyncio.run(intake.read(Chunks(body_of(FORM_AROUND_A_FILE), [70_000, 1_300_000]), BOUNDARY.encode()))
    assert lost.value.values == {"what": "teks sebelum berkas", "who": "teks sesudah berkas"}
    assert lost.value.had_files
    assert leftovers(blobs) == []


def test_room_running_out_while_a_file_arrives(tmp_path):
    """Room for the first blocks, then not: the sealed part is dropped, the text after it still read."""
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    room = iter([True, True, True])
    with ThreadPoolExecutor(2) as io:
        intake = make_intake(blobs, io, has_room=lambda incoming: next(room, False))
        with pytest.raises(FormNotStored) as lost:
            asyncio.run(intake.read(Chunks(body_of(FORM_AROUND_A_FILE), list(range(0, 2_500_000, 100_000))),
                                    BOUNDARY.encode()))
    assert lost.value.values["who"] == "teks sesudah berkas"
    assert leftovers(blobs) == []


def test_enospc_while_a_file_is_written(tmp_path):
    blobs = FullAfter(tmp_path / "blobs", room=1_200_000)
    blobs.prepare()
    with ThreadPoolExecutor(2) as io:
        intake = make_intake(blobs, io)
        with pytest.raises(FormNotStored) as lost:
            asyncio.run(intake.read(Chunks(body_of(FORM_AROUND_A_FILE), [1_000_000]), BOUNDARY.encode()))
    assert lost.value.values == {"what": "teks sebelum berkas", "who": "teks sesudah berkas"}
    assert leftovers(blobs) == []


def test_pace_boundaries():
    pace = Pace(idle_seconds=60, grace_seconds=10, min_rate=100)
    pace.check(0, 10.0)  # within the grace period anything goes
    pace.check(1001, 10.01)
    with pytest.raises(UploadStalled):
        pace.check(1000, 10.01)
    pace.check(100_000, 1000.0)
    with pytest.raises(UploadStalled):
        pace.check(99_999, 1000.0)


class Clocked(Chunks):
    """Pieces that arrive ``step`` seconds apart on a fake clock."""

    def __init__(self, body: bytes, cuts: list[int], step: float) -> None:
        super().__init__(body, cuts)
        self.now = 0.0
        self.step = step

    def clock(self) -> float:
        return self.now

    async def readchunk(self) -> tuple[bytes, bool]:
        self.now += self.step
        return await super().readchunk()


def test_a_trickle_is_abandoned_after_the_grace_period(tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    body = body_of(FORM_AROUND_A_FILE)
    chunks = Clocked(body, list(range(0, len(body), 50)), step=1.0)  # 25 bytes a second
    with ThreadPoolExecutor(2) as io:
        intake = make_intake(blobs, io, pace=Pace(idle_seconds=60, grace_seconds=30, min_rate=26),
                             clock=chunks.clock)
        with pytest.raises(UploadStalled):
            asyncio.run(intake.read(chunks, BOUNDARY.encode()))
    assert 30 < chunks.now < 40
    assert leftovers(blobs) == []


class Silent:
    """A client that sends nothing more."""

    async def readchunk(self) -> tuple[bytes, bool]:
        await asyncio.sleep(3600)
        return b"", False

    def at_eof(self) -> bool:
        return False


class Gone:
    """A client that closes the connection."""

    async def readchunk(self) -> tuple[bytes, bool]:
        raise ConnectionResetError("Connection lost")

    def at_eof(self) -> bool:
        return False


def test_a_silent_client_is_abandoned_after_the_idle_timeout(tmp_path, caplog):
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    with ThreadPoolExecutor(1) as io:
        intake = make_intake(blobs, io, pace=Pace(idle_seconds=0.2, grace_seconds=60, min_rate=1))
        with pytest.raises(UploadStalled):
            asyncio.run(asyncio.wait_for(intake.read(Silent(), BOUNDARY.encode()), 10))
    assert "upload abandoned" in caplog.text


def test_a_client_going_away_is_logged_as_an_aborted_upload(tmp_path, caplog):
    blobs = BlobStore(tmp_path / "blobs")
    blobs.prepare()
    caplog.set_level("INFO", logger="wbs")
    with ThreadPoolExecutor(1) as io:
        with pytest.raises(UploadAborted):
            asyncio.run(make_intake(blobs, io).read(Gone(), BOUNDARY.encode()))
    assert "upload aborted by the client" in caplog.text
