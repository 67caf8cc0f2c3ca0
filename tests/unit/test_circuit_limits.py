"""Per-circuit limits on the reporter's logins and reports, called as the
views call them with ``request.get(CIRCUIT)``; a real data folder and store
on tmp, the cheapest KDF. Circuit ids come from the PROXY protocol when it
is on; without one nothing here limits a request."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from crypto.keyring import new_keyring
from crypto.mailbox import format_codename, generate_codename
from server.config import Config
from server.context import Context
from server.errors import Busy, TooManyAttempts, TooManyReports
from server.reporter.forms import validate_report
from server.reporter.reporting import LoginFailed, Receipt, login, submit_report
from server.storage.datafolder import DataFolder

REPORT = {"category": "pungli", "what": "Pungutan liar", "who": "Petugas", "where": "Kantor",
          "when": "Kemarin", "how": "Meminta uang", "confirm": "1"}
CIRCUIT = "circuit-4f1c2a"


def run(tmp_path: Path, scenario, **settings: object) -> None:  # type: ignore[no-untyped-def]
    """``scenario(ctx)`` against a fresh data folder with an organisation key installed."""
    folder = DataFolder(tmp_path / "data")
    folder.initialize()
    folder.install_public_keys(new_keyring("Inspektorat Daerah Kabupaten Klungkung").public_key_file())
    config = Config(data_dir=folder.root, kdf_t=1, kdf_m_kib=8, min_free_bytes=0, **settings)

    async def main() -> None:
        ctx = await Context.open(config, folder)
        try:
            await scenario(ctx)
        finally:
            await ctx.close()

    asyncio.run(main())


async def report(ctx: Context, circuit: str | None, session=None) -> Receipt:  # type: ignore[no-untyped-def]
    form = validate_report(REPORT, ctx.config)
    assert form.ok
    return await submit_report(ctx, form, [], "id", session, circuit)


async def wrong_login(ctx: Context, circuit: str | None) -> None:
    with pytest.raises(LoginFailed):
        await login(ctx, format_codename(generate_codename()), "frasa yang salah", circuit)


def test_logins_are_limited_per_circuit(tmp_path, caplog) -> None:
    async def scenario(ctx: Context) -> None:
        receipt = await report(ctx, None)
        for _ in range(3):
            await wrong_login(ctx, CIRCUIT)
        with pytest.raises(TooManyAttempts):  # the fourth on this circuit, before any Argon2id
            await login(ctx, receipt.codename, receipt.passphrase, CIRCUIT)
        await wrong_login(ctx, "another-circuit")  # another circuit is not affected
        await wrong_login(ctx, None)  # nor a request without a circuit id
        session = await login(ctx, receipt.codename, receipt.passphrase, "another-circuit")
        assert session.account_id

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario, circuit_logins_per_minute=3)
    assert CIRCUIT not in caplog.text


def test_reports_are_limited_per_circuit_and_refusals_store_nothing(tmp_path, caplog) -> None:
    async def scenario(ctx: Context) -> None:
        first = await report(ctx, CIRCUIT)
        await report(ctx, CIRCUIT)
        with pytest.raises(TooManyReports):
            await report(ctx, CIRCUIT)
        # Logged in or not, the circuit has spent its reports.
        session = await login(ctx, first.codename, first.passphrase, "login-circuit")
        with pytest.raises(TooManyReports):
            await report(ctx, CIRCUIT, session)
        await report(ctx, "another-circuit", session)
        await report(ctx, None)
        assert len(await ctx.store.reports_of_account(session.account_id)) == 2

    with caplog.at_level(logging.DEBUG):
        run(tmp_path, scenario, circuit_reports_per_minute=2)
    assert CIRCUIT not in caplog.text


def test_new_account_refusal_spends_no_circuit_budget(tmp_path) -> None:
    async def scenario(ctx: Context) -> None:
        first = await report(ctx, CIRCUIT)
        with pytest.raises(Busy):  # the server's one new account a minute is taken
            await report(ctx, CIRCUIT)
        with pytest.raises(Busy):
            await report(ctx, CIRCUIT)
        # The refusals gave the circuit's reports back: a logged-in report still fits, then the limit.
        session = await login(ctx, first.codename, first.passphrase, None)
        await report(ctx, CIRCUIT, session)
        with pytest.raises(TooManyReports):
            await report(ctx, CIRCUIT, session)

    run(tmp_path, scenario, new_accounts_per_minute=1, circuit_reports_per_minute=2)
