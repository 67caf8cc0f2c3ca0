"""The ``wbs-keytools`` command, for the offline keyholder workstation.

Only this module parses arguments, prints and exits; the work is done by
``opener`` (open), ``replies`` (reply), ``shares`` (split, combine),
``stats`` and ``reader`` (the HTML pages), each of which raises a
``KeytoolsError`` (or a protocol error) that ``main`` prints as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from crypto.encoding import parse_json_object
from crypto.errors import WbsError
from crypto.kdf import KEYRING_DEFAULT, KdfParams
from crypto.keyring import KEYRING_FORMAT, Keyring, new_keyring, read_keyring, read_keyring_header, write_keyring
from crypto.keys import parse_public_key_file

from .cases import CasesFolder
from .deadlines import acknowledge_lines, use_holidays_file
from .desk.config import DEFAULT_ADDR, LOCK_AFTER_SECONDS, DeskConfig, loopback_addr
from .errors import KeytoolsError, UsageError
from .files import read_small_file, write_new_file
from .keyfile import read_keyring_file
from .keyfile import unlock_keyring as _unlock
from .labels import STATUS_KEYS
from .opener import open_bundle
from .passphrase import new_passphrase, read_passphrase
from .reader import render_reader
from .replies import ReplyRequest, check_status, read_message, write_replies
from .shares import combine_shares, read_share_file, split_keyring
from .stats import compute_stats, stats_csv

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


def _open_keyring(args: argparse.Namespace) -> Keyring:
    data = read_keyring_file(Path(args.keyring))  # a file that is not a keyring fails before the prompt
    return _unlock(data, read_passphrase(args.passphrase_file))


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


def cmd_open(args: argparse.Namespace) -> int:
    bundle = Path(args.bundle)
    if not bundle.is_file():
        raise UsageError(f"bundle {bundle} does not exist")
    CasesFolder.check(Path(args.cases), create=True)  # before the passphrase prompt
    ring = _open_keyring(args)
    folder = CasesFolder.prepare(Path(args.cases), create=True)
    summary = open_bundle(bundle, ring, folder, progress=print)
    index = render_reader(folder)
    print(f"Opened {len(summary.reports)} report(s): {summary.new_items} new item(s), "
          f"{summary.known_items} already here, {summary.attachment_bytes} bytes of attachments.")
    for line in acknowledge_lines(map(folder.require_case, summary.reports), date.today()):
        print(line)
    for line in summary.warnings:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    print(f"Read the cases in a browser: {index.resolve().as_uri()}")
    return 0


def _reply_requests(args: argparse.Namespace) -> list[ReplyRequest]:
    parts: list[dict[str, Any]] = getattr(args, "reply_parts", None) or []
    if not parts:
        raise UsageError("give at least one --report CODE --message-file FILE")
    for code, status in getattr(args, "status_by_code", None) or []:
        matching = [p for p in parts if p["report"] == code]
        if not matching:
            raise UsageError(f"--status {code}={status}: there is no --report {code}")
        if matching[-1]["status"] is not None:
            raise UsageError(f"--report {code} is given two statuses")
        matching[-1]["status"] = status
    requests = []
    for part in parts:
        if part["message_file"] is None:
            raise UsageError(f"--report {part['report']} has no --message-file")
        status = check_status(part["status"]) if part["status"] is not None else None
        requests.append(ReplyRequest(part["report"], read_message(Path(part["message_file"])), status))
    return requests


def cmd_reply(args: argparse.Namespace) -> int:
    requests = _reply_requests(args)
    folder = CasesFolder.prepare(Path(args.cases), create=False)
    for request in requests:
        folder.require_case(request.report_code)  # before the passphrase prompt
    ring = _open_keyring(args)
    written = write_replies(requests, ring, folder, Path(args.out), overwrite=args.force)
    render_reader(folder)
    for reply in written:
        status = f", status -> {reply.entry.set_status}" if reply.entry.set_status else ""
        print(f"Reply {reply.entry.item_id[:8]} to {reply.entry.report_code}{status}")
    print(f"Reply bundle written to {args.out}: signed by key {ring.newest.key_id}.")
    print("Carry it to the server and import it there (wbs import, or the staff page 'Impor balasan').")
    return 0


def _at_least_default(kdf: KdfParams) -> KdfParams:
    """The file's cost, raised where it is below what ``init`` writes."""
    return KdfParams(t=max(kdf.t, KEYRING_DEFAULT.t), m_kib=max(kdf.m_kib, KEYRING_DEFAULT.m_kib),
                     p=max(kdf.p, KEYRING_DEFAULT.p))


