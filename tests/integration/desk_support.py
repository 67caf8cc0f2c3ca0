"""A real ``wbs-keytools desk`` in its own process on loopback (this module holds no tests).

``start_desk`` runs the command as a keyholder would and waits for the line
that names its URL; the desk is then driven over HTTP with the standard-library
client the server's tests use.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from wbsclient import Client

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Desk:
    process: subprocess.Popen
    port: int
    log: Path

    def client(self) -> Client:
        return Client(self.port)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def start_desk(tmp: Path, keyring: Path, cases: Path, *args: object) -> Desk:
    port = _free_port()
    log = tmp / f"desk-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "keytools.cli", "desk", "--keyring", str(keyring), "--cases", str(cases),
             "--addr", f"127.0.0.1:{port}", *map(str, args)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp,
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if re.search(rf"open at http://127\.0\.0\.1:{port}/", log.read_text(errors="replace")):
            return Desk(process, port, log)
        if process.poll() is not None:
            raise RuntimeError(f"desk exited: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("desk did not start")


def unlock(client: Client, passphrase: str):
    page = client.get("/unlock")
    return client.post("/unlock", {"csrf_token": page.csrf, "passphrase": passphrase})


def png_with_author(author: bytes) -> bytes:
    """An 8x8 PNG whose tEXt chunk names its author: the metadata mat2 must take out."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + bytes([200, 30, 30]) * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) +
            chunk(b"tEXt", b"Author\x00" + author) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))
