"""The deployment examples in deploy/ checked by the tools that will read them.

- deploy/wbs.service: ``systemd-analyze verify`` (Debian package ``systemd``)
  and ``systemd-analyze security --offline``; the hardening it promises.
- deploy/torrc: ``tor --verify-config`` (Debian package ``tor``), once on its
  own and once with Debian's service defaults, and a real (offline) tor that
  makes both onion services and loads a staff key from deploy/wbs-staff-key
  (needs ``openssl``).
- deploy/wbs.toml: valid, loopback only, and clean under ``wbs check``.
- MemoryDenyWriteExecute=yes: the server runs a reporter's journey under the
  kernel's equivalent, PR_SET_MDWE.

Without ``systemd-analyze``, ``tor`` or ``openssl``, or without root, these
tests skip, except under ``CI=true``, where that is a failure: CI runs as root
and installs them (``apt-get install -y systemd tor openssl``). Only a kernel
older than Linux 6.3 (no PR_SET_MDWE) skips under CI too: the host's kernel is
outside the project's control.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import ROOT, free_port, wbs, write_config
from crypto.kdf import TEST_CHEAPEST
from crypto.keyring import new_keyring
from server.config import is_loopback, load_config, split_addr
from server.defences.descriptors import plan_connections
from server.operations.checks import PROBLEM, WARNING, run_checks
from skips import require_root, skip_or_fail
from test_reporter_journey import login, submit
from wbsclient import Client, FileField

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "wbs.service"
TORRC = DEPLOY / "torrc"
EXAMPLE_TOML = DEPLOY / "wbs.toml"
STAFF_KEY = DEPLOY / "wbs-staff-key"
CIRCUIT_ID_LINE = "#HiddenServiceExportCircuitID haproxy"
WRAPPER = DEPLOY / "wbs.sh"
DEBIAN_TOR_DEFAULTS = Path("/usr/share/tor/tor-service-defaults-torrc")
APT = {"systemd-analyze": "systemd", "tor": "tor", "openssl": "openssl"}


def need(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        skip_or_fail(f"{tool} is not installed (Debian package {APT.get(tool, tool)})")
    return path


# -- the systemd unit -----------------------------------------------------------------------------------------------


def unit_settings(text: str) -> dict[str, list[str]]:
    """``Key=value`` lines of a unit file; a key given several times keeps every value."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_has_the_promised_hardening():
    settings = unit_settings(UNIT.read_text())
    expected = {
        "User": "wbs", "Group": "wbs", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/wbs",
        "PrivateTmp": "yes", "NoNewPrivileges": "yes", "ProtectHome": "yes", "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "", "UMask": "0077", "Restart": "on-failure", "LimitCORE": "0",
        "LimitNOFILE": "65536",
        "ExecStart": "/opt/wbs/.venv/bin/wbs serve --config /etc/wbs/wbs.toml",
    }
    for key, value in expected.items():
        assert settings.get(key) == [value], key
    assert "@system-service" in settings["SystemCallFilter"]
    # The one writable place holds the example config's data folder (and nothing else of the system).
    data_dir = load_config(EXAMPLE_TOML).data_dir
    assert data_dir.parent == Path(settings["ReadWritePaths"][0])


def test_unit_open_file_limit_holds_the_configured_connection_caps():
    config = load_config(EXAMPLE_TOML)
    limit = int(unit_settings(UNIT.read_text())["LimitNOFILE"][0])
    plan = plan_connections(limit, config.reporter_max_connections, config.staff_max_connections)
    assert (plan.reporter, plan.staff) == (config.reporter_max_connections, config.staff_max_connections)


