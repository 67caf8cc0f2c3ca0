"""Reports written straight into a store, their blobs beside them, for the store's and the jobs' tests."""

from __future__ import annotations

import secrets

from crypto.encoding import new_item_id
from server.storage.blobstore import BlobStore
from server.storage.store import Account, NewItem, Store


async def new_report(store: Store, blobs: BlobStore, account: Account, code: str, day: str) -> list[str]:
    """A report and its attachment of ``day``, their blobs written; returns the item ids."""
    items = []
    for kind in ("report", "attachment"):
        item_id = new_item_id()
        blobs.path(item_id).parent.mkdir(mode=0o700, exist_ok=True)
        blobs.path(item_id).write_bytes(secrets.token_bytes(64))
        items.append(NewItem(item_id, kind, "reporter", None, 64, "0" * 64))
    await store.create_report(account=account, account_id=account.id, code=code, status="received",
                              day=day, items=items)
    return [i.item_id for i in items]
