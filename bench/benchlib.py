"""What the server benchmarks share: a real ``wbs serve`` on loopback, a small
HTTP client, RSS sampling, percentiles, and the result line ``run.py`` reads.

Nothing here is a test helper: the benchmarks do not import ``tests/``, so
they measure the server exactly as a visitor's bytes reach it and keep
working whatever the tests become.

The code under test is the tree named by ``$WBS_BENCH_CODE`` (``run.py
--code DIR``), by default the repository this file sits in. Every ``wbs``
process is started with ``PYTHONPATH`` set to that tree, and it comes first
on this process's ``sys.path`` too, so a patched copy of the repository can
be measured with the same benchmark, side by side with the original.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import urlencode

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CODE = Path(os.environ.get("WBS_BENCH_CODE") or REPO).resolve()
if str(CODE) not in sys.path:
    sys.path.insert(0, str(CODE))

RESULT_PREFIX = "BENCH-RESULT "
ORG_NAME = "Inspektorat Daerah Kabupaten Klungkung"
CHEAP_KDF = {"kdf_t": 1, "kdf_m_kib": 8}  # crypto.kdf.TEST_CHEAPEST: only where the KDF is not measured
REAL_KDF = {"kdf_t": 3, "kdf_m_kib": 65536}  # crypto.kdf.MAILBOX_DEFAULT, the server's default

REPORT = {
    "category": "pungli",
    "what": "Pungutan liar pada pelayanan KTP elektronik",
    "who": "Oknum petugas loket pelayanan",
    "where": "Kantor Kecamatan Banjarangkan",
    "when": "September sampai Oktober 2026",
    "how": "Meminta Rp100.000 di luar ketentuan agar KTP cepat selesai",
    "loss_estimate": "Sekitar Rp15 juta",
    "person1_name": "I Made Contoh",
    "person1_position": "Petugas loket",
    "person1_unit": "Kecamatan Banjarangkan",
    "incident_date": "2026-10-01",
}
_UNITS = {"": 1, "K": KiB, "M": MiB, "G": GiB}


# ----------------------------------------------------------------- small helpers


def parse_size(text: str) -> int:
    """``"256M"`` -> 256 MiB; suffixes K, M, G are binary, no suffix is bytes."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = text[-1] if text and text[-1] in "KMG" else ""
    return int(text[: len(text) - len(unit)]) * _UNITS[unit]


def format_size(size: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100): a value that was really observed."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2


def workdir_root() -> Path:
    """Where benchmarks put data folders and inputs: ``$WBS_BENCH_TMP`` or the system temp dir."""
    root = Path(os.environ.get("WBS_BENCH_TMP") or tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    return root


def make_workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"wbs-bench-{prefix}-", dir=workdir_root()))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def code_env(code: Path | None = None) -> dict[str, str]:
    """The environment of a ``wbs`` process: the code under test first on its path."""
    return dict(os.environ, PYTHONPATH=str(code or CODE))


# The command's module in the tree on PYTHONPATH: trees from before server/ had sub-packages
# (bench/compare.py may compare with one) have it at server.cli.
WBS_MAIN = ("import os, runpy, server; runpy.run_module('server.operations.cli' "
            "if os.path.isdir(os.path.join(server.__path__[0], 'operations')) else 'server.cli', "
            "run_name='__main__', alter_sys=True)")


def wbs_command(*args: str) -> list[str]:
    return [sys.executable, "-c", WBS_MAIN, *args]


