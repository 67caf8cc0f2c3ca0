"""The desk's outbox: replies sealed on this workstation, waiting to be carried to the server.

Each reply is one file ``CASES/.outbox/<item_id>.json`` holding what a
reply bundle carries (report code, item id, the sealed envelope, the new
status), so nothing in it is plaintext. ``bundle`` puts every reply not yet
taken into one signed ``wbs-replies/1`` bundle; once it was delivered,
``mark_taken`` marks each with the day and the bundle's name, so no reply
goes twice (and none is marked if the delivery failed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from crypto.encoding import check_item_id, format_day, parse_json_object, unb64, utc_now
from crypto.errors import FormatError
from crypto.items import check_report_code
from crypto.keyring import Keyring
from crypto.reply_bundle import ReplyEntry, build_reply_bundle

from .cases import CasesFolder, pretty_json
from .errors import CasesError
from .files import write_new_file

OUTBOX = ".outbox"
ENTRY_FORMAT = "wbs-keytools-outbox/1"
MAX_ENTRY_JSON = 16 * 1024 * 1024


@dataclass(frozen=True)
class OutboxEntry:
    entry: ReplyEntry
    written_day: str
    taken_day: str | None = None
    bundle: str | None = None  # the name of the bundle that carried it

    def to_json(self) -> dict[str, object]:
        return {"format": ENTRY_FORMAT, **self.entry.to_json(), "written_day": self.written_day,
                "taken_day": self.taken_day, "bundle": self.bundle}

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> "OutboxEntry":
        if obj.get("format") != ENTRY_FORMAT:
            raise FormatError(f"not a {ENTRY_FORMAT} file")
        status = obj.get("set_status")
        entry = ReplyEntry(check_report_code(obj.get("report_code")), check_item_id(obj.get("item_id")),
                           unb64(obj.get("envelope"), what="envelope"), status if isinstance(status, str) else None)
        taken, bundle = obj.get("taken_day"), obj.get("bundle")
        return cls(entry, str(obj.get("written_day")), taken if isinstance(taken, str) else None,
                   bundle if isinstance(bundle, str) else None)


@dataclass(frozen=True)
class TakenBundle:
    name: str
    data: bytes
    entries: list[OutboxEntry]


class Outbox:
    def __init__(self, folder: CasesFolder) -> None:
        self.root = folder.root / OUTBOX

    def add(self, entries: Sequence[ReplyEntry], *, day: str) -> None:
        self.root.mkdir(mode=0o700, exist_ok=True)
        for entry in entries:
            self._write(OutboxEntry(entry, day))

    def _write(self, item: OutboxEntry) -> None:
        path = self.root / f"{item.entry.item_id}.json"
        write_new_file(path, pretty_json(item.to_json()), overwrite=True)

    def entries(self) -> list[OutboxEntry]:
        """Every reply written here, the oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append(OutboxEntry.from_json(parse_json_object(path.read_bytes(), limit=MAX_ENTRY_JSON,
                                                                     what=str(path))))
            except (FormatError, OSError) as exc:
                raise CasesError(f"{path} is damaged: {exc}") from None
        return sorted(found, key=lambda e: (e.written_day, e.entry.item_id))

    def pending(self) -> list[OutboxEntry]:
        return [e for e in self.entries() if e.taken_day is None]

    def bundle(self, ring: Keyring, *, now: datetime | None = None) -> TakenBundle | None:
        """One signed bundle of every reply not yet taken (None when there is none); nothing is marked yet."""
        pending = self.pending()
        if not pending:
            return None
        moment = now or utc_now()
        data = build_reply_bundle([e.entry for e in pending], ring.newest, moment)
        day = format_day(moment)
        name = f"wbs-replies-{day}-{hashlib.sha256(data).hexdigest()[:8]}.wbsr"
        return TakenBundle(name, data, [OutboxEntry(e.entry, e.written_day, day, name) for e in pending])

    def mark_taken(self, taken: TakenBundle) -> None:
        """After the bundle was delivered: its replies never go again."""
        for item in taken.entries:
            self._write(item)
