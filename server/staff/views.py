"""Staff pages (the second listener). Metadata only; every action audited."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import date
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from crypto.errors import FormatError

from locales import N_

from server import i18n
from server.appkeys import CONTEXT, STAFF, STAFF_SESSIONS, STAFF_THROTTLE
from server.defences.kdfpool import STAFF
from server.errors import BadRequest, CsrfError, Forbidden, NotFound, PayloadTooLarge
from server.i18n import STATUSES
from server.operations.export import plan_export, write_export
from server.staff import workflow as staff
from server.staff.audit_labels import actor_label, describe
from server.storage.store import StaffMember
from server.web import check_csrf, lang_of, read_small_form, redirect, render, set_cookie

log = logging.getLogger("wbs")

STAFF_COOKIE = "wbs_staff"
MAX_BUNDLE_UPLOAD = 64 * 1024 * 1024
MAX_IMPORT_PARTS = 4  # the form has two: csrf_token and bundle
AUDIT_PAGE_ROWS = 200
STAFF_KDF_WAIT = 10.0


def _ctx(request: web.Request):  # type: ignore[no-untyped-def]
    return request.app[CONTEXT]


async def current_member(request: web.Request) -> StaffMember | None:
    session = await request.app[STAFF_SESSIONS].get(request.cookies.get(STAFF_COOKIE))
    if session is None:
        return None
    member = await _ctx(request).store.staff_by_id(session.staff_id)
    if member is None or member.disabled:
        await request.app[STAFF_SESSIONS].end(session.sid)
        return None
    return member


async def require_member(request: web.Request, *, admin: bool = False, allow_must_change: bool = False) -> StaffMember:
    member = await current_member(request)
    if member is None:
        raise redirect(request, "/staff/login")
    if member.must_change and not allow_must_change:
        raise redirect(request, "/staff/password")
    if admin and member.role != "admin":
        raise Forbidden()
    request[STAFF] = member
    return member


def page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    return render(request, f"staff/{template}", status=status, staff_member=request.get(STAFF),
                  number=i18n.number, role_label=i18n.role_label, item_label=i18n.item_label,
                  month_label=i18n.month_label, **values)


async def checked_form(request: web.Request) -> dict[str, str]:
    fields = await read_small_form(request, limit=64 * 1024)
    if not check_csrf(request, fields.get("csrf_token", "")):
        raise CsrfError()
    return fields


def _run_kdf(request: web.Request):  # type: ignore[no-untyped-def]
    """Argon2id in the staff lane, which reporter floods cannot fill; a few colleagues
    logging in at once wait their turn rather than see "busy"."""
    ctx = _ctx(request)
    return lambda fn, *args: ctx.kdf.run(fn, *args, lane=STAFF, wait=STAFF_KDF_WAIT)


async def login_form(request: web.Request) -> web.Response:
    return page(request, "login.html", failed=False, username="")


async def login(request: web.Request) -> web.Response:
    fields = await checked_form(request)
    ctx = _ctx(request)
    try:
        member = await staff.authenticate(ctx.store, request.app[STAFF_THROTTLE], _run_kdf(request),
                                          fields.get("username", ""), fields.get("password", ""),
                                          fields.get("totp", ""))
    except staff.StaffLoginFailed:
        return page(request, "login.html", failed=True, username=fields.get("username", "")[:40])
    session = await request.app[STAFF_SESSIONS].create(member.id)
    response = redirect(request, "/staff/password" if member.must_change else "/staff")
    set_cookie(request, response, STAFF_COOKIE, session.sid)
    raise response


async def logout(request: web.Request) -> web.Response:
    """End the session on any POST, token or not: the cookie is SameSite=Strict, so no
    other site can send it, and a logout that deletes the cookie but keeps the
    session alive would leave it usable by whoever copied the cookie."""
    member = await current_member(request)
    await request.app[STAFF_SESSIONS].end(request.cookies.get(STAFF_COOKIE))
    if member is not None:
        await _ctx(request).store.audit((_ctx(request).store.today(), member.username, None, "logout"))
    response = redirect(request, "/staff/login")
    response.del_cookie(STAFF_COOKIE, path="/")
    raise response


async def password_form(request: web.Request) -> web.Response:
    member = await require_member(request, allow_must_change=True)
    return page(request, "password.html", error=None, forced=member.must_change)


async def password(request: web.Request) -> web.Response:
    member = await require_member(request, allow_must_change=True)
    fields = await checked_form(request)
    try:
        await staff.change_password(_ctx(request).store, _run_kdf(request), member, fields.get("old", ""),
                                    fields.get("new", ""), fields.get("confirm", ""))
    except staff.StaffInputError as exc:
        return page(request, "password.html", status=400, error=exc.text(lang_of(request)), forced=member.must_change)
    # Whoever may have learnt the old password loses the sessions it opened.
    await request.app[STAFF_SESSIONS].end_for(member.id, keep=request.cookies.get(STAFF_COOKIE))
    raise redirect(request, "/staff")


async def _rows(request: web.Request) -> list[staff.CaseRow]:
    c = _ctx(request).config
    return await staff.case_rows(_ctx(request).store, date.fromisoformat(_ctx(request).store.today()),
                                 acknowledge_working_days=c.acknowledge_working_days, feedback_days=c.feedback_days,
                                 calendar=_ctx(request).calendar.current())


async def dashboard(request: web.Request) -> web.Response:
    await require_member(request)
    rows = await _rows(request)
    counts = {s: 0 for s in STATUSES}
    for row in rows:
        counts[row.report.status] = counts.get(row.report.status, 0) + 1
    urgent = staff.sort_by_deadline([r for r in rows if r.deadline and r.deadline.state in ("overdue", "soon")])
    unexported = [r for r in rows if r.unexported]
    alerts = _ctx(request).config.alerts
    calendar = _ctx(request).calendar.current()
    upcoming = calendar.upcoming(date.fromisoformat(_ctx(request).store.today()), count=5, within_days=60)
    return page(request, "dashboard.html", counts=counts, urgent=urgent, unexported=unexported, total=len(rows),
                alerts=alerts, alert_state=await _ctx(request).store.alert_state() if alerts else None,
                calendar=calendar, calendar_error=_ctx(request).calendar.error, upcoming_days_off=upcoming)


async def reports(request: web.Request) -> web.Response:
    await require_member(request)
    wanted = request.query.get("status", "")
    rows = await _rows(request)
    if wanted in STATUSES:
        rows = [r for r in rows if r.report.status == wanted]
    return page(request, "reports.html", rows=staff.sort_by_deadline(rows), wanted=wanted)


async def report(request: web.Request) -> web.Response:
    await require_member(request)
    return await _report_page(request)


async def _report_page(request: web.Request, *, status: int = 200, error: str | None = None,
                       notice: str | None = None, confirm: str | None = None) -> web.Response:
    ctx = _ctx(request)
    code = request.match_info["code"]
    found = await ctx.store.report(code)
    if found is None:
        raise NotFound()
    row = next(r for r in await _rows(request) if r.report.code == code)
    return page(request, "report.html", status=status, row=row, history=await ctx.store.status_history(code),
                items=await ctx.store.items_of_report(code), next_statuses=staff.allowed_next(found.status),
                error=error, notice=notice or (N_("Saved.") if request.query.get("done") else None),
                confirm=confirm)


async def set_status(request: web.Request) -> web.Response:
    """Two steps, no script: the chosen status first comes back as a question on the
    report's page; only the answer, which names the status it was asked in, changes it."""
    member = await require_member(request)
    fields = await checked_form(request)
    code = request.match_info["code"]
    status = fields.get("status", "")
    confirmed_from = fields.get("confirm_from")
    try:
        if confirmed_from is None:
            found = await _ctx(request).store.report(code)
            if found is None:
                raise NotFound()
            staff.check_transition(found, status)
            return await _report_page(request, confirm=status)
        await staff.change_status(_ctx(request).store, member, code, status, confirmed_from=confirmed_from)
    except staff.StaffInputError as exc:
        return await _report_page(request, status=400, error=exc.text(lang_of(request)))
    raise redirect(request, f"/staff/reports/{code}?done=1")


