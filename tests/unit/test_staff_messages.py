"""Staff error messages: Indonesian on the pages by default, English on the command line."""

import ast
from pathlib import Path

import pytest

from crypto.errors import FormatError, SignatureError
from server import i18n
from server.staff.workflow import BUNDLE_ERROR_KEYS, BundleRejected, StaffInputError, StatusName, bundle_rejected

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_speaks_the_page_language_and_english_for_the_command_line():
    exc = StaffInputError("User %(name)s exists already.", name="made")
    assert exc.text("id") == "Pengguna made sudah ada."
    assert exc.text("en") == str(exc) == "User made exists already."
    rejected = BundleRejected("staff.err.bundle.wrong_format")
    assert rejected.text("id") == "Berkas ini bukan berkas balasan WBS (.wbsr)."
    assert str(rejected) == "This file is not a WBS reply bundle (.wbsr)."


def test_a_status_named_in_a_message_is_shown_by_its_label():
    exc = StaffInputError("A report in status \u201c%(old)s\u201d cannot move to \u201c%(new)s\u201d.",
                          old=StatusName("received"), new=StatusName("closed_proven"))
    assert exc.text("id") == "Pengaduan berstatus \u201cDiterima\u201d tidak dapat dipindah ke \u201cSelesai - terbukti\u201d."
    assert "\u201cReceived\u201d" in str(exc) and "closed_proven" not in str(exc)


@pytest.mark.parametrize("error, key", [
    (FormatError("reply bundle: larger than 10 bytes", code="too_large"), "staff.err.bundle.too_large"),
    (FormatError("reply bundle: not valid UTF-8 JSON", code="not_json"), "staff.err.bundle.not_json"),
    (FormatError("not a wbs-replies file", code="wrong_format"), "staff.err.bundle.wrong_format"),
    (SignatureError("signed by a key this server does not know", code="unknown_signer"),
     "staff.err.bundle.unknown_signer"),
    (SignatureError("signed by a retired key", code="retired_signer"), "staff.err.bundle.retired_signer"),
    (SignatureError("does not verify", code="bad_signature"), "staff.err.bundle.bad_signature"),
    (FormatError("reply x: not sealed to the mailbox", code="not_for_mailbox"), "staff.err.bundle.not_for_mailbox"),
    (FormatError("reply x: not sealed to an organisation key", code="not_for_org"), "staff.err.bundle.not_for_org"),
    (FormatError("report_code: expected a report code"), "staff.err.bundle.malformed"),
    (SignatureError("a signature problem without a code"), "staff.err.bundle.bad_signature"),
])
def test_a_bundle_error_maps_by_code_or_class_never_by_its_english_text(error, key):
    rejected = bundle_rejected(error)
    assert rejected.reason == key
    assert str(error) not in rejected.text("id") and str(error) not in rejected.text("en")
    assert str(rejected) == f"{rejected.text('en')} ({error})", "the command line keeps the English detail"


def test_every_bundle_error_code_crypto_raises_has_a_message():
    raised = set()
    for name in ("encoding.py", "reply_bundle.py"):
        for node in ast.walk(ast.parse((ROOT / "crypto" / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code":
                raised.add(node.value.value)
    assert raised == set(BUNDLE_ERROR_KEYS)


def test_every_message_raised_is_marked_and_translated():
    """A staff input error names an ``N_("...")`` literal (so extraction finds it); a refusal names a
    reason of ``BUNDLE_REFUSALS``; each has its own Indonesian."""
    messages, reasons = set(), set()
    for name in ("staff/workflow.py", "staff/views.py"):
        for node in ast.walk(ast.parse((ROOT / "server" / name).read_text(encoding="utf-8"))):
            called = getattr(node.func, "attr", getattr(node.func, "id", "")) if isinstance(node, ast.Call) else ""
            if called == "StaffInputError":
                marked = node.args[0]
                assert isinstance(marked, ast.Call) and getattr(marked.func, "id", "") == "N_", ast.dump(node)
                messages.add(marked.args[0].value)
            elif called == "BundleRejected":
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id == "key":
                    continue  # bundle_rejected: one of BUNDLE_ERROR_KEYS, checked below
                assert isinstance(first, ast.Constant), ast.dump(node)
                reasons.add(first.value)
    assert len(messages) >= 10 and len(reasons) >= 7
    reasons |= set(BUNDLE_ERROR_KEYS.values()) | {"staff.err.bundle.malformed"}
    assert reasons <= set(i18n.BUNDLE_REFUSALS)
    for message in messages | {i18n.BUNDLE_REFUSALS[r] for r in reasons}:
        assert i18n.translations("id").gettext(message) != message, message