def wbs(*args: str, cwd: Path | None = None, timeout: float = 300, code: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(wbs_command(*args), capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=code_env(code))
    if done.returncode != 0:
        raise RuntimeError(f"wbs {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def proc_status_kib(pid: int, name: str) -> int:
    """A ``/proc/PID/status`` field in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (``clear_refs`` 5); False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def emit(rows: Iterable[dict[str, Any]], **details: Any) -> None:
    """The last line a benchmark prints: its summary rows (and details) for run.py."""
    print(RESULT_PREFIX + json.dumps({"rows": list(rows), **details}), flush=True)


def summary_row(
    benchmark: str,
    figure: str,
    value: str,
    *,
    reference: str = "",
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
) -> dict[str, Any]:
    """One line of the summary table; ``met`` None for a figure held to no target."""
    return {"benchmark": benchmark, "figure": figure, "value": value, "reference": reference,
            "ratio": ratio, "target": target, "met": met}


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("MET" if met else "NOT MET")


# ----------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else repr(value)


@dataclass
class Server:
    """One data folder and the ``wbs serve`` that runs on it (start and stop as often as needed)."""

    home: Path
    settings: dict[str, object]
    code: Path = CODE
    port: int = 0
    staff_port: int = 0
    process: subprocess.Popen | None = None
    prefix: tuple[str, ...] = ()  # a command to run ``wbs serve`` under, e.g. ("prlimit", "--nofile=1024:1024")
    vhost: str | None = None  # the Host name start() asks for (a tenant's); None: 127.0.0.1:PORT
    listeners_in_command: bool = False  # a further node on the same wbs.toml: its listeners on the command line
    _log: Any = None

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def config(self) -> Path:
        return self.home / "wbs.toml"

    @property
    def log(self) -> Path:
        return self.home / (f"server-{self.port}.log" if self.listeners_in_command else "server.log")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @classmethod
    def create(cls, home: Path, code: Path = CODE, **settings: object) -> "Server":
        """``wbs init`` and ``wbs keys install`` of a fresh organisation key (whose keyring is thrown away)."""
        from crypto.keyring import new_keyring

        settings.setdefault("min_free_bytes", 0)
        home.mkdir(parents=True, exist_ok=True)
        server = cls(home, dict(settings), code, free_port(), free_port())
        server.write_config()
        wbs("init", "--config", str(server.config), cwd=home, code=code)
        (home / "org.pub.json").write_bytes(new_keyring(ORG_NAME).public_key_file())
        wbs("keys", "install", str(home / "org.pub.json"), "--config", str(server.config), cwd=home, code=code)
        return server

    def another_node(self) -> "Server":
        """One more ``wbs serve`` of this wbs.toml and data folder, on loopback ports of its own
        (named with ``--reporter-addr`` and ``--staff-addr``): a second node of one deployment."""
        return Server(self.home, self.settings, self.code, free_port(), free_port(), prefix=self.prefix,
                      vhost=self.vhost, listeners_in_command=True)

    def write_config(self) -> None:
        lines = [f"data_dir = {_toml_value(str(self.data))}",
                 f'reporter_addr = "127.0.0.1:{self.port}"', f'staff_addr = "127.0.0.1:{self.staff_port}"']
        lines += [f"{key} = {_toml_value(value)}" for key, value in self.settings.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 60) -> float:
        """Start ``wbs serve``; returns the seconds until both ports accept and ``GET /`` answers 200."""
        if self.process is not None:
            raise RuntimeError("already running")
        self._log = open(self.log, "ab")
        listeners = (["--reporter-addr", f"127.0.0.1:{self.port}", "--staff-addr", f"127.0.0.1:{self.staff_port}"]
                     if self.listeners_in_command else [])
        started = time.perf_counter()
        self.process = subprocess.Popen([*self.prefix, *wbs_command("serve", "--config", str(self.config), *listeners)],
                                        cwd=self.home, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=code_env(self.code))
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"wbs serve exited: {self.log.read_text()[-2000:]}")
            if port_open(self.port) and port_open(self.staff_port):
                try:
                    if Client(self.port, timeout=5, vhost=self.vhost).get("/").status == 200:
                        return time.perf_counter() - started
                except OSError:
                    pass
            time.sleep(0.005)
        self.stop()
        raise RuntimeError("wbs serve did not start in time")

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def client(self, timeout: float = 120, vhost: str | None = None) -> "Client":
        return Client(self.port, timeout=timeout, vhost=vhost or self.vhost)

    def rss_kib(self) -> int:
        return proc_status_kib(self.pid, "VmRSS")

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ----------------------------------------------------------------- a small HTTP client


@dataclass
class Response:
    status: int
    body: bytes
    headers: http.client.HTTPMessage

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def csrf(self) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', self.text)
        if not match:
            raise RuntimeError(f"no csrf_token in a {self.status} page")
        return match.group(1)

    def element_text(self, element_id: str) -> str:
        match = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)<', self.text, re.S)
        if not match:
            raise RuntimeError(f"no element #{element_id} in a {self.status} page")
        return match.group(1).strip()


@dataclass
class Client:
    """Cookies, GET, urlencoded and multipart POST; one connection per request, as Tor Browser's circuits often are."""

    port: int
    timeout: float = 120
    cookies: dict[str, str] = field(default_factory=dict)
    vhost: str | None = None  # the Host header (a tenant's name); None: 127.0.0.1:PORT

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
        headers = dict(headers or {})
        if self.vhost:
            headers["Host"] = self.vhost
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
            for header in raw.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";")[0]
                if "Max-Age=0" in header or "01 Jan 1970" in header:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return Response(raw.status, data, raw.headers)
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self._request("GET", path)

    def post(self, path: str, fields: dict[str, str]) -> Response:
        return self._request("POST", path, urlencode(fields).encode(),
                             {"Content-Type": "application/x-www-form-urlencoded"})

    def post_multipart(self, path: str, fields: Sequence[tuple[str, str | tuple[str, bytes]]]) -> Response:
        """A small multipart form held in memory; a ``(filename, bytes)`` value is a file part."""
        boundary = "----wbsbench" + secrets.token_hex(12)
        parts = []
        for name, value in fields:
            if isinstance(value, tuple):
                filename, data = value
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                             f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                             + data + b"\r\n")
            else:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                             + value.encode() + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self._request("POST", path, b"".join(parts),
                             {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def report_fields(csrf: str, files: Sequence[tuple[str, bytes]] = ()) -> list[tuple[str, str | tuple[str, bytes]]]:
    fields: list[tuple[str, str | tuple[str, bytes]]] = [("csrf_token", csrf), *REPORT.items()]
    fields += [("attachments", f) for f in files]
    fields.append(("confirm", "1"))
    return fields


def submit_report(client: Client, files: Sequence[tuple[str, bytes]] = ()) -> Response:
    """GET /submit for the CSRF cookie and token, then POST the report form."""
    page = client.get("/submit")
    if page.status != 200:
        raise RuntimeError(f"GET /submit answered {page.status}")
    return client.post_multipart("/submit", report_fields(page.csrf, files))


# ----------------------------------------------------------------- memory


class RssSampler:
    """Samples a process's VmRSS in a thread; ``peak_kib`` is the highest sample."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, proc_status_kib(self.pid, "VmRSS"))
                self.samples += 1
            except (OSError, KeyError):
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_with_rusage(command: list[str], *, cwd: Path | None = None, timeout: float = 600,
                    code: Path | None = None, profile: str | None = None) -> tuple[int, float, int]:
    """Run a command; returns (exit status, wall seconds, its ru_maxrss in KiB) from wait4.

    ``profile`` names a py-spy record of it (see ``Profile``; only with ``$WBS_BENCH_PROFILE``).
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=code_env(code), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        if profile:
            with Profile(process.pid, profile):
                _, status, usage = os.wait4(process.pid, 0)
        else:
            _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.stderr is not None:
        err = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])}... exited {process.returncode}: {err.strip()[-500:]}")
    return process.returncode, seconds, usage.ru_maxrss


