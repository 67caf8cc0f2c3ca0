"""The staff workflow: accounts with TOTP, case statuses, online replies,
reply bundle import, dashboard and statistics. Metadata only: nothing here
can read a report, and nothing it stores holds content.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Awaitable, Callable, Protocol

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crypto.encoding import format_time, new_item_id, utc_now
from crypto.errors import SignatureError, WbsError
from crypto.items import recipients_for, reply_plaintext, seal_json
from crypto.keys import PublicKeyFile
from crypto.reply_bundle import ReplyBundle, ReplyEntry, check_reply_recipients, read_reply_bundle
from workdays import Calendar

from locales import N_

from server import i18n
from server.defences.sessions import cookie_secret, derived, kept_alive, new_cookie, new_sid, until_minute
from server.defences.throttle import LoginLimiter
from server.defences.tokens import same_token
from server.errors import NotFound, ServerError
from server.i18n import STATUSES
from server.staff.deadlines import FINAL_STATUSES, Deadline, next_deadline
from server.storage.blobstore import BlobStore
from server.storage.store import NewItem, Report, StaffMember, Store

ROLES = ("admin", "handler")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
ISSUER = "WBS"

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "received": ("verification", "rejected"),
    "verification": ("needs_info", "investigation", "referred", "rejected"),
    "needs_info": ("verification", "investigation", "rejected"),
    "investigation": ("needs_info", "referred", "closed_proven", "closed_unproven"),
    "referred": ("closed_proven", "closed_unproven"),
    "closed_proven": (),
    "closed_unproven": (),
    "rejected": (),
}


class StaffLoginFailed(ServerError):
    """The username, password or code is wrong."""

    status = 200
    message_key = N_("The username, password or code is wrong.")


class StatusName(str):
    """A status key given as a message value: shown by its label in the reader's language."""


class _Explained(ServerError):
    """An error whose message is a msgid with values: ``text(lang)`` for a
    page, ``str(exc)`` (English) for the command line."""

    status = 400

    def __init__(self, message: str, /, **values: object) -> None:
        self.message = message
        self.values = values
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        shown = {name: i18n.status_label(lang, value) if isinstance(value, StatusName) else value
                 for name, value in self.values.items()}
        return i18n.translate(lang, self.message, **shown)


class StaffInputError(_Explained):
    """A staff form value is not acceptable; the message says which."""

    message_key = N_("The input cannot be accepted.")


class BundleRejected(_Explained):
    """A reply bundle cannot be imported; the message says exactly why.

    ``reason`` (a key of ``i18n.BUNDLE_REFUSALS``) names it in the audit log;
    ``detail``, the protocol layer's own English words, is added for the
    command line (``str(exc)``) only: a page shows ``text(lang)`` alone.
    """

    message_key = N_("The reply bundle was refused.")

    def __init__(self, reason: str, *, detail: str | None = None, **values: object) -> None:
        self.reason = reason
        super().__init__(i18n.BUNDLE_REFUSALS[reason], **values)
        if detail:
            self.args = (f"{self.args[0]} ({detail})",)


# The codes crypto/ puts on a bundle's errors, each with its message; an error
# without a known code is told by its class.
BUNDLE_ERROR_KEYS: dict[str, str] = {
    "too_large": "staff.err.bundle.too_large",
    "not_json": "staff.err.bundle.not_json",
    "wrong_format": "staff.err.bundle.wrong_format",
    "unknown_signer": "staff.err.bundle.unknown_signer",
    "retired_signer": "staff.err.bundle.retired_signer",
    "bad_signature": "staff.err.bundle.bad_signature",
    "not_for_mailbox": "staff.err.bundle.not_for_mailbox",
    "not_for_org": "staff.err.bundle.not_for_org",
    "unknown_report": "staff.err.bundle.unknown_report",
}


def bundle_rejected(exc: WbsError) -> BundleRejected:
    """The refusal for an error crypto/ raised on a bundle, by the error's code or class.

    The English text of ``exc`` is not shown: a page speaks one language.
    """
    key = BUNDLE_ERROR_KEYS.get(exc.code or "")
    if key is None:
        key = "staff.err.bundle.bad_signature" if isinstance(exc, SignatureError) else "staff.err.bundle.malformed"
    return BundleRejected(key, detail=str(exc))


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def new_password() -> str:
    """A one-time password for a new or reset account: 96 random bits, easy to type."""
    return "-".join(secrets.token_hex(3) for _ in range(4))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(member: StaffMember, instance_name: str) -> str:
    return pyotp.TOTP(member.totp_secret).provisioning_uri(name=member.username, issuer_name=f"{ISSUER} {instance_name}")


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffInputError(N_("A password has %(low)s to %(high)s characters."), low=MIN_PASSWORD, high=MAX_PASSWORD)


