"""The desk's pages. Thin: the work is done by the same functions as the commands."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import AsyncIterator
from urllib.parse import quote

from aiohttp import web

from crypto.errors import FormatError
from crypto.items import check_report_code
from crypto.keyring import Keyring

from locales import N_

from ..cases import Case, CasesFolder, ItemRecord
from ..cleaned import clean_attachment, read_cleaned
from ..deadlines import case_deadlines
from ..errors import KeytoolsError, UsageError
from ..files import write_new_file
from ..keyfile import read_keyring_file, unlock_keyring
from ..labels import STATUS_KEYS, bilingual, flag_level
from ..notes import add_note
from ..opener import OpenSummary, open_bundle
from ..outbox import Outbox, TakenBundle
from ..passphrase import read_passphrase
from ..reader import case_view, render_reader
from ..replies import ReplyRequest, clean_message, queue_replies
from .appkeys import RING, STATE, WORK
from .errors import BadRequest, Busy, NotFound
from .frame import SESSION_COOKIE, Handler, keyring, read_form, redirect, render, set_cookie
from .seen import SeenItems
from .uploads import receive_bundle, upload_file

MAX_PASSPHRASE_CHARS = 1024
MAX_REPLY_FORM = 512 * 1024  # 20,000 characters, each up to 4 UTF-8 bytes, each byte up to 3 when urlencoded
MAX_SEARCH_CHARS = 40
BUSY_KEEPS_TEXT = bilingual(N_("The desk is busy (importing, say); your text is still below: send it again in a "
                                "moment."))
NOTE_REFUSED = bilingual(N_("The note is empty or longer than 20,000 characters; your text is still below."))


def _folder(request: web.Request) -> CasesFolder:
    return CasesFolder(request.app[STATE].config.cases)


@asynccontextmanager
async def _work(request: web.Request) -> AsyncIterator[None]:
    """One import, reply or bundle at a time; another gets a quick 'busy' instead of waiting."""
    lock = request.app[WORK]
    if lock.locked():
        raise Busy()
    async with lock:
        yield


# -- unlock and lock ---------------------------------------------------------

async def unlock_form(request: web.Request) -> web.StreamResponse:
    if request[RING] is not None:
        raise redirect(request, "/")
    return render(request, "unlock.html", failed=False)


async def unlock(request: web.Request) -> web.StreamResponse:
    form = await read_form(request, limit=4 * MAX_PASSPHRASE_CHARS * 3)
    passphrase = form.get("passphrase", "")
    if len(passphrase) > MAX_PASSPHRASE_CHARS:
        raise BadRequest(bilingual(N_("The passphrase is too long.")))
    state = request.app[STATE]
    if state.unlocking:
        raise Busy()
    state.unlocking = True
    try:
        if not passphrase and state.config.passphrase_file is not None:
            passphrase = await asyncio.to_thread(read_passphrase, state.config.passphrase_file)
        data = await asyncio.to_thread(read_keyring_file, state.config.keyring)
        try:
            ring = await asyncio.to_thread(unlock_keyring, data, passphrase)  # Argon2id: seconds
        except KeytoolsError:
            return render(request, "unlock.html", status=400, failed=True)
    finally:
        state.unlocking = False
    response = redirect(request, "/")
    set_cookie(response, SESSION_COOKIE, state.unlocked(ring))
    raise response


async def lock(request: web.Request) -> web.StreamResponse:
    await read_form(request)
    request.app[STATE].lock()
    response = redirect(request, "/unlock")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# -- the cases ---------------------------------------------------------------

@dataclass(frozen=True)
class CaseRow:
    case: Case
    ack_due: date | None
    due: date | None
    overdue: bool
    new: int
    warnings: int
    last_activity: str

    @property
    def code(self) -> str:
        return self.case.report_code


def _rows(folder: CasesFolder, query: str, today: date) -> list[CaseRow]:
    cases = [c for c in folder.cases() if query in c.report_code]
    new = SeenItems(folder).new_counts(cases)
    rows = []
    for case in cases:
        deadlines = case_deadlines(case)
        warnings = len(case.warnings) + sum(
            1 for r in case.items.values() for f in r.flags if flag_level(f["code"]) == "warn")
        activity = max([r.sent_at or r.created_day for r in case.items.values()] + [case.created_day])
        rows.append(CaseRow(case, deadlines.acknowledge, deadlines.feedback, deadlines.overdue(today),
                            new[case.report_code], warnings, activity))
    rows.sort(key=lambda r: (r.last_activity, r.code), reverse=True)
    return rows


async def index(request: web.Request) -> web.StreamResponse:
    query = "".join(request.query.get("q", "").split()).upper()[:MAX_SEARCH_CHARS]
    folder = _folder(request)
    rows = await asyncio.to_thread(_rows, folder, query, date.today())
    pending = len(await asyncio.to_thread(Outbox(folder).pending))
    return render(request, "index.html", rows=rows, query=query, pending=pending)


def _case(folder: CasesFolder, code: str) -> Case:
    try:
        check_report_code(code)
    except FormatError:
        raise NotFound(bilingual(N_("There is no such case on this computer."))) from None
    case = folder.load_case(code)
    if case is None:
        raise NotFound(bilingual(N_("There is no such case on this computer.")),
                       hint=bilingual(N_("Import an export bundle that holds it first.")))
    return case


def _case_page(request: web.Request, folder: CasesFolder, case: Case, *, status: int = 200, body: str = "",
               chosen: str = "", error: str | None = None, note: str = "",
               note_error: str | None = None) -> web.Response:
    """The case; after a refused reply or note, with the typed text back in its field."""
    seen = SeenItems(folder)
    view = case_view(folder, case, date.today())
    new = seen.new_items(case)
    seen.visited(case)
    return render(request, "case.html", status=status, view=view, new=new, body=body, chosen=chosen, error=error,
                  note=note, note_error=note_error)


async def case_page(request: web.Request) -> web.StreamResponse:
    folder = _folder(request)
    case = await asyncio.to_thread(_case, folder, request.match_info["code"])
    return await asyncio.to_thread(_case_page, request, folder, case)


def _download_name(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


async def attachment(request: web.Request) -> web.StreamResponse:
    folder = _folder(request)
    case = await asyncio.to_thread(_case, folder, request.match_info["code"])
    record = _attachment_record(case, request.match_info["item_id"])
    return _file_response(folder.case_dir(case.report_code) / record.file)  # record.file is checked in case.json


def _file_response(path: Path) -> web.FileResponse:
    """A download, never shown in the page: no type sniffing, a sandbox if it were opened."""
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": _download_name(path.name),
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })


def _attachment_record(case: Case, item_id: str) -> ItemRecord:
    record = case.items.get(item_id)
    if record is None or record.kind != "attachment":
        raise NotFound(bilingual(N_("There is no such attachment.")))
    return record


async def cleaned_copy(request: web.Request) -> web.StreamResponse:
    folder = _folder(request)
    case = await asyncio.to_thread(_case, folder, request.match_info["code"])
    copy = (await asyncio.to_thread(read_cleaned, folder, case.report_code)).get(request.match_info["item_id"])
    if copy is None:
        raise NotFound(bilingual(N_("This cleaned copy has not been made.")))
    return _file_response(folder.case_dir(case.report_code) / copy.file)


async def clean(request: web.Request) -> web.StreamResponse:
    folder = _folder(request)
    case = await asyncio.to_thread(_case, folder, request.match_info["code"])
    record = _attachment_record(case, request.match_info["item_id"])
    await read_form(request)
    async with _work(request):
        await asyncio.to_thread(clean_attachment, folder, case, record, day=date.today().isoformat())
        await asyncio.to_thread(render_reader, folder)
    raise redirect(request, f"/cases/{case.report_code}#report")


async def reply(request: web.Request) -> web.StreamResponse:
    ring = keyring(request)
    folder = _folder(request)
    case = await asyncio.to_thread(_case, folder, request.match_info["code"])
    form = await read_form(request, limit=MAX_REPLY_FORM)
    body, chosen = form.get("body", ""), form.get("status", "")
    if chosen and chosen not in STATUS_KEYS:
        raise BadRequest()
    try:
        text = clean_message(body)
    except KeytoolsError:
        error = (bilingual(N_("The reply is empty or longer than 20,000 characters; your text is still below.")))
        return await asyncio.to_thread(_case_page, request, folder, case, status=400, body=body, chosen=chosen,
                                       error=error)
    try:
        async with _work(request):
            written = await asyncio.to_thread(queue_replies, [ReplyRequest(case.report_code, text, chosen or None)],
                                              ring, folder)
            await asyncio.to_thread(render_reader, folder)
    except Busy:
        return await asyncio.to_thread(_case_page, request, folder, case, status=Busy.status, body=body,
                                       chosen=chosen, error=BUSY_KEEPS_TEXT)
    raise redirect(request, f"/cases/{case.report_code}#item-{written[0].entry.item_id}")


async def note(request: web.Request) -> web.StreamResponse:
    folder = _folder(request)
    case = await asyncio.to_thread(_case, folder, request.match_info["code"])
    form = await read_form(request, limit=MAX_REPLY_FORM)
    text = form.get("text", "")
    try:
        async with _work(request):
            await asyncio.to_thread(add_note, folder, case.report_code, text, day=date.today().isoformat())
            await asyncio.to_thread(render_reader, folder)
    except UsageError:
        return await asyncio.to_thread(_case_page, request, folder, case, status=400, note=text,
                                       note_error=NOTE_REFUSED)
    except Busy:
        return await asyncio.to_thread(_case_page, request, folder, case, status=Busy.status, note=text,
                                       note_error=BUSY_KEEPS_TEXT)
    raise redirect(request, f"/cases/{case.report_code}#notes")


# -- import ------------------------------------------------------------------

def _inbox(request: web.Request) -> list[str]:
    inbox = request.app[STATE].config.inbox
    if inbox is None or not inbox.is_dir():
        return []
    return sorted(p.name for p in inbox.iterdir() if p.suffix.lower() == ".zip" and p.is_file())


async def import_form(request: web.Request) -> web.StreamResponse:
    return render(request, "import.html", inbox=await asyncio.to_thread(_inbox, request))


def _open(path: Path, request: web.Request) -> OpenSummary:
    folder = _folder(request)
    summary = open_bundle(path, request[RING], folder)
    render_reader(folder)
    return summary


async def import_upload(request: web.Request) -> web.StreamResponse:
    keyring(request)
    async with _work(request):
        with upload_file(_folder(request).root) as path:
            await receive_bundle(request, path)
            summary = await asyncio.to_thread(_open, path, request)
    return render(request, "imported.html", summary=summary)


async def import_inbox(request: web.Request) -> web.StreamResponse:
    keyring(request)
    form = await read_form(request)
    name = form.get("name", "")
    if name not in await asyncio.to_thread(_inbox, request):
        raise NotFound(bilingual(N_("This file is not in the inbox folder.")))
    async with _work(request):
        summary = await asyncio.to_thread(_open, request.app[STATE].config.inbox / name, request)
    return render(request, "imported.html", summary=summary)


# -- the outbox --------------------------------------------------------------

async def replies(request: web.Request) -> web.StreamResponse:
    entries = await asyncio.to_thread(Outbox(_folder(request)).entries)
    return render(request, "replies.html", pending=[e for e in entries if e.taken_day is None],
                  taken=[e for e in entries if e.taken_day is not None][::-1], written_to=None, nothing=False)


def _take(folder: CasesFolder, ring: Keyring, outbox_dir: Path | None) -> TakenBundle | None:
    with folder.locked():
        outbox = Outbox(folder)
        taken = outbox.bundle(ring)
        if taken is None:
            return None
        if outbox_dir is not None:
            write_new_file(outbox_dir / taken.name, taken.data)
        outbox.mark_taken(taken)
        return taken


async def reply_bundle(request: web.Request) -> web.StreamResponse:
    ring = keyring(request)
    outbox_dir = request.app[STATE].config.outbox
    async with _work(request):
        taken = await asyncio.to_thread(_take, _folder(request), ring, outbox_dir)
    if taken is None:
        return render(request, "replies.html", pending=[], taken=[], written_to=None, nothing=True)
    if outbox_dir is not None:
        return render(request, "replies.html", pending=[], taken=taken.entries, written_to=outbox_dir / taken.name,
                      nothing=False)
    return web.Response(body=taken.data, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{taken.name}"',
    })


def stylesheet(path: Traversable) -> Handler:
    """The site's stylesheet and the desk's own, read once, served from memory."""
    css = path.read_bytes()

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=css, content_type="text/css", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    return serve