async def reply(request: web.Request) -> web.Response:
    member = await require_member(request)
    fields = await checked_form(request)
    ctx = _ctx(request)
    code = request.match_info["code"]
    body = fields.get("body", "")
    if len(body) > ctx.config.max_text_chars:
        raise PayloadTooLarge()
    try:
        await staff.reply_online(ctx.store, ctx.blobs, ctx.run_io, ctx.keys.require(), member, code, body)
    except staff.StaffInputError as exc:
        return await _report_page(request, status=400, error=exc.text(lang_of(request)))
    raise redirect(request, f"/staff/reports/{code}?done=1")


class _ResponseWriter(io.RawIOBase):
    """A write-only file for a thread, feeding an aiohttp response on the loop."""

    def __init__(self, response: web.StreamResponse, loop: asyncio.AbstractEventLoop) -> None:
        self._response = response
        self._loop = loop

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def,override]
        data = bytes(data)
        asyncio.run_coroutine_threadsafe(self._response.write(data), self._loop).result()
        return len(data)


async def export(request: web.Request) -> web.StreamResponse:
    """Stream a bundle: ?report=CODE (repeatable), ?all=1, or what no export carried yet.

    Everything is checked before the response starts: once the first byte is
    out, a refusal could only cut the ZIP short of its manifest.
    """
    member = await require_member(request)
    ctx = _ctx(request)
    keys = ctx.keys.current()
    org_key_ids = [k.key_id for k in keys.active] if keys else []
    try:
        reports = await plan_export(ctx.store, ctx.blobs, codes=request.query.getall("report", []),
                                    everything=request.query.get("all") == "1", org_key_ids=org_key_ids)
    except FormatError:
        raise BadRequest() from None
    response = web.StreamResponse(headers={
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="wbs-export-{_ctx(request).store.today()}.zip"',
    })
    await response.prepare(request)
    writer = _ResponseWriter(response, asyncio.get_running_loop())
    try:
        await write_export(ctx.store, writer, reports, org_key_ids=org_key_ids, actor=member.username)
    except Exception as exc:
        # Past the first byte no error page can follow: cut the connection, so the
        # download fails visibly instead of ending as a ZIP that looks whole.
        log.error("export stopped after it began: %s", type(exc).__name__)
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response


