"""Each rule of an export bundle's manifest alone (PROTOCOL.md §6), and what a refusal names.

The keyholder's workstation reads manifests written by a server it does not
trust: one bad member in an otherwise good manifest must be refused.
"""

from __future__ import annotations

import copy
import io
import zipfile

import pytest

from crypto.encoding import b64
from crypto.errors import FormatError, IntegrityError
from crypto.export_bundle import ExportBundle, ExportItem, ExportReport, check_manifest, write_export_bundle

CODE = "WBS-7K3QF-9XW2M"
ITEM_ID, PARENT_ID = "ab" * 16, "cd" * 16


def manifest(**item_changes: object) -> dict:
    item = {"item_id": ITEM_ID, "kind": "attachment", "parent_id": PARENT_ID, "created_day": "2026-11-27",
            "path": f"items/{ITEM_ID}.wbse", "size": 10, "sha256": "ef" * 32}
    item.update(item_changes)
    return {
        "format": "wbs-export/1",
        "created_at": "2026-11-28T08:30:00Z",
        "org_key_ids": ["0123456789abcdef"],
        "reports": [{"report_code": CODE, "status": "received", "created_day": "2026-11-27",
                     "status_history": [{"status": "received", "day": "2026-11-27"}],
                     "mailbox_pk": b64(bytes(32)), "items": [item]}],
    }


def test_a_good_manifest_passes_with_size_zero_and_no_parent():
    assert check_manifest(manifest()) == manifest()
    assert check_manifest(manifest(size=0, parent_id=None))


@pytest.mark.parametrize(
    ("change", "prefix"),
    [
        ({"parent_id": "AB" * 16}, "item_id: "),
        ({"parent_id": "ab"}, "item_id: "),
        ({"created_day": "2026-11-31"}, "item created_day: "),
        ({"created_day": "27/11/2026"}, "item created_day: "),
        ({"size": -1}, f"item {ITEM_ID}: size must be a non-negative integer"),
        ({"size": "10"}, f"item {ITEM_ID}: size must be a non-negative integer"),
        ({"size": 10.0}, f"item {ITEM_ID}: size must be a non-negative integer"),
        ({"sha256": "ef" * 31}, f"item {ITEM_ID} sha256: "),
        ({"sha256": "ef" * 33}, f"item {ITEM_ID} sha256: "),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_one_bad_item_member_is_refused_and_named(change, prefix):
    with pytest.raises(FormatError, match=f"^{prefix}"):
        check_manifest(manifest(**change))


@pytest.mark.parametrize("status", [5, None, "Received", ""])
def test_a_status_must_be_a_status_key(status):
    bad = manifest()
    bad["reports"][0]["status"] = status
    with pytest.raises(FormatError, match=f"^report {CODE} status: not a status key"):
        check_manifest(bad)
    history = manifest()
    history["reports"][0]["status_history"][0]["status"] = status
    with pytest.raises(FormatError, match=f"^report {CODE} history status: "):
        check_manifest(history)


def test_created_at_is_named_when_refused():
    bad = manifest()
    bad["created_at"] = "2026-11-28"
    with pytest.raises(FormatError, match="^manifest created_at: "):
        check_manifest(bad)


def bundle_bytes(data: bytes) -> bytes:
    report = ExportReport(CODE, "received", "2026-11-27", [("received", "2026-11-27")], bytes(32),
                          [ExportItem(ITEM_ID, "report", None, "2026-11-27", lambda: io.BytesIO(data))])
    dst = io.BytesIO()
    write_export_bundle(dst, [report], org_key_ids=["0123456789abcdef"])
    return dst.getvalue()


def test_an_empty_item_is_an_entry_like_any_other():
    with ExportBundle(io.BytesIO(bundle_bytes(b""))) as bundle:
        assert bundle.read_item(ITEM_ID) == b""


def test_a_manifest_that_is_not_json_is_named():
    dst = io.BytesIO()
    with zipfile.ZipFile(dst, "w") as archive:
        archive.writestr("manifest.json", b"{not json")
    with pytest.raises(FormatError, match="^manifest.json: "):
        ExportBundle(io.BytesIO(dst.getvalue()))


def test_an_item_that_differs_from_its_manifest_is_named():
    data = bundle_bytes(b"r" * 100)
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(rebuilt, "w") as copy_:
        copy_.writestr(f"items/{ITEM_ID}.wbse", b"s" * 100)
        copy_.writestr("manifest.json", original.read("manifest.json"))
    with ExportBundle(io.BytesIO(rebuilt.getvalue())) as bundle, \
            pytest.raises(IntegrityError, match=f"^item {ITEM_ID} does not match its checksum"):
        bundle.read_item(ITEM_ID)


def test_a_damaged_entry_is_named_by_its_item():
    data = bytearray(bundle_bytes(b"r" * 100))
    at = data.index(b"r" * 100)
    data[at] ^= 1  # the ZIP's CRC-32 no longer matches
    with ExportBundle(io.BytesIO(bytes(data))) as bundle, \
            pytest.raises(IntegrityError, match=f"^item {ITEM_ID} is damaged"):
        with bundle.open_item(ITEM_ID) as stream:
            while stream.read(7):
                pass



@pytest.mark.parametrize("key_ids", [None, "0123456789abcdef", ["0123456789ABCDEF"], ["0123456789abcde"], [7]])
def test_org_key_ids_are_a_list_of_lowercase_16_hex(key_ids):
    bad = manifest()
    bad["org_key_ids"] = key_ids
    with pytest.raises(FormatError, match="^org_key_ids: "):
        check_manifest(bad)


def test_a_report_code_may_appear_once():
    twice = manifest()
    other = copy.deepcopy(twice["reports"][0])
    other["items"] = []
    twice["reports"].append(other)
    with pytest.raises(FormatError, match=f"^report {CODE} appears twice"):
        check_manifest(twice)


@pytest.mark.parametrize(
    ("where", "value", "prefix"),
    [
        ("created_day", "2026-02-30", f"report {CODE} created_day: "),
        ("history_day", "2026-02-30", f"report {CODE} history day: "),
        ("mailbox_pk", b64(bytes(31)), f"report {CODE} mailbox_pk: "),
    ],
)
def test_report_refusals_name_the_report_and_the_member(where, value, prefix):
    bad = manifest()
    if where == "history_day":
        bad["reports"][0]["status_history"][0]["day"] = value
    else:
        bad["reports"][0][where] = value
    with pytest.raises(FormatError, match=f"^{prefix}"):
        check_manifest(bad)
