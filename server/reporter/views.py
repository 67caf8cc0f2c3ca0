"""Reporter pages. Each view reads the request, calls one service, renders one template."""

from __future__ import annotations

from aiohttp import web

from locales import N_

from server.appkeys import CIRCUIT, CONTEXT, SESSION
from server.defences.sessions import SESSION_COOKIE
from server.errors import BadRequest, Busy, CsrfError, DiskFull, FormNotStored, PayloadTooLarge, TooManyAttempts
from server.operations import retention
from server.reporter import reporting
from server.reporter.forms import MAX_PERSONS, message_field_limits, report_field_limits, validate_message, validate_report
from server.reporter.intake import Intake, Limits, boundary_of
from server.web import (check_csrf, csrf_expected, lang_of, page_path, read_small_form, redirect, render, session_of,
                  set_cookie)


def _org_info(request: web.Request):  # type: ignore[no-untyped-def]
    return request.app[CONTEXT].keys.current()


LOGIN_REQUIRED = "/login?next=required"
LOGGED_OUT = "/?out=1"


async def home(request: web.Request) -> web.Response:
    logged_out = request.query.get("out") == "1"
    return render(request, "reporter/home.html", org=_org_info(request), logged_out=logged_out)


async def criteria(request: web.Request) -> web.Response:
    return render(request, "reporter/criteria.html")


async def org_key(request: web.Request) -> web.Response:
    org = _org_info(request)
    if request.query.get("format") == "json" and org is not None:
        data = request.app[CONTEXT].folder.public_keys.read_bytes()
        return web.Response(body=data, content_type="application/json",
                            headers={"Content-Disposition": 'attachment; filename="org.pub.json"'})
    return render(request, "reporter/org_key.html", org=org)


def _form_page(request: web.Request, *, form=None, status: int = 200, files_lost: bool = False,  # type: ignore[no-untyped-def]
               notice: str | None = None):
    ctx = request.app[CONTEXT]
    ctx.keys.require()
    return render(
        request,
        "reporter/submit.html",
        status=status,
        form=form,
        files_lost=files_lost,
        notice=notice,
        persons=range(1, MAX_PERSONS + 1),
        action=page_path(request),
    )


async def submit_form(request: web.Request) -> web.Response:
    if request.path.startswith("/mailbox") and session_of(request) is None:
        raise redirect(request, LOGIN_REQUIRED)
    return _form_page(request)


def _limits(request: web.Request, text: dict[str, int]) -> Limits:
    c = request.app[CONTEXT].config
    return Limits(text=text, file_field="attachments", max_file_bytes=c.max_file_bytes,
                  max_total_bytes=c.max_report_bytes, max_files=c.max_files)


async def _intake(request: web.Request, text_limits: dict[str, int]):  # type: ignore[no-untyped-def]
    """Read an upload form; without room on the disk, ``FormNotStored`` holds its text."""
    ctx = request.app[CONTEXT]
    org = ctx.keys.require()
    length = request.content_length
    if length is not None and length > ctx.config.max_report_bytes + 1024 * 1024:
        raise PayloadTooLarge()
    if not request.content_type.startswith("multipart/form-data"):
        raise BadRequest()
    intake = Intake(
        blobs=ctx.blobs,
        io=ctx.io,
        seal=ctx.seal,
        recipients=[k.enc_pk for k in org.active],
        limits=_limits(request, text_limits),
        csrf_expected=csrf_expected(request),
        pace=ctx.pace,
        has_room=lambda incoming: reporting.has_free_space(ctx, incoming),
    )
    boundary = boundary_of(request.headers.get("Content-Type", ""))
    return intake, await intake.read(request.content, boundary, expected=length or 0)


def _typed_report(request: web.Request, values: dict[str, str]):  # type: ignore[no-untyped-def]
    """The text of a form that could not be stored, to fill the form again (no error marks)."""
    form = validate_report(values, request.app[CONTEXT].config)
    form.errors.clear()
    return form


