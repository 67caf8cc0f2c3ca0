"""Names for attachments on the keyholder's disk.

A reporter (or a server that lies) chooses an attachment's filename; the
workstation must never let that name choose where a file goes or what
happens when it is clicked. ``safe_filename`` keeps only letters, digits,
``.``, ``-`` and ``_`` of the last path component (``/`` and ``\\`` both
count as separators), and puts the item's short id in front, so the result

- can never leave its folder (no separator, never ``.`` or ``..``),
- is never a dot file, never empty, and never a Windows device name
  (``CON``, ``NUL``, ``COM1``…: those are reserved only as the whole stem,
  and the stem always begins with the id),
- fits every common filesystem (at most ``MAX_NAME_BYTES`` bytes of UTF-8),
- keeps a short extension, so the keyholder still knows the file type, and
- does not open in a browser or run when double-clicked: a name ending in a
  type that browsers render or desktops execute gets ``.txt`` added.

The original name is kept in ``case.json`` and shown (escaped) in the reader.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_BYTES = 160
SHORT_ID_CHARS = 8
FALLBACK = "lampiran"
NEUTRAL_SUFFIX = ".txt"
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}\Z")
_RUNS = re.compile(r"_{2,}")
ACTIVE_SUFFIXES = frozenset(
    """
    .htm .html .xhtml .xht .shtml .mht .mhtml .svg .svgz .xml .xsl .xslt .js .mjs .hta .url .webloc
    .lnk .desktop .scf .inf .reg .exe .com .bat .cmd .ps1 .psm1 .vbs .vbe .jse .wsf .wsh .scr .pif
    .msi .msp .cpl .dll .jar .jnlp .sh .bash .command .app .apk .appimage .deb .rpm .py .pl .rb
    """.split()
)


def _clean(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    kept = "".join(ch if (ch.isalnum() and ch.isprintable()) or ch in "._-" else "_" for ch in name)
    return _RUNS.sub("_", kept).strip("._- ")


def _fit(core: str, budget: int) -> str:
    """Cut ``core`` to ``budget`` bytes of UTF-8, keeping a short extension."""
    if len(core.encode("utf-8")) <= budget:
        return core
    match = _EXTENSION.search(core)
    ext = match.group(0) if match else ""
    stem = core[: len(core) - len(ext)]
    room = budget - len(ext.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip("._- ")
    return (cut or FALLBACK) + ext


def safe_filename(raw: object, item_id: str, *, full_id: bool = False) -> str:
    """The on-disk name of an attachment: ``<short id>-<cleaned name>``.

    ``full_id`` uses the whole item id, for the rare case where two items of
    one case share their first eight hex digits.
    """
    prefix = (item_id if full_id else item_id[:SHORT_ID_CHARS]) + "-"
    core = _clean(raw) if isinstance(raw, str) else ""
    core = core or FALLBACK
    lowered = core.lower()
    suffix = NEUTRAL_SUFFIX if any(lowered.endswith(s) for s in ACTIVE_SUFFIXES) else ""
    budget = MAX_NAME_BYTES - len(prefix) - len(suffix)
    return prefix + _fit(core, budget) + suffix
