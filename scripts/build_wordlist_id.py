#!/usr/bin/env python3
"""Build crypto/wordlists/id.txt, the Indonesian passphrase wordlist (4,096 words).

The list is derived deterministically (same output on every run with the same
pinned inputs) from Debian's Indonesian Hunspell dictionary and, for ranking
only, the wordfreq package, which must be installed in the Python that runs
this script -- use a throwaway virtualenv outside the repository::

    apt-get install hunspell-id
    python3 -m venv /tmp/wl-venv
    /tmp/wl-venv/bin/pip install wordfreq==3.1.1
    /tmp/wl-venv/bin/python scripts/build_wordlist_id.py

``--check`` rebuilds in memory and exits non-zero if the committed file differs
(nothing is written).

Inputs
------
* Debian's ``hunspell-id`` (1:7.5.0-1 in Debian 12, source package
  libreoffice-dictionaries): ``/usr/share/hunspell/id_ID.dic`` (31,132 entries;
  the first line is the count), by Ali Ahmadi, licensed LGPL-3 according to
  ``/usr/share/doc/hunspell-id/copyright`` ("Files: dictionaries/id/id_ID.*").
  The file is identified by its SHA-256 (``PINNED_DICTIONARY_SHA256``), not by
  the package version, so any distribution shipping the same bytes will do.
  Each entry is a word optionally followed by ``/`` and affix flags; only the
  word (the root) is used.
* wordfreq 3.1.1 (code: Apache 2.0; its package metadata states the bundled
  frequency data may be redistributed under CC BY-SA 4.0): Indonesian ("id")
  word frequencies rank the roots; English ("en") frequencies detect English
  tokens. wordfreq is used at build time only, to decide which dictionary
  words are common: id.txt holds dictionary words sorted alphabetically and no
  frequency, rank or other wordfreq data.
* ``scripts/wordlist_id_stoplist.txt``: a hand-reviewed stop list.

Why these sources: the list used to come from Sastrawi's root-word
dictionary, which its authors describe as Kateglo's under CC BY-NC-SA 3.0
(non-commercial, share-alike): not compatible with this project's
AGPL-3.0-or-later. LGPL-3 material may be conveyed under the GPL-3 (LGPL-3 is
the GPL-3 plus extra permissions), which combines with the AGPL-3 (GPL-3 and
AGPL-3 section 13). Had the frequency ranking made the list an adaptation of
wordfreq's data, CC BY-SA 4.0 adaptations may be licensed under the GPL-3
(Creative Commons' declared one-way compatibility, 2015), and wordfreq is
credited in the file header either way.

Rules, applied in this order (the counts each rule removes are printed and
written into the header of id.txt)
-----------------------------------------------------------------------------
R1 charset/length: the root consists only of the letters a-z (this drops
   hyphenated reduplications such as "aba-aba" and capitalised proper names)
   and has 4 to 8 letters.
R2 frequency: the root has a non-zero Indonesian frequency in wordfreq
   (``word_frequency(w, "id") > 0``; wordfreq's Indonesian data is its
   "small" list, which only holds words with a Zipf frequency of 3 or more).
   Candidates are then ranked by that frequency, most frequent first; ties are
   broken alphabetically.
R3 English token: dropped if wordfreq's English frequency is at least
   ``ENGLISH_FACTOR`` (3) times its Indonesian frequency. Such words ("were",
   "until", "person", "problem", "point", "hospital", ...) rank high in
   Indonesian text mainly because English leaks into the Indonesian corpora.
   Everyday Indonesian loanwords spelled like English words ("data", "video",
   "hotel", "total", "film") have Indonesian frequencies close to or above
   their English ones, so a factor of 3 separates the two groups; the few
   English words and English-looking names that slip through ("mark", "paul")
   are in the stop list (R6).
R4 foreign spelling / abbreviation: dropped if the word contains q or x, one of
   the letter pairs th, ph, ck, sh, ee, oo, ou (not used in standard
   Indonesian spelling), a "w" followed by a consonant other than "y", or no
   vowel at all (an abbreviation). This catches e.g. "quran", "xenia",
   "theta", "rupee", "joule", "newton", "browser".
R5 near-duplicates, applied greedily in frequency order (a more frequent word
   wins; the later one is dropped). Two keys are computed for every word:
     spelling key:   old/variant spellings mapped, in this order: dj->j, tj->c,
                     sj->sy, oe->u, ch->kh, then sy->s, kh->k, f->p, v->p,
                     z->j, q->k, x->ks; then every run of a doubled letter is
                     collapsed to one letter (kuliah/kulliah, jaman/zaman,
                     nafas/napas, telefon/telepon, syarat/sarat);
     colloquial key: the spelling key with a final -ai replaced by -e and a
                     final -au by -o (sampai/sampe, cabai/cabe, kalau/kalo).
   A word is a near-duplicate of an already kept word if their spelling keys
   are equal, or one spelling key equals the other plus one trailing letter
   (bawa/bawah, tahu/tahun, kata/katak, English-style plurals such as
   note/notes, mari/maria), or their colloquial keys are equal. The trailing
   letter test is deliberately not applied to colloquial keys: it would pair
   unrelated words such as pakai/paket and sampai/sampel.
   Rejected alternative: plain edit distance 1 is far too strict -- it treats
   unrelated everyday roots such as "batu", "bata", "buta", "kata", "kita" as
   duplicates, and applied greedily it leaves only 3,987 of the 6,688 words
   that survive R1-R4, fewer than 4,096 even before the stop list. These rules
   instead target the pairs that a person can mis-hear, mis-spell or mis-read
   when copying a passphrase by hand. Spelling variants that differ by a vowel
   (praktik/praktek, risiko/resiko, telepon/telpon) are not caught by a rule,
   because mapping e/i and o/u would also merge distinct words (peta/pita,
   sidang/sedang); they were removed by hand through the stop list.
R6 stop list: words in ``scripts/wordlist_id_stoplist.txt`` are dropped --
   offensive, vulgar, sexual, religious, ethnic or political terms, words that
   are frightening or threatening for a whistleblower (death, violence,
   weapons, crime, police, prison, corruption, spying, ghosts, disease,
   disaster), words embarrassing to write down, hostile or negative words,
   proper names, abbreviations and other non-words missed by R3/R4, and
   spelling variants missed by R5. The list was made by reading every
   candidate that survives R1-R5, in frequency order, down to well past the
   cut-off, and then reading the resulting list again in alphabetical order.
R7 cut: the 4,096 most frequent survivors are kept and written sorted.

The script fails (exit status 1) if fewer than 4,096 words survive, if the
dictionary's SHA-256 or the installed wordfreq differ from the pinned ones
(unless ``--allow-other-versions``), or if the output would break the file format.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path

DEFAULT_DICTIONARY = Path("/usr/share/hunspell/id_ID.dic")
PINNED_DICTIONARY_SHA256 = "1a1ab6f423bec47fa30d485dfde92039177aa6f9a6b123badb695d634064cc5e"
DICTIONARY_PACKAGE = "hunspell-id 1:7.5.0-1 (Debian 12)"
PINNED_WORDFREQ = "3.1.1"
TARGET_SIZE = 4096
MIN_LEN = 4
MAX_LEN = 8
ENGLISH_FACTOR = 3.0

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "crypto" / "wordlists" / "id.txt"
DEFAULT_STOPLIST = REPO_ROOT / "scripts" / "wordlist_id_stoplist.txt"

WORD_RE = re.compile(r"[a-z]+")
VOWELS = set("aeiou")
FOREIGN_SPELLING_RE = re.compile(r"[qx]|th|ph|ck|sh|ee|oo|ou|w[^aeiouy]")

# Ordered: the old-spelling digraphs first, then the single confusables.
SPELLING_MAP = [
    ("dj", "j"),
    ("tj", "c"),
    ("sj", "sy"),
    ("oe", "u"),
    ("ch", "kh"),
    ("sy", "s"),
    ("kh", "k"),
    ("f", "p"),
    ("v", "p"),
    ("z", "j"),
    ("q", "k"),
    ("x", "ks"),
]

REBUILD_COMMAND = (
    "apt-get install hunspell-id && python3 -m venv /tmp/wl-venv && "
    f"/tmp/wl-venv/bin/pip install wordfreq=={PINNED_WORDFREQ} && "
    "/tmp/wl-venv/bin/python scripts/build_wordlist_id.py"
)


class BuildError(Exception):
    pass


def spelling_key(word: str) -> str:
    """Key of R5 step 1+3: spelling map, then doubled letters collapsed."""
    key = word
    for old, new in SPELLING_MAP:
        key = key.replace(old, new)
    return re.sub(r"(.)\1+", r"\1", key)


def colloquial_key(word: str) -> str:
    """Key of R5 step 2: spelling_key with final -ai -> -e and -au -> -o."""
    key = spelling_key(word)
    if key.endswith("ai"):
        key = key[:-2] + "e"
    elif key.endswith("au"):
        key = key[:-2] + "o"
    return key


def near_duplicate_filter(ranked: list[str]) -> list[str]:
    """R5: keep a word unless it is a near-duplicate of an earlier kept word."""
    kept: list[str] = []
    spelling_keys: set[str] = set()
    colloquial_keys: set[str] = set()
    for w in ranked:
        sk, ck = spelling_key(w), colloquial_key(w)
        if (
            sk in spelling_keys
            or sk[:-1] in spelling_keys
            or any(sk + c in spelling_keys for c in "abcdefghijklmnopqrstuvwxyz")
            or ck in colloquial_keys
        ):
            continue
        spelling_keys.add(sk)
        colloquial_keys.add(ck)
        kept.append(w)
    return kept


def load_stoplist(path: Path) -> set[str]:
    words: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if not WORD_RE.fullmatch(line):
            raise BuildError(f"{path}:{lineno}: not a lowercase a-z word: {line!r}")
        if line in words:
            raise BuildError(f"{path}:{lineno}: duplicate stop word: {line!r}")
        words.add(line)
    return words


def package_version(name: str, pinned: str, allow_other: bool) -> str:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"package {name} is not installed; see the docstring") from None
    if version != pinned and not allow_other:
        raise BuildError(
            f"{name} {version} is installed but {pinned} is pinned; "
            "the output would not be reproducible (use --allow-other-versions "
            "to build anyway and then update the pins)"
        )
    return version


def read_dictionary(path: Path, allow_other: bool) -> list[str]:
    """The entries of a Hunspell .dic file: the count line dropped, flags stripped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BuildError(f"cannot read {path} ({exc.strerror}); apt-get install hunspell-id") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != PINNED_DICTIONARY_SHA256 and not allow_other:
        raise BuildError(
            f"{path} has SHA-256 {digest}, not the pinned {PINNED_DICTIONARY_SHA256}; "
            "the output would not be reproducible (use --allow-other-versions "
            "to build anyway and then update the pin)"
        )
    lines = data.decode("utf-8").splitlines()
    if not lines or not lines[0].strip().isdigit():
        raise BuildError(f"{path} does not start with an entry count")
    entries = [line.split(None, 1)[0].split("/", 1)[0] for line in lines[1:] if line.strip()]
    if len(entries) != int(lines[0]):
        raise BuildError(f"{path} announces {lines[0].strip()} entries but holds {len(entries)}")
    return entries


