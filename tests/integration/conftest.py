"""A real ``wbs serve`` on loopback, in its own process, with its own data folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pytest

from crypto.kdf import TEST_CHEAPEST
from crypto.keyring import Keyring, new_keyring

from wbsclient import Client

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wbs(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "server.operations.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if check:
        assert done.returncode == 0, done.stderr
    return done


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    data: Path
    config: Path
    keyring: Keyring
    log: Path
    staff_port: int = 0

    def client(self) -> Client:
        return Client(self.port)

    def staff_client(self) -> Client:
        return Client(self.staff_port)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)


def write_config(path: Path, data: Path, *, tables: str = "", **settings: object) -> None:
    """``tables``: TOML tables (such as ``[alerts]``) written after the plain settings."""
    lines = [f'data_dir = "{data}"']
    for key, value in settings.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, bool) else f"{key} = {str(value).lower()}")
    path.write_text("\n".join(lines) + "\n" + tables)


def start_server(tmp: Path, keyring: Keyring | None = None, *, data: Path | None = None,
                 fresh: bool = True, prefix: Sequence[str] = (),
                 prepare: Callable[[Path], None] | None = None, **settings: object) -> Server:
    """``prefix`` runs the server under another command, e.g. ``("prlimit", "--nofile=1024:1024")``.

    ``prepare(config)`` makes the data folder(s) instead of the usual init and key installation.
    """
    data = data or tmp / "data"
    config = tmp / "wbs.toml"
    port, staff_port = free_port(), free_port()
    while staff_port == port:  # a port just closed may be drawn again
        staff_port = free_port()
    settings.setdefault("kdf_t", TEST_CHEAPEST.t)
    settings.setdefault("kdf_m_kib", TEST_CHEAPEST.m_kib)
    settings.setdefault("min_free_bytes", 0)
    # Tests make many new accounts a minute on one server; the ones about that rate set their own.
    settings.setdefault("new_accounts_per_minute", 10_000)
    write_config(config, data, reporter_addr=f"127.0.0.1:{port}", staff_addr=f"127.0.0.1:{staff_port}", **settings)
    keyring = keyring or new_keyring("Inspektorat Daerah Kabupaten Klungkung")
    if prepare is not None:
        prepare(config)
    elif fresh:
        wbs("init", "--config", str(config), cwd=tmp)
        (tmp / "org.pub.json").write_bytes(keyring.public_key_file())
        wbs("keys", "install", str(tmp / "org.pub.json"), "--config", str(config))
    return launch(tmp, config, data, keyring, port, staff_port, prefix=prefix)


def launch(tmp: Path, config: Path, data: Path, keyring: Keyring, port: int, staff_port: int, *,
           prefix: Sequence[str] = (), addresses: bool = False, wait: bool = True) -> Server:
    """``wbs serve`` of an existing ``config``, waited for until both listeners accept.

    ``addresses``: name the listeners on the command line (``--reporter-addr``,
    ``--staff-addr``), so several servers can share one ``wbs.toml``.
    ``wait=False``: return at once (``wait_until_listening`` later), to start several together.
    """
    log = tmp / f"server-{port}.log"
    out = open(log, "wb")
    listeners = ["--reporter-addr", f"127.0.0.1:{port}", "--staff-addr", f"127.0.0.1:{staff_port}"] if addresses else []
    process = subprocess.Popen([*prefix, sys.executable, "-m", "server.operations.cli", "serve", "--config", str(config),
                                *listeners],
                               stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))
    server = Server(process, port, data, config, keyring, log, staff_port)
    if wait:
        wait_until_listening(server)
    return server


def wait_until_listening(server: Server, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: {server.output()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.2), \
                    socket.create_connection(("127.0.0.1", server.staff_port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    server.process.kill()
    raise RuntimeError("server did not start")


@pytest.fixture
def server(tmp_path: Path):
    srv = start_server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("wbs"))
    yield srv
    srv.stop()
