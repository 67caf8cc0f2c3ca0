"""Accept errors are counted, not logged with a traceback per try."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

from server.defences.acceptlog import ACCEPT_FAILED, AcceptErrorLog

ROOT = Path(__file__).resolve().parents[2]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + ("TRACEBACK" if record.exc_info else ""))


def collecting_logger(name: str) -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(name)
    logger.propagate = False
    lines = Lines()
    logger.handlers = [lines]
    logger.setLevel(logging.INFO)
    return logger, lines


def test_one_line_then_one_count_per_interval():
    logger, lines = collecting_logger("test.acceptlog.count")
    clock = [100.0]
    handler = AcceptErrorLog(interval=60, clock=lambda: clock[0], logger=logger)
    loop = asyncio.new_event_loop()
    try:
        context = {"message": ACCEPT_FAILED, "exception": OSError(errno.EMFILE, "Too many open files")}
        for _ in range(10_000):
            handler(loop, context)
        assert lines.lines == ["cannot accept connections: Too many open files; further failures are counted"
                               " and logged once every 60 s"]
        clock[0] += 60
        handler.flush()  # what the loop's timer does at the interval's end
        assert lines.lines[1] == "cannot accept connections: Too many open files, 9999 more time(s) in the last 60 s"
        handler.flush()  # nothing new counted: nothing logged
        assert len(lines.lines) == 2
        clock[0] += 61
        handler(loop, context)  # quiet for a whole interval: logged at once again
        assert len(lines.lines) == 3 and not any("TRACEBACK" in line for line in lines.lines)
    finally:
        loop.close()


def test_other_loop_errors_go_to_asyncios_handler():
    logger, lines = collecting_logger("test.acceptlog.other")
    asyncio_logger, asyncio_lines = collecting_logger("asyncio")
    loop = asyncio.new_event_loop()
    try:
        AcceptErrorLog(logger=logger)(loop, {"message": "something else", "exception": ValueError("x")})
        assert lines.lines == [] and len(asyncio_lines.lines) == 1 and "something else" in asyncio_lines.lines[0]
    finally:
        loop.close()
        asyncio_logger.handlers = []
        asyncio_logger.propagate = True


SERVER = """
import asyncio, logging, resource, sys
from server.defences.acceptlog import AcceptErrorLog
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

async def main():
    loop = asyncio.get_running_loop()
    if sys.argv[1] == "counted":
        loop.set_exception_handler(AcceptErrorLog(interval=1.0))
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, backlog=128)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(3.5)

asyncio.run(main())
"""


def run_out_of_descriptors(mode: str) -> str:
    """A real asyncio server at 64 descriptors, 200 connections held for its 3.5 s; its log."""
    process = subprocess.Popen([sys.executable, "-c", SERVER, mode], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert process.stdout is not None
    port = int(process.stdout.readline())
    socks = []
    for _ in range(200):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        socks.append(sock)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        for sock in socks:
            sock.close()
    assert process.returncode == 0, err[-2000:]
    return err


def test_running_out_of_descriptors_logs_a_few_counted_lines():
    flood = run_out_of_descriptors("default")
    assert flood.count("Traceback") > 50  # what asyncio does by itself
    err = run_out_of_descriptors("counted")
    lines = err.splitlines()
    assert "Traceback" not in err and 2 <= len(lines) <= 6, err[-2000:]
    assert all("Too many open files" in line for line in lines)
    assert "more time(s) in the last 1 s" in err
