"""Counts made offline from case metadata; nothing a reporter typed reaches a CSV cell."""

import csv
import io

from keytools.cases import Case
from keytools.stats import compute_stats, stats_csv

PK = "A" * 43 + "="


def case(code, category, status, day):
    return Case(report_code=code, mailbox_pk=PK, status=status, created_day=day,
                status_history=[{"status": "received", "day": day}], as_of="2026-11-28T08:30:00Z", category=category)


def test_counts_by_category_status_and_month():
    cases = [
        case("WBS-AAAAA-AAAAA", "pungli", "received", "2026-10-03"),
        case("WBS-AAAAA-AAAAB", "pungli", "investigation", "2026-11-01"),
        case("WBS-AAAAA-AAAAC", "pengadaan", "closed_proven", "2026-11-20"),
        case("WBS-AAAAA-AAAAD", "=HYPERLINK(\"http://x\")", "received", "2026-11-21"),
        case("WBS-AAAAA-AAAAE", None, "received", "2026-09-30"),  # the report itself has not arrived yet
    ]
    stats = compute_stats(cases)
    assert stats.total == 5
    assert stats.by_category == {"pungli": 2, "pengadaan": 1, "tidak_dikenal": 2}
    assert stats.by_status == {"received": 3, "investigation": 1, "closed_proven": 1}
    assert stats.by_month == {"2026-09": 1, "2026-10": 1, "2026-11": 3}
    text = stats_csv(stats)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "value"] and rows[1] == ["total", "reports", "5"]
    assert ["category", "pungli", "2"] in rows and ["month", "2026-11", "3"] in rows
    assert "HYPERLINK" not in text and "=" not in text


def test_no_cases():
    assert stats_csv(compute_stats([])) == "section,key,value\ntotal,reports,0\n"
