"""The write-behind and read-ahead streams: same bytes, bounded, failures reach the caller."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from crypto.streams import BATCH, ReadAhead, WriteBehind


class Boom(Exception):
    pass


class FailingSink(io.RawIOBase):
    def __init__(self, after: int) -> None:
        self.after = after
        self.got = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.got += len(data)
        if self.got > self.after:
            raise Boom("disk full")
        return len(data)


def test_write_behind_writes_everything_in_order_and_hashes_it() -> None:
    pieces = [os.urandom(n) for n in (1, 65536, 3, BATCH, 70000, 0, 5)] * 5
    out = io.BytesIO()
    sink = WriteBehind(out, digest=hashlib.sha256())
    for piece in pieces:
        sink.write(piece)
    sink.close()
    whole = b"".join(pieces)
    assert out.getvalue() == whole
    assert sink.size == len(whole)
    assert sink.digest is not None and sink.digest.hexdigest() == hashlib.sha256(whole).hexdigest()
    assert not sink.seekable()
    with pytest.raises(ValueError):
        sink.write(b"x")


def test_write_behind_hands_a_failure_back() -> None:
    sink = WriteBehind(FailingSink(after=BATCH))
    with pytest.raises(Boom):
        for _ in range(64):
            sink.write(bytes(BATCH))
        sink.close()
    with pytest.raises(Boom):
        sink.close()
    sink.abandon()  # raises nothing, however often


def test_write_behind_abandon_drops_what_is_pending() -> None:
    out = io.BytesIO()
    sink = WriteBehind(out)
    sink.write(b"kept? no: still gathering")
    sink.abandon()
    assert out.getvalue() == b""
    assert not any(t.name == "write-behind" and t.is_alive() for t in threading.enumerate())


class Checks:
    def __init__(self, fail_on: int | None = None, fail_done: bool = False) -> None:
        self.blocks = 0
        self.fail_on = fail_on
        self.fail_done = fail_done

    def check(self, data: bytes) -> None:
        self.blocks += 1
        if self.blocks == self.fail_on:
            raise Boom(f"block {self.blocks}")

    def done(self) -> None:
        if self.fail_done:
            raise Boom("done")


def read_all(stream: ReadAhead, size: int) -> bytes:
    parts = []
    while data := stream.read(size):
        assert len(data) <= size
        parts.append(data)
    return b"".join(parts)


@pytest.mark.parametrize("size", [0, 1, 1000, 4096 * 3, 4096 * 3 + 7])
@pytest.mark.parametrize("read_size", [1, 100, 4096, 65553, -1])
def test_read_ahead_gives_the_same_bytes(size: int, read_size: int) -> None:
    data = os.urandom(size)
    checks = Checks()
    stream = ReadAhead(io.BytesIO(data), check=checks.check, done=checks.done, block=4096)
    got = stream.read() if read_size < 0 else read_all(stream, read_size)
    assert got == data
    assert stream.read(10) == b""
    stream.close()
    assert checks.blocks == -(-size // 4096)


def test_read_ahead_withholds_the_last_block_when_done_fails() -> None:
    data = os.urandom(4096 * 3)
    checks = Checks(fail_done=True)
    stream = ReadAhead(io.BytesIO(data), check=checks.check, done=checks.done, block=4096)
    got = b""
    with pytest.raises(Boom, match="done"):
        while True:
            got += stream.read(4096)
    assert got == data[: 4096 * 2]
    stream.close()


def test_read_ahead_raises_a_check_failure_in_order() -> None:
    checks = Checks(fail_on=3)
    stream = ReadAhead(io.BytesIO(bytes(4096 * 10)), check=checks.check, done=checks.done, block=4096)
    got = 0
    with pytest.raises(Boom, match="block 3"):
        while True:
            got += len(stream.read(4096))
    assert got == 4096  # block 2 is held back until block 3 has been read and checked
    stream.close()


def test_read_ahead_translates_source_errors() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            raise OSError("bad sector")

    checks = Checks()
    stream = ReadAhead(Broken(), check=checks.check, done=checks.done,
                       translate=lambda exc: Boom(f"translated {exc}"))
    with pytest.raises(Boom, match="translated bad sector"):
        stream.read(10)
    stream.close()


def test_read_ahead_closes_midway_without_hanging() -> None:
    checks = Checks()
    source = io.BytesIO(bytes(4096 * 1000))
    stream = ReadAhead(source, check=checks.check, done=checks.done, block=4096, depth=2)
    assert stream.read(10) == bytes(10)
    stream.close()
    assert source.closed
    assert checks.blocks < 1000  # it stopped reading ahead
