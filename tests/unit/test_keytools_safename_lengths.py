"""Attachment names at the length limit: exactly what is cut, and what is kept.

``safe_filename`` must fill but never pass ``MAX_NAME_BYTES`` bytes, keep a
short extension, and never leave a separator or dot where the cut lands.
"""

from __future__ import annotations

import pytest

from keytools.safenames import MAX_NAME_BYTES, safe_filename

ITEM = "0123456789abcdef" * 2
PREFIX = "01234567-"
ROOM = MAX_NAME_BYTES - len(PREFIX)  # bytes left for the cleaned name


def test_a_name_of_exactly_the_room_left_is_kept_whole():
    raw = "a" * (ROOM - 4) + ".pdf"
    assert safe_filename(raw, ITEM) == PREFIX + raw


def test_a_name_that_fits_is_not_trimmed_like_a_cut_one():
    raw = "a" * (ROOM - 6) + "_-.pdf"
    assert safe_filename(raw, ITEM) == PREFIX + raw


def test_one_byte_more_cuts_the_stem_and_keeps_the_extension():
    raw = "a" * (ROOM - 3) + ".pdf"
    assert safe_filename(raw, ITEM) == PREFIX + "a" * (ROOM - 4) + ".pdf"


def test_a_name_without_extension_is_cut_to_the_room():
    assert safe_filename("b" * (ROOM + 10), ITEM) == PREFIX + "b" * ROOM


def test_an_overlong_extension_is_not_kept_apart():
    raw = "c" * ROOM + ".abcdefghijk"
    assert safe_filename(raw, ITEM) == PREFIX + "c" * ROOM


@pytest.mark.parametrize("tail", ["_", ".", "-", "_-.", "X"])
def test_the_cut_drops_trailing_separators_only(tail):
    raw = "d" * (ROOM - 4 - len(tail)) + tail + "eeee" + "f" * 20 + ".txt"
    name = safe_filename(raw, ITEM)
    kept = "d" * (ROOM - 4 - len(tail)) + ("X" if tail == "X" else "")
    assert name == PREFIX + kept + ".txt"


def test_separators_before_the_cut_stay():
    raw = "g--." + "h" * (ROOM + 20) + ".odt"
    assert safe_filename(raw, ITEM) == PREFIX + "g--." + "h" * (ROOM - 8) + ".odt"


def test_a_cut_never_splits_a_character():
    raw = "é" * ROOM + ".pdf"  # two bytes each
    name = safe_filename(raw, ITEM)
    assert name == PREFIX + "é" * ((ROOM - 4) // 2) + ".pdf"
    assert len(name.encode()) <= MAX_NAME_BYTES


def test_an_active_suffix_adds_txt_within_the_limit():
    raw = "i" * (ROOM + 10) + ".html"
    name = safe_filename(raw, ITEM)
    assert name == PREFIX + "i" * (ROOM - 5 - 4) + ".html.txt"
    assert len(name.encode()) == MAX_NAME_BYTES


def test_a_short_active_name_gets_txt_and_keeps_its_letters():
    assert safe_filename("Xray.JS", ITEM) == PREFIX + "Xray.JS.txt"
    assert safe_filename("XXX", ITEM) == PREFIX + "XXX"


def test_leading_and_trailing_dots_dashes_and_spaces_go_but_inner_ones_stay():
    assert safe_filename(" .-_X-ray_v.2.pdf_ -.", ITEM) == PREFIX + "X-ray_v.2.pdf"


def test_the_full_id_leaves_less_room():
    raw = "j" * MAX_NAME_BYTES
    name = safe_filename(raw, ITEM, full_id=True)
    assert name == ITEM + "-" + "j" * (MAX_NAME_BYTES - len(ITEM) - 1)
