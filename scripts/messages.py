#!/usr/bin/env python3
"""Extract, update and compile the message catalogs (docs/translating.md).

    python scripts/messages.py extract [OUT]  # sources -> locales/wbs.pot (or OUT)
    python scripts/messages.py update         # wbs.pot -> every locales/<lang>/LC_MESSAGES/wbs.po
    python scripts/messages.py compile        # every wbs.po -> wbs.mo, beside it
    python scripts/messages.py init xx        # a new language xx from wbs.pot

``make messages`` runs the first three. Needs Babel (the ``test`` extra).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
POT = LOCALES / "wbs.pot"
DOMAIN = "wbs"
# Beside Babel's defaults (_, gettext, ngettext, N_, pgettext, ...): the helpers of locales/ and keytools/labels.py.
KEYWORDS = ["translate:2", "translate_in:2c,3", "NC_:1c,2",
            "bilingual", "bi", "pbi:1c,2", "bis", "bis_n:1,2"]
WIDTH = "100"


def extract_args(output: Path) -> list[str]:
    """The ``pybabel extract`` command line that writes the template catalog to ``output``."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    return ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), *keywords, "--sort-by-file",
            "--add-location=file", "-w", WIDTH, "--project=WBS",
            "--copyright-holder=The WBS contributors", "--msgid-bugs-address=", "-o", str(output), "."]


def _undated(pot: Path) -> list[str]:
    """A template's lines but its creation date: a new date alone is no change worth a diff."""
    return [line for line in pot.read_text(encoding="utf-8").splitlines() if "POT-Creation-Date:" not in line]


def run(args: list[str]) -> None:
    CommandLineInterface().run(args)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "extract" and len(argv) <= 2:
        output = Path(argv[1]).resolve() if len(argv) == 2 else POT
        os.chdir(ROOT)
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "wbs.pot"
            run(extract_args(fresh))
            if not output.exists() or _undated(fresh) != _undated(output):
                shutil.copyfile(fresh, output)
    elif command == "update":
        run(["pybabel", "-q", "update", "-i", str(POT), "-d", str(LOCALES), "-D", DOMAIN, "-w", WIDTH,
             "--ignore-obsolete", "--no-fuzzy-matching", "--ignore-pot-creation-date"])
    elif command == "compile":
        run(["pybabel", "-q", "compile", "-d", str(LOCALES), "-D", DOMAIN, "--statistics"])
    elif command == "init" and len(argv) == 2:
        run(["pybabel", "-q", "init", "-i", str(POT), "-d", str(LOCALES), "-D", DOMAIN, "-l", argv[1], "-w", WIDTH])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
