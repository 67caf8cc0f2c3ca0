"""``wbs check``: what an operator should look at before (and while) running a server.

``run_checks`` looks at a loaded configuration, its data folder and a little of
the machine, and returns findings; it prints nothing and changes nothing.
Each finding has a level:

- ``problem``: the server is unsafe or will not work; ``wbs check`` exits 1;
- ``warning``: allowed, but worth a second look;
- ``ok``: checked and fine (some carry facts to compare, like the fingerprint).

With ``[[tenants]]``, the settings and the machine the tenants share are
checked once, then each tenant: its own settings (onion address, retention,
alerts) and its data folder; each tenant's findings carry its slug.

The machine-dependent parts (the running user, free disk, swap) are passed in
as arguments with real defaults, so tests can give any answer they need.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from crypto.errors import WbsError
from crypto.keyring import KEYRING_FORMAT, MAX_KEYRING_BYTES

from server.config import Config, is_loopback, zone_of
from server.errors import ConfigError
from server.storage.blobstore import BlobStore
from server.storage.datafolder import DataFolder, demo_folder, is_demo_store
from server.storage.opening import blob_root, engine_description
from server.tenants import TENANTS_SUBFOLDER, Tenant, find_tenant, tenant_config

PROBLEM = "problem"
WARNING = "warning"
OK = "ok"
LEVELS = (PROBLEM, WARNING, OK)

MiB = 1024 * 1024
_DEFAULTS = Config()
_WILDCARDS = {"0.0.0.0", "::", ""}
# The header line of a keyring recovery share file (keytools, which the server may not import).
SHARE_HEADER = b"format: wbs-keyring-share/1"

if TYPE_CHECKING:
    from server.storage.postgresql import Probe
    from server.storage.store import AlertState


@dataclass(frozen=True)
class Finding:
    level: str
    message: str
    tenant: str = ""  # the slug of the tenant it is about; "" for the server as a whole

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def has_problems(findings: list[Finding]) -> bool:
    return any(f.level == PROBLEM for f in findings)


def run_checks(
    config: Config,
    *,
    config_path: Path | None = None,
    tenant: str | None = None,
    euid: int | None = None,
    disk_free: Callable[[Path], int] | None = None,
    swaps: Path | None = Path("/proc/swaps"),
    sys_root: Path = Path("/sys"),
) -> list[Finding]:
    """Every finding about ``config`` and its data folder, most serious first.

    ``config_path`` is the file the configuration came from (None: built-in
    defaults); ``euid`` the user the server runs as (default: this process's);
    ``disk_free`` returns free bytes for a path (default: ``shutil.disk_usage``);
    ``swaps`` is ``/proc/swaps`` (None skips the swap check) and ``sys_root`` ``/sys``.

    With ``[[tenants]]``: the shared findings first, then every tenant's (or
    only ``tenant``'s), each tenant's most serious first.
    """
    euid = os.geteuid() if euid is None else euid
    disk_free = disk_free or (lambda path: shutil.disk_usage(path).free)
    findings: list[Finding] = []
    findings += _config_findings(config, config_path)
    if not config.tenants:
        findings += _organisation_findings(config)
    findings += _listener_findings(config)
    if config.tenants:
        findings += _shared_folder_findings(config, euid, disk_free)
    else:
        findings += _folder_findings(config, euid, disk_free)
        findings += _alerts_findings(config)
    if swaps is not None:
        findings += _swap_findings(swaps, sys_root)
    findings = _by_level(findings)
    for one in [find_tenant(config, tenant)] if tenant else config.tenants:
        findings += _by_level([replace(f, tenant=one.slug) for f in _tenant_findings(config, one, euid)])
    return findings


def _by_level(findings: list[Finding]) -> list[Finding]:
    order = {level: n for n, level in enumerate(LEVELS)}
    return sorted(findings, key=lambda f: order[f.level])


def _tenant_findings(config: Config, tenant: Tenant, euid: int) -> list[Finding]:
    """One tenant's own settings, data folder and digest (the shared disk is checked once, for the server)."""
    try:
        own = tenant_config(config, tenant)
    except ConfigError as exc:
        return [Finding(PROBLEM, f"configuration: {exc}")]
    option = f" --tenant {tenant.slug}"
    return (_organisation_findings(own, option) + _folder_findings(own, euid, None, option)
            + _alerts_findings(own))


# -- configuration -------------------------------------------------------------------------------------------------


def _config_findings(config: Config, config_path: Path | None) -> list[Finding]:
    out = []
    if config_path is None:
        out.append(Finding(WARNING, "no configuration file given (--config or WBS_CONFIG): checking the built-in"
                                    f" defaults with the data folder {config.data_dir}"))
    else:
        out.append(Finding(OK, f"configuration {config_path} is valid"))
    if config.tenants:
        out.append(Finding(OK, f"{len(config.tenants)} tenant(s) configured; each is checked below"))
    if not config.data_dir.is_absolute():
        out.append(Finding(WARNING, f"data_dir {str(config.data_dir)!r} is relative: it depends on the directory the"
                                    " server starts in; use an absolute path such as /var/lib/wbs/data"))
    if config.min_free_bytes <= 0:
        out.append(Finding(WARNING, "min_free_bytes = 0: uploads may fill the disk until the database cannot write"))
    if config.kdf_t < _DEFAULTS.kdf_t or config.kdf_m_kib < _DEFAULTS.kdf_m_kib:
        out.append(Finding(WARNING, f"the reporter key derivation (kdf_t = {config.kdf_t}, kdf_m_kib ="
                                    f" {config.kdf_m_kib}) is weaker than the default ({_DEFAULTS.kdf_t},"
                                    f" {_DEFAULTS.kdf_m_kib}): stolen data is easier to attack; test settings only"))
    longer = [name for name in ("session_idle_seconds", "session_max_seconds")
              if getattr(config, name) > getattr(_DEFAULTS, name)]
    if longer:
        out.append(Finding(WARNING, f"{', '.join(longer)} longer than the default: a reporter who forgets to log out"
                                    " stays logged in longer on a shared computer"))
    return out


def _organisation_findings(config: Config, option: str = "") -> list[Finding]:
    """The settings of one organisation (one tenant's own, with ``[[tenants]]``)."""
    out = []
    if not config.onion_address:
        fix = ("add the tenant's reporter onion service hostname to its hosts" if option else
               "set it to the reporter onion service's hostname")
        what = "none of the tenant's hosts is an onion address (56 letters and digits, then .onion)" if option \
            else "onion_address is not set"
        out.append(Finding(WARNING, f"{what}: the home page cannot show reporters the address to compare; {fix}"))
    else:
        out.append(Finding(OK, f"onion address {config.onion_address}"))
    if config.retention_days == 0:
        out.append(Finding(WARNING, "retention_days = 0: closed cases are kept forever; the usual value is 730"))
    else:
        out.append(Finding(OK, f"items of closed cases are deleted {config.retention_days} days after closing"))
    return out


def _norm_host(host: str) -> str:
    return "127.0.0.1" if host == "localhost" else host


def _same_listener(a: tuple[str, int], b: tuple[str, int]) -> bool:
    (host_a, port_a), (host_b, port_b) = a, b
    if port_a != port_b:
        return False
    host_a, host_b = _norm_host(host_a), _norm_host(host_b)
    return host_a == host_b or host_a in _WILDCARDS or host_b in _WILDCARDS


def _listener_findings(config: Config) -> list[Finding]:
    out = []
    reporter, staff = config.reporter_host_port, config.staff_host_port
    if _same_listener(reporter, staff):
        out.append(Finding(PROBLEM, f"the staff listener ({config.staff_addr}) is on the same address as the reporter"
                                    f" listener ({config.reporter_addr}): the staff side must have its own address,"
                                    " reachable only through its client-authorised onion service"))
    exposed = []
    for name, addr, (host, _) in (("reporter", config.reporter_addr, reporter), ("staff", config.staff_addr, staff)):
        if is_loopback(host):
            out.append(Finding(OK, f"the {name} listener {addr} is on loopback"))
            continue
        exposed.append(name)
        if not config.allow_non_loopback:
            out.append(Finding(PROBLEM, f"the {name} listener {addr} is not on loopback and allow_non_loopback is"
                                        " false: 'wbs serve' will refuse to start; listen on 127.0.0.1"))
        else:
            extra = (" The staff side must only be reachable through a client-authorised onion service or a VPN."
                     if name == "staff" else "")
            out.append(Finding(WARNING, f"the {name} listener {addr} is reachable from other machines"
                                        f" (allow_non_loopback = true); behind Tor only 127.0.0.1 is needed.{extra}"))
    if config.allow_non_loopback:
        if not exposed:
            out.append(Finding(WARNING, "allow_non_loopback = true but both listeners are on loopback: set it back to"
                                        " false so a typo cannot expose the server"))
        if not config.secure_cookies:
            out.append(Finding(WARNING, "allow_non_loopback = true and secure_cookies = false: if HTTPS is in front,"
                                        " set secure_cookies = true so session cookies never travel in clear"))
    return out


# -- the daily digest ----------------------------------------------------------------------------------------------


def _alerts_findings(config: Config) -> list[Finding]:
    """The digest's settings and whether its last attempts failed (as the server recorded them)."""
    from server.operations.alerts import password_file_problem, status_problem

    alerts = config.alerts
    if alerts is None:
        return [Finding(OK, "no [alerts] table: no daily digest by e-mail; staff learn of new reports and"
                            " deadlines only on the staff site")]
    out = []
    problem = password_file_problem(alerts)
    if problem:
        out.append(Finding(PROBLEM, problem))
    if alerts.smtp_security == "none" and not is_loopback(alerts.smtp_host):
        out.append(Finding(WARNING, f"alerts.smtp_security = 'none': the digest travels to {alerts.smtp_host}"
                                    " unencrypted; use 'starttls' or 'tls'"))
    state = _digest_state(config)
    failing = status_problem(alerts, state)
    if failing:
        out.append(Finding(WARNING, f"{failing}; the server retries, 'wbs alerts test' tries now"))
    elif state is not None and state.sent_day:
        out.append(Finding(OK, f"daily digest at {alerts.send_at} to {len(alerts.to)} address(es); last sent on"
                               f" {state.sent_day}"))
    else:
        out.append(Finding(OK, f"daily digest at {alerts.send_at} to {len(alerts.to)} address(es); none sent yet"))
    return out


def _digest_state(config: Config) -> "AlertState | None":
    """The digest's state as the server recorded it; None when there is none to read (a store that
    cannot be reached is a finding of ``_database_findings``)."""
    from server.storage.store import read_alert_state

    folder = DataFolder(config.data_dir)
    if config.database_url:
        try:
            return _probe(config, folder).alert_state
        except WbsError:
            return None
    return read_alert_state(folder.database) if folder.database.exists() else None


# -- the database --------------------------------------------------------------------------------------------------


def _probe(config: Config, folder: DataFolder) -> "Probe":
    from server.storage.postgresql import probe

    return asyncio.run(probe(config.database_url, schema=config.database_schema,
                             instance_secret=folder.instance_secret(), zone=zone_of(config)))


def _database_findings(config: Config, folder: DataFolder) -> list[Finding]:
    """Where the metadata lives; with ``database_url``, whether it answers, its schema version, and
    whether this node's instance secret is the one the other nodes use. Reads only."""
    if not config.database_url:
        if not folder.database.exists():
            return [Finding(WARNING, f"{folder.database} does not exist yet; 'wbs init' or 'wbs serve' makes it")]
        return []
    where = engine_description(config, folder)
    out = _transport_findings(config.database_url)
    try:
        found = _probe(config, folder)
    except WbsError as exc:
        return out + [Finding(PROBLEM, f"the metadata's database ({where}) cannot be used: {exc}")]
    if found.version is None:
        out.append(Finding(WARNING, f"{where} holds no WBS tables yet; 'wbs init' or 'wbs serve' makes them"))
    elif found.version < found.latest:
        out.append(Finding(WARNING, f"{where} is at schema version {found.version}; 'wbs serve' migrates it to"
                                    f" {found.latest} when it starts"))
    elif found.version > found.latest:
        out.append(Finding(PROBLEM, f"{where} is at schema version {found.version}, newer than this wbs knows"
                                    f" ({found.latest}): run the same version of wbs on every node"))
    else:
        out.append(Finding(OK, f"metadata in {where} (schema version {found.version})"))
    if found.secret_agrees is False:
        out.append(Finding(PROBLEM, f"{folder.secret_file} is not the instance secret this database was first used"
                                    " with: 'wbs serve' will refuse to start; copy it from the first node (codenames"
                                    " made through one node must log in through every node)"))
    elif found.secret_agrees:
        out.append(Finding(OK, "this node's instance secret is the one the database was first used with"))
    return out


def _transport_findings(url: str) -> list[Finding]:
    """A database reached over the network should be reached through TLS that checks the server."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    named = [h for h in parts.netloc.rpartition("@")[2].split(",") if h]
    named += [h for value in query.get("host", []) for h in value.split(",") if h]
    remote = []
    for host in named:
        name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
        if not name.startswith("/") and not is_loopback(name):
            remote.append(name)
    if not remote or query.get("sslmode", [""])[-1] in ("verify-full", "verify-ca"):
        return []
    return [Finding(WARNING, f"database_url reaches {', '.join(remote)} over the network without"
                             " sslmode=verify-full: the metadata travels unprotected against whoever sits between;"
                             " add sslmode=verify-full (and sslrootcert) or use a Unix socket")]


# -- the data folder -----------------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _owner_finding(path: Path, what: str, euid: int) -> Finding | None:
    owner = path.stat().st_uid
    if owner == euid:
        return None
    if euid == 0:
        return Finding(WARNING, f"{what} {path} belongs to user {_user_name(owner)}, and this check runs as root:"
                                f" run it as that user to see what the server sees (runuser -u {_user_name(owner)}"
                                " -- wbs check ..., or the 'wbs' helper from deploy/)")
    return Finding(PROBLEM, f"{what} {path} belongs to user {_user_name(owner)}, not to the user running this"
                            f" ({_user_name(euid)}): the server must own its data folder")


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _root_findings(root: Path, euid: int) -> list[Finding]:
    """The data folder's mode and owner, or the one finding that it is no folder at all."""
    if not root.exists():
        return [Finding(PROBLEM, f"the data folder {root} does not exist (run 'wbs init')")]
    if not root.is_dir():
        return [Finding(PROBLEM, f"{root} is not a folder")]
    out: list[Finding] = []
    mode = _mode(root)
    if mode & 0o077:
        out.append(Finding(PROBLEM, f"the data folder {root} is readable by others (mode {mode:o}); use chmod 700"))
    else:
        out.append(Finding(OK, f"the data folder {root} has mode 700"))
    owner = _owner_finding(root, "the data folder", euid)
    if owner:
        out.append(owner)
    return out


def _shared_folder_findings(config: Config, euid: int, disk_free: Callable[[Path], int]) -> list[Finding]:
    """The folder holding every tenant's (``DATA``): its mode, stray keyrings beside the tenants, the disk."""
    root = config.data_dir
    out = _root_findings(root, euid)
    if not root.is_dir():
        return out
    out += _demo_findings(root)
    out += _keyring_findings(root, skip=root / TENANTS_SUBFOLDER)
    out += _disk_findings(root, config.min_free_bytes, disk_free)
    if config.blob_dir:  # the tenants' sealed reports are in blob_dir/<slug>
        out += _disk_findings(Path(config.blob_dir), config.min_free_bytes, disk_free, "blob_dir")
    return out


def _folder_findings(config: Config, euid: int, disk_free: Callable[[Path], int] | None,
                     option: str = "") -> list[Finding]:
    """One data folder; ``disk_free`` None: its disk is checked elsewhere; ``option`` the --tenant of hints."""
    folder = DataFolder(config.data_dir)
    root = folder.root
    out = _root_findings(root, euid)
    if not root.is_dir():
        return out
    out += _demo_findings(root)
    out += _keyring_findings(root)
    if not folder.initialized:
        hint = "run 'wbs init' to make one"
        if is_demo_store(demo_folder(root)):
            hint += f"; to check the demo that 'make run' started in {demo_folder(root)}: wbs check --demo"
        out.append(Finding(PROBLEM, f"{root} is not a data folder: it has no instance.secret ({hint})"))
        return out
    out += _secret_findings(folder, euid)
    out += _database_findings(config, folder)
    out += _public_key_findings(folder, option)
    if disk_free is not None:
        if config.blob_dir:
            out += _disk_findings(Path(config.blob_dir), config.min_free_bytes, disk_free, "blob_dir")
        else:
            out += _disk_findings(root, config.min_free_bytes, disk_free)
    out += _temp_findings(blob_root(config, folder), shared=bool(config.database_url))
    return out


def _temp_findings(blobs: Path, *, shared: bool = False) -> list[Finding]:
    """Files in ``blobs/tmp``: uploads in progress, or what a crash or a failure left behind."""
    temps = BlobStore(blobs).temp_files()
    if not temps:
        return [Finding(OK, "no temp files in blobs/tmp")]
    listed = ", ".join(f"{p.name} ({_size_of(p) // 1024} KiB)" for p in temps[:20])
    more = f" and {len(temps) - 20} more" if len(temps) > 20 else ""
    which = "those untouched for a day" if shared else "them"
    return [Finding(WARNING, f"{len(temps)} temp file(s) in {blobs / 'tmp'}: {listed}{more}. Uploads in"
                             " progress while the server runs; otherwise left by a crash or a failure ('wbs serve'"
                             f" removes {which} when it starts)")]


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _secret_findings(folder: DataFolder, euid: int) -> list[Finding]:
    path = folder.secret_file
    out = []
    mode = _mode(path)
    if mode & 0o077:
        out.append(Finding(PROBLEM, f"{path} is readable by others (mode {mode:o}); use chmod 600"))
    else:
        out.append(Finding(OK, f"{path} has mode {mode:o}"))
    owner = _owner_finding(path, "the instance secret", euid)
    if owner:
        out.append(owner)
    try:
        folder.instance_secret()
    except WbsError as exc:
        out.append(Finding(PROBLEM, str(exc)))
    except OSError as exc:
        out.append(Finding(PROBLEM, f"cannot read {path}: {exc.strerror}"))
    return out


def _public_key_findings(folder: DataFolder, option: str = "") -> list[Finding]:
    install = f"'wbs keys install org.pub.json{option}'"
    try:
        keys = folder.load_public_keys()
    except WbsError as exc:
        return [Finding(PROBLEM, f"the installed {folder.public_keys.name} is not valid: {exc}; install the file"
                                 f" from the keyholders again ({install})")]
    except OSError as exc:
        return [Finding(PROBLEM, f"cannot read {folder.public_keys}: {exc.strerror}")]
    if keys is None:
        return [Finding(PROBLEM, f"no organisation key installed: reports cannot be received ({install})")]
    retired = len(keys.keys) - len(keys.active)
    note = f" ({retired} retired generation(s) kept)" if retired else ""
    return [Finding(OK, f"organisation key for {keys.org_name!r} installed{note}; fingerprint {keys.fingerprint}"
                        " (compare it with the one the keyholders printed)")]


def _disk_findings(root: Path, minimum: int, disk_free: Callable[[Path], int],
                   what: str = "the data folder") -> list[Finding]:
    """The disk the sealed reports go to (``what``: the data folder, or ``blob_dir``), against the reserve."""
    try:
        free = disk_free(root)
    except OSError as exc:
        return [Finding(WARNING, f"cannot tell the free disk space of {root}: {exc.strerror}")]
    text = f"{free // MiB} MiB free for {what} (min_free_bytes is {minimum // MiB} MiB)"
    if free < minimum:
        return [Finding(PROBLEM, f"only {text}: new reports are refused; free space or add a disk")]
    if free < 2 * minimum:
        return [Finding(WARNING, f"{text}: close to the limit where new reports are refused")]
    return [Finding(OK, text)]


# -- keyrings and demo stores --------------------------------------------------------------------------------------


def _demo_findings(root: Path) -> list[Finding]:
    out = []
    if is_demo_store(root):
        out.append(Finding(PROBLEM, f"{root} is a DEMO data folder ('wbs serve --demo'): its keyring and the"
                                    " keyring's passphrase are stored in it, so anyone with this folder can read every"
                                    " report. Never use it for real reports: make a new data folder with 'wbs init'"
                                    " and install the keyholders' org.pub.json"))
    sub = demo_folder(root)
    if is_demo_store(sub):
        out.append(Finding(WARNING, f"{sub} holds a demo store with a demo keyring (from 'wbs serve --demo'):"
                                    f" it is not used by this server, but delete it on a production machine"
                                    f" (rm -r {sub})"))
    return out


def _walk_files(root: Path, skip: Path | None = None) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if Path(folder) / d != skip)
        for name in sorted(files):
            yield Path(folder) / name


