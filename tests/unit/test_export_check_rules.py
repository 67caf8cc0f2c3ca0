"""``check_export``: an export request checked from its records alone, before any byte is sent.

The server calls it before streaming a bundle, so that a request it cannot
honour gets an error page instead of a ZIP cut off without its manifest.
Items whose size or sha256 are not on record yet must still pass.
"""

from __future__ import annotations

import io

import pytest

from crypto.errors import FormatError
from crypto.export_bundle import ExportItem, ExportReport, check_export

CODE, OTHER = "WBS-7K3QF-9XW2M", "WBS-00000-11111"
KEY_IDS = ["0123456789abcdef"]


def item(item_id: str, *, size: int | None = None, sha256: str | None = None, kind: str = "report") -> ExportItem:
    return ExportItem(item_id=item_id, kind=kind, parent_id=None, created_day="2026-11-27",
                      open=lambda: io.BytesIO(b""), size=size, sha256=sha256)


def report(code: str = CODE, *items: ExportItem, status: str = "received") -> ExportReport:
    return ExportReport(report_code=code, status=status, created_day="2026-11-27",
                        status_history=[("received", "2026-11-27")], mailbox_pk=bytes(32), items=items)


def test_records_without_size_or_hash_yet_pass():
    check_export([report(CODE, item("ab" * 16), item("cd" * 16, kind="attachment"))], org_key_ids=KEY_IDS)


def test_records_with_size_and_hash_pass():
    check_export([report(CODE, item("ab" * 16, size=10, sha256="ef" * 32)), report(OTHER)], org_key_ids=KEY_IDS)


def test_no_reports_and_no_keys_pass():
    check_export([], org_key_ids=[])


@pytest.mark.parametrize(
    ("reports", "key_ids", "message"),
    [
        ([report(CODE), report(CODE)], KEY_IDS, f"^report {CODE} appears twice$"),
        ([report(CODE, item("ab" * 16)), report(OTHER, item("ab" * 16))], KEY_IDS, "appears twice$"),
        ([report(CODE, status="Selesai")], KEY_IDS, "not a status key$"),
        ([report(CODE, item("ab" * 16, kind="note"))], KEY_IDS, "unknown kind$"),
        ([report(CODE, item("AB" * 16))], KEY_IDS, "^item_id: "),
        ([report(CODE, item("ab" * 16, size=-1))], KEY_IDS, "size must be a non-negative integer$"),
        ([report(CODE)], ["not-a-key-id"], "^org_key_ids: "),
    ],
    ids=["code-twice", "item-twice", "status", "kind", "item-id", "size", "key-id"],
)
def test_a_request_that_would_make_a_bad_manifest_is_refused(reports, key_ids, message):
    with pytest.raises(FormatError, match=message):
        check_export(reports, org_key_ids=key_ids)
