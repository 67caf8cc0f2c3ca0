"""A full disk, for real: the data folder on a 40 MiB tmpfs.

A report that does not fit gets a 507 page that shows the typed text again
and says plainly that the files were not kept; no temp file stays behind;
the store, later reports and the staff side keep working without a
restart.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from conftest import start_server, wbs
from skips import require_root, skip_or_fail
from test_crash_during_upload import assert_store_consistent, counts, db
from test_staff import Staff
from wbsclient import FileField, Response

MiB = 1024 * 1024
FS_SIZE = "40m"

BEFORE = {
    "category": "korupsi",
    "what": "Pengadaan ambulans digelembungkan",
    "who": "Kepala bagian umum",
    "where": "RSUD Klungkung",
    "when": "Maret 2026",
    "how": "Harga dua kali harga pasar",
}
AFTER = {"evidence_note": "Rekaman rapat pengadaan", "identity": "Tidak ingin disebut"}


@pytest.fixture
def small_fs(tmp_path: Path):
    """A fresh 40 MiB tmpfs, unmounted afterwards."""
    require_root("to mount a tmpfs")
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def big_file(size: int):
    block = os.urandom(64 * 1024)
    for _ in range(size // len(block)):
        yield block


def report_fields(page: Response, files=()) -> list:
    fields: list = [("csrf_token", page.csrf)] + list(BEFORE.items())
    fields += [("attachments", f) for f in files]
    return fields + list(AFTER.items()) + [("confirm", "1")]


def assert_form_shown_again(response: Response, files_lost: bool = True) -> None:
    assert response.status == 507, response.text[:400]
    text = response.text
    assert "tidak dapat menyimpan pengaduan" in text
    for value in list(BEFORE.values())[1:] + list(AFTER.values()):
        assert value in text, value
    assert 'value="korupsi" selected' in text
    if files_lost:
        assert "Berkas yang Anda pilih tidak disimpan" in text
    assert response.headers["Cache-Control"] == "no-store"


def no_temp_files(srv) -> None:
    assert list((srv.data / "blobs" / "tmp").iterdir()) == []


def staff_side_works(srv) -> None:
    staff = Staff(srv, f"petugas{os.urandom(2).hex()}", "admin").ready()
    assert staff.client.get("/staff").status == 200


def small_report_is_stored(srv) -> None:
    client = srv.client()
    page = client.get("/submit")
    done = client.post_multipart("/submit", report_fields(page, [FileField("bukti.txt", b"bukti kecil " * 100)]))
    assert done.status == 200, done.text[:400]
    assert done.element_text("report-code").startswith("WBS-")


def refused_with_the_form_again(srv, size: int) -> None:
    """A report with a file of ``size`` bytes, chunked: 507, the text shown again, no temp file."""
    client = srv.client()
    page = client.get("/submit")
    response = client.post_multipart(
        "/submit", report_fields(page, [FileField("rekaman.mp4", big_file(size), "video/mp4")]))
    assert_form_shown_again(response)
    no_temp_files(srv)


def test_a_chunked_upload_larger_than_the_disk(tmp_path, small_fs):
    """Finding 3: a 60 MiB chunked upload (no Content-Length) on a 40 MiB filesystem."""
    srv = start_server(tmp_path, data=small_fs / "data")
    try:
        refused_with_the_form_again(srv, 60 * MiB)
        assert counts(srv) == {"accounts": 0, "reports": 0, "items": 0}
        staff_side_works(srv)
        small_report_is_stored(srv)
        assert_store_consistent(srv)
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


def test_the_reserve_is_checked_while_bytes_arrive(tmp_path, small_fs):
    """With a reserve, the upload stops being stored before the disk is full at all."""
    srv = start_server(tmp_path, data=small_fs / "data", min_free_bytes=16 * MiB)
    try:
        refused_with_the_form_again(srv, 30 * MiB)
        assert os.statvfs(small_fs).f_bavail * os.statvfs(small_fs).f_frsize > 16 * MiB
        small_report_is_stored(srv)
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


def fill(mount: Path) -> Path:
    """Take every free byte of the filesystem with a ballast file."""
    ballast = mount / "ballast"
    block = b"\0" * MiB
    with open(ballast, "wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError:
            pass
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return ballast


def test_sqlite_on_a_full_disk_recovers_without_a_restart(tmp_path, small_fs):
    """While the disk is full, writes answer 507 (never 500); once there is room, all works again."""
    srv = start_server(tmp_path, data=small_fs / "data")
    try:
        staff = Staff(srv, "admin1", "admin").ready()
        later = Staff(srv, "admin2", "admin").ready()
        small_report_is_stored(srv)
        ballast = fill(small_fs)
        client = srv.client()
        page = client.get("/submit")
        assert page.status == 200
        response = client.post_multipart("/submit", report_fields(page, [FileField("bukti.txt", b"isi " * 5000)]))
        assert_form_shown_again(response)
        response = client.post_multipart("/submit", report_fields(page))
        assert_form_shown_again(response, files_lost=False)
        # A login writes (the TOTP step, the audit): it may still find room in the WAL, or get a 507.
        assert staff.login().status in (303, 507)
        ballast.unlink()
        assert later.login().status == 303
        assert later.client.get("/staff").status == 200
        small_report_is_stored(srv)
        no_temp_files(srv)
        assert_store_consistent(srv)
        with closing(db(srv)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 2
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


def test_wbs_check_lists_leftover_temp_files(tmp_path):
    srv = start_server(tmp_path)
    srv.stop()
    leftover = srv.data / "blobs" / "tmp" / ("ab" * 16 + ".part")
    leftover.write_bytes(b"\0" * 1000)
    out = wbs("check", "--config", str(srv.config), check=False)
    assert leftover.name in out.stdout + out.stderr
    assert "blobs/tmp" in out.stdout + out.stderr
