"""The offline half shows the server's status and category labels in both languages at once;
both read them from the shared catalogs (``locales/``), so they cannot drift apart."""

from keytools import labels
from locales import terms, translate
from server import i18n


def test_statuses_and_categories_are_the_servers():
    assert labels.STATUS_KEYS == tuple(i18n.STATUSES)
    assert labels.UNKNOWN_CATEGORY not in i18n.CATEGORIES
    assert labels.status_label("received") == f"Diterima / Received"
    assert labels.status_label("received") == f"{i18n.status_label('id', 'received')} / {i18n.status_label('en', 'received')}"
    for key in terms.CATEGORIES:
        assert labels.category_label(key) == f"{i18n.category_label('id', key)} / {i18n.category_label('en', key)}"
    assert labels.category_label("pungli") == "Pungutan liar / Illegal levies"


def test_final_statuses_match_the_server_deadlines():
    from server.staff.deadlines import FINAL_STATUSES

    assert labels.FINAL_STATUSES == FINAL_STATUSES


def test_every_flag_has_a_level_and_both_languages():
    for code, (level, message) in labels.FLAGS.items():
        ind, eng = translate("id", message), translate("en", message)
        assert level in ("warn", "info") and ind and eng and ind != eng, code
        assert labels.flag_label(code) == f"{ind} / {eng}"
    assert labels.flag_label("bad_signature") == "Tanda tangan balasan TIDAK SAH / The reply's signature does NOT verify"
    assert labels.flag_level("something new") == "warn"  # an unknown flag is never played down
