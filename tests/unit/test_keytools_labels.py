"""The offline half keeps its own copy of the server's status and category keys (the halves
may not import each other); the copies must not drift apart."""

from keytools import labels
from server import i18n


def test_statuses_and_categories_match_the_server():
    assert labels.STATUSES == i18n.STATUSES
    assert labels.CATEGORIES == i18n.CATEGORIES
    assert labels.UNKNOWN_CATEGORY not in i18n.CATEGORIES


def test_final_statuses_match_the_server_deadlines():
    from server.deadlines import FINAL_STATUSES

    assert labels.FINAL_STATUSES == FINAL_STATUSES


def test_every_flag_has_a_level_and_both_languages():
    for code, (level, ind, eng) in labels.FLAGS.items():
        assert level in ("warn", "info") and ind and eng, code
        assert labels.flag_label(code) == f"{ind} / {eng}"
    assert labels.flag_level("something new") == "warn"  # an unknown flag is never played down
