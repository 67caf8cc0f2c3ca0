"""Export bundles from the store (PROTOCOL.md §6), for ``wbs export`` and the staff side."""

from __future__ import annotations

import asyncio
from typing import BinaryIO, Sequence

from crypto.export_bundle import ExportItem, ExportReport, write_export_bundle

from .blobstore import BlobStore
from .errors import NotFound
from .storage import Store


async def gather_reports(store: Store, blobs: BlobStore, codes: Sequence[str]) -> list[ExportReport]:
    reports = []
    for code in codes:
        report = await store.report(code)
        if report is None:
            raise NotFound(f"no report {code}")
        account = await store.account(report.account_id)
        items = [
            ExportItem(
                item_id=i.item_id,
                kind=i.kind,
                parent_id=i.parent_id,
                created_day=i.created_day,
                open=lambda item_id=i.item_id: blobs.open(item_id),
                size=i.size,
                sha256=i.sha256,
            )
            for i in await store.items_of_report(code)
        ]
        reports.append(
            ExportReport(
                report_code=code,
                status=report.status,
                created_day=report.created_day,
                status_history=await store.status_history(code),
                mailbox_pk=account.mailbox_pk if account else bytes(32),
                items=items,
            )
        )
    return reports


async def export(
    store: Store,
    blobs: BlobStore,
    dst: BinaryIO,
    *,
    codes: Sequence[str] | None,
    everything: bool,
    org_key_ids: Sequence[str],
) -> dict:
    """Write a bundle of the chosen reports (default: what no export carried yet), then mark it exported."""
    if codes:
        chosen = list(dict.fromkeys(codes))
    else:
        chosen = await store.report_codes(unexported_only=not everything)
    reports = await gather_reports(store, blobs, chosen)
    manifest = await asyncio.to_thread(write_export_bundle, dst, reports, org_key_ids=org_key_ids)
    await store.mark_exported(i.item_id for r in reports for i in r.items)
    return manifest
