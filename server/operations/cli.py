"""The ``wbs`` command: init, serve, keys install, export, alerts, check, migrate-store.

Every command takes ``--config`` and ``--data`` and may run while the server
runs (SQLite in WAL mode lets them share the store, and so does PostgreSQL
when ``database_url`` names one). ``--demo`` points any of
them at the demo's data folder, ``DATA/demo`` (``var/demo``, where ``make run``
puts it). On a server with ``[[tenants]]``, ``--tenant SLUG`` points a command
at that tenant's folder, ``DATA/tenants/SLUG``; ``init``, ``serve`` and
``tenants list`` act on every tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from crypto.errors import WbsError

from server.config import Config, config_template, is_loopback, load_config, zone_of
from server.errors import ConfigError, KeyInstallError, StoreError
from server.storage.datafolder import DataFolder, demo_folder, is_demo_store, write_atomic
from server.tenants import TENANTS_SUBFOLDER, find_tenant, slugs, tenant_config

PROG = "wbs"
DEMO_HELP = "act on the demo's data folder, DATA/demo (var/demo: what 'make run', i.e. 'wbs serve --demo', uses)"
TENANT_HELP = "the tenant ([[tenants]] in wbs.toml) this command acts on; its data is in DATA/tenants/SLUG"
CLI_ACTOR = "wbs-cli"  # the audit log's name for whoever runs this command on the server


def _server_config(args: argparse.Namespace) -> Config:
    """The whole server's configuration, every tenant in it; the demo's is one WBS in DATA/demo."""
    config = load_config(
        args.config,
        data_dir=Path(args.data) if args.data else None,
        reporter_addr=getattr(args, "reporter_addr", None),
        staff_addr=getattr(args, "staff_addr", None),
    )
    if args.demo:
        # The demo never touches the real store, wherever wbs.toml puts it.
        return replace(config, data_dir=demo_folder(config.data_dir), tenants=(), database_url="", blob_dir="")
    return config


def _config(args: argparse.Namespace, one_tenant: bool = True) -> Config:
    """The configuration a command runs with: with ``one_tenant``, the chosen tenant's (``--tenant``)."""
    config = _server_config(args)
    if args.demo:
        return config
    slug = getattr(args, "tenant", None)
    if not one_tenant:
        if slug:
            raise ConfigError(f"'{args.command}' acts on every tenant: leave --tenant {slug} out")
        return config
    if not config.tenants:
        if slug:
            raise ConfigError(f"--tenant {slug}: the configuration has no [[tenants]]; leave --tenant out")
        return config
    if not slug:
        first = config.tenants[0].slug
        raise ConfigError(f"this server has tenants ({slugs(config)}): say which one this command is for, e.g.\n"
                          f"  {shlex.join([_typed_prog(), *args.argv, '--tenant', first])}")
    return tenant_config(config, find_tenant(config, slug))


def _config_option(args: argparse.Namespace) -> list[str]:
    return ["--config", str(args.config)] if args.config else []


def _typed_prog() -> str:
    """How this command was typed: ``wbs`` when that finds it on PATH, else the path it ran from."""
    argv0 = sys.argv[0]
    if Path(argv0).name != PROG:
        return PROG
    found = shutil.which(PROG)
    return PROG if found and Path(found).resolve() == Path(argv0).resolve() else argv0