def build(
    dictionary: Path, stoplist_path: Path, allow_other: bool, dump_path: Path | None = None
) -> tuple[list[str], list[str]]:
    wordfreq_version = package_version("wordfreq", PINNED_WORDFREQ, allow_other)
    import wordfreq  # imported after the version check, on purpose

    stop = load_stoplist(stoplist_path)
    counts: list[tuple[str, int]] = []

    entries = sorted(set(read_dictionary(dictionary, allow_other)))
    n_entries = len(entries)

    words = [w for w in entries if WORD_RE.fullmatch(w) and MIN_LEN <= len(w) <= MAX_LEN]
    counts.append(("R1 not only a-z, or not 4-8 letters", n_entries - len(words)))

    freq = {w: wordfreq.word_frequency(w, "id") for w in words}
    kept = [w for w in words if freq[w] > 0]
    counts.append(("R2 absent from wordfreq Indonesian data", len(words) - len(kept)))
    kept.sort(key=lambda w: (-freq[w], w))
    words = kept

    kept = [w for w in words if wordfreq.word_frequency(w, "en") < ENGLISH_FACTOR * freq[w]]
    counts.append(("R3 English token (en frequency >= 3x id frequency)", len(words) - len(kept)))
    words = kept

    kept = [w for w in words if not FOREIGN_SPELLING_RE.search(w) and VOWELS & set(w)]
    counts.append(("R4 foreign spelling or abbreviation", len(words) - len(kept)))
    words = kept

    kept = near_duplicate_filter(words)
    counts.append(("R5 near-duplicate of a more frequent word", len(words) - len(kept)))
    words = kept

    if dump_path is not None:  # review aid: the R1-R5 survivors, in rank order
        with open(dump_path, "w", encoding="utf-8", newline="\n") as fh:
            for rank, w in enumerate(words, 1):
                mark = "STOP" if w in stop else ""
                fh.write(f"{rank}\t{w}\t{wordfreq.zipf_frequency(w, 'id'):.2f}\t{mark}\n")

    kept = [w for w in words if w not in stop]
    counts.append(("R6 in the reviewed stop list", len(words) - len(kept)))
    words = kept

    if len(words) < TARGET_SIZE:
        raise BuildError(f"only {len(words)} words survive the rules; {TARGET_SIZE} are needed")
    cutoff = words[TARGET_SIZE - 1]
    counts.append(("R7 beyond the 4,096 most frequent", len(words) - TARGET_SIZE))
    final = sorted(words[:TARGET_SIZE])

    header = [
        "Indonesian passphrase wordlist (WBS), 4,096 common Indonesian root words.",
        "Generated by scripts/build_wordlist_id.py -- do not edit by hand. Rebuild with:",
        f"  {REBUILD_COMMAND}",
        "",
        "Sources and licences:",
        f"- The words: Debian's {DICTIONARY_PACKAGE}, /usr/share/hunspell/id_ID.dic",
        f"  ({n_entries:,} distinct entries), Copyright (C) 2017 Ali Ahmadi, licensed LGPL-3",
        "  (GNU Lesser General Public License v3; Debian's copyright file for the",
        "  package, \"Files: dictionaries/id/id_ID.*\"). This list is a selection of",
        "  its entries and is distributed under the same licence (LGPL-3.0-only).",
        f"- The ranking (build time only): wordfreq {wordfreq_version} (PyPI;",
        "  https://github.com/rspeer/wordfreq, Robyn Speer), Indonesian and English word",
        "  frequencies. Code: Apache License 2.0; its data may be redistributed under",
        "  CC BY-SA 4.0 and credits Google Books Ngrams, Leeds Internet Corpus,",
        "  Wikipedia, ParaCrawl, OPUS OpenSubtitles 2018, SUBTLEX and Twitter. It only",
        "  decides which words are common; no frequency data is in this file.",
        "",
        "Rules (full definitions in the script's docstring); words removed by each:",
        f"  {n_entries:,} dictionary entries",
    ]
    header += [f"  - {n:5d}  {label}" for label, n in counts]
    header += [
        "R3 drops a word if wordfreq_en >= 3 * wordfreq_id.",
        "R4 drops words with q, x, th, ph, ck, sh, ee, oo, ou, w+consonant (not y),",
        "  or no vowel.",
        "R5 near-duplicates (greedy, more frequent word wins): equal spelling keys,",
        "  spelling keys that differ by one trailing letter, or equal colloquial keys;",
        "  spelling key = map dj>j tj>c sj>sy oe>u ch>kh sy>s kh>k f>p v>p z>j q>k",
        "  x>ks, then doubled letters collapsed; colloquial key = spelling key with",
        "  final -ai>-e and -au>-o.",
        "R6 stop list: scripts/wordlist_id_stoplist.txt (offensive, frightening,",
        "  negative, religious/ethnic/political, names, non-words), reviewed by hand.",
        f"R7 the {TARGET_SIZE:,} most frequent survivors by wordfreq_id (ties alphabetical);",
        f"  least frequent kept: {cutoff!r}.",
        "Format: lowercase a-z, 4-8 letters, one per line, unique, sorted ascending.",
    ]
    return [("# " + h).rstrip() for h in header], final


