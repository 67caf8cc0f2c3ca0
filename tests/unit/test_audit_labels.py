"""The audit log in words: every action the code writes has its sentence in both languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from server import i18n
from server.staff.audit_labels import KNOWN_ACTIONS, actor_label, describe, refusal_reason

ROOT = Path(__file__).resolve().parents[2]


def written_actions() -> set[str]:
    """The action words of the audit lines in server/: the fourth member of a
    (day, actor, report code, action) tuple, or the action given to
    ``add_items_with_audit``. A word ending in ``_`` is a family (``user_{action}``)."""
    found = set()
    for path in sorted((ROOT / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) == 4 and not isinstance(node.elts[0], ast.Constant):
                last = node.elts[3]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_items_with_audit":
                last = node.args[-1]
            else:
                continue
            if isinstance(last, ast.Constant) and isinstance(last.value, str):
                text = last.value
            elif isinstance(last, ast.JoinedStr) and isinstance(last.values[0], ast.Constant):
                text = last.values[0].value
            else:
                continue
            found.add(re.match(r"[a-z_]*", text).group(0))
    return found


def test_every_action_the_code_writes_has_a_sentence():
    written = written_actions()
    assert len(written) >= 15
    for action in written:
        if action.endswith("_"):
            assert any(known.startswith(action) for known in KNOWN_ACTIONS), action
        else:
            assert action in KNOWN_ACTIONS, action
    plain = {action for action in KNOWN_ACTIONS if describe("en", action, "") != action}
    assert len(plain) >= 7  # the actions without a detail; the others' sentences are checked below
    for action in plain:
        assert describe("id", action, "") != describe("en", action, ""), action


@pytest.mark.parametrize("action, detail, indonesian, english", [
    ("login", "", "Masuk", "Logged in"),
    ("user_add", "analis (handler)", "Menambah pengguna analis (petugas)", "Added user analis (handler)"),
    ("export", "1234 report(s), 5 item(s)", "Mengekspor 1.234 pengaduan, 5 item", "Exported reports: 1,234, items: 5"),
    ("purge", "2 item(s)", "Menghapus 2 item karena masa simpan habis",
     "Deleted at the end of the retention period, items: 2"),
    ("status", "closed_proven", "Mengubah status menjadi \u201cSelesai - terbukti\u201d",
     "Changed the status to \u201cClosed - proven\u201d"),
    ("reply_import", "status needs_info",
     "Mengimpor balasan dari pemegang kunci; status menjadi \u201cPerlu kelengkapan\u201d",
     "Imported a reply from the keyholders; status set to \u201cMore information needed\u201d"),
    ("import_refused", "staff.err.bundle.bad_signature",
     "Menolak berkas balasan: Tanda tangan berkas balasan tidak sah: berkas rusak atau telah diubah.",
     "Refused a reply bundle: The reply bundle's signature is not valid: the file is damaged or was altered."),
])
def test_a_stored_row_reads_as_a_sentence(action, detail, indonesian, english):
    assert describe("id", action, detail) == indonesian
    assert describe("en", action, detail) == english


def test_a_row_of_another_shape_is_shown_as_stored():
    assert describe("id", "filler", "") == "filler"
    assert describe("id", "export", "something else") == "export something else"
    assert describe("id", "login", "odd detail") == "login odd detail"


def test_a_refusal_without_its_values_keeps_its_words():
    assert refusal_reason("id", "staff.err.item_differs") == "Item \u2026 sudah tersimpan dengan isi yang berbeda."
    assert refusal_reason("en", "staff.err.gone") == "staff.err.gone"


def test_the_system_actors_are_named_in_words():
    assert actor_label("id", "reporter") == "pelapor" and actor_label("en", "retention") == "automatic deletion"
    assert actor_label("id", "kepala") == "kepala" and actor_label("id", "wbs-cli") == "wbs-cli"


def test_numbers_follow_the_language():
    assert i18n.number("id", 1234567.25, 1) == "1.234.567,2" and i18n.number("en", 1234567.25, 1) == "1,234,567.2"
    assert i18n.number("id", 0.0, 1) == "0,0" and i18n.number("id", 999) == "999"
    assert i18n.month_label("id", "2026-08") == "Agustus 2026" and i18n.month_label("en", "2026-13") == "2026-13"
    assert i18n.item_label("id", "reply", "keyholder") == "Balasan (pemegang kunci)"
    assert i18n.role_label("id", "handler") == "petugas" and i18n.role_label("en", "handler") == "handler"
