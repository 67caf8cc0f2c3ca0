"""Files on the keyholder workstation: secrets are written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError

MAX_SMALL_FILE = 64 * 1024 * 1024


def write_new_file(path: Path, data: bytes, *, mode: int = 0o600, overwrite: bool = False) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync, rename, fsync the folder.

    The temp file is created with ``mode`` from the start, so a secret is never
    readable by others, not even for a moment.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise UsageError(f"{path} already exists", hint="choose another path, or move the old file away first")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"folder {folder} does not exist")
    tmp = folder / f".{path.name}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_small_file(path: Path, *, what: str) -> bytes:
    """Read a keyring, a public key file or a bundle of JSON, with a bound."""
    try:
        with open(path, "rb") as src:
            data = src.read(MAX_SMALL_FILE + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > MAX_SMALL_FILE:
        raise UsageError(f"{what} {path} is too large")
    return data