def _folder(args: argparse.Namespace, config: Config) -> DataFolder:
    """The configured data folder, made already; if not, an error that says what to type instead."""
    folder = DataFolder(config.data_dir)
    if folder.initialized:
        return folder
    prog = _typed_prog()
    chosen = [*(["--config", str(args.config)] if args.config else []), *(["--data", args.data] if args.data else [])]
    root = folder.root
    where = f" (a relative path: it is looked up in {Path.cwd()})" if not root.is_absolute() else ""
    if args.demo:
        serve = shlex.join([prog, *chosen, "serve", "--demo"])
        raise StoreError(f"{root} holds no demo yet{where}. Start the demo first with 'make run' in the project"
                         f" folder, or with:\n  {serve}\nthen run this command again in the same folder")
    lines = [f"{root} is not a WBS data folder: it has no instance.secret{where}."]
    if is_demo_store(demo_folder(root)):
        lines.append(f"The demo ('make run', '{PROG} serve --demo') keeps its data in {demo_folder(root)};"
                     f" for the demo, type:\n  {shlex.join([prog, *args.argv, '--demo'])}")
    if chosen:
        lines.append(f"To make this data folder for a server of your own:\n  {shlex.join([prog, *chosen, 'init'])}")
    else:
        lines.append(f"To make it for a server of your own:\n  {prog} init\nor, to use a data folder made"
                     f" elsewhere:\n  {shlex.join([prog, *args.argv, '--data', 'DIR'])}   (or --config wbs.toml)")
    raise StoreError("\n".join(lines))


def cmd_init(args: argparse.Namespace) -> int:
    config = _config(args, one_tenant=False)
    config_path = Path(args.config or os.environ.get("WBS_CONFIG") or "wbs.toml")
    if not config_path.exists():
        write_atomic(config_path, config_template().encode("utf-8"), mode=0o600)
        print(f"wrote {config_path} (every setting at its default)")
    if not config.tenants:
        _init_folder(config, "")
        return 0
    for parent in (config.data_dir, config.data_dir / TENANTS_SUBFOLDER):
        parent.mkdir(mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)
    for tenant in config.tenants:
        _init_folder(tenant_config(config, tenant), f" --tenant {tenant.slug}")
    return 0


def _init_folder(config: Config, option: str) -> None:
    folder = DataFolder(config.data_dir)
    if folder.initialize():
        print(f"made data folder {folder.root}")
    else:
        print(f"data folder {folder.root} already exists; nothing changed")
    asyncio.run(_migrate(config, folder))
    if folder.load_public_keys() is None:
        print(f"next: install the organisation's public key with 'wbs keys install org.pub.json{option}'")


async def _migrate(config: Config, folder: DataFolder) -> None:
    from server.storage.opening import open_store

    store = await open_store(config, folder)
    await store.close()


def cmd_keys_install(args: argparse.Namespace) -> int:
    config = _config(args)
    folder = _folder(args, config)
    data = Path(args.file).read_bytes()
    if getattr(args, "tenant", None):
        _refuse_another_tenants_key(args, data)
    keys = folder.install_public_keys(data)
    active = ",".join(k.key_id for k in keys.active)
    asyncio.run(_with_store(config, folder, lambda store: store.audit(
        (store.today(), CLI_ACTOR, None, f"keys_install:{active}"))))
    print(f"installed {args.file} for {keys.org_name}")
    for key in keys.keys:
        print(f"  {key.fingerprint}  {key.status}")
    print("publish the active fingerprint on the Regency Government's official website and on the official "
          "WBS leaflets and posters: reporters compare it with /org-key from their own device, never at an office")
    return 0


def _refuse_another_tenants_key(args: argparse.Namespace, data: bytes) -> None:
    """A key already installed for another tenant would let its keyholders open this tenant's reports: refuse."""
    from crypto.keys import parse_public_key_file

    try:
        new = {k.key_id for k in parse_public_key_file(data).keys}
    except WbsError as exc:
        raise KeyInstallError(f"cannot install the public key file: {exc}") from None
    config = _server_config(args)
    for tenant in config.tenants:
        if tenant.slug == args.tenant:
            continue
        installed = DataFolder(tenant_config(config, tenant).data_dir).load_public_keys()
        if installed is not None and new & {k.key_id for k in installed.keys}:
            raise KeyInstallError(f"{args.file} holds a key of tenant {tenant.slug!r} ({installed.org_name}): each"
                                  f" Inspektorat needs keys of its own, made on its own offline workstation")


