"""The PROXY protocol v1 line as tor sends it, and the opaque circuit names."""

from __future__ import annotations

import ipaddress

import pytest

from server.defences.proxyproto import MAX_LINE, CircuitNames, parse_proxy_line
from server.errors import ProxyLineError

TOR_EXAMPLE = b"PROXY TCP6 fc00:dead:beef:4dad::ffff:ffff ::1 65535 42\r\n"  # tor's manual


def test_tors_example():
    header = parse_proxy_line(TOR_EXAMPLE)
    assert header.family == "TCP6"
    assert header.source == ipaddress.IPv6Address("fc00:dead:beef:4dad::ffff:ffff")
    assert header.destination == ipaddress.IPv6Address("::1")
    assert (header.source_port, header.destination_port) == (65535, 42)
    assert header.circuit == 4294967295


def test_circuit_is_the_low_32_bits_as_the_manual_computes_it():
    header = parse_proxy_line(b"PROXY TCP6 fc00:dead:beef:4dad::aabb:ccdd ::1 65535 42\r\n")
    assert header.circuit == (0xAA << 24) + (0xBB << 16) + (0xCC << 8) + 0xDD
    other_prefix = parse_proxy_line(b"PROXY TCP6 fc00:1:2:3:4:5:aabb:ccdd ::1 1 80\r\n")
    assert other_prefix.circuit == header.circuit


def test_tcp4_is_understood():
    header = parse_proxy_line(b"PROXY TCP4 192.0.2.1 127.0.0.1 0 8080\r\n")
    assert header.circuit == int(ipaddress.IPv4Address("192.0.2.1"))


@pytest.mark.parametrize("line", [
    b"",
    b"\r\n",
    b"PROXY TCP6 fc00::1 ::1 1 2",  # no CRLF
    b"PROXY TCP6 fc00::1 ::1 1 2\n",  # LF only
    b"PROXY UNKNOWN\r\n",
    b"PROXY UNKNOWN fc00::1 ::1 1 2\r\n",
    b"proxy TCP6 fc00::1 ::1 1 2\r\n",
    b"PROXY TCP6 fc00::1 ::1 1\r\n",
    b"PROXY TCP6 fc00::1 ::1 1 2 3\r\n",
    b"PROXY TCP6  fc00::1 ::1 1 2\r\n",
    b"PROXY TCP6 fc00::1 ::1 1 2 \r\n",
    b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    b"PROXY TCP4 fc00::1 1.2.3.4 1 2\r\n",
    b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    b"PROXY TCP6 fc00::1 ::1 01 2\r\n",
    b"PROXY TCP6 fc00::1 ::1 65536 2\r\n",
    b"PROXY TCP6 fc00::1 ::1 -1 2\r\n",
    b"PROXY TCP6 fc00::1 ::1 \xd9\xa1 2\r\n",  # an Arabic-Indic digit
    "PROXY TCP6 fc00::1 ::1 ١ 2\r\n".encode(),
    b"PROXY TCP6 fc00::1 ::1 1 2\r\n\r\n",  # more than one line
    b"PROXY TCP6 " + b"0" * 100 + b" ::1 1 2\r\n",
])
def test_anything_else_is_refused(line):
    with pytest.raises(ProxyLineError):
        parse_proxy_line(line)


def test_longest_valid_line_fits():
    line = (b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            b" 65535 65535\r\n")
    assert len(line) == MAX_LINE - 3  # the spec's 107 is this with UNKNOWN, 3 letters longer than TCP6
    assert parse_proxy_line(line).circuit == 0xFFFFFFFF


def test_circuit_names_are_opaque_and_keyed():
    one = parse_proxy_line(b"PROXY TCP6 fc00:dead:beef:4dad::0:2a ::1 65535 42\r\n")
    same = parse_proxy_line(b"PROXY TCP6 fc00:dead:beef:4dad::0:2a ::1 1 80\r\n")
    other = parse_proxy_line(b"PROXY TCP6 fc00:dead:beef:4dad::0:2b ::1 65535 42\r\n")
    names = CircuitNames(b"k" * 32)
    name = names.name(one)
    assert name == names.name(same) != names.name(other)
    assert len(name) == 32 and int(name, 16) >= 0
    assert CircuitNames(b"j" * 32).name(one) != name  # another key (another run): another name
    assert CircuitNames().name(one) != CircuitNames().name(one)  # a fresh random key each time
