"""``stats``: counts by category, status and month, from the cases folder alone.

The category of a report is known only inside its encrypted report, so these
counts can be made only here, offline; they leave the workstation only as
the keyholders decide (a printed table, never the files).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from .cases import Case
from .labels import CATEGORIES, STATUS_KEYS, UNKNOWN_CATEGORY

_KEY_RE = re.compile(r"[a-z_]{1,40}\Z")


@dataclass(frozen=True)
class Stats:
    total: int
    by_category: dict[str, int]
    by_status: dict[str, int]
    by_month: dict[str, int]


def _category(case: Case) -> str:
    # A category outside the known list (a reporter or a server that lies) is
    # counted as unknown: it never reaches a CSV cell or a spreadsheet formula.
    return case.category if case.category in CATEGORIES else UNKNOWN_CATEGORY


def _status(case: Case) -> str:
    return case.status if _KEY_RE.match(case.status) else UNKNOWN_CATEGORY


def compute_stats(cases: Iterable[Case]) -> Stats:
    cases = list(cases)
    by_category = Counter(_category(c) for c in cases)
    by_status = Counter(_status(c) for c in cases)
    by_month = Counter(c.created_day[:7] for c in cases)
    category_order = [k for k in CATEGORIES if k in by_category] + sorted(set(by_category) - set(CATEGORIES))
    status_order = [k for k in STATUS_KEYS if k in by_status] + sorted(set(by_status) - set(STATUS_KEYS))
    return Stats(
        total=len(cases),
        by_category={k: by_category[k] for k in category_order},
        by_status={k: by_status[k] for k in status_order},
        by_month=dict(sorted(by_month.items())),
    )


def stats_csv(stats: Stats) -> str:
    """``section,key,value`` rows, as the staff side's ``stats.csv`` writes them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    writer.writerow(["total", "reports", stats.total])
    for section, counts in (("category", stats.by_category), ("status", stats.by_status), ("month", stats.by_month)):
        for key, value in counts.items():
            writer.writerow([section, key, value])
    return out.getvalue()
