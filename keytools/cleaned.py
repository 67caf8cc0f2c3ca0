"""Metadata-cleaned copies of attachments, made with ``mat2``, for sharing with investigators.

A photo or a document from a reporter can carry who made it, where and on
which device (EXIF GPS, author fields, revision history). Before such a file
leaves the keyholder team, ``mat2`` (Debian package ``mat2``) writes a copy
without that metadata. The original is never touched: the copy goes to
``CASES/<code>/cleaned/``, and ``cleaned.json`` beside it lists each copy
with its size and sha256 and the original's sha256, so both can be cited.

``mat2`` runs as its own process on a copy in a staging folder inside the
cases folder (the plaintext never leaves the workstation's case disk), with
a time limit; a type it does not know is refused with its own words.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from crypto.encoding import parse_json_object
from crypto.errors import FormatError

from .cases import Case, CasesFolder, ItemRecord, write_json
from .errors import CasesError, UsageError

CLEANED = "cleaned"
INDEX_FILE = "cleaned.json"
INDEX_FORMAT = "wbs-keytools-cleaned/1"
MAT2_SECONDS = 600
MAX_INDEX_JSON = 16 * 1024 * 1024


@dataclass(frozen=True)
class CleanedCopy:
    item_id: str
    file: str  # relative to the case folder: cleaned/<name>
    size: int
    sha256: str
    original_sha256: str
    day: str


def mat2_command() -> str | None:
    return shutil.which("mat2")


def read_cleaned(folder: CasesFolder, code: str) -> dict[str, CleanedCopy]:
    path = folder.case_dir(code) / CLEANED / INDEX_FILE
    try:
        obj = parse_json_object(path.read_bytes(), limit=MAX_INDEX_JSON, what=str(path))
    except FileNotFoundError:
        return {}
    except FormatError as exc:
        raise CasesError(f"{path} is damaged: {exc}") from None
    copies = {}
    for raw in obj.get("copies") or []:
        copy = CleanedCopy(**{k: raw.get(k) for k in CleanedCopy.__dataclass_fields__})
        if not (isinstance(copy.file, str) and copy.file.startswith(f"{CLEANED}/") and "/" not in copy.file[8:]
                and copy.file[8:] not in ("", ".", "..")):
            raise CasesError(f"{path} names a file outside {CLEANED}/")
        copies[copy.item_id] = copy
    return copies


def _sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as src:
        while block := src.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _run_mat2(command: str, path: Path) -> Path:
    """``mat2 FILE`` writes ``FILE``'s stem + ``.cleaned`` + its suffix beside it."""
    try:
        done = subprocess.run([command, str(path)], capture_output=True, text=True, timeout=MAT2_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UsageError(f"mat2 did not finish within {MAT2_SECONDS} seconds; no copy was made") from None
    cleaned = path.with_name(f"{path.stem}.cleaned{path.suffix}")
    if done.returncode != 0 or not cleaned.is_file():
        said = " ".join((done.stderr or done.stdout).split())[:300] or f"exit status {done.returncode}"
        raise UsageError(f"mat2 cannot clean this file: {said}",
                         hint="share the original only after checking its metadata by hand")
    return cleaned


def clean_attachment(folder: CasesFolder, case: Case, record: ItemRecord, *, day: str,
                     command: str | None = None) -> CleanedCopy:
    """Make (or return the existing) cleaned copy of one attachment; the original stays as it is."""
    command = command or mat2_command()
    if command is None:
        raise UsageError("mat2 is not installed on this computer", hint="install the Debian package mat2")
    if record.kind != "attachment":
        raise UsageError(f"item {record.item_id} is not an attachment")
    code = case.report_code
    with folder.locked():
        known = read_cleaned(folder, code)
        if record.item_id in known:
            return known[record.item_id]
        original = folder.case_dir(code) / record.file
        with folder.staging() as staging:
            work = staging / Path(record.file).name
            shutil.copyfile(original, work)
            cleaned = _run_mat2(command, work)
            cleaned.chmod(0o600)
            size, sha256 = _sha256(cleaned)
            target_dir = folder.case_dir(code) / CLEANED
            target_dir.mkdir(mode=0o700, exist_ok=True)
            relative = f"{CLEANED}/{cleaned.name}"
            folder.place(case, cleaned, relative)
        copy = CleanedCopy(record.item_id, relative, size, sha256, _sha256(original)[1], day)
        known[record.item_id] = copy
        write_json(target_dir / INDEX_FILE, {"format": INDEX_FORMAT, "copies": [c.__dict__ for c in known.values()]})
    return copy
