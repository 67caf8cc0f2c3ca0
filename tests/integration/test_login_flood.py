"""Logins under attack, against a real server: the Argon2id pool is bounded
(a flood is refused quickly with 503/429, never 500, and the home page keeps
answering), and failed logins are throttled per account, for known and
unknown codenames alike."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest

from conftest import start_server
from crypto.mailbox import format_codename, generate_codename, generate_passphrase
from wbsclient import Client, Response

REAL_KDF = dict(kdf_t=3, kdf_m_kib=65536)  # the default mailbox KDF: 64 MiB, 3 passes
FLOOD_SECONDS = 6.0
ATTACKERS = 16

REPORT = {
    "category": "pungli",
    "what": "Pungutan liar",
    "who": "Petugas",
    "where": "Kantor",
    "when": "Kemarin",
    "how": "Meminta uang",
}


def submit(client: Client) -> Response:
    page = client.get("/submit")
    fields = [("csrf_token", page.csrf)] + list(REPORT.items()) + [("confirm", "1")]
    done = client.post_multipart("/submit", fields)
    assert done.status == 200, done.text
    return done


class Login:
    """One visitor with a CSRF cookie, trying codename/passphrase pairs."""

    def __init__(self, srv) -> None:
        self.client = srv.client()
        self.csrf = self.client.get("/login").csrf

    def __call__(self, codename: str, passphrase: str) -> tuple[Response, float]:
        start = time.perf_counter()
        response = self.client.post("/login", {"csrf_token": self.csrf, "codename": codename,
                                               "passphrase": passphrase})
        return response, time.perf_counter() - start


def random_codename() -> str:
    return format_codename(generate_codename())


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_flood_is_refused_quickly_and_the_home_page_keeps_answering(tmp_path):
    # The overall per-minute budget is lifted here so failures are not slowed
    # and the Argon2id pool stays saturated for the whole flood (the next test
    # shows that budget); a login waits only 50 ms for a place, so the refusals
    # come quickly and many.
    srv = start_server(tmp_path, **REAL_KDF, login_global_per_minute=1_000_000, kdf_login_wait_seconds=0.05)
    try:
        baseline_kib = vm_kib(srv.process.pid, "VmRSS")
        attackers = [Login(srv) for _ in range(ATTACKERS)]
        home = srv.client()
        assert home.get("/").status == 200
        stop = threading.Event()
        attempts: list[tuple[int, float]] = []
        home_results: list[tuple[int, float]] = []
        errors: list[BaseException] = []

        def attack(login: Login) -> None:
            try:
                while not stop.is_set():
                    response, took = login(random_codename(), "salah " + generate_passphrase("id"))
                    attempts.append((response.status, took))
                    if response.status == 200:
                        assert "salah" in response.text
                    elif response.status == 503:
                        assert response.headers.get("Retry-After") and "sibuk" in response.text
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        def watch_home() -> None:
            try:
                while not stop.is_set():
                    start = time.perf_counter()
                    response = home.get("/")
                    home_results.append((response.status, time.perf_counter() - start))
                    time.sleep(0.02)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=attack, args=(a,)) for a in attackers]
        threads.append(threading.Thread(target=watch_home))
        for t in threads:
            t.start()
        time.sleep(FLOOD_SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors

        statuses = [s for s, _ in attempts]
        assert set(statuses) <= {200, 429, 503}, sorted(set(statuses))
        refused = [took for s, took in attempts if s in (429, 503)]
        tried = [took for s, took in attempts if s == 200]
        assert refused, "a flood of 16 parallel logins must be refused in part (pool full)"
        assert tried, "some attempts must really run Argon2id"
        # A refusal is quick: it waits for no key derivation.
        assert statistics.median(refused) < 0.1, statistics.median(refused)
        # Two workers at ~0.1-0.3 s each: the real attempts are few compared to the refusals.
        assert len(tried) < len(refused)

        home_statuses = [s for s, _ in home_results]
        latencies = [took for _, took in home_results]
        assert len(home_results) >= 20
        assert home_statuses == [200] * len(home_statuses)
        assert p95(latencies) < 1.0, (p95(latencies), max(latencies))

        # The memory Argon2id may take is bounded by the pool (2 workers x 64 MiB),
        # not by the number of attackers (16 x 64 MiB).
        peak_kib = vm_kib(srv.process.pid, "VmHWM")
        assert peak_kib - baseline_kib < 6 * 65536, (baseline_kib, peak_kib)

        # After the flood, a real reporter gets in.
        done = submit(srv.client())
        login = Login(srv)
        response, _ = login(done.element_text("codename"), done.element_text("passphrase"))
        assert response.status == 303 and response.headers["Location"] == "/mailbox"
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


def test_bad_login_flood_leaves_real_logins_working(tmp_path):
    """Past the overall budget (120 failed logins a minute) wrong logins are
    answered slowly, and nobody is refused for what others did: real
    reporters in the middle of the flood get in."""
    srv = start_server(tmp_path, login_global_per_minute=120)
    try:
        accounts = []
        for _ in range(2):
            done = submit(srv.client())
            accounts.append((done.element_text("codename"), done.element_text("passphrase")))
        attackers = [Login(srv) for _ in range(4)]
        results: list[tuple[int, float, str]] = []

        def attack(login: Login) -> None:
            for _ in range(35):
                response, took = login(random_codename(), "frasa yang salah")
                results.append((response.status, took, response.text))

        threads = [threading.Thread(target=attack, args=(a,)) for a in attackers]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(results) < 125 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(results) >= 125, "the flood must be past the overall budget"
        real = [Login(srv)(*accounts[i % 2])[0] for i in range(10)]
        for t in threads:
            t.join(timeout=120)

        assert [r.status for r in real] == [303] * 10
        assert all(r.headers["Location"] == "/mailbox" for r in real)
        assert len(results) == 140
        # Every wrong login is told so, never "too many attempts" for others' failures.
        assert {status for status, _, _ in results} == {200}
        assert all("salah" in text for _, _, text in results)
        # The ones past the budget waited (login_tarpit_seconds, 2 s by default) before the answer.
        slow = [took for _, took, _ in results if took >= 2.0]
        assert 0 < len(slow) <= 140 - 120, len(slow)
        assert "internal error" not in srv.output()
    finally:
        srv.stop()


@pytest.fixture
def throttled_server(tmp_path):
    # login_max_delay_seconds caps the per-account wait (30 s, doubling, by
    # default), so the test can also see the wait end.
    srv = start_server(tmp_path, login_failures_before_delay=5, login_max_delay_seconds=3)
    yield srv
    srv.stop()


def test_per_account_throttle(throttled_server):
    srv = throttled_server
    done = submit(srv.client())
    codename, passphrase = done.element_text("codename"), done.element_text("passphrase")
    bystander = submit(srv.client())
    login = Login(srv)
    # Wrong passphrases; the codename is spelt differently each time but names one account.
    spellings = [codename, codename.lower(), codename.replace("-", ""), codename.replace("-", " "),
                 " " + codename.lower().replace("-", "") + " "]
    for spelling in spellings:
        response, _ = login(spelling, "frasa sandi yang salah sekali")
        assert response.status == 200 and "salah" in response.text
    # Now even the right passphrase is refused, quickly, without a session.
    response, took = login(codename, passphrase)
    assert response.status == 429, response.status
    assert "Terlalu banyak percobaan" in response.text
    assert "wbs_session" not in login.client.cookies
    assert took < 1.0
    assert login.client.get("/mailbox").status == 303
    # Another account is not affected.
    other = Login(srv)
    response, _ = other(bystander.element_text("codename"), bystander.element_text("passphrase"))
    assert response.status == 303
    # The wait ends; the right passphrase works and clears the count.
    time.sleep(3.5)
    response, _ = login(codename, passphrase)
    assert response.status == 303 and response.headers["Location"] == "/mailbox"
    # Counted afresh: five more wrong passphrases are each answered "wrong"
    # (a count kept from before would already refuse the second), the sixth waits.
    again = Login(srv)
    for _ in range(5):
        response, _ = again(codename, "salah lagi")
        assert response.status == 200 and "salah" in response.text
    response, _ = again(codename, "salah lagi")
    assert response.status == 429


def test_unknown_codenames_are_throttled_the_same_way(throttled_server):
    srv = throttled_server
    done = submit(srv.client())
    known = done.element_text("codename")
    unknown = random_codename()
    sequences = {}
    for codename in (known, unknown):
        login = Login(srv)
        sequence = []
        for _ in range(7):
            response, _ = login(codename, "frasa sandi yang salah")
            sequence.append(response.status)
            if response.status == 200:
                assert "Nama sandi atau frasa sandi salah." in response.text
        sequences[codename] = sequence
    assert sequences[known] == sequences[unknown] == [200] * 5 + [429] * 2
    # A malformed codename is refused as wrong, whatever the throttle.
    response, _ = Login(srv)("bukan-nama-sandi", "x")
    assert response.status == 200 and "salah" in response.text
