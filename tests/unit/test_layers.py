"""The house's layer rules, checked on the source: crypto/ is pure, and the
two halves never import each other."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRYPTO_ALLOWED = {"nacl", "argon2"}


def imports(package: str) -> set[tuple[Path, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update((path, a.name.split(".")[0]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add((path, node.module.split(".")[0]))
    return found


def test_crypto_imports_only_stdlib_and_primitives():
    bad = {
        (p.name, m)
        for p, m in imports("crypto")
        if m not in sys.stdlib_module_names and m not in CRYPTO_ALLOWED
    }
    assert not bad
    assert not {(p.name, m) for p, m in imports("crypto") if m in {"asyncio", "socket", "sqlite3", "subprocess"}}


def test_halves_never_import_each_other():
    assert not {m for _, m in imports("server")} & {"keytools"}
    assert not {m for _, m in imports("keytools")} & {"server"}


def test_working_day_calendar_belongs_to_neither_half():
    """``workdays`` is shared by both halves, so it may import neither (nor anything but the calendar)."""
    found = {m for _, m in imports("workdays")}
    assert not found & {"server", "keytools", "crypto"}
    assert found - set(sys.stdlib_module_names) <= {"holidays"}


def test_message_catalogs_belong_to_neither_half():
    """``locales`` (the catalogs, their loader, the shared status and category words) is read by
    both halves, so it imports neither, and at run time nothing but the standard library."""
    found = {m for _, m in imports("locales")}
    assert not found & {"server", "keytools", "crypto"}
    assert found - set(sys.stdlib_module_names) <= {"locales"}
