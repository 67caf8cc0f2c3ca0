"""A submission flood against a real server: one client creating accounts
eight at a time must not lock real reporters or staff out of their logins.

Account creation runs Argon2id like a login does. It used to be able to
hold every slot of the key-derivation pool (a new report waits up to a
minute for one), so logins, which wait only a moment, were all answered
"busy". Now creation has a lane of its own in the pool and a server-wide
rate; the flooder gets a quick, polite 503 that shows the typed report
again, and the logins beside it get in.
"""

from __future__ import annotations

import statistics
import threading
import time

from conftest import start_server
from server.config import Config
from test_reporter_journey import REPORT, login, report_fields, submit
from test_staff import Staff

MODERATE_KDF = dict(kdf_t=2, kdf_m_kib=16384)  # ~40 ms a derivation: a flood keeps the pool full
FLOODERS = 8
REPORTERS = 5  # accounts, 4 logins each
REPORTER_LOGINS = 20
STAFF_MEMBERS = 4  # 2 logins each
FLOOD_LIMIT_SECONDS = 120.0


class Flood:
    """``FLOODERS`` threads sending new reports (each one a new account) until stopped."""

    def __init__(self, srv) -> None:
        self.srv = srv
        self.stop = threading.Event()
        self.answers: list[tuple[int, float, str, str]] = []  # status, seconds, Retry-After, page
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._loop) for _ in range(FLOODERS)]

    def _loop(self) -> None:
        try:
            client = self.srv.client()
            page = client.get("/submit")
            deadline = time.monotonic() + FLOOD_LIMIT_SECONDS
            while not self.stop.is_set() and time.monotonic() < deadline:
                start = time.perf_counter()
                done = client.post_multipart("/submit", report_fields(client, page))
                self.answers.append((done.status, time.perf_counter() - start,
                                     done.headers.get("Retry-After", ""), done.text))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def __enter__(self) -> "Flood":
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(self.answers) < 2 * FLOODERS and time.monotonic() < deadline:
            time.sleep(0.05)  # the flood is under way before the real logins start
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=FLOOD_LIMIT_SECONDS)


def reporter_logins(srv, accounts: list[tuple[str, str]]) -> list[int]:
    """``REPORTER_LOGINS`` logins with the right passphrase, two visitors at a time; 1 = got in."""
    results: list[int] = []

    def visitor(share: list[tuple[str, str]]) -> None:
        for codename, passphrase in share:
            response = login(srv.client(), codename, passphrase)
            results.append(int(response.status == 303 and response.headers["Location"] == "/mailbox"))

    turns = [accounts[i % len(accounts)] for i in range(REPORTER_LOGINS)]
    threads = [threading.Thread(target=visitor, args=(turns[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FLOOD_LIMIT_SECONDS)
    return results


def staff_logins(members: list[Staff]) -> list[int]:
    results: list[int] = []

    def member_logins(member: Staff) -> None:
        for _ in range(2):
            response = member.login()
            results.append(int(response.status == 303 and response.headers["Location"] == "/staff/password"))

    threads = [threading.Thread(target=member_logins, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=FLOOD_LIMIT_SECONDS)
    return results


def run_flood(srv) -> tuple[Flood, list[int], list[int], float]:
    accounts = []
    for _ in range(REPORTERS):
        done = submit(srv.client())
        assert done.status == 200, done.text
        accounts.append((done.element_text("codename"), done.element_text("passphrase")))
    members = [Staff(srv, f"petugas{i}", "handler") for i in range(STAFF_MEMBERS)]
    started = time.monotonic()
    with Flood(srv) as flood:
        staff_results: list[int] = []
        staff_thread = threading.Thread(target=lambda: staff_results.extend(staff_logins(members)))
        staff_thread.start()
        reporter_results = reporter_logins(srv, accounts)
        staff_thread.join(timeout=FLOOD_LIMIT_SECONDS)
        flood_running = not flood.stop.is_set() and all(t.is_alive() for t in flood.threads)
    assert not flood.errors, flood.errors
    assert flood_running, "the flood must last as long as the logins"
    return flood, reporter_results, staff_results, time.monotonic() - started


def assert_logins_held(reporter_results: list[int], staff_results: list[int]) -> None:
    assert len(reporter_results) == REPORTER_LOGINS and len(staff_results) == 2 * STAFF_MEMBERS
    assert sum(reporter_results) >= 0.8 * REPORTER_LOGINS, reporter_results
    assert sum(staff_results) >= 0.8 * 2 * STAFF_MEMBERS, staff_results


def assert_refusals_polite(flood: Flood) -> list[float]:
    statuses = {status for status, *_ in flood.answers}
    assert statuses <= {200, 503}, statuses
    refused = [(took, retry, page) for status, took, retry, page in flood.answers if status == 503]
    for _, retry, page in refused:
        assert retry, "a 503 says when to come back"
        assert "sibuk" in page
        assert REPORT["what"] in page and REPORT["how"] in page, "the typed report is shown again"
    return [took for took, _, _ in refused]


def test_creation_flood_leaves_logins_working(tmp_path):
    srv = start_server(tmp_path, **MODERATE_KDF, new_accounts_per_minute=Config.new_accounts_per_minute)
    try:
        flood, reporters, staff, seconds = run_flood(srv)
        assert_logins_held(reporters, staff)
        refused = assert_refusals_polite(flood)
        created = sum(1 for status, *_ in flood.answers if status == 200)
        # The server-wide rate (its default, a minute's worth at once): the
        # flooder made hundreds of attempts and got about that many accounts.
        rate = Config.new_accounts_per_minute
        assert created <= rate + rate * seconds / 60 + 1, (created, seconds)
        assert len(refused) > created
        # The refusal does not wait for a key derivation.
        assert statistics.median(refused) < 1.0, statistics.median(refused)
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


def test_creation_lane_alone_leaves_logins_working(tmp_path):
    """With the creation rate lifted, the pool's lanes alone keep logins in."""
    srv = start_server(tmp_path, **MODERATE_KDF, new_accounts_per_minute=1_000_000)
    try:
        flood, reporters, staff, _ = run_flood(srv)
        assert_logins_held(reporters, staff)
        assert_refusals_polite(flood)
        assert sum(1 for status, *_ in flood.answers if status == 200) > 20, "creation kept going meanwhile"
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


def test_refused_report_keeps_its_text_and_logged_in_reporters_are_not_limited(tmp_path):
    """At one new account a minute, the second new report in a row is refused politely."""
    srv = start_server(tmp_path, new_accounts_per_minute=1)
    try:
        first = submit(srv.client())
        assert first.status == 200
        refused = submit(srv.client())
        assert refused.status == 503 and refused.headers["Retry-After"]
        assert "sibuk" in refused.text and REPORT["what"] in refused.text and REPORT["how"] in refused.text
        assert refused.csrf  # the form again, ready to send
        # A reporter who is logged in adds a report to their own account: no new account, no limit.
        client = srv.client()
        assert login(client, first.element_text("codename"), first.element_text("passphrase")).status == 303
        assert submit(client, path="/mailbox/submit").status == 200
    finally:
        srv.stop()
