import re

from crypto import wordlists


def test_indonesian_list_rules():
    words = wordlists.load("id")
    assert len(words) == 4096 == len(set(words))
    assert all(re.fullmatch(r"[a-z]{4,8}", w) for w in words)
    assert list(words) == sorted(words)


def test_english_list_is_the_eff_large_list():
    words = wordlists.load("en")
    assert len(words) == 7776 == len(set(words))
    assert all(re.fullmatch(r"[a-z-]+", w) for w in words)
    assert words[0] == "abacus" and words[-1] == "zoom"


def test_headers_name_sources_and_licences():
    from importlib import resources

    for lang in ("id", "en"):
        text = resources.files(wordlists).joinpath(f"{lang}.txt").read_text(encoding="utf-8")
        header = "\n".join(line for line in text.splitlines() if line.startswith("#")).lower()
        assert "licen" in header and "source" in header


def test_no_word_is_a_frightening_one():
    words = set(wordlists.load("id"))
    for word in ("bunuh", "mati", "penjara", "korupsi", "suap", "hantu", "racun", "tembak"):
        assert word not in words