def render(header: list[str], words: list[str]) -> str:
    text = "\n".join(header + words) + "\n"
    body = text.splitlines()[len(header):]
    if (
        len(body) != TARGET_SIZE
        or body != sorted(set(body))
        or not all(WORD_RE.fullmatch(w) and MIN_LEN <= len(w) <= MAX_LEN for w in body)
        or not all(h == "#" or h.startswith("# ") for h in header)
    ):
        raise BuildError("internal error: output violates the file format")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dictionary", type=Path, default=DEFAULT_DICTIONARY)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--stoplist", type=Path, default=DEFAULT_STOPLIST)
    parser.add_argument("--check", action="store_true", help="compare with --output, write nothing")
    parser.add_argument("--allow-other-versions", action="store_true")
    parser.add_argument(
        "--dump-candidates",
        type=Path,
        metavar="PATH",
        help="also write the R1-R5 survivors in rank order (rank, word, zipf, STOP mark) "
        "to PATH, for reviewing the stop list",
    )
    args = parser.parse_args(argv)
    try:
        header, words = build(args.dictionary, args.stoplist, args.allow_other_versions, args.dump_candidates)
        text = render(header, words)
    except BuildError as exc:
        print(f"build_wordlist_id: error: {exc}", file=sys.stderr)
        return 1
    for line in header:
        print(line, file=sys.stderr)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"build_wordlist_id: {args.output} is out of date", file=sys.stderr)
            return 1
        print(f"build_wordlist_id: {args.output} is up to date", file=sys.stderr)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    print(f"build_wordlist_id: wrote {len(words)} words to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
