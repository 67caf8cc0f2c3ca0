"""Argon2id with named cost profiles.

Costs are data, not code: callers pass a profile, and tests pass
``TEST_CHEAPEST`` instead of patching anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from .encoding import b64, unb64
from .errors import FormatError

SALT_BYTES = 16
KEY_BYTES = 32

# Upper bounds on what a file may ask of us; a hostile keyring or account
# record must not make a reader allocate without limit.
MAX_T = 64
MAX_M_KIB = 4 * 1024 * 1024  # 4 GiB
MAX_P = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost: ``t`` passes over ``m_kib`` KiB with ``p`` lanes."""

    t: int
    m_kib: int
    p: int

    def check(self) -> "KdfParams":
        for name, value, low, high in (
            ("t", self.t, 1, MAX_T),
            ("p", self.p, 1, MAX_P),
            ("m_kib", self.m_kib, 8 * max(self.p, 1), MAX_M_KIB),
        ):
            if type(value) is not int or not low <= value <= high:
                raise FormatError(f"argon2id parameter {name} out of range: {value!r}")
        return self

    def to_json(self, salt: bytes) -> dict[str, object]:
        return {"alg": "argon2id", "salt": b64(salt), "t": self.t, "m_kib": self.m_kib, "p": self.p}

    @classmethod
    def from_json(cls, obj: object) -> tuple["KdfParams", bytes]:
        """Read ``{"alg", "salt", "t", "m_kib", "p"}``; returns the params and the salt."""
        if not isinstance(obj, dict) or obj.get("alg") != "argon2id":
            raise FormatError("kdf: expected an argon2id description")
        salt = unb64(obj.get("salt"), size=SALT_BYTES, what="kdf salt")
        params = cls(t=obj.get("t"), m_kib=obj.get("m_kib"), p=obj.get("p"))  # type: ignore[arg-type]
        return params.check(), salt


KEYRING_DEFAULT = KdfParams(t=4, m_kib=262144, p=1)
"""The offline keyring: 256 MiB, 4 passes (PROTOCOL.md §2.2)."""

MAILBOX_DEFAULT = KdfParams(t=3, m_kib=65536, p=1)
"""The reporter mailbox: 64 MiB, 3 passes (PROTOCOL.md §3)."""

TEST_CHEAPEST = KdfParams(t=1, m_kib=8, p=1)
"""Only for testing: as cheap as Argon2id allows. Never for real secrets."""


def argon2id(secret: bytes, salt: bytes, params: KdfParams, *, length: int = KEY_BYTES) -> bytes:
    """Raw Argon2id (version 0x13). Releases the GIL while it runs."""
    params.check()
    if len(salt) != SALT_BYTES:
        raise ValueError("argon2id salt must be 16 bytes")
    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=params.t,
        memory_cost=params.m_kib,
        parallelism=params.p,
        hash_len=length,
        type=Type.ID,
        version=19,
    )