def check_username(username: str) -> str:
    name = username.strip()
    if not (3 <= len(name) <= 40) or not all(c.isalnum() or c in "._-" for c in name):
        raise StaffInputError(N_("A username has 3 to 40 letters, digits, dots, dashes or underscores."))
    return name


async def create_staff(store: Store, username: str, role: str, *, actor: str, must_change: bool = True,
                       password: str | None = None) -> tuple[StaffMember, str]:
    """Add a staff member; returns the member and the one-time password (shown once)."""
    if role not in ROLES:
        raise StaffInputError(N_("The role must be admin or handler."))
    name = check_username(username)
    if await store.staff_by_name(name) is not None:
        raise StaffInputError(N_("User %(name)s exists already."), name=name)
    password = password or new_password()
    day = store.today()
    member = StaffMember(
        id=secrets.token_hex(16), username=name, role=role, password_hash=hash_password(password),
        totp_secret=new_totp_secret(), totp_last_step=0, must_change=must_change, disabled=False,
        created_day=day,
    )
    await store.add_staff(member, [(day, actor, None, f"user_add:{name} ({role})")])
    return member, password


def totp_step(secret: str, code: str, now: float) -> int | None:
    """The time step a code belongs to (the current one or one either side), or None."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if same_token(totp.at(candidate * totp.interval), code):
            return candidate
    return None


@dataclass
class StaffSession:
    sid: str
    staff_id: str


class StaffSessionStore(Protocol):
    """What the staff side asks of its sessions (in memory, or in the shared database)."""

    async def create(self, staff_id: str) -> StaffSession: ...

    async def get(self, sid: str | None) -> StaffSession | None: ...

    async def end(self, sid: str | None) -> None: ...

    async def end_for(self, staff_id: str, *, keep: str | None = None) -> None:
        """End every session of a member, except ``keep`` (the one changing its own password)."""


@dataclass
class StaffSessions:
    """Staff sessions in this process's memory (one machine, SQLite)."""

    idle: float
    lifetime: float
    clock: Callable[[], float] = time.monotonic
    # sid -> (session, created, seen)
    _sessions: dict[str, tuple[StaffSession, float, float]] = field(default_factory=dict)

    async def create(self, staff_id: str) -> StaffSession:
        now = self.clock()
        session = StaffSession(new_sid(), staff_id)
        self._sessions[session.sid] = (session, now, now)
        return session

    async def get(self, sid: str | None) -> StaffSession | None:
        held = self._sessions.get(sid or "")
        if held is None:
            return None
        session, created, seen = held
        now = self.clock()
        if now - seen > self.idle or now - created > self.lifetime:
            self._sessions.pop(session.sid, None)
            return None
        self._sessions[session.sid] = (session, created, now)
        return session

    async def end(self, sid: str | None) -> None:
        self._sessions.pop(sid or "", None)

    async def end_for(self, staff_id: str, *, keep: str | None = None) -> None:
        for sid, (session, _, _) in list(self._sessions.items()):
            if session.staff_id == staff_id and sid != keep:
                self._sessions.pop(sid, None)


STAFF_ROW_PERSON = b"wbs-staff-row"


