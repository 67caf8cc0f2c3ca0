"""The README's quick start, run as written against a real ``wbs serve --demo``.

The demo runs with its working directory in a temp folder, so its data lands in
``var/demo`` there, where ``make run`` puts it in a clone. The README's own
commands are read out of README.md and run with bash in that folder, so the
test fails when the README drifts from what the commands do.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, free_port, wbs
from crypto.export_bundle import ExportBundle
from skips import skip_or_fail
from test_reporter_journey import login, submit


def readme_block(containing: str) -> str:
    """The README's ``sh`` code block holding ``containing``."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.M | re.S)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"README.md should have one sh block with {containing!r}, has {len(found)}"
    return found[0]


def run_readme(block: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the block as a reader would paste it, its ``.venv/bin/...`` being this test's venv."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "wbs").exists():
        skip_or_fail(f"the README's commands run .venv/bin/wbs, and {venv} has none: run the tests in the"
                     " project's venv (make test)")
    (cwd / ".venv").symlink_to(venv, target_is_directory=True)
    done = subprocess.run(["bash", "-eu", "-o", "pipefail", "-c", block], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"README block failed:\n{block}\n{done.stdout}\n{done.stderr}"
    return done


class DemoServer:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.port, self.staff_port = free_port(), free_port()
        self.log = cwd / "demo.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.operations.cli", "serve", "--demo", "--reporter-addr", f"127.0.0.1:{self.port}",
                 "--staff-addr", f"127.0.0.1:{self.staff_port}"],
                stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the demo exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2), \
                        socket.create_connection(("127.0.0.1", self.staff_port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the demo did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def demo(tmp_path):
    server = DemoServer(tmp_path)
    yield server
    server.stop()


def wbs_in(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return wbs(*args, cwd=cwd, check=False)


def test_the_readme_round_trip_runs_on_the_demo(demo):
    from wbsclient import Client

    reporter = Client(demo.port)
    sent = submit(reporter)
    assert sent.status == 200, sent.text
    codename, passphrase, code = (sent.element_text(i) for i in ("codename", "passphrase", "report-code"))

    block = readme_block("wbs export --demo")
    [export] = [line for line in block.splitlines() if " export " in line]
    out = shlex.split(export)[shlex.split(export).index("--out") + 1]
    assert "--all" in shlex.split(export)
    run_readme(block, demo.cwd)

    with open(demo.cwd / out, "rb") as src, ExportBundle(src) as bundle:
        assert [r["report_code"] for r in bundle.reports] == [code]
    reply = (demo.cwd / "balasan.txt").read_text(encoding="utf-8").strip()
    assert login(reporter, codename, passphrase).status == 303
    page = reporter.get(f"/mailbox/reports/{code}")
    assert reply in page.text and "Verifikasi" in page.text


def test_the_readme_staff_login_works_on_the_demo(demo):
    from wbsclient import Client

    shown = run_readme(readme_block("STAFF.txt"), demo.cwd).stdout.split()
    login_lines = dict(word.split("=", 1) for word in shown if "=" in word)
    [totp_code] = [word for word in shown if re.fullmatch(r"\d{6}", word)]
    staff = Client(demo.staff_port)
    page = staff.get("/staff/login")
    done = staff.post("/staff/login", {"csrf_token": page.csrf, "username": login_lines["username"],
                                       "password": login_lines["password"], "totp": totp_code})
    assert done.status == 303 and staff.get("/staff").status == 200


def test_without_demo_the_error_says_what_to_type(demo):
    done = wbs_in(demo.cwd, "export", "--all", "--out", "x.zip")
    assert done.returncode == 1 and not (demo.cwd / "x.zip").exists()
    [typed] = [line.strip() for line in done.stderr.splitlines() if line.strip().endswith("--demo")]
    assert typed == "wbs export --all --out x.zip --demo"
    again = wbs_in(demo.cwd, *shlex.split(typed)[1:])
    assert again.returncode == 0, again.stderr
    assert (demo.cwd / "x.zip").is_file()
    # --demo also goes before the command, like --data.
    assert wbs_in(demo.cwd, "--demo", "purge").returncode == 0


def test_demo_without_a_demo_says_how_to_start_one(tmp_path):
    done = wbs_in(tmp_path, "export", "--demo", "--all", "--out", "x.zip")
    assert done.returncode == 1
    assert "var/demo holds no demo yet" in done.stderr and "make run" in done.stderr
    assert "wbs serve --demo" in done.stderr
    plain = wbs_in(tmp_path, "import", "balasan.wbsr")
    assert "--demo" not in plain.stderr and "\n  wbs init\n" in plain.stderr


def test_check_speaks_of_the_folder_it_checks(demo):
    by_data = wbs_in(demo.cwd, "check", "--data", "var/demo")
    by_demo = wbs_in(demo.cwd, "check", "--demo")
    # The same findings; the free space they quote moves with whatever else writes to this disk.
    def steady(out: str) -> str:
        return re.sub(r"\d[\d,.]* (MiB|GiB|KiB|bytes)", "N", out)

    assert steady(by_data.stdout) == steady(by_demo.stdout)
    assert "defaults with the data folder var/demo" in by_data.stdout
    assert "'var/'" not in by_data.stdout
    assert "var/demo is a DEMO data folder" in by_data.stdout
    plain = wbs_in(demo.cwd, "check")
    assert "var is not a data folder" in plain.stdout and "wbs check --demo" in plain.stdout
