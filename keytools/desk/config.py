"""The desk's settings: where it listens (loopback only) and which folders it uses."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

DEFAULT_ADDR = "127.0.0.1:8090"
LOCK_AFTER_SECONDS = 15 * 60


@dataclass(frozen=True)
class DeskConfig:
    keyring: Path
    cases: Path
    host: str = "127.0.0.1"
    port: int = 8090
    inbox: Path | None = None
    outbox: Path | None = None
    passphrase_file: Path | None = None  # an empty passphrase on the unlock page means: read it from here
    lock_after_seconds: float = LOCK_AFTER_SECONDS

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def loopback_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` on a loopback address (``localhost``, 127.0.0.0/8, ``[::1]``), or ``UsageError``.

    The desk shows plaintext reports and holds the private keys: it answers
    only this computer, never a network, whatever the workstation is plugged into.
    """
    host, sep, port_text = addr.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--addr {addr!r} is not HOST:PORT", hint=f"for example {DEFAULT_ADDR}")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UsageError(f"--addr {addr}: the desk listens on this computer's loopback address only",
                         hint=f"use {DEFAULT_ADDR} (or another 127.x.x.x or [::1] address)")
    return host, int(port_text)
