"""The integration harness, shared: a real ``wbs serve`` on loopback, the ``wbs``
command, and the standard-library HTTP client.

``tests/integration/conftest.py`` is loaded here under its own module name,
so the browser tests start servers exactly as the integration tests do
without fighting over the module name ``conftest``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(INTEGRATION) not in sys.path:
    sys.path.append(str(INTEGRATION))

import pyotp  # noqa: E402
import wbsclient  # noqa: E402

_spec = importlib.util.spec_from_file_location("wbs_integration_harness", INTEGRATION / "conftest.py")
_harness = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_harness)

Server = _harness.Server
start_server = _harness.start_server
wbs = _harness.wbs
write_config = _harness.write_config
free_port = _harness.free_port
ROOT = _harness.ROOT
Client = wbsclient.Client
FileField = wbsclient.FileField

def report_fields(page, **extra: str) -> list:
    """The report form's fields as a browser sends them: the integration tests'
    sample report, ``extra`` overriding it."""
    # Imported here: that module imports ``conftest``, which imports this one.
    from test_reporter_journey import REPORT

    return [("csrf_token", page.csrf)] + list({**REPORT, **extra}.items()) + [("confirm", "1")]


@dataclass
class Receipt:
    codename: str
    passphrase: str
    code: str


def submit_over_http(server: Server, client: Client | None = None, path: str = "/submit", **extra: str) -> Receipt:
    """A report sent as the integration tests send it, for journeys that start later.
    With a logged-in ``client`` and ``path="/mailbox/submit"``: a further report of that account."""
    client = client or server.client()
    page = client.get(path)
    done = client.post_multipart(path, report_fields(page, **extra))
    assert done.status == 200, done.text
    if 'id="codename"' not in done.text:
        return Receipt("", "", done.element_text("report-code"))
    return Receipt(*(done.element_text(i) for i in ("codename", "passphrase", "report-code")))


def reporter_over_http(server: Server, receipt: Receipt) -> Client:
    client = server.client()
    page = client.get("/login")
    done = client.post("/login", {"csrf_token": page.csrf, "codename": receipt.codename,
                                  "passphrase": receipt.passphrase})
    assert done.status == 303, done.text
    return client


@dataclass
class StaffAccount:
    """A member added with ``wbs staff add``: the one-time password and the TOTP secret it printed."""

    name: str
    password: str
    totp: pyotp.TOTP
    last_step: int = 0

    @classmethod
    def add(cls, server: Server, name: str, role: str = "admin") -> "StaffAccount":
        out = wbs("staff", "add", name, "--role", role, "--config", str(server.config)).stdout
        password = re.search(r"one-time password: (\S+)", out).group(1)
        uri = re.search(r"(otpauth://\S+)", out).group(1)
        return cls(name, password, pyotp.TOTP(parse_qs(urlparse(uri).query)["secret"][0]))

    def code(self) -> str:
        """A code for a later time step than the last one used: the server takes
        each step once, in order, and a step of now or one either side."""
        now = int(time.time() // 30)
        step = max(now, self.last_step + 1)
        if step > now + 1:
            time.sleep((step - 1) * 30 - time.time() + 0.5)
        self.last_step = step
        return self.totp.at(step * 30)


def staff_over_http(server: Server, account: StaffAccount) -> Client:
    """A staff client logged in over HTTP, past the forced password change."""
    client = server.staff_client()
    page = client.get("/staff/login")
    done = client.post("/staff/login", {"csrf_token": page.csrf, "username": account.name,
                                        "password": account.password, "totp": account.code()})
    assert done.status == 303, done.text
    if done.headers["Location"] == "/staff/password":
        new = account.password + "-baru"
        page = client.get("/staff/password")
        changed = client.post("/staff/password", {"csrf_token": page.csrf, "old": account.password, "new": new,
                                                  "confirm": new})
        assert changed.status == 303, changed.text
        account.password = new
    return client


def staff_post(client: Client, path: str, fields: dict[str, str]):
    page = client.get("/staff")
    return client.post(path, {"csrf_token": page.csrf, **fields})