async def submit(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    session = session_of(request)
    if request.path.startswith("/mailbox") and session is None:
        raise redirect(request, LOGIN_REQUIRED)
    with ctx.uploads.hold():
        try:
            intake, data = await _intake(request, report_field_limits(ctx.config))
        except FormNotStored as lost:
            return _form_page(request, form=_typed_report(request, lost.values), status=507,
                              files_lost=lost.had_files, notice=DiskFull.message_key)
        form = validate_report(data.values, ctx.config)
        if not form.ok:
            files_lost = bool(data.files)
            await intake.discard()
            return _form_page(request, form=form, status=400, files_lost=files_lost)
        try:
            receipt = await reporting.submit_report(ctx, form, data.files, lang_of(request), session,
                                                    request.get(CIRCUIT))
        except (DiskFull, Busy, TooManyAttempts) as refused:
            # Nothing was stored: the form again, with what was typed.
            files_lost = bool(data.files)
            await intake.discard()
            response = _form_page(request, form=form, status=refused.status, files_lost=files_lost,
                                  notice=refused.message_key)
            if refused.status == 503:
                response.headers["Retry-After"] = "10"
            return response
        except BaseException:
            await intake.discard()
            raise
    return render(request, "reporter/submitted.html", receipt=receipt)


async def login_form(request: web.Request) -> web.Response:
    required = request.query.get("next") == "required"
    notice = N_("Please log in first with your codename and passphrase.") if required else None
    return render(request, "reporter/login.html", failed=False, codename="", notice=notice)


async def login(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    fields = await read_small_form(request)
    if not check_csrf(request, fields.get("csrf_token", "")):
        raise CsrfError()
    codename = fields.get("codename", "")
    try:
        session = await reporting.login(ctx, codename, fields.get("passphrase", ""), request.get(CIRCUIT))
    except reporting.LoginFailed:
        return render(request, "reporter/login.html", status=200, failed=True, codename=codename[:64], notice=None)
    await ctx.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect(request, "/mailbox")
    set_cookie(request, response, SESSION_COOKIE, session.sid)
    raise response


def _require_session(request: web.Request):  # type: ignore[no-untyped-def]
    session = session_of(request)
    if session is None:
        raise redirect(request, LOGIN_REQUIRED)
    return session


async def mailbox(request: web.Request) -> web.Response:
    session = _require_session(request)
    rows = await reporting.mailbox(request.app[CONTEXT], session)
    return render(request, "reporter/mailbox.html", rows=rows)


async def case(request: web.Request) -> web.Response:
    session = _require_session(request)
    case = await reporting.load_case(request.app[CONTEXT], session, request.match_info["code"])
    await reporting.mark_case_seen(request.app[CONTEXT], case)
    sent = request.query.get("sent") == "1"
    return render(request, "reporter/case.html", case=case, sent=sent, form=None, files_lost=False, notice=None)


async def _message_again(request: web.Request, code: str, form, status: int, files_lost: bool,  # type: ignore[no-untyped-def]
                         notice: str | None = None) -> web.Response:
    """The case page with the message form filled again, after a refusal."""
    ctx = request.app[CONTEXT]
    case = await reporting.load_case(ctx, _require_session(request), code)
    return render(request, "reporter/case.html", status=status, case=case, sent=False, form=form,
                  files_lost=files_lost, notice=notice)


async def message(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    session = _require_session(request)
    code = request.match_info["code"]
    await reporting.own_report(ctx, session, code)
    with ctx.uploads.hold():
        try:
            intake, data = await _intake(request, message_field_limits(ctx.config))
        except FormNotStored as lost:
            form = validate_message(lost.values, ctx.config, has_files=True)
            return await _message_again(request, code, form, 507, lost.had_files, DiskFull.message_key)
        form = validate_message(data.values, ctx.config, has_files=bool(data.files))
        if not form.ok:
            files_lost = bool(data.files)
            await intake.discard()
            return await _message_again(request, code, form, 400, files_lost)
        try:
            await reporting.add_message(ctx, session, code, form.get("body"), data.files)
        except DiskFull:
            files_lost = bool(data.files)
            await intake.discard()
            return await _message_again(request, code, form, 507, files_lost, DiskFull.message_key)
        except BaseException:
            await intake.discard()
            raise
    raise redirect(request, f"/mailbox/reports/{code}?sent=1#thread")


async def logout(request: web.Request) -> web.Response:
    """End the session on any POST, token or not: the cookie is SameSite=Strict, and a
    logout that only deleted the cookie would leave a copied cookie working."""
    await request.app[CONTEXT].sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect(request, LOGGED_OUT)
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def delete_form(request: web.Request) -> web.Response:
    _require_session(request)
    return render(request, "reporter/delete.html", error=False)


async def delete_account(request: web.Request) -> web.Response:
    """The reporter deletes their own account, after ticking a confirmation."""
    session = _require_session(request)
    fields = await read_small_form(request)
    if not check_csrf(request, fields.get("csrf_token", "")):
        raise CsrfError()
    if fields.get("confirm") != "1":
        return render(request, "reporter/delete.html", status=400, error=True)
    ctx = request.app[CONTEXT]
    await retention.delete_account(ctx.store, ctx.blobs, session.account_id)
    await ctx.sessions.end(session.sid)
    request[SESSION] = None
    response = render(request, "reporter/deleted.html")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