def looks_like_keyring(path: Path) -> bool:
    """``org.key`` by name, or any small JSON file whose format is a keyring's."""
    return _offline_secret(path) == "keyring"


def _offline_secret(path: Path) -> str | None:
    """"keyring" or "share" for a file that belongs only offline, else None.

    A keyring is ``org.key`` by name or any small JSON file whose format is
    ``wbs-keyring/1``; a share is a text file whose header says
    ``format: wbs-keyring-share/1`` (what ``wbs-keytools split`` prints).
    """
    if path.name == "org.key":
        return "keyring"
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or not 0 < info.st_size <= MAX_KEYRING_BYTES:
            return None
        with open(path, "rb") as src:
            head = src.read(512)
            if SHARE_HEADER in head.splitlines():
                return "share"
            if not head.lstrip().startswith(b"{"):
                return None
            obj = json.loads(head + src.read(MAX_KEYRING_BYTES))
    except (OSError, ValueError):
        return None
    return "keyring" if isinstance(obj, dict) and obj.get("format") == KEYRING_FORMAT else None


def _keyring_findings(root: Path, skip: Path | None = None) -> list[Finding]:
    """Keyrings and shares anywhere under ``root`` but in ``skip`` (the tenants' folders, each checked alone)."""
    # The demo keyrings 'wbs serve --demo' makes are reported by _demo_findings, not here.
    demo_keyholders = [folder / "keyholder" for folder in (root, demo_folder(root)) if is_demo_store(folder)]
    keyrings, shares, demo = [], [], []
    for path in _walk_files(root, skip):
        kind = _offline_secret(path)
        if kind == "keyring":
            (demo if path.parent in demo_keyholders else keyrings).append(path)
        elif kind == "share":
            shares.append(path)
    out = []
    if keyrings:
        names = ", ".join(str(p) for p in keyrings)
        out.append(Finding(PROBLEM, f"a keyring (a file named org.key, or in the {KEYRING_FORMAT} format) is in the"
                                    f" data folder: {names}. Keyrings belong only on the offline keyholder"
                                    " workstation: move it there (if it is the only copy) and delete it here"))
    if shares:
        names = ", ".join(str(p) for p in shares)
        out.append(Finding(PROBLEM, f"keyring recovery share(s) are in the data folder: {names}. Shares belong with"
                                    " their holders, printed or offline, never on the server: delete them here"))
    if not out and not demo:
        out.append(Finding(OK, "no keyring in the data folder"))
    return out


