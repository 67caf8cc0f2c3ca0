import hashlib
import io
import json
import os
import zipfile

import pytest
from nacl.public import PrivateKey

from crypto.envelope import EnvelopeWriter, open_to_stream, seal_bytes
from crypto.errors import FormatError, IntegrityError
from crypto.export_bundle import ExportBundle, ExportItem, ExportReport, write_export_bundle

CODE_A, CODE_B = "WBS-7K3QF-9XW2M", "WBS-AAAAA-BBBBB"


class NoSeek(io.RawIOBase):
    """A write-only stream, like an HTTP response body."""

    def __init__(self):
        self.parts = []

    def writable(self):
        return True

    def write(self, data):
        self.parts.append(bytes(data))
        return len(data)

    def getvalue(self):
        return b"".join(self.parts)


def make_bundle(org_sk, *, sizes=(10, 300_000), dst=None):
    blobs = {}
    items = []
    for n, size in enumerate(sizes):
        item_id = f"{n:032x}"
        blobs[item_id] = seal_bytes(os.urandom(size), [org_sk.public_key])
        items.append(
            ExportItem(item_id=item_id, kind="attachment" if n else "report", parent_id=None if n == 0 else f"{0:032x}",
                       created_day="2026-11-27", open=lambda b=blobs[item_id]: io.BytesIO(b), size=len(blobs[item_id]))
        )
    reports = [
        ExportReport(CODE_A, "verification", "2026-11-27", [("received", "2026-11-27"), ("verification", "2026-11-28")],
                     bytes(PrivateKey.generate().public_key), items),
        ExportReport(CODE_B, "received", "2026-11-28", [("received", "2026-11-28")], bytes(32), []),
    ]
    dst = dst or io.BytesIO()
    manifest = write_export_bundle(dst, reports, org_key_ids=["00" * 8])
    return dst.getvalue(), manifest, blobs


def test_written_to_a_non_seekable_stream_and_read_back():
    org = PrivateKey.generate()
    data, manifest, blobs = make_bundle(org, dst=NoSeek())
    with ExportBundle(io.BytesIO(data)) as bundle:
        assert bundle.manifest == manifest
        assert [r["report_code"] for r in bundle.reports] == [CODE_A, CODE_B]
        bundle.verify()
        for item_id, blob in blobs.items():
            assert bundle.read_item(item_id) == blob
            entry = next(i for i in bundle.reports[0]["items"] if i["item_id"] == item_id)
            assert entry["sha256"] == hashlib.sha256(blob).hexdigest() and entry["size"] == len(blob)
        out = io.BytesIO()
        with bundle.open_item(f"{1:032x}") as src:
            assert open_to_stream(src, out, [org]) == 300_000


def test_entries_are_stored_with_no_timestamps():
    data, _, _ = make_bundle(PrivateKey.generate())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED and i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())
        assert z.namelist()[-1] == "manifest.json"


def test_a_changed_item_is_caught():
    data, _, blobs = make_bundle(PrivateKey.generate())
    blob = blobs[f"{1:032x}"]
    at = data.index(blob) + 5000
    bad = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
    with ExportBundle(io.BytesIO(bad)) as bundle:
        with pytest.raises(IntegrityError):
            bundle.verify()


def test_a_stored_blob_that_differs_from_its_record_stops_the_export():
    blob = seal_bytes(b"x", [PrivateKey.generate().public_key])
    item = ExportItem("ab" * 16, "report", None, "2026-11-28", lambda: io.BytesIO(blob), len(blob), "00" * 32)
    report = ExportReport(CODE_A, "received", "2026-11-28", [], bytes(32), [item])
    with pytest.raises(IntegrityError):
        write_export_bundle(io.BytesIO(), [report], org_key_ids=[])


def rebuild(data, *, drop=None, extra=None, manifest=None):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename == drop:
                continue
            body = manifest if (manifest is not None and info.filename == "manifest.json") else src.read(info)
            dst.writestr(info, body)
        if extra:
            dst.writestr(extra, b"" if extra.endswith("/") else b"x")
    return out.getvalue()


def test_structure_errors():
    data, manifest, _ = make_bundle(PrivateKey.generate())
    import json

    cases = [
        rebuild(data, drop=f"items/{1:032x}.wbse"),
        rebuild(data, drop="manifest.json"),
        rebuild(data, extra="../evil.sh"),
        rebuild(data, manifest=json.dumps(dict(manifest, format="wbs-export/9")).encode()),
        rebuild(data, manifest=b"{not json"),
        b"PK\x03\x04 not really a zip",
    ]
    bad_manifest = json.loads(json.dumps(manifest))
    bad_manifest["reports"][0]["items"][0]["path"] = "../../etc/passwd"
    cases.append(rebuild(data, manifest=json.dumps(bad_manifest).encode()))
    for case in cases:
        with pytest.raises(FormatError):
            ExportBundle(io.BytesIO(case))


