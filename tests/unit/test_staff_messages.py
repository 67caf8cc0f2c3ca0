"""Staff error messages: Indonesian on the pages by default, English on the command line."""

import ast
from pathlib import Path

from server import i18n
from server.staff import BundleRejected, StaffInputError

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_speaks_the_page_language_and_english_for_the_command_line():
    exc = StaffInputError("staff.err.user_exists", name="made")
    assert exc.text("id") == "Pengguna made sudah ada."
    assert exc.text("en") == str(exc) == "User made exists already."
    rejected = BundleRejected("staff.err.bundle_invalid", detail="bad signature")
    assert rejected.text("id") == "Berkas balasan tidak sah: bad signature"


def test_every_key_raised_has_both_languages():
    keys = set()
    for name in ("staff.py", "staff_views.py"):
        for node in ast.walk(ast.parse((ROOT / "server" / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "StaffInputError", "BundleRejected"):
                first = node.args[0]
                assert isinstance(first, ast.Constant), ast.dump(node)
                keys.add(first.value)
    assert len(keys) >= 15
    for key in keys:
        indonesian, english = i18n.MESSAGES[key]
        assert indonesian and english and indonesian != english, key
