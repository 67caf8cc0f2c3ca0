"""Private notes of the keyholder team on a case: ``CASES/<code>/notes.json``.

Notes never leave the workstation (no bundle carries them). They sit beside
the opened report they discuss and are kept as that report is: plaintext on
the offline computer, in the 0700 case folder, a 0600 file written whole or
not at all. Encrypting them alone would protect nothing the folder does not
already hold in the clear; the protection is the offline computer and its
disk encryption (see the keyholder guide). Each note carries its day only.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.encoding import parse_json_object
from crypto.errors import FormatError

from .cases import CasesFolder, write_json
from .errors import CasesError, UsageError

NOTES_FILE = "notes.json"
NOTES_FORMAT = "wbs-keytools-notes/1"
MAX_NOTE_CHARS = 20_000
MAX_NOTES = 2_000
MAX_NOTES_JSON = 256 * 1024 * 1024


@dataclass(frozen=True)
class Note:
    day: str
    text: str


def read_notes(folder: CasesFolder, code: str) -> list[Note]:
    path = folder.case_dir(code) / NOTES_FILE
    try:
        obj = parse_json_object(path.read_bytes(), limit=MAX_NOTES_JSON, what=str(path))
    except FileNotFoundError:
        return []
    except FormatError as exc:
        raise CasesError(f"{path} is damaged: {exc}") from None
    notes = obj.get("notes")
    if obj.get("format") != NOTES_FORMAT or not isinstance(notes, list):
        raise CasesError(f"{path} is not a {NOTES_FORMAT} file")
    return [Note(str(n.get("day")), str(n.get("text"))) for n in notes if isinstance(n, dict)]


def add_note(folder: CasesFolder, code: str, text: str, *, day: str) -> Note:
    """Append a note (outer blank lines dropped); the case must exist."""
    folder.require_case(code)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise UsageError(f"a note holds 1..{MAX_NOTE_CHARS} characters")
    with folder.locked():
        notes = read_notes(folder, code)
        if len(notes) >= MAX_NOTES:
            raise UsageError(f"case {code} already holds {MAX_NOTES} notes")
        note = Note(day, text)
        notes.append(note)
        write_json(folder.case_dir(code) / NOTES_FILE,
                   {"format": NOTES_FORMAT, "notes": [{"day": n.day, "text": n.text} for n in notes]})
    return note