def verify_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at this checkout's ``wbs``, so verify can check it is executable.

    Everything else stays as shipped. ``systemd-analyze verify`` does not look
    up ``User=wbs`` or the paths of ReadWritePaths=/WorkingDirectory=, so the
    test needs neither the user nor /var/lib/wbs on this machine.
    """
    venv_wbs = Path(sys.executable).parent / "wbs"
    assert venv_wbs.exists(), f"{venv_wbs} is missing: install the project into the venv"
    text = UNIT.read_text()
    assert text.count("ExecStart=/opt/wbs/.venv/bin/wbs ") == 1
    copy = tmp_path / "wbs.service"
    copy.write_text(text.replace("ExecStart=/opt/wbs/.venv/bin/wbs ", f"ExecStart={venv_wbs} "))
    return copy


def test_unit_passes_systemd_analyze_verify(tmp_path):
    tool = need("systemd-analyze")
    copy = verify_copy(tmp_path)
    done = subprocess.run([tool, "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=120)
    # verify exits 0 even for an unknown key or a value it cannot parse ("…, ignoring"):
    # any line about our unit counts as a failure.
    about_unit = [line for line in (done.stdout + done.stderr).splitlines() if "wbs.service" in line]
    assert done.returncode == 0 and not about_unit, done.stdout + done.stderr


def test_verify_would_catch_a_mistake(tmp_path):
    """The check above is not blind: a misspelt key and a missing binary are both seen."""
    tool = need("systemd-analyze")
    copy = verify_copy(tmp_path)
    copy.write_text(copy.read_text().replace("LockPersonality=yes", "LockPersonalty=yes"))
    done = subprocess.run([tool, "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=120)
    assert "LockPersonalty" in done.stderr


def test_unit_exposure_is_low(tmp_path):
    tool = need("systemd-analyze")
    copy = verify_copy(tmp_path)
    done = subprocess.run([tool, "security", "--offline=true", "--threshold=20", "--no-pager", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    score = re.search(r"Overall exposure level for wbs\.service: ([0-9.]+)", done.stdout)
    assert score and float(score.group(1)) <= 2.0, done.stdout[-500:]


# -- torrc ----------------------------------------------------------------------------------------------------------


def torrc_options(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out.append((key, value.strip()))
    return out


def test_torrc_has_both_services_and_listens_nowhere():
    options = torrc_options(TORRC.read_text())
    dirs = [v for k, v in options if k == "HiddenServiceDir"]
    assert dirs == ["/var/lib/tor/wbs-reporter/", "/var/lib/tor/wbs-staff/"]
    ports = [v for k, v in options if k == "HiddenServicePort"]
    assert ports == ["80 127.0.0.1:8080", "80 127.0.0.1:8081"]
    config = load_config(EXAMPLE_TOML)
    assert [p.split()[1] for p in ports] == [config.reporter_addr, config.staff_addr]
    for key, value in options:
        if key.endswith("Port") and key != "HiddenServicePort":
            assert value == "0", f"{key} {value}: the server's tor must not listen"
    assert ("SocksPort", "0") in options and ("SafeLogging", "1") in options
    # PoW on the public service (it follows the reporter's HiddenServiceDir, before the staff one).
    keys = [k for k, _ in options]
    pow_at = keys.index("HiddenServicePoWDefensesEnabled")
    assert options[pow_at] == ("HiddenServicePoWDefensesEnabled", "1")
    assert keys.index("HiddenServiceDir") < pow_at < len(keys) - keys[::-1].index("HiddenServiceDir") - 1
    # Streams per circuit bounded on the public service too, a circuit asking for more torn down.
    reporter_dir, staff_dir = [i for i, k in enumerate(keys) if k == "HiddenServiceDir"]
    for key, value in (("HiddenServiceMaxStreams", "20"), ("HiddenServiceMaxStreamsCloseCircuit", "1")):
        at = keys.index(key)
        assert options[at] == (key, value) and reporter_dir < at < staff_dir
    # Circuit ids are exported only when the operator turns it on, with proxy_protocol in wbs.toml.
    assert "HiddenServiceExportCircuitID" not in keys
    assert CIRCUIT_ID_LINE in TORRC.read_text().splitlines()
    assert not load_config(EXAMPLE_TOML).proxy_protocol


def tor_copy(tmp_path: Path, *extra: str) -> tuple[Path, Path, Path]:
    """deploy/torrc with its onion folders and a DataDirectory in tmp_path (each mode 0700)."""
    reporter, staff, data = (tmp_path / name for name in ("reporter", "staff", "tor-data"))
    for folder in (reporter, staff, data):
        folder.mkdir(mode=0o700)
    text = TORRC.read_text()
    assert "/var/lib/tor/wbs-reporter/" in text and "/var/lib/tor/wbs-staff/" in text
    text = text.replace("/var/lib/tor/wbs-reporter/", f"{reporter}/").replace("/var/lib/tor/wbs-staff/", f"{staff}/")
    text += f"\nDataDirectory {data}\n" + "".join(line + "\n" for line in extra)
    copy = tmp_path / "torrc"
    copy.write_text(text)
    return copy, reporter, staff


def tor_warnings(output: str) -> list[str]:
    """Tor's warnings, less the one about running as root (tests may run as root)."""
    return [line for line in output.splitlines()
            if "[warn]" in line and "running Tor as root" not in line]