def cmd_rotate(args: argparse.Namespace) -> int:
    keyring_path = Path(args.keyring)
    data = read_small_file(keyring_path, what="keyring")
    kdf, *_ = read_keyring_header(data)
    passphrase = read_passphrase(args.passphrase_file)
    rotated = _unlock(data, passphrase).rotated()
    new_data = write_keyring(rotated, passphrase, kdf=_at_least_default(kdf))
    if read_keyring(new_data, passphrase) != rotated:  # never replace the only keyring with one that does not open
        raise KeytoolsError("the rotated keyring does not read back; nothing was changed")
    write_new_file(keyring_path, new_data, overwrite=True)
    pub_path = keyring_path.with_name("org.pub.json")
    write_new_file(pub_path, rotated.public_key_file(), mode=0o644, overwrite=True)
    print(f"Keyring {keyring_path} now holds {len(rotated.keys)} generation(s); the older ones are retired and kept.")
    print(f"Public key file written to {pub_path}: install it on the server (wbs keys install).")
    print(f"New fingerprint: {rotated.newest.public.fingerprint}")
    print("Print the new fingerprint for the office, and make new recovery shares (split): old shares restore "
          "the keyring without this generation.")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    keyring_path = Path(args.keyring)
    data = read_small_file(keyring_path, what="keyring")
    kdf, *_ = read_keyring_header(data)
    ring = _unlock(data, read_passphrase(args.passphrase_file))
    passphrase = new_passphrase(args.new_passphrase_file)
    new_data = write_keyring(ring, passphrase, kdf=_at_least_default(kdf))
    if read_keyring(new_data, passphrase) != ring:  # never replace the only keyring with one that does not open
        raise KeytoolsError("the keyring does not read back with the new passphrase; nothing was changed")
    write_new_file(keyring_path, new_data, overwrite=True)
    print(f"Keyring {keyring_path} now opens with the new passphrase only.")
    print("Recovery shares made before (split) restore the keyring as it was, with the old passphrase: "
          "make new shares and destroy the old ones.")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    data = read_small_file(Path(args.keyring), what="keyring")
    shares = split_keyring(data, shares=args.shares, threshold=args.threshold)
    out = Path(args.out)
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, _ in shares:
        if (out / name).exists():
            raise UsageError(f"{out / name} already exists", hint="split into a new, empty folder")
    for name, text in shares:
        write_new_file(out / name, text.encode("ascii"))
    print(f"Wrote {len(shares)} shares to {out}; any {args.threshold} of them restore {args.keyring}.")
    for name, _ in shares:
        print(f"  {out / name}")
    print("Give each share to a different keyholder (printed, or on its own USB stick), then delete them here.")
    return 0