def write_random_file(path: Path, size: int) -> None:
    """``size`` bytes of an 8 MiB random pool, repeated, fsync'ed so no writeback runs later."""
    pool = os.urandom(min(size, 8 * MiB))
    with open(path, "wb") as out:
        left = size
        while left:
            n = min(left, len(pool))
            out.write(pool[:n])
            left -= n
        out.flush()
        os.fsync(out.fileno())


class Profile:
    """``py-spy record`` of ``pid`` while the block runs, when ``$WBS_BENCH_PROFILE`` names a folder.

    Off by default: even ``--nonblocking`` sampling costs the measured process
    some CPU, so figures taken while profiling are not the benchmark's
    figures. ``$WBS_BENCH_PYSPY`` names the py-spy binary (default ``py-spy``
    on PATH). Writes NAME.txt: collapsed stacks, one line per stack with its
    sample count, per thread; idle threads are left out, and GIL-free work in
    C shows as the Python line that called it.
    """

    def __init__(self, pid: int, name: str) -> None:
        self.folder = os.environ.get("WBS_BENCH_PROFILE")
        self.pid = pid
        self.name = name
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "Profile":
        if self.folder:
            Path(self.folder).mkdir(parents=True, exist_ok=True)
            out = Path(self.folder) / f"{self.name}.txt"
            self._process = subprocess.Popen(
                [os.environ.get("WBS_BENCH_PYSPY", "py-spy"), "record", "--pid", str(self.pid), "--rate", "250",
                 "--threads", "--nonblocking", "--format", "raw", "--output", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)  # py-spy attaches
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def sync_disk() -> None:
    """Flush every dirty page, so the next measurement pays for no one else's writeback."""
    os.sync()