def cmd_serve(args: argparse.Namespace) -> int:
    from server.app import serve
    from server.operations.demo import prepare_demo, prepare_demo_admin

    config = _config(args, one_tenant=False)
    logging.basicConfig(level=logging.INFO, format="wbs: %(message)s", stream=sys.stderr)
    # aiohttp's own loggers name client addresses and quote request bytes, and
    # python-multipart's quote bytes of a malformed body: off.
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL + 1)
    logging.getLogger("python_multipart").setLevel(logging.CRITICAL + 1)
    if args.demo:
        folder = DataFolder(config.data_dir)
        for line in prepare_demo(folder, config.instance_name):
            print(line, file=sys.stderr)
        asyncio.run(_with_store(config, folder, lambda store: prepare_demo_admin(store, folder)))
        print(f"demo staff login:  {folder.root / 'STAFF.txt'} (username, password, TOTP secret)", file=sys.stderr)
        print(f"other commands on the demo: add --demo, e.g. '{_typed_prog()} export --demo --all --out x.zip'",
              file=sys.stderr)
    for name, (host, _) in (("reporter", config.reporter_host_port), ("staff", config.staff_host_port)):
        if not is_loopback(host) and not config.allow_non_loopback:
            raise ConfigError(
                f"refusing to listen on {host} for the {name} side: only loopback is safe behind Tor;"
                " set allow_non_loopback = true in wbs.toml if you really mean it"
            )
    if config.tenants:
        folder = DataFolder(config.data_dir)
        for tenant in config.tenants:
            tenant_folder = DataFolder(tenant_config(config, tenant).data_dir)
            if not tenant_folder.initialized:
                raise StoreError(f"tenant {tenant.slug!r} has no data folder yet ({tenant_folder.root}): run"
                                 f" '{shlex.join([_typed_prog(), *_config_option(args), 'init'])}' first")
            if tenant_folder.load_public_keys() is None:
                print(f"wbs: warning: tenant {tenant.slug!r} has no organisation key installed; it cannot receive"
                      " reports", file=sys.stderr)
    else:
        folder = _folder(args, config)
        if folder.load_public_keys() is None:
            print("wbs: warning: no organisation key installed; reports cannot be received", file=sys.stderr)
    try:
        asyncio.run(serve(config, folder))
    except OSError as exc:
        raise StoreError(f"cannot listen: {exc.strerror}") from None
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from server.operations.export import export
    from server.storage.blobstore import BlobStore
    from server.storage.opening import blob_root, open_store

    config = _config(args)
    folder = _folder(args, config)
    keys = folder.load_public_keys()
    out = Path(args.out)

    async def run() -> dict:
        store = await open_store(config, folder)
        try:
            tmp = out.with_name(f".{out.name}.part")
            try:
                with open(tmp, "wb") as dst:
                    manifest = await export(
                        store, BlobStore(blob_root(config, folder)), dst, codes=args.report, everything=args.all,
                        org_key_ids=[k.key_id for k in keys.active] if keys else [], actor=CLI_ACTOR,
                    )
            except BaseException:
                tmp.unlink(missing_ok=True)  # never a half bundle left beside the real ones
                raise
            os.replace(tmp, out)
            return manifest
        finally:
            await store.close()

    manifest = asyncio.run(run())
    items = sum(len(r["items"]) for r in manifest["reports"])
    print(f"wrote {out}: {len(manifest['reports'])} report(s), {items} item(s)")
    return 0


async def _with_store(config: Config, folder: DataFolder, fn):  # type: ignore[no-untyped-def]
    """``fn(store)`` on the store ``config`` names, writing days in its time zone."""
    from server.storage.opening import open_store

    store = await open_store(config, folder)
    try:
        return await fn(store)
    finally:
        await store.close()