# -- the machine ---------------------------------------------------------------------------------------------------


def _swap_findings(swaps: Path, sys_root: Path) -> list[Finding]:
    try:
        lines = swaps.read_text(encoding="utf-8", errors="replace").splitlines()[1:]
    except OSError:
        return []
    entries = [line.split()[:2] for line in lines if len(line.split()) >= 2]
    if not entries:
        return [Finding(OK, "no swap in use")]
    unsure = [name for name, kind in entries if not _swap_is_safe(name, kind, sys_root)]
    if not unsure:
        return [Finding(OK, f"swap is encrypted or in memory: {', '.join(name for name, _ in entries)}")]
    return [Finding(WARNING, f"swap {', '.join(unsure)} may not be encrypted: memory holding reports as they are"
                             " sealed can be written to it; turn swap off or encrypt it (see the deployment guide)")]


def _swap_is_safe(name: str, kind: str, sys_root: Path) -> bool:
    """True for zram and for swap on dm-crypt (directly, or under LVM inside LUKS)."""
    name = name.replace("\\040", " ")
    if kind == "partition":
        return _block_is_safe(os.path.basename(os.path.realpath(name)), sys_root)
    try:  # a swap file: the block device of the file system it lives on
        dev = os.stat(name).st_dev
        link = os.readlink(sys_root / "dev" / "block" / f"{os.major(dev)}:{os.minor(dev)}")
    except OSError:
        return False
    return _block_is_safe(os.path.basename(link), sys_root)


def _block_is_safe(block: str, sys_root: Path, depth: int = 0) -> bool:
    if block.startswith("zram"):
        return True
    if not block.startswith("dm-") or depth > 8:
        return False
    base = sys_root / "block" / block
    try:
        if (base / "dm" / "uuid").read_text().startswith("CRYPT-"):
            return True
        slaves = [p.name for p in (base / "slaves").iterdir()]
    except OSError:
        return False
    return bool(slaves) and all(_block_is_safe(s, sys_root, depth + 1) for s in slaves)
