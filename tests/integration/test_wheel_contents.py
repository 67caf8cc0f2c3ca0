"""``pip install .`` ships the whole program: the wheel built from the tracked files holds every
one of them (templates, static files, migrations, wordlists, message catalogs), the catalogs
compiled by the build step, nothing else, and setuptools has nothing to warn about while building it.

The build runs on a copy of the tracked files, as a fresh clone would have them, so it neither
writes into this tree nor picks up what is lying around in it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT
from skips import skip_or_fail

PACKAGES = ("crypto", "server", "keytools", "locales", "templates", "workdays")


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        skip_or_fail("needs git and a clone to list the tracked files")
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True)
    return [name for name in done.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


@pytest.mark.slow
def test_the_wheel_holds_every_file_of_the_packages_and_no_warning(tmp_path):
    files = tracked_files()
    source = tmp_path / "clone"
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "--wheel-dir", str(out),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    log = build.stdout + build.stderr
    assert "is absent from the `packages` configuration" not in log, "setuptools warns about a data folder"
    assert "SetuptoolsDeprecationWarning" not in log

    [wheel] = out.glob("wbs-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    shipped = {n for n in names if ".dist-info/" not in n}
    expected = {n for n in files if n.split("/", 1)[0] in PACKAGES}
    expected |= {n[:-3] + ".mo" for n in files if n.startswith("locales/") and n.endswith(".po")}
    assert sorted(expected - shipped) == [], "tracked files the wheel leaves out"
    assert sorted(shipped - expected) == [], "files in the wheel that are not tracked in the packages"
    for kind in ("templates/staff/", "templates/static/", "server/storage/migrations/", "crypto/wordlists/", "locales/id/"):
        assert any(n.startswith(kind) and not n.endswith(".py") for n in shipped), kind
    assert "wbs = server.operations.cli:main" in scripts and "wbs-keytools = keytools.cli:main" in scripts
