"""The server's default costs are the protocol's, and the protocol's are PROTOCOL.md's.

Two links, each checked on its own: ``Config``'s mailbox key derivation
defaults equal ``crypto.kdf.MAILBOX_DEFAULT``, and the named parameters in
``crypto/kdf.py`` equal the numbers PROTOCOL.md states, read from its text.
A default lowered in either place makes every new reporter's stolen record
cheaper to attack, and nothing else would notice.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from crypto.kdf import KEYRING_DEFAULT, MAILBOX_DEFAULT, KdfParams
from server.config import Config, load_config
from skips import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def protocol_text() -> str:
    """PROTOCOL.md: ``$WBS_PROTOCOL_MD``, else the project's copy, else the design folder beside the checkout."""
    candidates = [Path(os.environ["WBS_PROTOCOL_MD"])] if os.environ.get("WBS_PROTOCOL_MD") else []
    candidates += [ROOT / "PROTOCOL.md", ROOT / "docs" / "PROTOCOL.md"]
    candidates += [folder / "shared" / "design" / "PROTOCOL.md" for folder in ROOT.parents]
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    skip_or_fail("PROTOCOL.md not found: set WBS_PROTOCOL_MD to the design's PROTOCOL.md")


def section(text: str, number: str) -> str:
    """The body of the section headed ``## <number> …`` or ``### <number> …``, up to the next heading."""
    match = re.search(rf"^#{{2,3}} {re.escape(number)}\s.*?$(.*?)(?=^#{{2,3}} )", text, re.M | re.S)
    assert match, f"PROTOCOL.md has no section {number}"
    return match.group(1)


def stated_params(body: str, pattern: str) -> KdfParams:
    found = re.findall(pattern, body)
    assert len(found) == 1, f"expected one statement of the Argon2id parameters, found {found}"
    t, m_kib, p = (int(n) for n in found[0])
    return KdfParams(t=t, m_kib=m_kib, p=p)


def test_config_defaults_are_the_mailbox_parameters():
    config = Config()
    assert KdfParams(config.kdf_t, config.kdf_m_kib, config.kdf_p) == MAILBOX_DEFAULT
    # A server started without a config file uses them too.
    loaded = load_config(None)
    assert KdfParams(loaded.kdf_t, loaded.kdf_m_kib, loaded.kdf_p) == MAILBOX_DEFAULT


def test_mailbox_parameters_are_protocol_section_3():
    body = section(protocol_text(), "3.")
    assert stated_params(body, r"t = (\d+), m_kib = (\d+), p = (\d+)") == MAILBOX_DEFAULT == KdfParams(3, 65536, 1)


def test_keyring_parameters_are_at_least_protocol_section_2_2():
    """§2.2: ``init`` writes at least the values shown in the file's example."""
    body = section(protocol_text(), "2.2")
    shown = stated_params(body, r'"t": (\d+), "m_kib": (\d+), "p": (\d+)')
    assert KEYRING_DEFAULT.t >= shown.t and KEYRING_DEFAULT.m_kib >= shown.m_kib and KEYRING_DEFAULT.p == shown.p