class DatabaseStaffSessions:
    """Staff sessions in the shared database (PostgreSQL): a login on one node works on
    every node, and ``end_for`` ends a member's sessions on all of them. The row is
    found by a hash of the cookie's secret; the member's id is in clear (staff are
    not anonymous). Limits are whole minutes, as for reporters (``DatabaseSessions``)."""

    def __init__(self, store: Store, idle: float, lifetime: float, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._idle = idle
        self._lifetime = lifetime
        self._clock = clock

    @staticmethod
    def _row(sid: str | None) -> bytes | None:
        secret = cookie_secret(sid)
        return derived(secret, STAFF_ROW_PERSON) if secret is not None else None

    async def create(self, staff_id: str) -> StaffSession:
        sid, secret = new_cookie()
        now = self._clock()
        await self._store.add_staff_session(derived(secret, STAFF_ROW_PERSON), staff_id,
                                            until_minute(now, self._idle), until_minute(now, self._lifetime))
        return StaffSession(sid, staff_id)

    async def get(self, sid: str | None) -> StaffSession | None:
        row_id = self._row(sid)
        if not sid or row_id is None:
            return None
        found = await self._store.staff_session(row_id)
        if found is None:
            return None
        staff_id, idle_until, end_by = found
        if not await kept_alive(self._store, "staff", row_id, idle_until, end_by, self._clock(), self._idle):
            return None
        return StaffSession(sid, staff_id)

    async def end(self, sid: str | None) -> None:
        row_id = self._row(sid)
        if row_id is not None:
            await self._store.end_session("staff", row_id)

    async def end_for(self, staff_id: str, *, keep: str | None = None) -> None:
        await self._store.end_staff_sessions(staff_id, keep=self._row(keep))


def staff_session_store(store: Store, idle: float, lifetime: float) -> StaffSessionStore:
    """The database's staff sessions when other nodes share it, this process's memory otherwise."""
    if store.shared:
        return DatabaseStaffSessions(store, idle, lifetime)
    return StaffSessions(idle, lifetime)


async def authenticate(
    store: Store, throttle: LoginLimiter, run_kdf: Callable[..., Any], username: str, password: str, code: str,
    *, now: float | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> StaffMember:
    """Password (Argon2id, in the pool) and a TOTP code never used before.

    A failure past the throttle's overall budget is answered only after its
    tarpit delay (``sleep``), so a guessing flood is slowed while a right
    login still gets in at once.
    """
    key = username.strip().lower().encode("utf-8")[:64]
    await throttle.check(key)
    member = await store.staff_by_name(username.strip())
    stored = member.password_hash if member else _DECOY_HASH
    password_ok = await run_kdf(verify_password, stored, password[:MAX_PASSWORD])
    step = totp_step(member.totp_secret, code, now or time.time()) if member else None
    if member is None or member.disabled or not password_ok or step is None:
        delay = await throttle.failed(key)
        day = store.today()
        if member is not None:
            await store.audit((day, member.username, None, "login_failed"))
        if delay:
            await sleep(delay)
        raise StaffLoginFailed()
    if not await store.use_totp_step(member.id, step):
        delay = await throttle.failed(key)
        await store.audit((store.today(), member.username, None, "totp_replay"))
        if delay:
            await sleep(delay)
        raise StaffLoginFailed()
    await throttle.succeeded(key)
    if needs_rehash(member.password_hash):
        await store.update_staff(member.id, password_hash=await run_kdf(hash_password, password))
    await store.audit((store.today(), member.username, None, "login"))
    return member


_DECOY_HASH = hash_password(secrets.token_hex(16))


async def change_password(store: Store, run_kdf: Callable[..., Any], member: StaffMember, old: str, new: str,
                          confirm: str) -> None:
    if not await run_kdf(verify_password, member.password_hash, old[:MAX_PASSWORD]):
        raise StaffInputError(N_("The current password is wrong."))
    if new != confirm:
        raise StaffInputError(N_("The two new passwords differ."))
    check_new_password(new)
    if new == old:
        raise StaffInputError(N_("The new password must differ from the old one."))
    day = store.today()
    await store.update_staff(member.id, [(day, member.username, None, "password_change")],
                             password_hash=await run_kdf(hash_password, new), must_change=False)


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(report: Report, status: str) -> None:
    if status not in allowed_next(report.status):
        raise StaffInputError(N_("A report in status “%(old)s” cannot move to “%(new)s”."),
                              old=StatusName(report.status), new=StatusName(status))


async def change_status(store: Store, member: StaffMember, code: str, status: str, *, confirmed_from: str) -> Report:
    """Apply a status change the member confirmed while the report was in ``confirmed_from``.

    A report that moved on since (a colleague, an imported reply) is left as
    it is: the confirmation was given for a change that no longer exists.
    """
    report = await store.report(code)
    if report is None:
        raise NotFound()
    if report.status != confirmed_from:
        raise StaffInputError(N_("The status of report %(code)s changed to “%(now)s” since this page was opened. "
                                 "Nothing was changed; look again and choose the new status."),
                              code=code, now=StatusName(report.status))
    check_transition(report, status)
    await store.status_change_with_audit(code, status, store.today(), member.username)
    return report


async def reply_online(store: Store, blobs: BlobStore, run_io: Callable[..., Any], keys: PublicKeyFile,
                       member: StaffMember, code: str, body: str) -> None:
    """Seal a reply to the reporter's mailbox and the org keys on arrival; only the envelope is kept."""
    report = await store.report(code)
    if report is None:
        raise NotFound()
    account = await store.account(report.account_id)
    if account is None:
        raise NotFound()
    if not body.strip():
        raise StaffInputError(N_("The reply is empty."))
    now = utc_now()
    envelope = seal_json(
        reply_plaintext(report_code=code, sent_at=format_time(now), body=body),
        recipients_for("reply", keys.keys, account.mailbox_pk),
    )
    item_id = new_item_id()
    temp = await run_io(_write_blob, blobs, envelope)
    try:
        await run_io(blobs.commit, temp, item_id)
        await store.add_items_with_audit(
            code, store.today(now), [NewItem(item_id, "reply", "staff", None, temp.size, temp.sha256)],
            member.username, "reply_online",
        )
    except BaseException:
        await run_io(blobs.remove, item_id)
        raise


def _write_blob(blobs: BlobStore, data: bytes):  # type: ignore[no-untyped-def]
    temp = blobs.new_temp()
    try:
        temp.write(data)
        temp.finish()
    except BaseException:
        temp.discard()
        raise
    return temp


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int
    statuses: int


async def import_reply_bundle(store: Store, blobs: BlobStore, run_io: Callable[..., Any], keys: PublicKeyFile | None,
                              data: bytes, actor: str) -> ImportResult:
    """Check a reply bundle completely, then store all of it in one transaction, or nothing.

    A status a reply sets is applied as given, outside ``TRANSITIONS``: those
    guide the online staff's workflow, while a bundle is signed with the
    organisation key by the keyholders, who decide cases and may close or
    reopen one directly. Any known status is accepted; the audit log names it.
    A refusal is audited by its reason's key, never with the bundle's content.
    """
    try:
        return await _import_reply_bundle(store, blobs, run_io, keys, data, actor)
    except BundleRejected as exc:
        await store.audit((store.today(), actor, None, f"import_refused:{exc.reason}"))
        raise


async def _import_reply_bundle(store: Store, blobs: BlobStore, run_io: Callable[..., Any],
                               keys: PublicKeyFile | None, data: bytes, actor: str) -> ImportResult:
    if keys is None:
        raise BundleRejected("staff.err.no_key")
    try:
        bundle = read_reply_bundle(data, keys)
    except WbsError as exc:
        raise bundle_rejected(exc) from None
    mailbox_pks = {}
    for entry in bundle.replies:
        report = await store.report(entry.report_code)
        account = await store.account(report.account_id) if report else None
        if account is None:
            raise BundleRejected("staff.err.unknown_report", item=entry.item_id, code=entry.report_code)
        mailbox_pks[entry.report_code] = account.mailbox_pk
        if entry.set_status is not None and entry.set_status not in STATUSES:
            raise BundleRejected("staff.err.unknown_status", item=entry.item_id, status=entry.set_status)
    try:
        check_reply_recipients(bundle, mailbox_pks, [k.key_id for k in keys.keys])
    except WbsError as exc:
        raise bundle_rejected(exc) from None
    fresh, unchanged = await _fresh_replies(store, bundle)
    day = store.today()
    replies, written = [], []
    statuses = 0
    try:
        for entry in fresh:
            temp = await run_io(_write_blob, blobs, entry.envelope)
            await run_io(blobs.commit, temp, entry.item_id)
            written.append(entry.item_id)
            report = await store.report(entry.report_code)
            status = entry.set_status if entry.set_status and entry.set_status != report.status else None
            statuses += status is not None
            replies.append((entry.report_code, NewItem(entry.item_id, "reply", "keyholder", None, temp.size, temp.sha256), status))
        audit = [(day, actor, code, f"reply_import{':status ' + status if status else ''}") for code, _, status in replies]
        await store.import_replies(day, replies, audit, bundle_id=bundle.bundle_id)
    except BaseException:
        for item_id in written:
            await run_io(blobs.remove, item_id)
        raise
    return ImportResult(added=len(replies), unchanged=unchanged, statuses=statuses)


async def _fresh_replies(store: Store, bundle: ReplyBundle) -> tuple[list[ReplyEntry], int]:
    """The bundle's replies not stored yet, and how many are; a stale bundle is refused.

    Stale: a reply the retention purge deleted, a bundle made on a day before
    its case was purged, or a bundle imported before whose replies are gone. Importing either again would deliver an old reply
    a second time and could reopen a case closed long ago.
    """
    purged = await store.purged_items(e.item_id for e in bundle.replies)
    purge_days = await store.purge_days(e.report_code for e in bundle.replies)
    made = bundle.created_at[:10]
    for entry in bundle.replies:
        if entry.item_id in purged:
            raise BundleRejected("staff.err.item_purged", item=entry.item_id, code=entry.report_code,
                                 day=purged[entry.item_id])
        if made < purge_days.get(entry.report_code, ""):
            raise BundleRejected("staff.err.made_before_purge", item=entry.item_id, code=entry.report_code,
                                 made=made, day=purge_days[entry.report_code])
    imported_on = await store.bundle_imported(bundle.bundle_id)
    fresh, unchanged = [], 0
    for entry in bundle.replies:
        existing = await store.item(entry.item_id)
        if existing is None:
            if imported_on is not None:
                raise BundleRejected("staff.err.bundle_replayed", item=entry.item_id, day=imported_on)
            fresh.append(entry)
            continue
        same = existing.report_code == entry.report_code and existing.sha256 == hashlib.sha256(entry.envelope).hexdigest()
        if not same:
            raise BundleRejected("staff.err.item_differs", item=entry.item_id)
        unchanged += 1
    return fresh, unchanged


@dataclass(frozen=True)
class CaseRow:
    report: Report
    deadline: Deadline | None
    unexported: int


async def case_rows(store: Store, today: date, *, acknowledge_working_days: int, feedback_days: int,
                    calendar: Calendar | None = None) -> list[CaseRow]:
    histories = await store.all_status_history()
    replies = await store.first_reply_day()
    unexported = await store.unexported_reporter_items()
    rows = []
    for report in await store.all_reports():
        first = replies.get(report.code)
        deadline = next_deadline(
            date.fromisoformat(report.created_day), histories.get(report.code, []),
            date.fromisoformat(first) if first else None, today,
            acknowledge_working_days=acknowledge_working_days, feedback_days=feedback_days, calendar=calendar,
        )
        rows.append(CaseRow(report, deadline, unexported.get(report.code, 0)))
    return rows


def sort_by_deadline(rows: list[CaseRow]) -> list[CaseRow]:
    return sorted(rows, key=lambda r: (r.deadline is None, r.deadline.due if r.deadline else date.max, r.report.code))


@dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    by_month: dict[str, int]
    acknowledge_days: tuple[float, float] | None  # (median, mean) calendar days
    close_days: tuple[float, float] | None


def _summary(values: list[int]) -> tuple[float, float] | None:
    return (float(statistics.median(values)), round(statistics.fmean(values), 1)) if values else None


async def stats(store: Store) -> Stats:
    reports = await store.all_reports()
    histories = await store.all_status_history()
    ack, close = [], []
    for report in reports:
        created = date.fromisoformat(report.created_day)
        history = histories.get(report.code, [])
        first_change = next((d for s, d in history if s != "received"), None)
        closed = next((d for s, d in history if s in FINAL_STATUSES), None)
        if first_change:
            ack.append((date.fromisoformat(first_change) - created).days)
        if closed:
            close.append((date.fromisoformat(closed) - created).days)
    return Stats(
        by_status=dict(Counter(r.status for r in reports)),
        by_month=dict(sorted(Counter(r.created_day[:7] for r in reports).items())),
        acknowledge_days=_summary(ack),
        close_days=_summary(close),
    )


def stats_csv(result: Stats) -> str:
    lines = ["section,key,value"]
    lines += [f"status,{k},{v}" for k, v in sorted(result.by_status.items())]
    lines += [f"month,{k},{v}" for k, v in result.by_month.items()]
    for name, value in (("days_to_acknowledge", result.acknowledge_days), ("days_to_close", result.close_days)):
        if value:
            lines += [f"{name},median,{value[0]}", f"{name},mean,{value[1]}"]
    return "\n".join(lines) + "\n"
