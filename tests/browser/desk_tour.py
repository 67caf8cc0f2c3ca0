"""Every page of the keyholder desk, in every state a keyholder can bring it to, fetched
over plain HTTP from a real ``wbs-keytools desk`` (for the Nu checker; the accessibility
test walks the same states in a browser)."""

from __future__ import annotations

import json
from pathlib import Path

from harness import FileField
from tour import Page

from desk_support import png_with_author, start_desk, unlock
from test_keytools_support import PASSPHRASE, PLAIN_FIELDS, Attachment, Case, write_cheap_keyring, write_export

CODE = "WBS-AB2CD-EF3GH"


def desk_fixture(tmp: Path) -> tuple[Path, Path, Path]:
    """A cheap keyring, an inbox holding one good and one damaged export, an outbox folder."""
    key, _, ring = write_cheap_keyring(tmp / "keyholder")
    inbox, outbox = tmp / "masuk", tmp / "keluar"
    inbox.mkdir()
    outbox.mkdir()
    case = Case(CODE, dict(PLAIN_FIELDS, identity="Pegawai bagian umum"),
                attachments=[Attachment("kuitansi.pdf", b"%PDF kuitansi"),
                             Attachment("foto.png", png_with_author(b"I Made Pelapor"), "image/png")],
                messages=[("Ini tambahan keterangan.", [Attachment("foto.jpg", b"\xff\xd8 foto")])])
    write_export(inbox / "ekspor.zip", ring, [case])
    damaged = bytearray((inbox / "ekspor.zip").read_bytes())
    damaged[len(damaged) // 3] ^= 1
    (inbox / "rusak.zip").write_bytes(bytes(damaged))
    return key, inbox, outbox


def attachment_id(cases: Path, filename: str) -> str:
    meta = json.loads((cases / CODE / "case.json").read_text())
    return next(i["item_id"] for i in meta["items"] if i.get("filename") == filename)


def require_mat2() -> None:
    from keytools.cleaned import mat2_command
    from skips import skip_or_fail

    if mat2_command() is None:
        skip_or_fail("mat2 is missing: apt-get install mat2 (.ci/run installs it)")


def desk_pages(tmp: Path) -> list[Page]:
    require_mat2()
    key, inbox, outbox = desk_fixture(tmp)
    desk = start_desk(tmp, key, tmp / "kasus", "--inbox", inbox, "--outbox", outbox)
    pages: list[Page] = []
    client = desk.client()

    def keep(name: str, path: str, response, expect: int = 200) -> None:
        assert response.status == expect, (name, response.status, response.text[:500])
        pages.append(Page(name, False, path, response.status, response.text))

    try:
        keep("unlock", "/unlock", client.get("/unlock"))
        keep("unlock-failed", "/unlock", unlock(client, "bukan frasa sandinya"), 400)
        unlock(client, PASSPHRASE)
        keep("cases-empty", "/", client.get("/"))
        form = client.get("/import")
        keep("import", "/import", form)
        keep("import-damaged", "/import/inbox",
             client.post("/import/inbox", {"csrf_token": form.csrf, "name": "rusak.zip"}), 400)
        keep("imported", "/import/inbox", client.post("/import/inbox", {"csrf_token": form.csrf, "name": "ekspor.zip"}))
        keep("import-upload-empty", "/import", client.post_multipart(
            "/import", [("csrf_token", form.csrf), ("bundle", FileField("kosong.zip", b""))]), 400)
        keep("cases", "/", client.get("/"))
        keep("cases-search-none", "/?q=ZZZZ", client.get("/?q=ZZZZ"))
        keep("case", f"/cases/{CODE}", client.get(f"/cases/{CODE}"))
        for name, expect in (("kuitansi.pdf", 400), ("foto.png", 303)):  # a broken PDF mat2 refuses; a photo
            done = client.post(f"/cases/{CODE}/files/{attachment_id(tmp / 'kasus', name)}/clean",
                               {"csrf_token": form.csrf})
            assert done.status == expect, (name, done.status)
            if expect == 400:
                keep("case-clean-refused", "/clean", done, 400)
        keep("case-cleaned", f"/cases/{CODE}", client.get(f"/cases/{CODE}"))
        keep("case-reply-error", f"/cases/{CODE}",
             client.post(f"/cases/{CODE}/reply", {"csrf_token": form.csrf, "body": "  "}), 400)
        client.post(f"/cases/{CODE}/reply", {"csrf_token": form.csrf, "body": "Terima kasih.", "status": "verification"})
        keep("case-replied", f"/cases/{CODE}", client.get(f"/cases/{CODE}"))
        keep("replies", "/replies", client.get("/replies"))
        keep("replies-written", "/replies/bundle", client.get("/replies/bundle"))
        keep("replies-nothing", "/replies/bundle", client.get("/replies/bundle"))
        keep("replies-taken", "/replies", client.get("/replies"))
        keep("case-unknown", "/cases/WBS-AAAAA-AAAAA", client.get("/cases/WBS-AAAAA-AAAAA"), 404)
        keep("not-found", "/tidak-ada", client.get("/tidak-ada"), 404)
    finally:
        desk.stop()
    return pages
