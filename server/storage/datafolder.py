"""The data folder: what lives where, and making a new one.

    DATA/
      wbs.sqlite3        the database (WAL beside it)
      blobs/             ciphertext only (see blobstore)
      instance.secret    32 random bytes keying account lookups (mode 0600)
      org.pub.json       the installed organisation public key file
      demo/              what ``wbs serve --demo`` makes (its own data folder; see server/operations/demo.py)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from crypto.errors import WbsError
from crypto.keys import PublicKeyFile, check_key_update, parse_public_key_file
from crypto.mailbox import INSTANCE_SECRET_BYTES

from server.errors import KeyInstallError, StoreError
from server.storage.blobstore import fsync_dir


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
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
    fsync_dir(path.parent)


DEMO_SUBFOLDER = "demo"


def demo_folder(data_dir: Path) -> Path:
    """The demo's data folder inside ``data_dir``: ``var/demo`` by default, where ``make run`` puts it."""
    return Path(data_dir) / DEMO_SUBFOLDER


def is_demo_store(root: Path) -> bool:
    """A data folder made by ``wbs serve --demo``: its keyring's passphrase lies beside it."""
    return (Path(root) / "keyholder" / "PASSPHRASE.txt").exists()


class DataFolder:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.database = self.root / "wbs.sqlite3"
        self.blobs = self.root / "blobs"
        self.secret_file = self.root / "instance.secret"
        self.public_keys = self.root / "org.pub.json"

    @property
    def initialized(self) -> bool:
        return self.secret_file.is_file()

    def initialize(self) -> bool:
        """Make the folder and the instance secret if missing; True if anything was made."""
        if self.initialized:
            return False
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.blobs.mkdir(mode=0o700, exist_ok=True)
        write_atomic(self.secret_file, secrets.token_bytes(INSTANCE_SECRET_BYTES))
        return True

    def require(self) -> None:
        if not self.initialized:
            raise StoreError(f"{self.root} is not a WBS data folder; run 'wbs init' first")

    def instance_secret(self) -> bytes:
        self.require()
        secret = self.secret_file.read_bytes()
        if len(secret) != INSTANCE_SECRET_BYTES:
            raise StoreError(f"{self.secret_file} is damaged")
        return secret

    def load_public_keys(self) -> PublicKeyFile | None:
        """The installed org.pub.json, verified; None when none is installed."""
        try:
            data = self.public_keys.read_bytes()
        except FileNotFoundError:
            return None
        return parse_public_key_file(data)

    def install_public_keys(self, data: bytes) -> PublicKeyFile:
        """Verify and install org.pub.json; refuse one that drops or alters a known key."""
        self.require()
        try:
            new = parse_public_key_file(data)
            old = self.load_public_keys()
            if old is not None:
                check_key_update(old, new)
        except WbsError as exc:
            raise KeyInstallError(f"cannot install the public key file: {exc}") from None
        write_atomic(self.public_keys, data, mode=0o644)
        return new
