"""The ``wbs-keytools`` command, for the offline keyholder workstation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crypto.encoding import parse_json_object
from crypto.errors import DecryptionError, WbsError
from crypto.keyring import KEYRING_FORMAT, new_keyring, read_keyring, read_keyring_header, write_keyring
from crypto.keys import parse_public_key_file

from .errors import KeytoolsError, UsageError
from .files import read_small_file, write_new_file
from .passphrase import new_passphrase, read_passphrase

PROG = "wbs-keytools"


def cmd_init(args: argparse.Namespace) -> int:
    keyring_path = Path(args.keyring)
    pub_path = keyring_path.with_name("org.pub.json")
    for path in (keyring_path, pub_path):
        if path.exists():
            raise UsageError(f"{path} already exists", hint="init makes a new keyring; to add a generation, use rotate")
    passphrase = new_passphrase(args.passphrase_file)
    ring = new_keyring(args.org_name)
    write_new_file(keyring_path, write_keyring(ring, passphrase))
    write_new_file(pub_path, ring.public_key_file(), mode=0o644)
    print(f"Keyring written to {keyring_path} (keep it on this offline computer only).")
    print(f"Public key file written to {pub_path} (install it on the server).")
    print(f"Fingerprint: {ring.newest.public.fingerprint}")
    return 0


def _open_keyring(args: argparse.Namespace):
    data = read_small_file(Path(args.keyring), what="keyring")
    read_keyring_header(data)  # a file that is not a keyring fails before the prompt
    passphrase = read_passphrase(args.passphrase_file)
    try:
        return read_keyring(data, passphrase)
    except DecryptionError:
        raise KeytoolsError("wrong passphrase, or the keyring file is damaged") from None


def cmd_pubkey(args: argparse.Namespace) -> int:
    ring = _open_keyring(args)
    write_new_file(Path(args.out), ring.public_key_file(), mode=0o644, overwrite=args.force)
    print(f"Public key file written to {args.out}")
    print(f"Fingerprint: {ring.newest.public.fingerprint}")
    return 0


def cmd_fingerprint(args: argparse.Namespace) -> int:
    """Fingerprints of a public key file, or of a keyring (which needs its passphrase)."""
    data = read_small_file(Path(args.file), what="file")
    if parse_json_object(data, limit=len(data), what=args.file).get("format") == KEYRING_FORMAT:
        args.keyring = args.file
        keys = [k.public for k in _open_keyring(args).keys]
    else:
        keys = list(parse_public_key_file(data).keys)
    for key in keys:
        print(f"{key.fingerprint}  {key.status:7}  {key.created_at}  key {key.key_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Offline keyholder tools for WBS.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_passphrase(p: argparse.ArgumentParser) -> None:
        p.add_argument("--passphrase-file", type=Path, help="read the passphrase from this file (for scripts)")

    p = sub.add_parser("init", help="make a new keyring and org.pub.json beside it")
    p.add_argument("--keyring", required=True, help="path of the new keyring file (org.key)")
    p.add_argument("--org-name", required=True, help="the organisation's name, as the public site shows it")
    with_passphrase(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("pubkey", help="write org.pub.json from a keyring")
    p.add_argument("--keyring", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    with_passphrase(p)
    p.set_defaults(func=cmd_pubkey)

    p = sub.add_parser("fingerprint", help="print the fingerprints of a keyring or a public key file")
    p.add_argument("file")
    with_passphrase(p)
    p.set_defaults(func=cmd_fingerprint)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeytoolsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
    except WbsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
