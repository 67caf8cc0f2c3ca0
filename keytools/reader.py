"""The static HTML reader of the cases folder, made again after every change.

Jinja2 with autoescape on for every template, so every value a reporter
wrote (or a server forged) reaches the page as text. Pages carry a
Content-Security-Policy that allows nothing but the one stylesheet shipped
inline (by its sha256), so no script, image, frame, form or font can load,
whatever got through; attachments are only linked, with ``download``, never
embedded. The pages work from ``file://`` with no server.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from locales import N_

from .cases import REPORT_FILE, Case, CasesFolder, ItemRecord
from .deadlines import ACKNOWLEDGE_WORKING_DAYS, case_deadlines
from .cleaned import CleanedCopy, read_cleaned
from .files import write_new_file
from .notes import Note, read_notes
from .labels import (
    BILINGUAL,
    STATUS_KEYS,
    category_label,
    flag_label,
    flag_level,
    status_label,
    warning_label,
)
from .stats import compute_stats

REPORT_FIELDS = (
    ("what", N_("What")),
    ("who", N_("Who")),
    ("where", N_("Where")),
    ("when", N_("When")),
    ("how", N_("How")),
    ("loss_estimate", N_("Estimated loss")),
    ("incident_date", N_("Date of the incident")),
    ("evidence_note", N_("About the evidence")),
)


def _environment() -> tuple[jinja2.Environment, str]:
    root = resources.files("templates") / "keytools"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = (root / "reader.css").read_text(encoding="utf-8")
    if "<" in css:
        raise ValueError("reader.css must not contain '<'")
    env.globals.update(BILINGUAL)
    env.globals.update(status_label=status_label, category_label=category_label, flag_label=flag_label,
                       flag_level=flag_level, warning_label=warning_label, quote=quote, size_label=size_label,
                       css=css, csp=content_security_policy(css), FIELDS=REPORT_FIELDS,
                       ACK_DAYS=ACKNOWLEDGE_WORKING_DAYS, file_href=lambda view, rec: quote(rec.file),
                       cleaned_href=lambda view, copy: quote(copy.file), can_clean=False)
    return env, css


def content_security_policy(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
            "base-uri 'none'; form-action 'none'")


@dataclass
class CaseView:
    """What the index and the case page show of one case."""

    case: Case
    age_days: int
    ack_due: date | None  # the acknowledgement deadline, in working days; None once acknowledged
    due: date | None  # the feedback deadline; None once final
    overdue: bool
    warnings: int
    report: dict[str, Any] | None
    thread: list[dict[str, Any]]
    attachments: dict[str | None, list[ItemRecord]]
    pending: list[ItemRecord]
    notes: list[Note]
    cleaned: dict[str, CleanedCopy]

    @property
    def code(self) -> str:
        return self.case.report_code

    @property
    def orphans(self) -> list[ItemRecord]:
        """Attachments whose parent is not a report or message of this case."""
        parents = {r.item_id for r in self.case.items.values() if r.kind != "attachment"}
        return [r for parent, records in self.attachments.items() if parent not in parents for r in records]


def size_label(size: int | None) -> str:
    if size is None:
        return "?"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def case_view(folder: CasesFolder, case: Case, today: date) -> CaseView:
    """One case as the pages show it (the reader's and the desk's)."""
    created = date.fromisoformat(case.created_day)
    deadlines = case_deadlines(case)
    attachments: dict[str | None, list[ItemRecord]] = {}
    thread = []
    report = None
    for record in case.ordered_items():
        if record.kind == "attachment":
            attachments.setdefault(record.parent_id, []).append(record)
            continue
        content = folder.read_item_json(case, record) or {}
        if record.file == REPORT_FILE:
            report = content
        else:
            thread.append({"record": record, "content": content})
    warnings = len(case.warnings) + sum(
        1 for r in case.items.values() for f in r.flags if flag_level(f["code"]) == "warn")
    pending = [r for r in case.items.values() if r.source == "local"]
    return CaseView(case, (today - created).days, deadlines.acknowledge, deadlines.feedback, deadlines.overdue(today),
                    warnings,
                    report, thread, attachments, pending, read_notes(folder, case.report_code),
                    read_cleaned(folder, case.report_code))


def _write(path: Path, html: str) -> None:
    write_new_file(path, html.encode("utf-8"), overwrite=True)


def render_reader(folder: CasesFolder, *, today: date | None = None) -> Path:
    """Write ``index.html``, ``stats.html`` and every case's ``index.html``; returns the index."""
    env, _ = _environment()
    today = today or date.today()
    cases = folder.cases()
    views = [case_view(folder, case, today) for case in cases]
    for view in views:
        html = env.get_template("case.html").render(view=view, today=today, home="../")
        _write(folder.case_dir(view.code) / "index.html", html)
    groups = []
    order = list(STATUS_KEYS) + sorted({v.case.status for v in views} - set(STATUS_KEYS))
    for status in order:
        members = [v for v in views if v.case.status == status]
        members.sort(key=lambda v: (v.ack_due or v.due or date.max, v.case.created_day, v.code))
        if members:
            groups.append((status, members))
    _write(folder.root / "index.html",
           env.get_template("index.html").render(groups=groups, total=len(views), today=today, home=""))
    _write(folder.root / "stats.html",
           env.get_template("stats.html").render(stats=compute_stats(cases), today=today, home=""))
    return folder.root / "index.html"
