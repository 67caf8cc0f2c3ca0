"""Which items of each case the desk showed at the last visit, so the list can say what is new.

Kept in ``CASES/.desk-seen.json``: report codes and item ids only, beside
the plaintext cases they describe.
"""

from __future__ import annotations

import threading

from crypto.encoding import parse_json_object
from crypto.errors import FormatError

from ..cases import Case, CasesFolder, write_json

SEEN_FILE = ".desk-seen.json"
MAX_SEEN_JSON = 16 * 1024 * 1024


class SeenItems:
    _writing = threading.Lock()  # two case pages at once must not write the file at the same moment

    def __init__(self, folder: CasesFolder) -> None:
        self.path = folder.root / SEEN_FILE

    def _load(self) -> dict[str, list[str]]:
        try:
            obj = parse_json_object(self.path.read_bytes(), limit=MAX_SEEN_JSON, what=str(self.path))
        except (FileNotFoundError, FormatError):
            return {}  # a damaged file only makes everything look new once
        return {k: [i for i in v if isinstance(i, str)] for k, v in obj.items() if isinstance(v, list)}

    def new_counts(self, cases: list[Case]) -> dict[str, int]:
        seen = self._load()
        return {c.report_code: len(set(c.items) - set(seen.get(c.report_code, []))) for c in cases}

    def new_items(self, case: Case) -> set[str]:
        return set(case.items) - set(self._load().get(case.report_code, []))

    def visited(self, case: Case) -> None:
        with self._writing:
            seen = self._load()
            if set(seen.get(case.report_code, [])) != set(case.items):
                seen[case.report_code] = sorted(case.items)
                write_json(self.path, seen)
