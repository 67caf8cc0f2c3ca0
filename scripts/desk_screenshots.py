"""The keyholder guides' screenshots of the desk, made again: ``python scripts/desk_screenshots.py``.

A real ``wbs-keytools desk`` on sample data (the browser tests' fixture, no
real report), a real Chromium with JavaScript off; the pictures go to
``docs/img/desk-*.png``. Needs what the browser tests need (Chromium,
chromedriver, mat2).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser"), str(ROOT / "tests" / "integration")]

from browserkit import Browser  # noqa: E402
from desk_support import start_desk  # noqa: E402
from desk_tour import CODE, desk_fixture  # noqa: E402
from test_keytools_support import PASSPHRASE  # noqa: E402

OUT = ROOT / "docs" / "img"


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="wbs-desk-shots-"))
    desk = start_desk(tmp, *desk_fixture(tmp)[:1], tmp / "kasus", "--inbox", tmp / "masuk", "--outbox", tmp / "keluar")
    browser = Browser("desk", tmp / "shots")
    browser.base = f"http://127.0.0.1:{desk.port}"
    try:
        browser.open("/unlock")
        browser.screenshot("unlock")
        browser.fill_and_press("/unlock", passphrase=PASSPHRASE)
        browser.open("/import")
        browser.screenshot("import")
        browser.press_form_of_value("ekspor.zip")
        browser.screenshot("imported")
        browser.open("/")
        browser.screenshot("cases")
        browser.open(f"/cases/{CODE}")
        browser.screenshot("case")
        browser.type("body", "Terima kasih atas laporan Anda. Laporan sedang kami verifikasi.")
        browser.choose("new-status", "verification")
        browser.press(f"/cases/{CODE}/reply")
        browser.open("/replies")
        browser.screenshot("outbox")
    finally:
        browser.quit()
        desk.stop()
    OUT.mkdir(exist_ok=True)
    for path in sorted((tmp / "shots").glob("desk-*.png")):
        name = "desk-" + path.stem.split("-", 2)[2] + ".png"
        shutil.copyfile(path, OUT / name)
        print(OUT / name)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