async def import_form(request: web.Request) -> web.Response:
    await require_member(request)
    return page(request, "import.html", error=None, result=None)


async def _read_import_form(request: web.Request) -> tuple[str, bytes | None]:
    """The CSRF token and the bundle's bytes, each bounded, from at most a few parts."""
    reader = await request.multipart()
    data = None
    token = ""
    parts = 0
    while (part := await reader.next()) is not None:
        parts += 1
        if parts > MAX_IMPORT_PARTS or not isinstance(part, BodyPartReader):
            raise BadRequest()
        if part.name == "csrf_token":
            raw = bytearray()
            while chunk := await part.read_chunk(1024):
                raw += chunk
                if len(raw) > 1024:
                    raise BadRequest()
            token = raw.decode("utf-8", "replace")
        elif part.name == "bundle":
            if not check_csrf(request, token):
                raise CsrfError()
            buf = bytearray()
            while chunk := await part.read_chunk(1024 * 1024):
                buf += chunk
                if len(buf) > MAX_BUNDLE_UPLOAD:
                    raise PayloadTooLarge()
            data = bytes(buf)
        else:
            raise BadRequest()
    return token, data


async def import_bundle(request: web.Request) -> web.Response:
    member = await require_member(request)
    ctx = _ctx(request)
    if not request.content_type.startswith("multipart/form-data"):
        raise BadRequest()
    try:
        token, data = await _read_import_form(request)
    except (ValueError, HttpProcessingError):  # aiohttp's word for a malformed body
        raise BadRequest() from None
    if data is None or not check_csrf(request, token):
        raise CsrfError() if data is not None else BadRequest()
    try:
        result = await staff.import_reply_bundle(ctx.store, ctx.blobs, ctx.run_io, ctx.keys.current(), data,
                                                 member.username)
    except staff.BundleRejected as exc:
        return page(request, "import.html", status=400, error=exc.text(lang_of(request)), result=None)
    return page(request, "import.html", error=None, result=result)


async def users(request: web.Request) -> web.Response:
    await require_member(request, admin=True)
    return page(request, "users.html", members=await _ctx(request).store.all_staff(), shown=None, error=None)


async def users_action(request: web.Request) -> web.Response:
    member = await require_member(request, admin=True)
    fields = await checked_form(request)
    ctx = _ctx(request)
    action = fields.get("action", "")
    day = ctx.store.today()
    shown = error = None
    try:
        if action == "add":
            new, password = await staff.create_staff(ctx.store, fields.get("username", ""), fields.get("role", ""),
                                                     actor=member.username)
            shown = (new.username, password, staff.totp_uri(new, ctx.config.instance_name))
        else:
            target = await ctx.store.staff_by_id(fields.get("user", ""))
            if target is None:
                raise NotFound()
            if target.id == member.id:
                raise staff.StaffInputError(N_("You cannot change your own account here."))
            if action in ("disable", "enable"):
                await ctx.store.update_staff(target.id, [(day, member.username, None, f"user_{action}:{target.username}")],
                                             disabled=action == "disable")
                await request.app[STAFF_SESSIONS].end_for(target.id)
            elif action == "reset":
                password = staff.new_password()
                secret = staff.new_totp_secret()
                await ctx.store.update_staff(
                    target.id, [(day, member.username, None, f"user_reset:{target.username}")],
                    password_hash=await _run_kdf(request)(staff.hash_password, password), totp_secret=secret,
                    totp_last_step=0, must_change=True,
                )
                await request.app[STAFF_SESSIONS].end_for(target.id)
                updated = await ctx.store.staff_by_id(target.id)
                shown = (target.username, password, staff.totp_uri(updated, ctx.config.instance_name))
            else:
                raise BadRequest()
    except staff.StaffInputError as exc:
        error = exc.text(lang_of(request))
    return page(request, "users.html", status=400 if error else 200, members=await ctx.store.all_staff(),
                shown=shown, error=error)


async def audit(request: web.Request) -> web.Response:
    """The audit log, newest first, a page at a time; ``?before=N`` goes further back."""
    await require_member(request, admin=True)
    raw = request.query.get("before", "")
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if raw and before is None:
        raise BadRequest()
    rows, older = await _ctx(request).store.audit_page(limit=AUDIT_PAGE_ROWS, before=before)
    lang = lang_of(request)
    lines = [{"day": r["day"], "actor": actor_label(lang, r["actor"]), "text": describe(lang, r["action"], r["detail"]),
              "report_code": r["report_code"]} for r in rows]
    return page(request, "audit.html", lines=lines, older=older, first_page=before is None)


async def statistics(request: web.Request) -> web.Response:
    await require_member(request)
    result = await staff.stats(_ctx(request).store)
    if request.path.endswith(".csv"):
        return web.Response(text=staff.stats_csv(result), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="wbs-stats.csv"'})
    return page(request, "stats.html", stats=result)
