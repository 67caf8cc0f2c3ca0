import asyncio
import re
import secrets
from importlib import resources

import pytest

from crypto import wordlists
from crypto.encoding import format_day, utc_now
from crypto.items import generate_report_code
from crypto.kdf import SALT_BYTES, KdfParams
from crypto.keyring import new_keyring
from crypto.mailbox import account_lookup, derive_mailbox_key, format_codename, generate_codename
from server.config import Config
from server.context import Context
from server.reporter.reporting import LoginFailed, login
from server.storage.datafolder import DataFolder
from server.storage.store import Account


def test_indonesian_list_rules():
    words = wordlists.load("id")
    assert len(words) == 4096 == len(set(words))
    assert all(re.fullmatch(r"[a-z]{4,8}", w) for w in words)
    assert list(words) == sorted(words)


def test_english_list_is_the_eff_large_list():
    words = wordlists.load("en")
    assert len(words) == 7776 == len(set(words))
    assert all(re.fullmatch(r"[a-z-]+", w) for w in words)
    assert words[0] == "abacus" and words[-1] == "zoom"


def test_headers_name_sources_and_licences():
    for lang in ("id", "en"):
        text = resources.files(wordlists).joinpath(f"{lang}.txt").read_text(encoding="utf-8")
        header = "\n".join(line for line in text.splitlines() if line.startswith("#")).lower()
        assert "licen" in header and "source" in header


def test_no_word_is_a_frightening_one():
    words = set(wordlists.load("id"))
    for word in ("bunuh", "mati", "penjara", "korupsi", "suap", "hantu", "racun", "tembak"):
        assert word not in words


# Seven words of the first Indonesian list (built from Sastrawi's dictionary),
# none of which is in today's list: accounts made with that list must keep
# logging in, so login may depend only on the typed text, never on a list.
OLD_LIST_PASSPHRASE = "jerapah kuliner lavender celengan terong sirup rehat"


def test_the_fixed_old_passphrase_is_not_made_of_current_words():
    assert not set(OLD_LIST_PASSPHRASE.split()) & set(wordlists.load("id"))


def test_a_passphrase_from_the_old_list_still_logs_in(tmp_path):
    """An account stored as ``submit_report`` stores it, with a passphrase of
    words the current list lacks; the real login path, the cheapest KDF."""
    folder = DataFolder(tmp_path / "data")
    folder.initialize()
    folder.install_public_keys(new_keyring("Inspektorat Daerah Kabupaten Klungkung").public_key_file())
    config = Config(data_dir=folder.root, kdf_t=1, kdf_m_kib=8, min_free_bytes=0)
    codename = generate_codename()
    salt = secrets.token_bytes(SALT_BYTES)
    params = KdfParams(1, 8, 1)

    async def scenario() -> None:
        ctx = await Context.open(config, folder)
        try:
            key = derive_mailbox_key(codename, OLD_LIST_PASSPHRASE, salt, params)
            account = Account(
                id=secrets.token_hex(16), lookup=account_lookup(codename, ctx.instance_secret), salt=salt,
                kdf_t=params.t, kdf_m_kib=params.m_kib, kdf_p=params.p,
                mailbox_pk=bytes(key.public_key), created_day=format_day(utc_now()),
            )
            await ctx.store.create_report(account=account, account_id=account.id, code=generate_report_code(),
                                          status="received", day=account.created_day, items=[])
            typed = "  Jerapah-KULINER  lavender celengan terong sirup rehat "
            session = await login(ctx, format_codename(codename), typed)
            assert session.account_id == account.id
            with pytest.raises(LoginFailed):
                await login(ctx, format_codename(codename), OLD_LIST_PASSPHRASE.replace("rehat", "rehab"))
        finally:
            await ctx.close()

    asyncio.run(scenario())


def test_indonesian_list_comes_from_a_source_we_may_ship():
    """The words come from Hunspell's id_ID.dic (LGPL-3), not from a
    non-commercial dictionary, which AGPL-3.0-or-later could not carry."""
    text = resources.files(wordlists).joinpath("id.txt").read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "id_ID.dic" in header and "LGPL-3" in header
    assert "BY-NC" not in header and "Kateglo" not in header
