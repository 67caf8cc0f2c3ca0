"""requirements/production.txt, the pinned production install (``make lock``),
covers pyproject.toml: every dependency and build requirement is pinned
there, within its bounds, with hashes, so ``pip install --require-hashes``
installs exactly what was reviewed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "production.txt"
REQUIREMENT_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:>=\s*([0-9][0-9.]*))?\s*$")
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")


def canonical(name: str) -> str:
    """PEP 503 normalisation: ``Shamir_Mnemonic`` and ``shamir-mnemonic`` are one name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def release(version: str) -> tuple[int, ...]:
    """The numeric release part of a version (``2.9.0.post0`` -> ``(2, 9, 0)``)."""
    return tuple(int(part) for part in re.match(r"[0-9]+(?:\.[0-9]+)*", version).group(0).split("."))


def pinned() -> dict[str, tuple[str, int]]:
    """Name -> (version, number of hashes) for every entry of the lock."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = PIN_RE.match(line)
        if match:
            current = canonical(match.group(1))
            pins[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif not line.startswith("    "):
            current = None
    return pins


def declared() -> list[tuple[str, str | None]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = project["project"]["dependencies"] + project["build-system"]["requires"]
    out = []
    for requirement in requirements:
        match = REQUIREMENT_RE.fullmatch(requirement)
        assert match, f"cannot read the requirement {requirement!r}"
        out.append((canonical(match.group(1)), match.group(2)))
    return out


def test_every_requirement_is_pinned_within_its_bounds_with_hashes():
    pins = pinned()
    for name, lower in declared():
        assert name in pins, f"{name} is in pyproject.toml but not in {LOCK.name}: run make lock"
        version, hashes = pins[name]
        if lower is not None:
            assert release(version) >= release(lower), f"{name}=={version} is below pyproject.toml's {lower}"
        assert hashes >= 1, f"{name} has no hash in {LOCK.name}"


def test_every_line_of_the_lock_is_a_hashed_pin():
    """``--require-hashes`` refuses a lock with one unhashed or unpinned entry."""
    pins = pinned()
    assert pins and all(hashes for _version, hashes in pins.values())
    entries = [line for line in LOCK.read_text(encoding="utf-8").splitlines() if line and line[0].isalnum()]
    assert len(entries) == len(pins)
