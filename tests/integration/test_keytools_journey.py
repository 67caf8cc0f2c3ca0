"""The keyholders' whole journey against a real server, with the real 256 MiB keyring KDF:
init, install the public key, a report with hostile text and names, ``wbs export``,
``wbs-keytools open``, ``reply``, ``wbs import``, the reporter reads the reply; then
``rotate``, new items sealed to the new generation, and old and new items opened together."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import start_server, wbs
from crypto.envelope import envelope_key_ids
from crypto.export_bundle import ExportBundle
from crypto.keyring import read_keyring
from crypto.keys import parse_public_key_file
from test_keytools_support import ORG, PASSPHRASE, keytools
from test_reporter_journey import login, submit
from wbsclient import FileField, page_text

MARKUP = '<script>alert("x")</script> "><img src=x onerror=alert(1)>'
HOSTILE = {
    "what": f"Pungutan liar {MARKUP}",
    "who": f"Oknum {MARKUP}",
    "where": f"Kantor {MARKUP}",
    "when": f"Oktober {MARKUP}",
    "how": f"Meminta uang {MARKUP}",
    "loss_estimate": f"Rp15 juta {MARKUP}",
    "incident_date": "2026-10-01",  # the server takes only a day here; test_keytools_open puts markup in it
    "evidence_note": f"Kuitansi {MARKUP}",
    "identity": f"Pegawai bagian umum {MARKUP}",
    "person1_name": f"I Made {MARKUP}",
    "person1_position": f"Petugas {MARKUP}",
    "person1_unit": f"Kecamatan {MARKUP}",
}
FILES = {
    "kuitansi.pdf": b"%PDF-1.4 kuitansi palsu\n" + bytes(range(256)) * 300,
    "CON": b"nama perangkat windows",
    ".bashrc": b"alias ls='rm -rf ~'",
    "laporan.html": b"<script>alert(document.cookie)</script>",
    "b" * 240 + ".pdf": b"nama sangat panjang",
}


def key_tools(*args, keyholder: Path):
    return keytools(*args, "--keyring", keyholder / "org.key", "--passphrase-file", keyholder / "pass.txt")


def test_keyholder_journey(tmp_path):
    keyholder = tmp_path / "keyholder"
    keyholder.mkdir()
    (keyholder / "pass.txt").write_text(PASSPHRASE + "\n")
    done = keytools("init", "--keyring", keyholder / "org.key", "--org-name", ORG,
                    "--passphrase-file", keyholder / "pass.txt")
    assert done.returncode == 0, done.stderr
    ring = read_keyring((keyholder / "org.key").read_bytes(), PASSPHRASE)
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server", keyring=ring)
    try:
        journey(tmp_path, keyholder, server)
    finally:
        server.stop()


def journey(tmp_path: Path, keyholder: Path, server) -> None:
    # A reporter sends a report whose every field carries markup, with awkward file names.
    reporter = server.client()
    done = submit(reporter, extra=HOSTILE, files=[FileField(n, d) for n, d in FILES.items()])
    assert done.status == 200, done.text
    codename, passphrase, code = (done.element_text(i) for i in ("codename", "passphrase", "report-code"))

    # Export, carry, open.
    export1 = tmp_path / "export-1.zip"
    wbs("export", "--out", str(export1), "--all", "--config", str(server.config))
    cases = tmp_path / "kasus"
    done = key_tools("open", export1, "--cases", cases, keyholder=keyholder)
    assert done.returncode == 0, done.stderr
    assert f"{len(FILES) + 1} new item(s)" in done.stdout
    folder = cases / code
    report = json.loads((folder / "report.json").read_text())
    for name in ("what", "who", "where", "when", "how", "loss_estimate", "incident_date", "evidence_note", "identity"):
        assert report[name] == HOSTILE[name], name
    assert report["reported_persons"] == [{"name": HOSTILE["person1_name"], "position": HOSTILE["person1_position"],
                                           "unit": HOSTILE["person1_unit"]}]
    meta = json.loads((folder / "case.json").read_text())
    saved = {i["filename"]: folder / i["file"] for i in meta["items"] if i["kind"] == "attachment"}
    assert {n: p.read_bytes() for n, p in saved.items()} == FILES
    assert all(p.parent == folder / "attachments" and not p.name.startswith(".") for p in saved.values())
    assert saved["laporan.html"].name.endswith(".html.txt") and not saved["CON"].name.upper().startswith("CON")

    page = (folder / "index.html").read_text()
    assert "<script" not in page and "<img" not in page and not re.search(r"<[^>]*\son\w+=", page)
    for name in set(HOSTILE) - {"incident_date"}:
        escaped = HOSTILE[name].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
        assert escaped in page, name
    text = page_text(page)
    assert MARKUP in text and "Pungutan liar / Illegal levies" in text
    index = (cases / "index.html").read_text()
    assert code in index and "Diterima / Received" in index

    # Reply with a new status; the server imports it; the reporter reads it.
    (tmp_path / "balasan.txt").write_text("Terima kasih. Laporan Anda kami verifikasi.\n")
    replies1 = tmp_path / "replies-1.wbsr"
    done = key_tools("reply", "--cases", cases, "--report", code, "--message-file", tmp_path / "balasan.txt",
                     "--status", "verification", "--out", replies1, keyholder=keyholder)
    assert done.returncode == 0, done.stderr
    imported = wbs("import", str(replies1), "--config", str(server.config))
    assert "1 new repl(ies)" in imported.stdout and "1 status change(s)" in imported.stdout
    assert login(reporter, codename, passphrase).status == 303
    case_page = reporter.get(f"/mailbox/reports/{code}")
    assert "Terima kasih. Laporan Anda kami verifikasi." in case_page.text and "Verifikasi" in case_page.text

    # Rotation: a new generation; the server installs the new public key file.
    old_key_id = read_keyring((keyholder / "org.key").read_bytes(), PASSPHRASE).newest.key_id
    done = key_tools("rotate", keyholder=keyholder)
    assert done.returncode == 0, done.stderr
    ring = read_keyring((keyholder / "org.key").read_bytes(), PASSPHRASE)
    assert [k.status for k in ring.keys] == ["retired", "active"] and ring.keys[0].key_id == old_key_id
    assert json.loads((keyholder / "org.key").read_bytes())["kdf"]["m_kib"] >= 262144
    pub = parse_public_key_file((keyholder / "org.pub.json").read_bytes())
    assert [k.key_id for k in pub.keys] == [k.key_id for k in ring.keys] and f"New fingerprint: {pub.fingerprint}" in done.stdout
    wbs("keys", "install", str(keyholder / "org.pub.json"), "--config", str(server.config))

    # The reporter writes again: sealed to the new generation only.
    page = reporter.get(f"/mailbox/reports/{code}")
    sent = reporter.post_multipart(f"/mailbox/reports/{code}/messages", [
        ("csrf_token", page.csrf), ("body", "Ini salinan kuitansi kedua."),
        ("attachments", FileField("kuitansi2.pdf", b"%PDF kedua")),
    ])
    assert sent.status == 303
    export2 = tmp_path / "export-2.zip"
    wbs("export", "--out", str(export2), "--config", str(server.config))
    with open(export2, "rb") as src, ExportBundle(src) as bundle:
        items = bundle.reports[0]["items"]
        org_ids = {k.key_id for k in ring.keys}

        def sealed_to(kind):
            [item] = [i for i in items if i["kind"] == kind]
            return set(envelope_key_ids(bundle.read_item(item["item_id"]))) & org_ids

        assert sealed_to("report") == {old_key_id}
        assert sealed_to("message") == {ring.newest.key_id}

    done = key_tools("open", export2, "--cases", cases, keyholder=keyholder)
    assert done.returncode == 0, done.stderr
    assert "Ini salinan kuitansi kedua." in (folder / "index.html").read_text()

    # Everything at once into a fresh folder: items sealed to the old and to the new generation.
    export3 = tmp_path / "export-all.zip"
    wbs("export", "--out", str(export3), "--all", "--config", str(server.config))
    done = key_tools("open", export3, "--cases", tmp_path / "kasus-baru", keyholder=keyholder)
    assert done.returncode == 0, done.stderr
    fresh = json.loads((tmp_path / "kasus-baru" / code / "case.json").read_text())
    kinds = sorted(i["kind"] for i in fresh["items"])
    assert kinds == sorted(["report", "reply", "message"] + ["attachment"] * (len(FILES) + 1))
    [keyholder_reply] = [i for i in fresh["items"] if i["kind"] == "reply"]
    assert keyholder_reply["flags"] == [{"code": "signed", "detail": old_key_id}]

    # A reply signed by the new generation is accepted by the server too.
    (tmp_path / "balasan2.txt").write_text("Kuitansi kedua sudah kami terima.\n")
    done = key_tools("reply", "--cases", cases, "--report", code, "--message-file", tmp_path / "balasan2.txt",
                     "--out", tmp_path / "replies-2.wbsr", keyholder=keyholder)
    assert done.returncode == 0, done.stderr
    imported = wbs("import", str(tmp_path / "replies-2.wbsr"), "--config", str(server.config))
    assert "1 new repl(ies)" in imported.stdout
    assert "Kuitansi kedua sudah kami terima." in reporter.get(f"/mailbox/reports/{code}").text