def test_folder_entries_added_by_zip_tools_are_ignored():
    data, manifest, blobs = make_bundle(PrivateKey.generate())
    with ExportBundle(io.BytesIO(rebuild(data, extra="items/"))) as bundle:
        assert bundle.manifest == manifest


LARGE = 9 * 1024 * 1024 + 12345  # read ahead by a thread (READ_AHEAD_FROM is 4 MiB)


def test_a_large_item_reads_ahead_and_opens():
    org = PrivateKey.generate()
    data, manifest, blobs = make_bundle(org, sizes=(10, LARGE))
    with ExportBundle(io.BytesIO(data)) as bundle:
        bundle.verify()
        out = io.BytesIO()
        with bundle.open_item(f"{1:032x}") as src:
            assert open_to_stream(src, out, [org]) == LARGE
        assert bundle.read_item(f"{1:032x}") == blobs[f"{1:032x}"]


@pytest.mark.parametrize("offset", [100, 4 * 1024 * 1024 + 3, -100])
def test_a_changed_large_item_is_caught_wherever_the_change_is(offset):
    data, _, blobs = make_bundle(PrivateKey.generate(), sizes=(10, LARGE))
    blob = blobs[f"{1:032x}"]
    at = data.index(blob) + (offset if offset >= 0 else len(blob) + offset)
    bad = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
    with ExportBundle(io.BytesIO(bad)) as bundle:
        with pytest.raises(IntegrityError):
            bundle.verify()
        with bundle.open_item(f"{1:032x}") as src:  # stopped midway: the reading thread ends too
            src.read(10)


def test_a_large_item_whose_manifest_says_another_sha256_is_caught():
    data, manifest, blobs = make_bundle(PrivateKey.generate(), sizes=(10, LARGE))
    blob = blobs[f"{1:032x}"]
    for entry in manifest["reports"][0]["items"]:
        if entry["item_id"] == f"{1:032x}":
            entry["sha256"] = hashlib.sha256(blob[:-1]).hexdigest()
    with ExportBundle(io.BytesIO(rebuild(data, manifest=json.dumps(manifest).encode()))) as bundle:
        src = bundle.open_item(f"{1:032x}")
        got = 0
        with pytest.raises(IntegrityError, match="checksum"):
            while chunk := src.read(65553):
                got += len(chunk)
        assert got < len(blob)  # the last block never reached the caller
        src.close()


def replace_entry(data, name, body):
    """The bundle with one entry's bytes replaced: its ZIP CRC-32 agrees, the manifest does not."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, body if info.filename == name else src.read(info))
    return out.getvalue()


SMALL_IDS = [f"{0:032x}", f"{1:032x}"]  # a 1 KiB and a 300 KB envelope: both under READ_AHEAD_FROM


def read_in_pieces(bundle, item_id, size):
    with bundle.open_item(item_id) as src:
        while src.read(size):
            pass


@pytest.mark.parametrize("item_id", SMALL_IDS)
def test_a_small_item_whose_manifest_says_another_sha256_is_caught(item_id):
    data, manifest, blobs = make_bundle(PrivateKey.generate())
    for entry in manifest["reports"][0]["items"]:
        if entry["item_id"] == item_id:
            entry["sha256"] = hashlib.sha256(blobs[item_id][:-1] + b"\x00").hexdigest()
    with ExportBundle(io.BytesIO(rebuild(data, manifest=json.dumps(manifest).encode()))) as bundle:
        with pytest.raises(IntegrityError, match="checksum"):
            bundle.read_item(item_id)
        with pytest.raises(IntegrityError, match="checksum"):
            read_in_pieces(bundle, item_id, 4096)
        with pytest.raises(IntegrityError, match="checksum"):
            bundle.verify()
        other = SMALL_IDS[1 - SMALL_IDS.index(item_id)]
        assert bundle.read_item(other) == blobs[other]  # the rest of the bundle still reads


@pytest.mark.parametrize("item_id", SMALL_IDS)
@pytest.mark.parametrize("where", [0, 500, -1])
def test_a_small_item_changed_behind_the_zip_checksum_is_caught(item_id, where):
    """A byte changed and the CRC-32 written again: only the manifest's sha256 can tell."""
    data, _, blobs = make_bundle(PrivateKey.generate())
    changed = bytearray(blobs[item_id])
    changed[where] ^= 0x01
    bad = replace_entry(data, f"items/{item_id}.wbse", bytes(changed))
    with ExportBundle(io.BytesIO(bad)) as bundle:
        with pytest.raises(IntegrityError, match="checksum"):
            bundle.read_item(item_id)
        with pytest.raises(IntegrityError, match="checksum"):
            read_in_pieces(bundle, item_id, 1000)


def test_a_small_item_reads_whole_and_checked():
    data, _, blobs = make_bundle(PrivateKey.generate())
    with ExportBundle(io.BytesIO(data)) as bundle:
        for item_id in SMALL_IDS:
            assert bundle.read_item(item_id) == blobs[item_id]
            with bundle.open_item(item_id) as src:
                pieces = []
                while piece := src.read(999):
                    pieces.append(piece)
            assert b"".join(pieces) == blobs[item_id]
