"""Export bundles from the store (PROTOCOL.md §6), for ``wbs export`` and the staff side."""

from __future__ import annotations

import asyncio
from typing import BinaryIO, Sequence

from crypto.export_bundle import ExportItem, ExportReport, check_export, write_export_bundle

from server.errors import NotFound, StoreError
from server.storage.blobstore import BlobStore
from server.storage.store import Store


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


async def plan_export(store: Store, blobs: BlobStore, *, codes: Sequence[str] | None, everything: bool,
                      org_key_ids: Sequence[str]) -> list[ExportReport]:
    """The reports to export, each once, checked as far as the records allow: any
    refusal comes from here, before the first byte of the bundle is written."""
    if codes:
        chosen = list(dict.fromkeys(codes))
    else:
        chosen = await store.report_codes(unexported_only=not everything)
    reports = await gather_reports(store, blobs, chosen)
    check_export(reports, org_key_ids=org_key_ids)
    await asyncio.to_thread(_check_blobs, blobs, [i for r in reports for i in r.items])
    return reports


def _check_blobs(blobs: BlobStore, items: Sequence[ExportItem]) -> None:
    """Every item's blob is there with its recorded size (its sha256 is checked as it streams)."""
    for item in items:
        try:
            size = blobs.path(item.item_id).stat().st_size
        except FileNotFoundError:
            size = None
        if size != item.size:
            raise StoreError(f"stored item {item.item_id} is missing or has the wrong size; run 'wbs check'")


async def write_export(store: Store, dst: BinaryIO, reports: Sequence[ExportReport], *, org_key_ids: Sequence[str],
                       actor: str) -> dict:
    """Write the bundle, then mark its items exported with one audit line for the whole export."""
    manifest = await asyncio.to_thread(write_export_bundle, dst, reports, org_key_ids=org_key_ids)
    items = sum(len(r.items) for r in reports)
    code = reports[0].report_code if len(reports) == 1 else None
    line = (store.today(), actor, code, f"export:{len(reports)} report(s), {items} item(s)")
    await store.mark_exported((i.item_id for r in reports for i in r.items), audit=[line])
    return manifest


async def export(
    store: Store,
    blobs: BlobStore,
    dst: BinaryIO,
    *,
    codes: Sequence[str] | None,
    everything: bool,
    org_key_ids: Sequence[str],
    actor: str,
) -> dict:
    """Write a bundle of the chosen reports (default: what no export carried yet), then mark it exported."""
    reports = await plan_export(store, blobs, codes=codes, everything=everything, org_key_ids=org_key_ids)
    return await write_export(store, dst, reports, org_key_ids=org_key_ids, actor=actor)