def cmd_combine(args: argparse.Namespace) -> int:
    files = [read_share_file(Path(p)) for p in args.shares]
    data = combine_shares(files)
    write_new_file(Path(args.out), data, overwrite=False)
    print(f"Keyring restored to {args.out} from {files[0].share.member_threshold} share(s).")
    print(f"Check it: {PROG} fingerprint {args.out}  (it asks for the keyring's passphrase)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    folder = CasesFolder.prepare(Path(args.cases), create=False)
    text = stats_csv(compute_stats(folder.cases()))
    render_reader(folder)
    if args.out:
        write_new_file(Path(args.out), text.encode("utf-8"), overwrite=args.force)
        print(f"Counts written to {args.out}; the page is {folder.root / 'stats.html'}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_desk(args: argparse.Namespace) -> int:
    host, port = loopback_addr(args.addr)  # refused before anything is read or made
    if not 0 < args.lock_after <= 24 * 60:
        raise UsageError("--lock-after must be between 0 and 1440 minutes")
    for name in ("inbox", "outbox"):
        folder = getattr(args, name)
        if folder is not None and not folder.is_dir():
            raise UsageError(f"--{name} {folder} is not a folder")
    read_keyring_file(Path(args.keyring))
    CasesFolder.check(Path(args.cases), create=True)
    config = DeskConfig(keyring=Path(args.keyring), cases=Path(args.cases), host=host, port=port, inbox=args.inbox,
                        outbox=args.outbox, passphrase_file=args.passphrase_file,
                        lock_after_seconds=args.lock_after * 60)
    from .desk.app import serve_desk  # aiohttp only for this command

    asyncio.run(serve_desk(config, announce=lambda line: print(line, flush=True)))
    return 0


class _ReplyPart(argparse.Action):
    """``--report`` starts a reply; ``--message-file`` and ``--status`` belong to the latest one."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any,
                 option_string: str | None = None) -> None:
        parts = getattr(namespace, "reply_parts", None) or []
        namespace.reply_parts = parts
        if self.dest == "status" and "=" in value:
            code, _, status = value.partition("=")
            namespace.status_by_code = (getattr(namespace, "status_by_code", None) or []) + [(code, status)]
            return
        if self.dest == "report":
            parts.append({"report": value, "message_file": None, "status": None})
            return
        if not parts:
            parser.error(f"{option_string} must come after the --report it belongs to")
        if parts[-1][self.dest] is not None:
            parser.error(f"--report {parts[-1]['report']} has {option_string} twice")
        parts[-1][self.dest] = value


REPLY_EPILOG = f"""\
Each --report starts one reply; the --message-file and --status that follow
it (before the next --report) belong to it. --status may also be written
CODE=STATUS anywhere on the line. Several replies go into one signed bundle:

  {PROG} reply --keyring org.key --cases kasus --out replies-2026-11-28.wbsr \\
      --report WBS-AB12C-DE34F --message-file balasan1.txt --status verification \\
      --report WBS-GH56J-KM78N --message-file balasan2.txt

Statuses: {", ".join(STATUS_KEYS)}.
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors look and exit like every other error of this command."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(1)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Offline keyholder tools for WBS.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_calendar(p: argparse.ArgumentParser) -> None:
        p.add_argument("--holidays-file", default=os.environ.get("WBS_HOLIDAYS_FILE") or None, metavar="FILE",
                       help="the server's holidays_file (extra days off), so deadlines here count the same days "
                            "(default: $WBS_HOLIDAYS_FILE)")

    def with_passphrase(p: argparse.ArgumentParser) -> None:
        p.add_argument("--passphrase-file", type=Path,
                       help="read the keyring passphrase from this file (for scripts); otherwise it is asked for")

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

    p = sub.add_parser("open", help="decrypt an export bundle into the cases folder and its HTML reader",
                       description="Check and decrypt an export bundle (.zip from the server) into one folder per "
                                   "report under --cases, merging with what is there, and write index.html to read "
                                   "them. A damaged or altered bundle changes nothing.")
    p.add_argument("bundle", help="the export bundle from the server")
    p.add_argument("--keyring", required=True)
    p.add_argument("--cases", required=True, help="the cases folder (made if it does not exist)")
    with_calendar(p)
    with_passphrase(p)
    p.set_defaults(func=cmd_open)

    p = sub.add_parser("reply", help="write a signed reply bundle for the server",
                       description="Write replies to reporters, signed and sealed, into one reply bundle (.wbsr) "
                                   "for the server; each reply also joins its case's thread here.",
                       epilog=REPLY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keyring", required=True)
    p.add_argument("--cases", required=True, help="the cases folder made by open")
    p.add_argument("--report", action=_ReplyPart, metavar="CODE", help="the report to reply to (repeatable)")
    p.add_argument("--message-file", action=_ReplyPart, metavar="FILE",
                   help="UTF-8 text of the reply to the latest --report")
    p.add_argument("--status", action=_ReplyPart, metavar="STATUS|CODE=STATUS",
                   help="new status for the latest --report (or for CODE)")
    p.add_argument("--out", required=True, help="the reply bundle to write, e.g. replies-2026-11-28.wbsr")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    with_calendar(p)
    with_passphrase(p)
    p.set_defaults(func=cmd_reply)

    p = sub.add_parser("rotate", help="add a new key generation, retire the old ones, rewrite org.pub.json")
    p.add_argument("--keyring", required=True)
    with_passphrase(p)
    p.set_defaults(func=cmd_rotate)

    p = sub.add_parser("passwd", help="change the keyring's passphrase")
    p.add_argument("--keyring", required=True)
    with_passphrase(p)
    p.add_argument("--new-passphrase-file", type=Path,
                   help="read the new passphrase from this file (for scripts); otherwise it is asked for twice")
    p.set_defaults(func=cmd_passwd)

    p = sub.add_parser("split", help="make K-of-N recovery shares of the keyring file")
    p.add_argument("--keyring", required=True)
    p.add_argument("--shares", type=int, required=True, metavar="N", help="how many shares to make (2..16)")
    p.add_argument("--threshold", type=int, required=True, metavar="K", help="how many restore the keyring (2..N)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the share files")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("combine", help="restore the keyring file from K recovery shares")
    p.add_argument("shares", nargs="+", metavar="SHARE", help="share files (share-I-of-N.txt)")
    p.add_argument("--out", required=True, help="where to write the restored keyring")
    p.set_defaults(func=cmd_combine)

    p = sub.add_parser("stats", help="counts by category, status and month (CSV), and stats.html")
    p.add_argument("--cases", required=True)
    p.add_argument("--out", help="write the CSV here instead of to standard output")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    with_calendar(p)
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("desk", help="the keyholder desk: read, import and answer cases in a browser on this computer",
                       description="Serve the keyholder desk on this computer's loopback address only: unlock the "
                                   "keyring in the browser, import export bundles, read cases, reply, and take the "
                                   "reply bundle for the server.")
    p.add_argument("--keyring", required=True)
    p.add_argument("--cases", required=True, help="the cases folder (made if new)")
    p.add_argument("--addr", default=DEFAULT_ADDR, help=f"loopback HOST:PORT to listen on (default {DEFAULT_ADDR})")
    p.add_argument("--inbox", type=Path, metavar="DIR", help="offer the export bundles (.zip) found in this folder")
    p.add_argument("--outbox", type=Path, metavar="DIR",
                   help="write reply bundles into this folder instead of downloading them")
    p.add_argument("--lock-after", type=float, default=LOCK_AFTER_SECONDS / 60, metavar="MINUTES",
                   help="lock the keyring after this many idle minutes (default 15)")
    with_calendar(p)
    with_passphrase(p)
    p.set_defaults(func=cmd_desk)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        use_holidays_file(getattr(args, "holidays_file", None))  # every run starts from its own calendar
        return args.func(args)
    except KeytoolsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
    except WbsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"{PROG}: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
