"""Staff logins past the overall failure budget: failures answered slowly, a right login at once
(on both engines, SQLite and PostgreSQL: ``open_store``)."""

from __future__ import annotations

import asyncio

import pyotp

from server.app import create_staff_app
from server.appkeys import STAFF_THROTTLE
from server.config import Config
from server.defences.throttle import login_throttle
from server.staff.workflow import StaffLoginFailed, authenticate, create_staff

TARPIT = 5.0


async def _run_kdf(fn, *args):  # type: ignore[no-untyped-def]
    return fn(*args)


def test_failures_past_the_budget_are_held_and_a_right_login_is_not(open_store):
    held: list[list[float]] = []

    async def attempt(*args) -> bool:  # type: ignore[no-untyped-def]
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        try:
            await authenticate(*args, sleep=sleep)
        except StaffLoginFailed:
            return False
        finally:
            held.append(sleeps)
        return True

    async def go() -> list[bool]:
        store = await open_store()
        try:
            member, password = await create_staff(store, "kepala", "admin", actor="test", must_change=False)
            # In memory on SQLite, in the database on PostgreSQL (as the staff listener chooses).
            throttle = login_throttle(store, bytes(32), scope="staff", failures_before_delay=100, max_delay=3600,
                                      global_per_minute=2, tarpit_seconds=TARPIT)
            results = [await attempt(store, throttle, _run_kdf, f"tamu{n}", "salah" * 3, "000000")
                       for n in range(4)]
            code = pyotp.TOTP(member.totp_secret).now()
            results.append(await attempt(store, throttle, _run_kdf, "kepala", password, code))
            # The same code again is a replay: a failure, held like the others.
            results.append(await attempt(store, throttle, _run_kdf, "kepala", password, code))
            return results
        finally:
            await store.close()

    results = asyncio.run(go())
    assert results == [False, False, False, False, True, False]
    # Two failures a minute are within the budget; past it every failure waits, a right login never.
    assert held == [[], [], [TARPIT], [TARPIT], [], [TARPIT]]


def test_the_staff_listener_takes_its_tarpit_from_the_configuration(open_store):
    class _Ctx:
        config = Config(login_global_per_minute=1, login_tarpit_seconds=7.0)
        instance_secret = bytes(32)

        def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
            self.store = store

    async def go() -> list[float]:
        store = await open_store()
        try:
            throttle = create_staff_app(_Ctx(store))[STAFF_THROTTLE]  # type: ignore[arg-type]
            return [await throttle.failed(b"a"), await throttle.failed(b"b")]
        finally:
            await store.close()

    assert asyncio.run(go()) == [0.0, 7.0]