def assert_tor_accepts(tor: str, torrc: Path, tmp_path: Path) -> None:
    """``tor --verify-config`` without any defaults file: valid, and not one warning."""
    empty = tmp_path / "defaults"
    empty.write_text("")
    done = subprocess.run([tor, "--defaults-torrc", str(empty), "-f", str(torrc), "--verify-config"],
                          capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    # A warning (a deprecated abbreviation, say) still says "valid": it fails here.
    assert done.returncode == 0 and "Configuration was valid" in output and not tor_warnings(output), output


def test_torrc_passes_tor_verify_config(tmp_path):
    tor = need("tor")
    copy, _, _ = tor_copy(tmp_path)
    assert_tor_accepts(tor, copy, tmp_path)


def test_torrc_with_circuit_ids_passes_tor_verify_config(tmp_path):
    """The commented-out HiddenServiceExportCircuitID line, uncommented where it stands, is valid."""
    tor = need("tor")
    copy, _, _ = tor_copy(tmp_path)
    text = copy.read_text()
    assert text.count(CIRCUIT_ID_LINE + "\n") == 1
    copy.write_text(text.replace(CIRCUIT_ID_LINE + "\n", CIRCUIT_ID_LINE[1:] + "\n"))
    assert ("HiddenServiceExportCircuitID", "haproxy") in torrc_options(copy.read_text())
    assert_tor_accepts(tor, copy, tmp_path)


def test_torrc_passes_with_debians_service_defaults():
    """As Debian's tor@default.service checks it before every start."""
    tor = need("tor")
    if not DEBIAN_TOR_DEFAULTS.exists():
        skip_or_fail(f"{DEBIAN_TOR_DEFAULTS} is missing (not Debian's tor package)")
    require_root("to give the folders to debian-tor, as Debian's defaults run tor as that user")
    # Tor switches to debian-tor, which cannot enter pytest's private tmp folders: use one of its own.
    top = Path(tempfile.mkdtemp(prefix="wbs-torrc-"))
    try:
        copy, reporter, staff = tor_copy(top)
        for path in (top, reporter, staff, top / "tor-data", copy):
            shutil.chown(path, "debian-tor", "debian-tor")
        done = subprocess.run([tor, "--defaults-torrc", str(DEBIAN_TOR_DEFAULTS), "-f", str(copy),
                               "--RunAsDaemon", "0", "--verify-config"], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(top)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Configuration was valid" in output and not tor_warnings(output), output


def wait_for(predicate, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_onion_services_start_and_take_a_staff_key(tmp_path):
    """A real tor, network off: both addresses appear, and a key from wbs-staff-key is loaded on reload."""
    tor = need("tor")
    need("openssl")
    log = tmp_path / "tor.log"
    copy, reporter, staff = tor_copy(tmp_path, "DisableNetwork 1", f"Log info file {log}")
    empty = tmp_path / "defaults"
    empty.write_text("")
    process = subprocess.Popen([tor, "--defaults-torrc", str(empty), "-f", str(copy)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (reporter / "hostname").exists() and (staff / "hostname").exists(), "the onion addresses")
        onion = (reporter / "hostname").read_text().strip()
        staff_onion = (staff / "hostname").read_text().strip()
        assert onion != staff_onion
        # What the operator copies into wbs.toml is accepted there.
        toml = tmp_path / "wbs.toml"
        toml.write_text(EXAMPLE_TOML.read_text() + f'onion_address = "{onion}"\n')
        assert load_config(toml).onion_address == onion

        done = subprocess.run([str(STAFF_KEY), "ayu"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, WBS_STAFF_ONION_DIR=str(staff)))
        assert done.returncode == 0, done.stderr
        auth = staff / "authorized_clients" / "ayu.auth"
        assert (auth.stat().st_mode & 0o777) == 0o600
        public = auth.read_text().strip()
        assert re.fullmatch(r"descriptor:x25519:[A-Z2-7]{52}", public)
        private = re.search(r"private key:\s+([A-Z2-7]{52})\n", done.stdout).group(1)
        assert f"http://{staff_onion}/staff/login" in done.stdout
        assert private not in auth.read_text() and private not in "".join(
            p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p != log)
        from nacl.public import PrivateKey

        def b32(text: str) -> bytes:
            return base64.b32decode(text + "=" * (-len(text) % 8))

        assert bytes(PrivateKey(b32(private)).public_key) == b32(public.split(":")[2])

        # Tor handles SIGHUP only once its main loop runs (before that, SIGHUP would end it).
        wait_for(lambda: "Bootstrapped 0%" in log.read_text(errors="replace"), "tor's main loop")
        assert process.poll() is None
        process.send_signal(signal.SIGHUP)  # what "systemctl reload tor" does
        wait_for(lambda: "Loaded a client authorization key file ayu.auth" in log.read_text(errors="replace"),
                 "tor to load the staff key")
        assert "Client authorization" not in "\n".join(tor_warnings(log.read_text(errors="replace")))
        # A second key for the same name is refused rather than silently replaced.
        again = subprocess.run([str(STAFF_KEY), "ayu"], capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, WBS_STAFF_ONION_DIR=str(staff)))
        assert again.returncode == 1 and "exists" in again.stderr
        assert auth.read_text().strip() == public
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_staff_key_script_refuses_bad_names(tmp_path):
    for name in ("", "Ayu", "../x", "a b"):
        done = subprocess.run([str(STAFF_KEY), name], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, WBS_STAFF_ONION_DIR=str(tmp_path)))
        assert done.returncode == 2 and "usage" in done.stderr


# -- wbs.toml and the wrapper ---------------------------------------------------------------------------------------


def test_example_config_is_loopback_only():
    config = load_config(EXAMPLE_TOML)
    assert not config.allow_non_loopback and not config.secure_cookies
    for addr in (config.reporter_addr, config.staff_addr):
        assert is_loopback(split_addr(addr)[0])
    assert config.reporter_addr != config.staff_addr
    assert config.data_dir == Path("/var/lib/wbs/data") and config.retention_days > 0 and config.min_free_bytes > 0
    assert "onion_address" in EXAMPLE_TOML.read_text() and not config.onion_address


def test_example_config_checks_clean_once_the_onion_address_is_set(tmp_path):
    """The example, with only its data folder moved, has no problem and one warning: the onion address."""
    data = tmp_path / "data"
    toml = tmp_path / "wbs.toml"
    toml.write_text(EXAMPLE_TOML.read_text().replace('"/var/lib/wbs/data"', f'"{data}"'))
    wbs("init", "--config", str(toml), cwd=tmp_path)
    (tmp_path / "org.pub.json").write_bytes(new_keyring("Inspektorat Daerah Kabupaten Klungkung").public_key_file())
    installed = wbs("keys", "install", str(tmp_path / "org.pub.json"), "--config", str(toml)).stdout
    # Where the fingerprint is compared: as /org-key says, never at an office.
    assert "official website" in installed and "printed at the office" not in installed
    findings = run_checks(load_config(toml), config_path=toml, disk_free=lambda _: 10 ** 12, swaps=None)
    assert [f.level for f in findings if f.level == PROBLEM] == []
    assert [f.message for f in findings if f.level == WARNING] == [
        "onion_address is not set: the home page cannot show reporters the address to compare;"
        " set it to the reporter onion service's hostname"]


def test_wrapper_runs_wbs_as_the_service_user_with_the_production_config():
    text = WRAPPER.read_text()
    assert "runuser -u wbs --" in text and "WBS_CONFIG=/etc/wbs/wbs.toml" in text
    assert "/opt/wbs/.venv/bin/wbs" in text
    done = subprocess.run(["/bin/sh", "-n", str(WRAPPER)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- MemoryDenyWriteExecute -----------------------------------------------------------------------------------------

# Sets PR_SET_MDWE (65) with PR_MDWE_REFUSE_EXEC_GAIN (1), then becomes the given
# command. The kernel keeps the flag across fork and execve, and from then on
# refuses memory that is writable and executable, as MemoryDenyWriteExecute=yes does.
MDWE_LAUNCHER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
"""


def under_mdwe(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", MDWE_LAUNCHER, *argv], **kwargs)


def test_server_works_without_writable_executable_memory(tmp_path):
    probe = "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"
    control = under_mdwe(sys.executable, "-c", probe, capture_output=True, text=True, timeout=60)
    if control.returncode == 77:
        skip_or_fail(f"this kernel ({os.uname().release}) has no PR_SET_MDWE (Linux 6.3 or newer)",
                     outside_control=True)
    # The launcher really confines what it starts:
    assert control.returncode != 0 and "PermissionError" in control.stderr, control.stderr

    data, config = tmp_path / "data", tmp_path / "wbs.toml"
    port, staff_port = free_port(), free_port()
    write_config(config, data, reporter_addr=f"127.0.0.1:{port}", staff_addr=f"127.0.0.1:{staff_port}",
                 kdf_t=TEST_CHEAPEST.t, kdf_m_kib=TEST_CHEAPEST.m_kib, min_free_bytes=0)
    wbs("init", "--config", str(config), cwd=tmp_path)
    keyring = new_keyring("Inspektorat Daerah Kabupaten Klungkung")
    (tmp_path / "org.pub.json").write_bytes(keyring.public_key_file())
    wbs("keys", "install", str(tmp_path / "org.pub.json"), "--config", str(config))
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", MDWE_LAUNCHER, sys.executable, "-m", "server.operations.cli", "serve", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        def listening() -> bool:
            assert process.poll() is None, log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_for(listening, "the server")
        client = Client(port)
        done = submit(client, files=[FileField("bukti.pdf", b"%PDF-1.4 " + b"x" * 300_000, "application/pdf")])
        assert done.status == 200, done.text
        codename, passphrase = done.element_text("codename"), done.element_text("passphrase")
        code = done.element_text("report-code")
        reader = Client(port)
        assert login(reader, codename, passphrase).status == 303
        case = reader.get(f"/mailbox/reports/{code}")
        assert case.status == 200 and "bukti.pdf" in case.text
        assert Client(staff_port).get("/staff/login").status == 200
        assert process.poll() is None, log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)
