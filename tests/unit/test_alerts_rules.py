"""The digest's rules: the [alerts] table is checked, the days it counts are defined,
its size does not follow its counts, and retries wait longer each time."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from server.config import config_template, load_config
from server.errors import ConfigError
from server.operations.alerts import RETRY_MAX_SECONDS, password_file_problem, retry_delay
from server.operations.checks import OK, PROBLEM, WARNING, run_checks
from server.operations.digest import SUBJECT, Digest, body, covered_days, digest_message
from server.storage.store import AlertState

GOOD = """\
[alerts]
smtp_host = "mail.example.go.id"
smtp_port = 587
smtp_security = "starttls"
smtp_user = ""
smtp_password_file = ""
from_addr = "wbs@example.go.id"
to = ["inspektur@example.go.id"]
send_at = "07:30"
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "wbs.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + text)
    return load_config(path)


def test_the_contract_of_the_issue_loads(tmp_path):
    alerts = _load(tmp_path, GOOD).alerts
    assert alerts.to == ("inspektur@example.go.id",) and alerts.send_time.hour == 7
    assert alerts.smtp_security == "starttls" and alerts.socks_proxy == ""
    assert _load(tmp_path, "").alerts is None


@pytest.mark.parametrize("change, words", [
    (("smtp_port = 587", "smtp_port = 0"), "smtp_port"),
    (('smtp_security = "starttls"', 'smtp_security = "ssl"'), "smtp_security"),
    (('send_at = "07:30"', 'send_at = "7:30"'), "send_at"),
    (('send_at = "07:30"', 'send_at = "24:00"'), "send_at"),
    (('to = ["inspektur@example.go.id"]', "to = []"), "alerts.to"),
    (('to = ["inspektur@example.go.id"]', 'to = "inspektur@example.go.id"'), "alerts.to"),
    (('to = ["inspektur@example.go.id"]', 'to = ["a@example.go.id\\r\\nBcc: x@example.com"]'), "e-mail address"),
    (('from_addr = "wbs@example.go.id"', 'from_addr = "WBS <wbs@example.go.id>"'), "e-mail address"),
    (('smtp_user = ""', 'smtp_user = "wbs"'), "go together"),
    (('send_at = "07:30"', 'send_at = "07:30"\nsocks_proxy = "9050"'), "socks_proxy"),
    (('send_at = "07:30"', 'send_at = "07:30"\nlanguage = "en"'), "unknown setting"),
    (('smtp_host = "mail.example.go.id"\n', ""), "needs smtp_host"),
])
def test_a_bad_alerts_table_is_refused_with_its_name(tmp_path, change, words):
    with pytest.raises(ConfigError, match=words):
        _load(tmp_path, GOOD.replace(*change))


