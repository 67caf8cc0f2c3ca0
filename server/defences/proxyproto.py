"""The PROXY protocol v1 line that tor puts before each stream, and the opaque circuit names made from it.

With ``HiddenServiceExportCircuitID haproxy`` in torrc, tor starts every
connection to the onion service's target with one line (tor's manual)::

    PROXY TCP6 fc00:dead:beef:4dad::ffff:ffff ::1 65535 42\\r\\n

The low 32 bits of the source address are tor's "global circuit
identifier": the same for every stream on one rendezvous circuit, i.e. for
one visitor's Tor Browser tab group. Everything else in the line carries no
meaning. The server never keeps or logs that number: ``CircuitNames`` turns
it into a keyed hash under a key that lives only in this process's memory,
so a name cannot be matched with tor's control port or with another run.

The format is haproxy's "proxy-protocol.txt", section 2.1: at most 107
bytes including CRLF, single spaces, decimal ports without leading zeros.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from server.errors import ProxyLineError

MAX_LINE = 107  # bytes, CRLF included (proxy-protocol.txt, 2.1)
CIRCUIT_BITS = 32


@dataclass(frozen=True)
class ProxyHeader:
    """What one PROXY line says: the source and destination of the proxied stream."""

    family: str  # "TCP4" or "TCP6"
    source: ipaddress.IPv4Address | ipaddress.IPv6Address
    destination: ipaddress.IPv4Address | ipaddress.IPv6Address
    source_port: int
    destination_port: int

    @property
    def circuit(self) -> int:
        """Tor's circuit number: the low 32 bits of the source address (the whole address for TCP4)."""
        return int(self.source) & ((1 << CIRCUIT_BITS) - 1) if self.family == "TCP6" else int(self.source)


def _address(text: str, family: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    kind = ipaddress.IPv4Address if family == "TCP4" else ipaddress.IPv6Address
    if "%" in text:  # an IPv6 scope ("fe80::1%eth0") is not part of the format
        raise ProxyLineError("scoped address")
    try:
        return kind(text)
    except ValueError:
        raise ProxyLineError("bad address") from None


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0") or int(text) > 65535:
        raise ProxyLineError("bad port")
    return int(text)


def parse_proxy_line(line: bytes) -> ProxyHeader:
    """One complete line, CRLF included; raises ``ProxyLineError`` for anything else.

    ``UNKNOWN`` is refused too: a connection without a circuit cannot be
    counted against one.
    """
    if len(line) > MAX_LINE or not line.endswith(b"\r\n"):
        raise ProxyLineError("not a PROXY line")
    try:
        text = line[:-2].decode("ascii")
    except UnicodeDecodeError:
        raise ProxyLineError("not ASCII") from None
    parts = text.split(" ")
    if len(parts) != 6 or parts[0] != "PROXY" or parts[1] not in ("TCP4", "TCP6"):
        raise ProxyLineError("not a TCP4 or TCP6 PROXY line")
    family = parts[1]
    return ProxyHeader(family, _address(parts[2], family), _address(parts[3], family), _port(parts[4]),
                       _port(parts[5]))


class CircuitNames:
    """Opaque, per-process names for circuit numbers: a keyed hash, the key never leaves memory."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def name(self, header: ProxyHeader) -> str:
        digest = hmac.new(self._key, header.circuit.to_bytes(16, "big"), hashlib.sha256).hexdigest()
        return digest[:32]
