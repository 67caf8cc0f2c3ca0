"""``wbs serve --demo``: everything a first look needs, under ``DATA/demo/``.

A demo keyring whose passphrase sits beside it in plain text, and its public
key installed. Demo keys protect nothing: never use them for real reports.
"""

from __future__ import annotations

from crypto.keyring import new_keyring, write_keyring
from crypto.mailbox import generate_passphrase

from server.storage.datafolder import DataFolder, write_atomic
from server.storage.store import Store

BANNER = """\
************************************************************************
*  DEMO MODE. The organisation key below is a demo key whose passphrase *
*  is stored next to it. Anything sent to this server can be read by    *
*  anyone with this folder. Never use demo keys for real reports.       *
************************************************************************"""


def prepare_demo(folder: DataFolder, org_name: str) -> list[str]:
    """Make (or reuse) the demo keyring and install its public key; returns lines to print."""
    folder.initialize()
    keyholder = folder.root / "keyholder"
    keyholder.mkdir(mode=0o700, exist_ok=True)
    keyring_path = keyholder / "org.key"
    passphrase_path = keyholder / "PASSPHRASE.txt"
    made = False
    if not keyring_path.exists():
        passphrase = generate_passphrase("id")
        ring = new_keyring(org_name)
        write_atomic(passphrase_path, (passphrase + "\n").encode("utf-8"))
        write_atomic(keyring_path, write_keyring(ring, passphrase))
        write_atomic(keyholder / "org.pub.json", ring.public_key_file(), mode=0o644)
        folder.install_public_keys(ring.public_key_file())
        made = True
    keys = folder.load_public_keys()
    return [
        BANNER,
        f"demo data folder: {folder.root}" + (" (new)" if made else " (reused)"),
        f"demo keyring:     {keyring_path} (passphrase in {passphrase_path})",
        f"fingerprint:      {keys.fingerprint if keys else '-'}",
    ]



async def prepare_demo_admin(store: Store, folder: DataFolder) -> None:
    """The demo admin (no password change forced); its login goes to ``DATA/demo/STAFF.txt``."""
    from server.staff.workflow import create_staff, new_password

    staff_file = folder.root / "STAFF.txt"
    if await store.staff_by_name("admin") is not None:
        return
    password = new_password()
    member, _ = await create_staff(store, "admin", "admin", actor="wbs-demo", must_change=False, password=password)
    lines = f"username=admin\npassword={password}\ntotp_secret={member.totp_secret}\n"
    write_atomic(staff_file, lines.encode("ascii"))
