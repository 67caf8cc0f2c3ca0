"""``server.reporter.intake.safe_filename``: the name an upload is listed under in its sealed report.

It is only ever shown, never used as a path on the server, but the keyholder's tools and
people read it: it must be one plain name, with nothing that hides its real extension.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.reporter.intake import MAX_FILENAME, safe_filename

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd", "passwd"),
    ("/etc/shadow", "shadow"),
    ("C:\\a\\b.pdf", "b.pdf"),
    ("C:b.pdf", "b.pdf"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("\\\\server\\share\\kuitansi.pdf", "kuitansi.pdf"),
    ("folder/sub\\mixed/bukti.jpg", "bukti.jpg"),
    ("bukti.pdf/", "bukti.pdf"),
])
def test_only_the_last_path_component_is_kept(raw, expected):
    assert safe_filename(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("bukti\x00.pdf", "bukti.pdf"),
    ("\x1b]0;judul\x07.txt", "]0;judul.txt"),
    ("baris\r\nbaru\t.pdf", "barisbaru.pdf"),
    ("a\x7fb\x85c.pdf", "abc.pdf"),
    ("baris\u2028baru\u2029.pdf", "barisbaru.pdf"),  # line and paragraph separators break lines too
    ("kuitansi\u202egpj.exe", "kuitansigpj.exe"),  # shown as "kuitansiexe.jpg" with the override left in
    ("\ufeffbom.pdf", "bom.pdf"),
    ("zero\u200bwidth.pdf", "zerowidth.pdf"),
])
def test_controls_are_removed(raw, expected):
    assert safe_filename(raw) == expected


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_every_bidi_control_is_removed(control):
    assert safe_filename(f"laporan{control}fdp.exe") == "laporanfdp.exe"
    assert safe_filename(f"{control}.pdf") == ".pdf"


@pytest.mark.parametrize("raw", [None, "", " ", "\t\n", "\x00\x01", "\u202e", "/", "\\", "C:", "C:\\", ".", "..",
                                 "...", " .. ", "../..", "a/..", "..\\..", ".\x00."])
def test_nothing_usable_left_gives_a_neutral_name(raw):
    assert safe_filename(raw) == "file"


@pytest.mark.parametrize("raw", [".bashrc", "..hidden", "v1.2..pdf", "laporan.", "bukti.pdf"])
def test_dots_inside_a_name_stay(raw):
    assert safe_filename(raw) == raw


def test_nfc():
    decomposed = "Laporan Pe\u0301nggelapan.pdf"
    assert safe_filename(decomposed) == "Laporan P\u00e9nggelapan.pdf"
    assert safe_filename("\u212b.pdf") == "\u00c5.pdf"  # the angstrom sign: NFC makes it the letter
    assert safe_filename("ｆｕｌｌ.pdf") == "ｆｕｌｌ.pdf"  # NFC, not NFKC: the name stays as written


def test_long_names_are_cut_at_255_characters():
    assert safe_filename("a" * 300 + ".pdf") == "a" * MAX_FILENAME
    assert safe_filename("a" * 255) == "a" * 255
    wide = safe_filename("ศ" * 400)  # 3 bytes each in UTF-8: the limit counts characters
    assert wide == "ศ" * 255 and wide.encode("utf-8").decode("utf-8") == wide
    assert safe_filename("b" * 254 + "é" + "z") == "b" * 254 + "é"  # NFC first: é is one character
    assert safe_filename("\U0001f4c4" * 300) == "\U0001f4c4" * 255  # beyond the BMP: still whole


@pytest.mark.parametrize("marks", ["\u0301", "\u0301\u0323", "\u0e34\u0e48"])
def test_a_cut_never_parts_a_letter_from_its_marks(marks):
    """A base letter with combining marks NFC cannot compose is one character to a reader."""
    base = "q" if marks[0] < "\u0e00" else "\u0e01"
    name = safe_filename("a" * 254 + base + marks + "tail.pdf")
    assert name == "a" * 254  # the letter and its marks would not fit: all of them go
    short = "a" * 250 + base + marks + "x"
    assert safe_filename(short) == unicodedata.normalize("NFC", short)  # it fits: nothing is cut


def test_a_cut_leaves_no_trailing_space():
    assert safe_filename("a" * 254 + " " + "b" * 10) == "a" * 254


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=600), st.lists(st.sampled_from(["..", ".", "/", "\\", "a", "é", "\u202e", "\x00",
                                                                   "\u0301", " ", "C:", "\u2028"]),
                                                 max_size=400).map("".join)))
def test_any_input_gives_one_plain_name(raw):
    name = safe_filename(raw)
    assert 1 <= len(name) <= MAX_FILENAME
    assert "/" not in name and "\\" not in name and name.strip(".") != ""
    assert name == name.strip() and unicodedata.normalize("NFC", name) == name
    assert not any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp") for ch in name)