def test_a_password_in_clear_is_refused_except_on_loopback(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("x")
    login = GOOD.replace('smtp_user = ""', 'smtp_user = "wbs"').replace(
        'smtp_password_file = ""', f'smtp_password_file = "{secret}"').replace('"starttls"', '"none"')
    with pytest.raises(ConfigError, match="in clear"):
        _load(tmp_path, login)
    assert _load(tmp_path, login.replace("mail.example.go.id", "127.0.0.1")).alerts.smtp_user == "wbs"


def test_the_template_shows_the_table_commented(tmp_path):
    template = config_template()
    assert "# [alerts]" in template and '# send_at = "07:30"' in template
    uncommented = "\n".join(line[2:] for line in template.split("# The daily digest")[1].splitlines()
                            if line.startswith("# [") or " = " in line)
    assert _load(tmp_path, uncommented).alerts.smtp_host == "mail.example.go.id"


def _d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize("state, today, expected", [
    (AlertState(), "2026-12-02", ("2026-12-01", "2026-12-01")),  # never sent: yesterday only
    (AlertState(sent_day="2026-12-01", covered_from="2026-11-30"), "2026-12-02", ("2026-12-01", "2026-12-01")),
    (AlertState(sent_day="2026-11-28", covered_from="2026-11-27"), "2026-12-02", ("2026-11-28", "2026-12-01")),
    (AlertState(sent_day="2026-12-02", covered_from="2026-11-28"), "2026-12-02", ("2026-11-28", "2026-12-01")),
    (AlertState(sent_day="2026-12-05", covered_from="2026-12-04"), "2026-12-02", ("2026-12-01", "2026-12-01")),
])
def test_the_days_a_digest_counts(state, today, expected):
    assert covered_days(state, _d(today)) == (_d(expected[0]), _d(expected[1]))


def test_consecutive_digests_count_every_day_once():
    state, counted = AlertState(), []
    for day in ("2026-12-01", "2026-12-02", "2026-12-05", "2026-12-06"):  # the server was down 3rd and 4th
        first, last = covered_days(state, _d(day))
        counted += [first.toordinal() + n for n in range((last - first).days + 1)]
        state = AlertState(sent_day=day, covered_from=first.isoformat())
    assert counted == list(range(_d("2026-11-30").toordinal(), _d("2026-12-05").toordinal() + 1))


def test_the_size_does_not_follow_the_counts():
    quiet = Digest(_d("2026-12-02"), _d("2026-12-01"), _d("2026-12-01"), 0, 0, 0, 0)
    busy = Digest(_d("2026-12-02"), _d("2026-11-01"), _d("2026-12-01"), 123, 4567, 89, 10)
    assert len(body(quiet, "Inspektorat")) == len(body(busy, "Inspektorat"))
    alerts = type("A", (), {"from_addr": "wbs@example.go.id", "to": ("a@example.go.id",)})()
    now = datetime(2026, 12, 2, 7, 30, tzinfo=timezone.utc)
    one, two = digest_message(alerts, quiet, "I", now), digest_message(alerts, busy, "I", now)
    assert one["Subject"] == two["Subject"] == SUBJECT
    assert len(one.as_bytes()) == len(two.as_bytes()) and one["Message-ID"] != two["Message-ID"]
    assert one["Message-ID"].endswith("@example.go.id>")


def test_retries_wait_longer_up_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(30) == RETRY_MAX_SECONDS == 3600


def test_wbs_check_names_a_missing_or_open_password_file(tmp_path):
    secret = tmp_path / "pw"
    text = GOOD.replace('smtp_user = ""', 'smtp_user = "wbs"').replace(
        'smtp_password_file = ""', f'smtp_password_file = "{secret}"')
    config = _load(tmp_path, text)
    assert "No such file" in password_file_problem(config.alerts)
    secret.write_text("sandi\n")
    secret.chmod(0o644)
    assert "readable by others" in password_file_problem(config.alerts)
    secret.chmod(0o600)
    assert password_file_problem(config.alerts) is None
    secret.chmod(0o644)
    findings = run_checks(config, config_path=tmp_path / "wbs.toml", swaps=None)
    assert any(f.level == PROBLEM and "smtp_password_file" in f.message for f in findings)
    assert any(f.level == OK and "daily digest at 07:30" in f.message for f in findings)
    plain = _load(tmp_path, GOOD.replace('"starttls"', '"none"'))
    assert any(f.level == WARNING and "unencrypted" in f.message
               for f in run_checks(plain, config_path=tmp_path / "wbs.toml", swaps=None))


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("doc", ["docs/deploy.en.md", "docs/deploy.id.md"])
def test_the_deployment_guides_table_loads(tmp_path, doc):
    block = (ROOT / doc).read_text(encoding="utf-8").split("```toml\n[alerts]\n")[1].split("```")[0]
    secret = tmp_path / "pw"
    secret.write_text("x")
    alerts = _load(tmp_path, "[alerts]\n" + block.replace("/etc/wbs/smtp-password", str(secret))).alerts
    assert alerts.smtp_security == "starttls" and alerts.send_at == "07:30"


def test_the_example_configs_table_loads_uncommented(tmp_path):
    example = (ROOT / "deploy" / "wbs.toml").read_text(encoding="utf-8")
    table = example.split("# [alerts]\n")[1]
    uncommented = "[alerts]\n" + "\n".join(line[2:] for line in table.splitlines() if line.startswith("# "))
    assert _load(tmp_path, uncommented).alerts.socks_proxy == "127.0.0.1:9050"
