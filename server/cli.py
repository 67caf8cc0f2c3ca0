"""The ``wbs`` command."""

from __future__ import annotations

import sys

MISSING = (
    "wbs: the online server is not part of this version yet.\n"
    "Available now: the protocol library (crypto/) and wbs-keytools "
    "(init, pubkey, fingerprint)."
)


def main(argv: list[str] | None = None) -> int:
    print(MISSING, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