def cmd_staff_add(args: argparse.Namespace) -> int:
    from server.staff.workflow import create_staff, totp_uri

    config = _config(args)
    folder = _folder(args, config)
    member, password = asyncio.run(_with_store(
        config, folder, lambda store: create_staff(store, args.name, args.role, actor=CLI_ACTOR)))
    print(f"added {member.username} ({member.role})")
    print(f"one-time password: {password}")
    print(f"TOTP (scan or type into an authenticator app): {totp_uri(member, config.instance_name)}")
    print("the password must be changed at first login; give both to the person directly")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from server.staff.workflow import import_reply_bundle
    from server.storage.blobstore import BlobStore
    from server.storage.opening import blob_root

    config = _config(args)
    folder = _folder(args, config)
    data = Path(args.file).read_bytes()
    blobs = BlobStore(blob_root(config, folder))

    async def run_io(fn, *a):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(fn, *a)

    result = asyncio.run(_with_store(config, folder, fn=lambda store: import_reply_bundle(
        store, blobs, run_io, folder.load_public_keys(), data, CLI_ACTOR)))
    print(f"imported {args.file}: {result.added} new repl(ies), {result.unchanged} already present, "
          f"{result.statuses} status change(s)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from server.operations.backup import backup

    config = _config(args)
    manifest = backup(_folder(args, config), Path(args.dest), config)
    print(f"backup written to {args.dest}: {manifest['items']} item(s), {len(manifest['files'])} file(s)")
    print("it holds the instance secret: keep it as carefully as the server itself")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from server.operations.backup import restore

    config = _config(args)
    if config.database_url or config.blob_dir:
        raise StoreError("'wbs restore' makes a data folder with its own database and blobs/, which this"
                         " configuration (database_url, blob_dir) would not use: restore with --data DIR and a"
                         " configuration without them, then move it with 'wbs migrate-store' (docs/storage.md)")
    data_dir = config.data_dir
    manifest = restore(Path(args.src), data_dir)
    print(f"restored {manifest['items']} item(s) into {data_dir}")
    return 0


def cmd_migrate_store(args: argparse.Namespace) -> int:
    from server.operations.migrate import check_url, migrate_store
    from server.storage.blobstore import BlobStore
    from server.storage.opening import blob_root
    from server.storage.postgresql import open_store
    from server.storage.store import Store

    check_url(args.to)
    config = _config(args)
    folder = _folder(args, config)
    if not folder.database.exists():
        raise StoreError(f"{folder.root} holds no SQLite store ({folder.database.name}): there is nothing to move")
    schema = _migration_schema(args, config)
    blobs = blob_root(config, folder)

    async def run():  # type: ignore[no-untyped-def]
        source = await Store.open(folder.database, zone_of(config))
        try:
            target = await open_store(args.to, zone_of(config), schema=schema)
            try:
                return await migrate_store(source, target, BlobStore(blobs))
            finally:
                await target.close()
        finally:
            await source.close()

    moved = asyncio.run(run())
    print(f"copied {folder.database} into {args.to}" + (f", schema {schema}:" if schema else ":"))
    width = max(map(len, moved.rows))
    for table, count in moved.rows.items():
        print(f"  {table:<{width}}  {count} row(s)")
    print(f"verified: every row of the {len(moved.rows)} tables is the same on both sides, and each of the"
          f" {moved.blobs} item(s) has its blob in {blobs} with the size and sha256 its row gives")
    if config.database_url:
        print(f"next: start the server; wbs.toml names this database already, and the server no longer uses"
              f" {folder.database}")
    else:
        print(f"next: set database_url = \"{args.to}\" at the top of wbs.toml, then start the server. From then on it"
              f" does not use {folder.database}; the blobs stay in {blobs} (blob_dir may point there)")
    return 0


def _migration_schema(args: argparse.Namespace, config: Config) -> str:
    """Where in the database the store goes: where the server will look for it. A tenant's place
    (a schema of the top-level database, or a database of its own) is what wbs.toml says, so
    wbs.toml must say it first; one WBS's store goes into the database itself."""
    if config.database_url and config.database_url != args.to:
        raise ConfigError(f"wbs.toml names another database for this store (database_url {config.database_url});"
                          f" --to must be that one, or leave database_url out until the store is moved")
    if getattr(args, "tenant", None) and not config.database_url:
        raise ConfigError(f"say first where tenant {args.tenant!r} will live, in wbs.toml (the server is stopped):"
                          f" database_url = \"{args.to}\" at the top (each tenant in a schema of its own) or in"
                          f" its [[tenants]] table (a database of its own); then run this command again")
    return config.database_schema


def cmd_purge(args: argparse.Namespace) -> int:
    from server.operations.retention import purge_expired
    from server.storage.blobstore import BlobStore
    from server.storage.opening import blob_root

    config = _config(args)
    folder = _folder(args, config)
    count = asyncio.run(_with_store(config, folder, lambda store: purge_expired(
        store, BlobStore(blob_root(config, folder)), config.retention_days, actor=CLI_ACTOR)))
    print(f"purged the items of {count} case(s) closed more than {config.retention_days} days ago")
    return 0


def _alerts_config(args: argparse.Namespace) -> Config:
    config = _config(args)
    if config.alerts is None:
        raise ConfigError("no [alerts] table in the configuration: add one as docs/deploy.en.md shows")
    return config


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from server.operations.alerts import send_mail
    from server.operations.digest import trial_message

    config = _alerts_config(args)
    assert config.alerts is not None
    now = datetime.now(timezone.utc).astimezone(zone_of(config))
    asyncio.run(send_mail(config.alerts, trial_message(config.alerts, config.instance_name, now)))
    print(f"sent a test message to {len(config.alerts.to)} address(es) through {config.alerts.smtp_host}")
    return 0


def cmd_alerts_send(args: argparse.Namespace) -> int:
    from datetime import date, datetime, timezone

    from server.operations.alerts import send_digest

    config = _alerts_config(args)
    folder = _folder(args, config)
    now = datetime.now(timezone.utc).astimezone(zone_of(config))

    async def run(store):  # type: ignore[no-untyped-def]
        return await send_digest(store, config, date.fromisoformat(store.today(now)), now)

    digest = asyncio.run(_with_store(config, folder, run))
    print(f"sent the digest of {digest.day}: {digest.new_reports} new report(s), {digest.new_messages} new"
          f" message(s) ({digest.first} to {digest.last}), {digest.due_soon} deadline(s) within 2 working days,"
          f" {digest.overdue} overdue")
    return 0


def cmd_tenants_list(args: argparse.Namespace) -> int:
    config = _config(args, one_tenant=False)
    if not config.tenants:
        print("no [[tenants]] in the configuration: this server is one WBS, in " + str(config.data_dir))
        return 0

    async def counts(store):  # type: ignore[no-untyped-def]
        return (await store.counts())["reports"], len(await store.all_staff())

    for tenant in config.tenants:
        own = tenant_config(config, tenant)
        folder = DataFolder(own.data_dir)
        print(f"{tenant.slug}  {tenant.org_name}  (prefix {tenant.report_prefix})")
        print(f"  reporter hosts: {', '.join(tenant.hosts)}")
        print(f"  staff hosts:    {', '.join(tenant.staff_hosts)}")
        if not folder.initialized:
            print(f"  no data folder yet ({folder.root}): run '{shlex.join([_typed_prog(), *_config_option(args), 'init'])}'")
            continue
        keys = folder.load_public_keys()
        active = [k.fingerprint for k in keys.active] if keys else []
        print(f"  active key:     {', '.join(active) if active else 'none installed'}")
        reports, staff = asyncio.run(_with_store(own, folder, counts))
        print(f"  {reports} report(s), {staff} staff member(s)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from server.operations.checks import PROBLEM, WARNING, Finding, has_problems, run_checks

    config_path = args.config or (Path(os.environ["WBS_CONFIG"]) if os.environ.get("WBS_CONFIG") else None)
    names: dict[str, str] = {}
    try:
        server = _server_config(args)
        if server.tenants:  # the shared settings once, then every tenant (or the one --tenant names)
            names = {tenant.slug: tenant.org_name for tenant in server.tenants}
            findings = run_checks(server, config_path=config_path, tenant=getattr(args, "tenant", None))
        else:
            findings = run_checks(_config(args), config_path=config_path)
    except ConfigError as exc:
        findings = [Finding(PROBLEM, f"configuration: {exc}")]
    heading = ""
    for finding in findings:
        if finding.tenant != heading:
            heading = finding.tenant
            print(f"tenant {heading} ({names[heading]}):")
        print(f"  {finding}" if finding.tenant else finding)
    problems = sum(f.level == PROBLEM for f in findings)
    warnings = sum(f.level == WARNING for f in findings)
    if problems:
        print(f"{problems} problem(s), {warnings} warning(s): fix the problems before serving real reports")
    else:
        print(f"no problems, {warnings} warning(s)")
    return 1 if has_problems(findings) else 0


def _common_options(demo_help: str) -> argparse.ArgumentParser:
    """Every subcommand's copies of the top options; they must not overwrite a value given before the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--data", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--demo", action="store_true", default=argparse.SUPPRESS, help=demo_help)
    common.add_argument("--tenant", metavar="SLUG", default=argparse.SUPPRESS, help=TENANT_HELP)
    return common


def build_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(add_help=False)
    top.add_argument("--config", type=Path, help="wbs.toml (default: $WBS_CONFIG, else built-in defaults)")
    top.add_argument("--data", help="the data folder (default: var/)")
    top.add_argument("--demo", action="store_true", help=DEMO_HELP)
    top.add_argument("--tenant", metavar="SLUG", help=TENANT_HELP)
    common = _common_options(DEMO_HELP)
    parser = argparse.ArgumentParser(prog=PROG, description="The WBS online server.", parents=[top])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="make the config file and the data folder")
    p.set_defaults(func=cmd_init)

    serve_help = "make (or reuse) demo keys and a staff login under DATA/demo, and serve it (never for real reports)"
    p = sub.add_parser("serve", parents=[_common_options(serve_help)], help="run the server")
    p.add_argument("--reporter-addr", help="HOST:PORT of the reporter listener")
    p.add_argument("--staff-addr", help="HOST:PORT of the staff listener")
    p.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", parents=[common], help="organisation public keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser("install", parents=[common], help="install org.pub.json")
    p.add_argument("file")
    p.set_defaults(func=cmd_keys_install)

    p = sub.add_parser("export", parents=[common], help="write an export bundle for the keyholders")
    p.add_argument("--out", required=True)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every report")
    group.add_argument("--report", action="append", metavar="CODE", help="this report (repeatable)")
    p.set_defaults(func=cmd_export)

    staff_parser = sub.add_parser("staff", parents=[common], help="staff accounts")
    staff_sub = staff_parser.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    p = staff_sub.add_parser("add", parents=[common], help="add a staff member")
    p.add_argument("name")
    p.add_argument("--role", choices=("admin", "handler"), required=True)
    p.set_defaults(func=cmd_staff_add)

    p = sub.add_parser("import", parents=[common], help="import a reply bundle from the keyholders")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("backup", parents=[common], help="a consistent copy of the data folder")
    p.add_argument("dest")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", parents=[common], help="restore a backup into the (new) data folder")
    p.add_argument("src")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("migrate-store", parents=[common],
                       help="move this data folder's store into a new, empty PostgreSQL database (server stopped)")
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://USER@HOST/DATABASE (no password in it)")
    p.set_defaults(func=cmd_migrate_store)

    p = sub.add_parser("purge", parents=[common], help="delete items of cases past the retention period")
    p.set_defaults(func=cmd_purge)

    alerts = sub.add_parser("alerts", parents=[common], help="the daily digest by e-mail ([alerts] in wbs.toml)")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    p = alerts_sub.add_parser("test", parents=[common], help="send a test message to the digest's addresses")
    p.set_defaults(func=cmd_alerts_test)
    p = alerts_sub.add_parser("send", parents=[common], help="send today's digest now")
    p.set_defaults(func=cmd_alerts_send)

    tenants = sub.add_parser("tenants", parents=[common], help="the Inspektorats this server hosts ([[tenants]])")
    tenants_sub = tenants.add_subparsers(dest="tenants_command", required=True, metavar="ACTION")
    p = tenants_sub.add_parser("list", parents=[common], help="each tenant, its key fingerprints and counts")
    p.set_defaults(func=cmd_tenants_list)

    p = sub.add_parser("check", parents=[common], help="check the configuration and the data folder")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except WbsError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"{PROG}: error: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
