"""Two ``wbs serve`` nodes on one PostgreSQL database and one blob folder: a login
made through one works through the other, logging out through either ends it
for both, and failed logins through one delay the account through the other.
The database holds the live sessions only as sealed rows."""

from __future__ import annotations

import shutil

from conftest import start_server
from test_postgresql_server import rows
from test_reporter_journey import login, submit
from test_staff import Staff
from wbsclient import Client


def two_nodes(tmp_path, pg_cluster, pg_database):  # type: ignore[no-untyped-def]
    """Node one made as usual; node two with a copy of its data folder (instance secret, keys)."""
    shared = {"database_url": pg_cluster.url(pg_database), "blob_dir": str(tmp_path / "blobs")}
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = start_server(tmp_path / "one", **shared)
    try:
        shutil.copytree(one.data, tmp_path / "two" / "data")
        two = start_server(tmp_path / "two", one.keyring, fresh=False, **shared)
    except BaseException:
        one.stop()
        raise
    return one, two


def moved(client: Client, port: int) -> Client:
    """The same browser, its cookies and all, sent to another node."""
    other = Client(port)
    other.cookies = dict(client.cookies)
    return other


def test_a_reporter_logs_in_through_one_node_and_reads_and_logs_out_through_the_other(tmp_path, pg_cluster,
                                                                                      pg_database):
    one, two = two_nodes(tmp_path, pg_cluster, pg_database)
    try:
        done = submit(one.client())
        assert done.status == 200, done.text
        code = done.element_text("report-code")
        browser = two.client()
        assert login(browser, done.element_text("codename"), done.element_text("passphrase")).status == 303
        assert code in browser.get("/mailbox").text
        elsewhere = moved(browser, one.port)
        assert code in elsewhere.get(f"/mailbox/reports/{code}").text
        (account,) = rows(pg_cluster, pg_database, "SELECT id FROM accounts")
        (session,) = rows(pg_cluster, pg_database, "SELECT * FROM reporter_sessions")
        raw = b"".join(bytes(v) if isinstance(v, bytes) else str(v).encode() for v in session.values())
        assert account["id"].encode() not in raw and bytes.fromhex(account["id"]) not in raw
        assert elsewhere.post("/logout", {}).status == 303
        assert browser.get("/mailbox").status == 303  # ended for node two as well: back to the login
        assert rows(pg_cluster, pg_database, "SELECT * FROM reporter_sessions") == []
    finally:
        two.stop()
        one.stop()


def test_staff_sessions_and_failed_logins_count_on_every_node(tmp_path, pg_cluster, pg_database):
    one, two = two_nodes(tmp_path, pg_cluster, pg_database)
    try:
        admin = Staff(one, "kepala", "admin").ready()
        elsewhere = Client(two.staff_port)
        elsewhere.cookies = dict(admin.client.cookies)
        assert elsewhere.get("/staff").status == 200
        assert admin.client.post("/staff/logout", {}).status == 303
        assert elsewhere.get("/staff").status == 303  # logged out through node one
        guesser = Staff(one, "tamu", "handler")
        for _ in range(3):  # the staff throttle's free failures, through node one
            assert guesser.login(password="salah-kata-sandi").status == 200
        guesser.client = two.staff_client()
        assert guesser.login().status == 429  # node two makes the account wait, even with the right password
    finally:
        two.stop()
        one.stop()
