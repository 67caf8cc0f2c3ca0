"""The working-day calendar on a real server and workstation: holidays_file, the dashboard, bad files."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import holidays as holidays_package
from conftest import start_server, wbs, write_config
from test_keytools_support import PLAIN_FIELDS, Case, keytools, write_cheap_keyring, write_export
from test_reporter_journey import submit
from test_staff import Staff

from server.i18n import long_date

LOCAL_DAY = "Libur Inspektorat Klungkung"


def write_holidays(path: Path, *days: tuple[date, str]) -> Path:
    path.write_text("".join(f'[[holiday]]\ndate = {d.isoformat()}\nname = "{name}"\n\n' for d, name in days),
                    encoding="utf-8")
    return path


def test_dashboard_shows_the_calendar_and_deadlines_skip_the_local_day_and_galungan(tmp_path):
    # Two days ahead in UTC is one or two days ahead in WITA: among the next five days off, whatever today is.
    soon = datetime.now(timezone.utc).date() + timedelta(days=2)
    holidays = write_holidays(tmp_path / "libur.toml", (date(2026, 6, 22), LOCAL_DAY), (soon, "Hari uji kalender"))
    server = start_server(tmp_path, holidays_file=str(holidays))
    try:
        code = submit(server.client()).element_text("report-code")
    finally:
        server.stop()
    db = sqlite3.connect(server.data / "wbs.sqlite3")
    with db:
        db.execute("UPDATE reports SET created_day = '2026-06-10', updated_day = '2026-06-10' WHERE code = ?", (code,))
        db.execute("UPDATE status_history SET day = '2026-06-10' WHERE report_code = ?", (code,))
    db.close()
    server = start_server(tmp_path, server.keyring, data=server.data, fresh=False, holidays_file=str(holidays))
    try:
        admin = Staff(server, "kepala", "admin").ready()
        dash = admin.client.get("/staff").text
        # Wednesday 10 June 2026 + 7 working days: 11, 12, 15, (16 to 18 Galungan), 19, (22 local), 23, 24, 25.
        assert "2026-06-25 (tanggapan awal, lewat tenggat)" in dash
        assert "diperiksa 2 Desember 2026" in dash and f"paket holidays {holidays_package.__version__}" in dash
        assert f"{holidays}: 2 hari libur, 0 hari kerja" in dash
        days_off = dash.split('id="days-off"', 1)[1].split("</table>", 1)[0]
        assert f"<th scope=\"row\">{long_date('id', soon.isoformat())}</th><td>Hari uji kalender</td>" in days_off
        assert days_off.count("<tr>") <= 5
        english = admin.client.get("/staff?lang=en").text
        assert "checked 2 December 2026" in english and long_date("en", soon.isoformat()) in english
        # A bad edit while running: the page says so, the last good calendar stays in force.
        holidays.write_text('[[holiday]]\ndate = "besok"\nname = "x"\n', encoding="utf-8")
        dash = admin.client.get("/staff?lang=id")
        assert dash.status == 200 and 'id="calendar-error"' in dash.text
        assert "date must be a day written like 2026-12-28" in dash.text
        assert "2026-06-25 (tanggapan awal, lewat tenggat)" in dash.text
    finally:
        server.stop()


def test_a_bad_holidays_file_stops_check_and_serve_with_a_clear_error(tmp_path):
    bad = tmp_path / "libur.toml"
    bad.write_text('[[holiday]]\ndate = 2026-11-24\n', encoding="utf-8")
    config = tmp_path / "wbs.toml"
    write_config(config, tmp_path / "data", holidays_file=str(bad))
    done = wbs("check", "--config", str(config), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert f"problem: configuration: holidays_file: {bad}: [[holiday]] number 1: name must be" in done.stdout
    done = wbs("serve", "--config", str(config), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert f"holidays_file: {bad}: [[holiday]] number 1: name must be" in done.stderr
    write_config(config, tmp_path / "data", holidays_file=str(tmp_path / "tidak-ada.toml"))
    done = wbs("check", "--config", str(config), check=False)
    assert done.returncode == 1 and "tidak-ada.toml: cannot be read" in done.stdout


def test_keytools_count_the_same_local_day(tmp_path):
    key, pass_file, ring = write_cheap_keyring(tmp_path / "keyholder")
    code = "WBS-AB2CD-EF3GH"
    write_export(tmp_path / "e.zip", ring, [Case(code, dict(PLAIN_FIELDS), created_day="2026-11-20")])
    holidays = write_holidays(tmp_path / "libur.toml", (date(2026, 11, 24), LOCAL_DAY))
    done = keytools("open", tmp_path / "e.zip", "--cases", tmp_path / "kasus", "--keyring", key,
                    "--passphrase-file", pass_file, "--holidays-file", holidays)
    assert done.returncode == 0, done.stderr
    # Friday 20 November + 7 working days: 23, (24 local), 25, 26, 27, 30, 1 and 2 December.
    assert f"{code}: acknowledge by 2026-12-02 (7 working days" in done.stdout
    bad = tmp_path / "rusak.toml"
    bad.write_text("[[holiday]\n", encoding="utf-8")
    done = keytools("stats", "--cases", tmp_path / "kasus", "--holidays-file", bad)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: holidays file: {bad}: not valid TOML" in done.stderr
    assert "hint: use the same file as holidays_file in the server's wbs.toml" in done.stderr
