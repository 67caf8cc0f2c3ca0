"""What a running server holds: opened once at start-up, closed at shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from crypto.keys import PublicKeyFile

from server.storage.blobstore import BlobStore
from workdays import CalendarError

from server.config import Config, zone_of
from server.defences.kdfpool import CREATE, LOGIN, STAFF, KdfPool
from server.defences.sessions import Sessions, session_store
from server.defences.throttle import AccountRate, CircuitLimit, LoginLimiter, account_rate, login_throttle
from server.defences.uploadlimits import Pace, TenantUploadSlots, UploadSlots
from server.errors import ConfigError, NoOrgKey
from server.staff.deadlines import CalendarState
from server.storage.datafolder import DataFolder
from server.storage.opening import blob_root, engine_description, open_store
from server.storage.store import Store

log = logging.getLogger("wbs")
T = TypeVar("T")


class KeyState:
    """The installed org.pub.json, reloaded when ``wbs keys install`` replaces it."""

    def __init__(self, folder: DataFolder) -> None:
        self._folder = folder
        self._stamp: tuple[int, int] | None = None
        self._keys: PublicKeyFile | None = None

    def current(self) -> PublicKeyFile | None:
        try:
            st = os.stat(self._folder.public_keys)
            stamp = (st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            self._stamp, self._keys = None, None
            return None
        if stamp != self._stamp:
            self._keys = self._folder.load_public_keys()
            self._stamp = stamp
        return self._keys

    def require(self) -> PublicKeyFile:
        keys = self.current()
        if keys is None or not keys.active:
            raise NoOrgKey()
        return keys


def kdf_lanes(config: Config) -> dict[str, int]:
    """The key-derivation lanes of one data folder, and their places (running or waiting)."""
    return {LOGIN: config.kdf_workers + config.kdf_queue, CREATE: config.kdf_create_slots,
            STAFF: config.kdf_staff_slots}


class TenantLanes:
    """One tenant's lanes in the server's key-derivation pool.

    Every tenant has lanes of its own (``SLUG/login``...), with their own
    places: a flood of logins or new reports at one tenant fills its own
    places only, and the pool's threads go round every lane in turn, so
    another tenant's login waits for one turn, never behind the flood.
    """

    def __init__(self, pool: KdfPool, slug: str) -> None:
        self.pool = pool
        self._prefix = f"{slug}/"

    @classmethod
    def pool_for(cls, config: Config, slugs: list[str]) -> KdfPool:
        """The pool with every tenant's lanes; ``config`` is the server's (the pool's size is not per tenant)."""
        return KdfPool(config.kdf_workers, {f"{slug}/{lane}": places for slug in slugs
                                            for lane, places in kdf_lanes(config).items()})

    async def run(self, fn: Callable[..., T], *args: object, lane: str = LOGIN, wait: float = 0.0) -> T:
        return await self.pool.run(fn, *args, lane=self._prefix + lane, wait=wait)

    def close(self) -> None:
        self.pool.close()


@dataclass
class Context:
    config: Config
    folder: DataFolder
    store: Store
    blobs: BlobStore
    io: ThreadPoolExecutor
    seal: ThreadPoolExecutor  # shared by every upload: files are sealed and written here
    uploads: UploadSlots | TenantUploadSlots
    pace: Pace
    kdf: KdfPool | TenantLanes
    sessions: Sessions  # in the database when other nodes share it (store.shared), in memory otherwise
    throttle: LoginLimiter
    new_accounts: AccountRate
    circuit_logins: CircuitLimit
    circuit_reports: CircuitLimit
    keys: KeyState
    instance_secret: bytes
    calendar: CalendarState  # working days: the shared calendar and holidays_file
    # False for a tenant's context: its pools (io, seal, uploads, pace, kdf) are the server's, closed by their owner
    owns_pools: bool = True

    async def run_io(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.io, fn, *args)

    @classmethod
    async def open(cls, config: Config, folder: DataFolder, pools: "Context | None" = None,
                   kdf: TenantLanes | None = None, tenants: int = 1) -> "Context":
        """The context of one data folder; with ``pools``, one more tenant sharing that context's pools.

        A tenant has its own store, keys, secret, sessions and throttles (one
        tenant's flood of failed logins never slows another's), its own
        lanes in the key-derivation pool (``kdf``) and its own share of the
        upload slots (at most half of them when ``tenants`` > 1), and shares the threads and the
        server's upload limit, which bound the machine as a whole.
        """
        folder.require()
        try:
            calendar = CalendarState(config.holidays_file)
        except CalendarError as exc:
            raise ConfigError(f"holidays_file: {exc}") from None
        blobs = BlobStore(blob_root(config, folder))
        blobs.prepare()
        store = await open_store(config, folder)
        log.info("metadata in %s; sealed reports in %s", engine_description(config, folder), blobs.root)
        removed = blobs.sweep(await store.item_ids(), shared=store.shared)
        if removed:
            log.info("removed %d unfinished upload file(s) left by an interrupted run", removed)
        uploads: UploadSlots | TenantUploadSlots
        if pools is None:
            io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="io")
            seal = ThreadPoolExecutor(max_workers=config.seal_workers, thread_name_prefix="seal")
            uploads = UploadSlots(config.max_uploads)
            if tenants > 1:  # the first tenant: it holds the server's slots, and its own share of them
                uploads = TenantUploadSlots(uploads)
            pace = Pace(config.upload_idle_seconds, config.upload_grace_seconds, config.upload_min_rate_bytes)
            derivations: KdfPool | TenantLanes = kdf or KdfPool(config.kdf_workers, kdf_lanes(config))
        else:
            io, seal, pace = pools.io, pools.seal, pools.pace
            uploads = pools.uploads
            if isinstance(uploads, TenantUploadSlots):
                uploads = TenantUploadSlots(uploads.shared)
            derivations = kdf or pools.kdf
        instance_secret = folder.instance_secret()
        return cls(
            config=config,
            folder=folder,
            store=store,
            blobs=blobs,
            io=io,
            seal=seal,
            uploads=uploads,
            pace=pace,
            kdf=derivations,
            sessions=session_store(store, config.session_idle_seconds, config.session_max_seconds),
            throttle=login_throttle(
                store,
                instance_secret,
                scope="login",
                failures_before_delay=config.login_failures_before_delay,
                max_delay=config.login_max_delay_seconds,
                global_per_minute=config.login_global_per_minute,
                tarpit_seconds=config.login_tarpit_seconds,
            ),
            new_accounts=account_rate(store, config.new_accounts_per_minute),
            circuit_logins=CircuitLimit(config.circuit_logins_per_minute),
            circuit_reports=CircuitLimit(config.circuit_reports_per_minute),
            keys=KeyState(folder),
            instance_secret=instance_secret,
            calendar=calendar,
            owns_pools=pools is None,
        )

    async def close(self) -> None:
        await self.sessions.close()
        if self.owns_pools:
            self.kdf.close()
            self.seal.shutdown(wait=True)
            self.io.shutdown(wait=True)
        await self.store.close()
