"""The reporter's side of a case: submit, log in, read, answer.

Every function here takes the request's plaintext, seals it, and lets it go;
the only things that outlive the request are envelopes and the metadata of
``storage``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nacl.public import PrivateKey

from crypto.encoding import canonical_json, format_time, new_item_id, utc_now
from crypto.errors import CredentialError, WbsError
from crypto.envelope import EnvelopeWriter
from crypto.items import (
    generate_report_code,
    message_plaintext,
    open_json,
    recipients_for,
    report_plaintext,
    verify_reply,
)
from crypto.kdf import SALT_BYTES, KdfParams
from crypto.mailbox import (
    account_lookup,
    derive_mailbox_key,
    format_codename,
    generate_codename,
    generate_passphrase,
    normalize_passphrase,
    public_keys_equal,
)

from locales import N_

from server.context import Context
from server.defences.kdfpool import CREATE, LOGIN
from server.defences.sessions import Session
from server.errors import Busy, DiskFull, NotFound, ServerError, TooManyAttempts, TooManyReports
from server.reporter.forms import ReportForm, incident_day
from server.reporter.intake import SealedFile
from server.storage.blobstore import no_room
from server.storage.store import Account, NewItem, Report

MAX_CODE_TRIES = 8


class LoginFailed(ServerError):
    """The codename or passphrase is wrong."""

    status = 200
    message_key = N_("The codename or passphrase is wrong.")


@dataclass(frozen=True)
class Receipt:
    codename: str | None  # None when the report was added to an existing account
    passphrase: str | None
    report_code: str


def _kdf_params(ctx: Context) -> KdfParams:
    c = ctx.config
    return KdfParams(c.kdf_t, c.kdf_m_kib, c.kdf_p)


def has_free_space(ctx: Context, incoming: int = 0) -> bool:
    """Whether ``incoming`` more bytes still leave the configured reserve free."""
    return ctx.blobs.free_bytes() - incoming >= ctx.config.min_free_bytes


def check_free_space(ctx: Context, incoming: int = 0) -> None:
    if not has_free_space(ctx, incoming):
        raise DiskFull()


def _seal_to_temp(ctx: Context, data: bytes, recipients: list[bytes]):  # type: ignore[no-untyped-def]
    """Blocking: seal a small JSON item into a finished temp blob."""
    temp = ctx.blobs.new_temp()
    try:
        writer = EnvelopeWriter(temp, recipients)
        writer.write(data)
        writer.close()
        temp.finish()
    except BaseException:
        temp.discard()
        raise
    return temp


def _commit_blobs(ctx: Context, blobs: list[tuple[str, Any]]) -> None:
    for item_id, temp in blobs:
        ctx.blobs.commit(temp, item_id)


def _remove_blobs(ctx: Context, item_ids: list[str]) -> None:
    for item_id in item_ids:
        ctx.blobs.remove(item_id)


async def _store_items(
    ctx: Context,
    *,
    json_item: tuple[str, str, dict[str, Any]],
    files: list[SealedFile],
    recipients: list[bytes],
    save,  # type: ignore[no-untyped-def]
) -> None:
    """Seal the JSON item, make every blob durable, then run ``save`` (one transaction).

    If anything fails before the transaction commits, every blob of this
    request is removed again, so no half-stored report remains.
    """
    item_id, kind, obj = json_item
    try:
        temp = await ctx.run_io(_seal_to_temp, ctx, canonical_json(obj), recipients)
    except OSError as exc:
        if no_room(exc):
            raise DiskFull() from None
        raise
    blobs = [(item_id, temp)] + [(f.item_id, f.temp) for f in files]
    new_items = [NewItem(item_id, kind, "reporter", None, temp.size, temp.sha256)] + [
        NewItem(f.item_id, "attachment", "reporter", item_id, f.temp.size, f.temp.sha256) for f in files
    ]
    try:
        await ctx.run_io(_commit_blobs, ctx, blobs)
        await save(new_items)
    except BaseException as exc:
        await ctx.run_io(_remove_blobs, ctx, [b[0] for b in blobs])
        for _, t in blobs:
            await ctx.run_io(t.discard)
        if no_room(exc):
            raise DiskFull() from None
        raise


async def _new_code(ctx: Context) -> str:
    for _ in range(MAX_CODE_TRIES):
        code = generate_report_code(ctx.config.report_prefix)
        if await ctx.store.report(code) is None:
            return code
    raise ServerError("could not draw a free report code")


async def _new_mailbox_key(ctx: Context, codename: str, passphrase: str, salt: bytes, params: KdfParams,
                           circuit: str | None) -> PrivateKey:
    """A new account's key, within the server's new-account rate and the pool's creation lane.

    A refusal spends neither the rate nor the circuit's budget.
    """
    if not await ctx.new_accounts.take():
        ctx.circuit_reports.give_back(circuit)
        raise Busy()
    try:
        return await ctx.kdf.run(derive_mailbox_key, codename, passphrase, salt, params,
                                 lane=CREATE, wait=ctx.config.kdf_wait_seconds)
    except Busy:
        await ctx.new_accounts.give_back()
        ctx.circuit_reports.give_back(circuit)
        raise


async def submit_report(
    ctx: Context, form: ReportForm, files: list[SealedFile], lang: str, session: Session | None,
    circuit: str | None = None,
) -> Receipt:
    """Store a validated report; a new account unless the reporter is logged in.

    ``circuit`` is the Tor circuit the report came on, when the listener knows it.
    """
    org = ctx.keys.require()
    if not ctx.circuit_reports.take(circuit):
        raise TooManyReports()
    now = utc_now()
    codename = passphrase = None
    new_account: Account | None = None
    if session is None:
        codename = generate_codename()
        passphrase = generate_passphrase(lang)
        salt = secrets.token_bytes(SALT_BYTES)
        params = _kdf_params(ctx)
        key = await _new_mailbox_key(ctx, codename, passphrase, salt, params, circuit)
        new_account = Account(
            id=secrets.token_hex(16),
            lookup=account_lookup(codename, ctx.instance_secret),
            salt=salt,
            kdf_t=params.t,
            kdf_m_kib=params.m_kib,
            kdf_p=params.p,
            mailbox_pk=bytes(key.public_key),
            created_day=ctx.store.today(now),
        )
        account_id, mailbox_pk = new_account.id, new_account.mailbox_pk
    else:
        account_id, mailbox_pk = session.account_id, bytes(session.private_key.public_key)
    code = await _new_code(ctx)
    report_id = new_item_id()
    obj = report_plaintext(
        report_code=code,
        submitted_at=sealed_time(now),
        lang=lang,
        category=form.get("category"),
        what=form.get("what"),
        who=form.get("who"),
        where=form.get("where"),
        when=form.get("when"),
        how=form.get("how"),
        loss_estimate=form.get("loss_estimate"),
        attachments=[f.ref for f in files],
        reported_persons=form.persons,
        incident_date=incident_day(form.get("incident_date").strip()) or "",
        evidence_note=form.get("evidence_note"),
        identity=form.get("identity"),
    )
    day = ctx.store.today(now)

    async def save(items: list[NewItem]) -> None:
        await ctx.store.create_report(
            account=new_account, account_id=account_id, code=code, status="received", day=day, items=items
        )

    await _store_items(
        ctx,
        json_item=(report_id, "report", obj),
        files=files,
        recipients=recipients_for("report", org.keys, mailbox_pk),
        save=save,
    )
    return Receipt(format_codename(codename) if codename else None, passphrase, code)


def sealed_time(now: datetime) -> str:
    """The time a reporter's item carries inside its seal: the UTC day's start.

    PROTOCOL.md keeps the ``YYYY-MM-DDTHH:MM:SSZ`` format; the value is rounded
    to the day, the precision the server stores, so a case file that leaks or
    a curious reader cannot tie a report to an hour someone was seen at a
    computer (docs/threat-model.md).
    """
    return format_time(now.replace(hour=0, minute=0, second=0, microsecond=0))


async def add_message(ctx: Context, session: Session, code: str, body: str, files: list[SealedFile]) -> None:
    report = await own_report(ctx, session, code)
    org = ctx.keys.require()
    now = utc_now()
    obj = message_plaintext(
        report_code=report.code, sent_at=sealed_time(now), body=body, attachments=[f.ref for f in files]
    )

    async def save(items: list[NewItem]) -> None:
        await ctx.store.add_items(report.code, ctx.store.today(now), items)

    await _store_items(
        ctx,
        json_item=(new_item_id(), "message", obj),
        files=files,
        recipients=recipients_for("message", org.keys, bytes(session.private_key.public_key)),
        save=save,
    )


def _decoy_salt(ctx: Context, lookup: bytes) -> bytes:
    """A stable salt for a codename nobody has: the login does the same work,
    so its timing does not tell whether an account exists."""
    return hashlib.blake2b(lookup, digest_size=SALT_BYTES, key=ctx.instance_secret, person=b"wbs-decoy").digest()


async def login(ctx: Context, codename: str, passphrase: str, circuit: str | None = None) -> Session:
    """Derive the mailbox key and compare; one Argon2id run whether or not the account exists.

    A failure past the overall budget is answered only after the tarpit
    (the pool's thread already free), the same for every codename.
    """
    try:
        lookup = account_lookup(codename, ctx.instance_secret)
        normalize_passphrase(passphrase)
    except CredentialError:
        raise LoginFailed() from None
    await ctx.throttle.check(lookup)
    if not ctx.circuit_logins.take(circuit):
        raise TooManyAttempts()
    account = await ctx.store.find_account(lookup)
    if account is not None:
        salt, params = account.salt, KdfParams(account.kdf_t, account.kdf_m_kib, account.kdf_p)
    else:
        salt, params = _decoy_salt(ctx, lookup), _kdf_params(ctx)
    try:
        key: PrivateKey = await ctx.kdf.run(derive_mailbox_key, codename, passphrase, salt, params, lane=LOGIN,
                                            wait=ctx.config.kdf_login_wait_seconds)
    except Busy:
        ctx.circuit_logins.give_back(circuit)
        raise
    if account is None or not public_keys_equal(bytes(key.public_key), account.mailbox_pk):
        delay = await ctx.throttle.failed(lookup)
        if delay:
            await asyncio.sleep(delay)
        raise LoginFailed()
    await ctx.throttle.succeeded(lookup)
    return await ctx.sessions.create(account.id, bytes(key))


async def own_report(ctx: Context, session: Session, code: str) -> Report:
    """The report if it belongs to this session's account; NotFound otherwise."""
    report = await ctx.store.report(code)
    if report is None or report.account_id != session.account_id:
        raise NotFound()
    return report


@dataclass(frozen=True)
class ThreadEntry:
    kind: str
    day: str
    content: dict[str, Any] | None  # None when it could not be opened
    moved: bool = False
    bad_signature: bool = False


@dataclass(frozen=True)
class Case:
    report: Report
    history: list[tuple[str, str]]
    content: ThreadEntry | None
    thread: list[ThreadEntry]
    unseen: int = 0  # answers that were new when this page was opened

    @property
    def latest_reply(self) -> int | None:
        """The index in ``thread`` of the newest reply, if any."""
        replies = [i for i, e in enumerate(self.thread) if e.kind == "reply"]
        return replies[-1] if replies else None


@dataclass(frozen=True)
class MailboxRow:
    """One report as its reporter's mailbox lists it; the category is read
    from the sealed report during the request and never stored."""

    report: Report
    category: str | None  # None when the report could not be opened
    unseen: int


def _open_item(ctx: Context, item_id: str, key: PrivateKey, code: str):  # type: ignore[no-untyped-def]
    with ctx.blobs.open(item_id) as src:
        data = src.read()
    return open_json(data, [key], report_code=code)


def _answers(history: list[tuple[str, str]], thread: list[ThreadEntry]) -> int:
    """Replies and status changes after the first status: what "Balasan baru" counts."""
    return sum(1 for e in thread if e.kind == "reply") + max(len(history) - 1, 0)


async def mailbox(ctx: Context, session: Session) -> list[MailboxRow]:
    """The account's reports, each with its category and how many answers are unseen."""
    key = session.private_key
    answers = await ctx.store.answers_of_account(session.account_id)
    rows = []
    for report in await ctx.store.reports_of_account(session.account_id):
        category = None
        first = next((i for i in await ctx.store.items_of_report(report.code) if i.kind == "report"), None)
        if first is not None:
            try:
                opened = await ctx.run_io(_open_item, ctx, first.item_id, key, report.code)
            except (WbsError, OSError):
                pass
            else:
                category = opened.content.get("category")
        total, seen = answers.get(report.code, (0, 0))
        rows.append(MailboxRow(report, category, max(total - seen, 0)))
    return rows


async def mark_case_seen(ctx: Context, case: Case) -> None:
    """Remember that the reporter has now seen every answer on the case page.

    Best effort: with the disk full the page is still shown, the mark stays.
    """
    try:
        await ctx.store.mark_seen(case.report.code, _answers(case.history, case.thread))
    except DiskFull:
        pass


async def load_case(ctx: Context, session: Session, code: str) -> Case:
    report = await own_report(ctx, session, code)
    history = await ctx.store.status_history(code)
    key = session.private_key
    org = ctx.keys.current()
    content = None
    thread = []
    for item in await ctx.store.items_of_report(code):
        if item.kind == "attachment":
            continue
        try:
            opened = await ctx.run_io(_open_item, ctx, item.item_id, key, code)
        except (WbsError, OSError):
            entry = ThreadEntry(item.kind, item.created_day, None)
        else:
            bad = False
            if item.kind == "reply" and "sig" in opened.content:
                try:
                    verify_reply(opened.content, org.keys if org else ())
                except WbsError:
                    bad = True
            entry = ThreadEntry(item.kind, item.created_day, opened.content, opened.moved, bad)
        if item.kind == "report" and content is None:
            content = entry
        else:
            thread.append(entry)
    total = _answers(history, thread)
    seen = (await ctx.store.answers_of_account(session.account_id)).get(code, (total, 0))[1]
    return Case(report, history, content, thread, max(total - seen, 0))
