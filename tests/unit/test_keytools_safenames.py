"""Attachment names chosen by a reporter (or a lying server) never choose where a file goes."""

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from keytools.safenames import MAX_NAME_BYTES, safe_filename

ITEM = "0123456789abcdef0123456789abcdef"
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def check_safe(name: str, folder: Path) -> None:
    assert name.startswith(ITEM[:8] + "-")
    assert "/" not in name and "\\" not in name and name not in (".", "..")
    assert not name.startswith(".")
    assert all(unicodedata.category(ch)[0] != "C" for ch in name), repr(name)
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert name.split(".")[0].upper() not in RESERVED
    assert not name.endswith((".", " "))
    assert (folder / name).resolve().parent == folder.resolve()


@pytest.mark.parametrize("raw, expected", [
    ("kuitansi.pdf", "01234567-kuitansi.pdf"),
    ("../../etc/passwd", "01234567-passwd"),
    ("/etc/shadow", "01234567-shadow"),
    ("C:\\Windows\\System32\\cmd.exe", "01234567-cmd.exe.txt"),
    ("..\\..\\boot.ini", "01234567-boot.ini"),
    ("bukti\x00.pdf.exe", "01234567-bukti_.pdf.exe.txt"),
    ("\x1b[31mmerah\x07.txt", "01234567-31mmerah_.txt"),
    ("CON", "01234567-CON"),
    ("con.txt", "01234567-con.txt"),
    ("NUL", "01234567-NUL"),
    ("COM1.pdf", "01234567-COM1.pdf"),
    (".bashrc", "01234567-bashrc"),
    (".htaccess", "01234567-htaccess"),
    ("..", "01234567-lampiran"),
    (".", "01234567-lampiran"),
    ("", "01234567-lampiran"),
    ("   ", "01234567-lampiran"),
    ("laporan.html", "01234567-laporan.html.txt"),
    ("gambar.SVG", "01234567-gambar.SVG.txt"),
    ("foto\u202egpj.exe", "01234567-foto_gpj.exe.txt"),
    ("berkas. . .", "01234567-berkas"),
    ("Surat Keputusan Bupati (salinan).pdf", "01234567-Surat_Keputusan_Bupati_salinan_.pdf"),
    ("Déjà vu.pdf", "01234567-Déjà_vu.pdf"),
    ('"><img src=x onerror=alert(1)>.png', "01234567-img_src_x_onerror_alert_1_.png"),
    (None, "01234567-lampiran"),
])
def test_hostile_names(raw, expected, tmp_path):
    name = safe_filename(raw, ITEM)
    assert name == expected
    check_safe(name, tmp_path)


def test_long_names_keep_their_extension(tmp_path):
    name = safe_filename("a" * 500 + ".pdf", ITEM)
    assert name.endswith(".pdf") and len(name.encode()) == MAX_NAME_BYTES
    wide = safe_filename("ศ" * 500 + ".docx", ITEM)  # 3 bytes each in UTF-8: the cut falls between characters
    assert wide.endswith(".docx") and len(wide.encode()) <= MAX_NAME_BYTES
    check_safe(name, tmp_path)
    check_safe(wide, tmp_path)
    (tmp_path / name).write_bytes(b"x")  # the filesystem takes it
    (tmp_path / wide).write_bytes(b"x")


def test_same_names_differ_by_item_and_full_id():
    other = "01234567" + "f" * 24
    assert safe_filename("bukti.pdf", ITEM) == safe_filename("bukti.pdf", other)  # same short id: the opener sees it
    assert safe_filename("bukti.pdf", ITEM, full_id=True) != safe_filename("bukti.pdf", other, full_id=True)
    assert safe_filename("bukti.pdf", "89abcdef" + "0" * 24) != safe_filename("bukti.pdf", ITEM)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_text_gives_a_safe_name(tmp_path_factory, raw):
    folder = tmp_path_factory.getbasetemp()
    name = safe_filename(raw, ITEM)
    check_safe(name, folder)
    assert os.path.basename(name) == name
