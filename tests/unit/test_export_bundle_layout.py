"""What an export bundle says beyond its envelopes: the manifest's exact members, and
ZIP entries that carry no time, no loose mode and no compression (PROTOCOL.md §6).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timezone

import pytest

from crypto.encoding import b64
from crypto.errors import IntegrityError
from crypto.export_bundle import BLOCK, ExportBundle, ExportItem, ExportReport, write_export_bundle

CODE = "WBS-7K3QF-9XW2M"
REPORT_ID, FILE_ID = "0" * 31 + "1", "0" * 31 + "2"
MAILBOX = bytes(range(32))
WHEN = datetime(2026, 11, 28, 23, 59, 58, tzinfo=timezone.utc)


class BlockReader(io.BytesIO):
    """A stored envelope that records how much each read asked for."""

    def __init__(self, data: bytes, asked: list) -> None:
        super().__init__(data)
        self.asked = asked

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(size)
        return super().read(size)


def item(item_id: str, data: bytes, *, kind: str = "report", parent_id: str | None = None,
         size: int | None = None, sha256: str | None = None, asked: list | None = None) -> ExportItem:
    return ExportItem(item_id=item_id, kind=kind, parent_id=parent_id, created_day="2026-11-27",
                      open=lambda: BlockReader(data, asked if asked is not None else []), size=size, sha256=sha256)


def bundle_of(*items: ExportItem) -> tuple[bytes, dict]:
    report = ExportReport(CODE, "verification", "2026-11-27", [("received", "2026-11-27"), ("verification", "2026-11-28")],
                          MAILBOX, items)
    dst = io.BytesIO()
    manifest = write_export_bundle(dst, [report], org_key_ids=["0123456789abcdef"], now=WHEN)
    return dst.getvalue(), manifest


def test_the_manifest_holds_exactly_the_protocol_members():
    report, attachment = b"r" * 100, b"a" * 50
    data, manifest = bundle_of(item(REPORT_ID, report),
                               item(FILE_ID, attachment, kind="attachment", parent_id=REPORT_ID, size=50))
    assert manifest == {
        "format": "wbs-export/1",
        "created_at": "2026-11-28T23:59:58Z",
        "org_key_ids": ["0123456789abcdef"],
        "reports": [{
            "report_code": CODE,
            "status": "verification",
            "created_day": "2026-11-27",
            "status_history": [{"status": "received", "day": "2026-11-27"},
                               {"status": "verification", "day": "2026-11-28"}],
            "mailbox_pk": b64(MAILBOX),
            "items": [
                {"item_id": REPORT_ID, "kind": "report", "parent_id": None, "created_day": "2026-11-27",
                 "path": f"items/{REPORT_ID}.wbse", "size": 100, "sha256": hashlib.sha256(report).hexdigest()},
                {"item_id": FILE_ID, "kind": "attachment", "parent_id": REPORT_ID, "created_day": "2026-11-27",
                 "path": f"items/{FILE_ID}.wbse", "size": 50, "sha256": hashlib.sha256(attachment).hexdigest()},
            ],
        }],
    }
    with ExportBundle(io.BytesIO(data)) as bundle:
        assert bundle.manifest == manifest
        assert bundle.read_item(FILE_ID) == attachment


def test_zip_entries_carry_no_time_a_private_mode_and_no_compression():
    data, _ = bundle_of(item(REPORT_ID, b"r" * 3000, size=3000), item(FILE_ID, b"a" * 10, kind="attachment"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == [f"items/{REPORT_ID}.wbse", f"items/{FILE_ID}.wbse", "manifest.json"]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o600
        assert info.compress_type == zipfile.ZIP_STORED
    assert [i.file_size for i in infos[:2]] == [3000, 10]


def test_an_envelope_is_copied_in_bounded_blocks():
    asked: list = []
    data = bytes(range(256)) * (BLOCK // 256 * 2 + 3)
    written, _ = bundle_of(item(REPORT_ID, data, size=len(data), asked=asked))
    assert asked and all(isinstance(n, int) and 0 < n <= BLOCK for n in asked)
    assert len(asked) >= 3
    with ExportBundle(io.BytesIO(written)) as bundle:
        assert bundle.read_item(REPORT_ID) == data


@pytest.mark.parametrize("size", [99, 101])
def test_a_stored_envelope_of_another_size_than_recorded_is_refused(size):
    with pytest.raises(IntegrityError):
        bundle_of(item(REPORT_ID, b"r" * 100, size=size))


def test_a_stored_envelope_with_another_hash_than_recorded_is_refused():
    with pytest.raises(IntegrityError):
        bundle_of(item(REPORT_ID, b"r" * 100, sha256=hashlib.sha256(b"s" * 100).hexdigest()))
    _, manifest = bundle_of(item(REPORT_ID, b"r" * 100, size=100, sha256=hashlib.sha256(b"r" * 100).hexdigest()))
    assert manifest["reports"][0]["items"][0]["size"] == 100


def test_a_small_item_that_differs_from_its_manifest_is_refused_when_read_whole():
    data, _ = bundle_of(item(REPORT_ID, b"r" * 100))
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(rebuilt, "w") as copy:
        # A consistent ZIP (its CRC-32 matches the new bytes): only the manifest's sha256 can tell.
        copy.writestr(f"items/{REPORT_ID}.wbse", b"r" * 99 + b"s")
        copy.writestr("manifest.json", original.read("manifest.json"))
    with ExportBundle(io.BytesIO(rebuilt.getvalue())) as bundle, pytest.raises(IntegrityError):
        bundle.read_item(REPORT_ID)


def test_reading_past_the_end_of_a_checked_item_stays_quiet():
    data, _ = bundle_of(item(REPORT_ID, b"r" * 100))
    with ExportBundle(io.BytesIO(data)) as bundle, bundle.open_item(REPORT_ID) as stream:
        assert stream.read(60) == b"r" * 60
        assert stream.read() == b"r" * 40
        assert stream.read() == b""
        assert stream.read(10) == b""
