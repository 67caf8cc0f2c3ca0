"""Replay every committed test vector (PROTOCOL.md §8) with the crypto package.

Each vector is its own test. An ``ok`` vector must give exactly the values it
records; a ``reject`` vector must raise exactly the ``crypto.errors`` class it
names. ``test_every_vector_file_is_replayed`` fails if anything under
tests/vectors/ is not replayed (an unknown file, an unknown op, an artifact no
vector uses), so nothing is skipped silently.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import unicodedata
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from nacl.public import PrivateKey

from crypto import encoding, envelope, errors, items, kdf, keyring, keys, mailbox, padding
from crypto import export_bundle, reply_bundle

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
VECTOR_FILES = {
    "encoding.json",
    "padding.json",
    "keyrings.json",
    "public_keys.json",
    "mailbox.json",
    "envelopes.json",
    "items.json",
    "export_bundles.json",
    "reply_bundles.json",
}
NOT_VECTORS = {"generate.py", "README.md"}
SHAKE_PREFIX = "wbs-vectors/"


# ---------------------------------------------------------------- helpers


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(rel: str) -> bytes:
    path = (VECTORS / rel).resolve()
    assert VECTORS in path.parents, rel
    return path.read_bytes()


def regenerate(source: dict[str, Any], length: int) -> bytes | None:
    if source["fill"] == "shake256":
        return hashlib.shake_256((SHAKE_PREFIX + source["label"]).encode("utf-8")).digest(length)
    if source["fill"] == "zeros":
        return bytes(length)
    assert source["fill"] == "literal", source
    return None


def check_plaintext(data: bytes, expected: dict[str, Any]) -> None:
    """Opened bytes against a plaintext description: length, sha256, b64, and its source."""
    assert len(data) == expected["length"]
    assert sha256(data) == expected["sha256"]
    if "b64" in expected:
        assert data == unb64(expected["b64"])
    else:
        assert expected["length"] > 65536
    made = regenerate(expected["source"], expected["length"])
    if made is None:
        assert "b64" in expected
    else:
        assert made == data


def x25519_keys(entries: list[dict[str, str]]) -> dict[str, PrivateKey]:
    """Named X25519 secret keys; the recorded pk and key_id must agree with sk."""
    out = {}
    for entry in entries:
        sk = PrivateKey(unb64(entry["sk"]))
        assert bytes(sk.public_key) == unb64(entry["pk"])
        assert encoding.key_id_hex(bytes(sk.public_key)) == entry["key_id"]
        out[entry["name"]] = sk
    return out


def public_keys_of(entries: list[dict[str, str]]) -> list[keys.OrgPublicKey]:
    """Org public keys as listed in a vector; key_id and fingerprint must agree with the keys."""
    out = []
    for e in entries:
        key = keys.OrgPublicKey(enc_pk=unb64(e["enc_pk"]), sig_pk=unb64(e["sig_pk"]), created_at=e["created_at"],
                                status=e["status"])
        assert {**key.to_json(), "fingerprint": key.fingerprint} == e
        out.append(key)
    return out


# ---------------------------------------------------------------- replayers

Replayer = Callable[[dict[str, Any]], None]
REPLAYERS: dict[str, Replayer] = {}


def replays(op: str) -> Callable[[Replayer], Replayer]:
    def register(fn: Replayer) -> Replayer:
        REPLAYERS[op] = fn
        return fn

    return register


@replays("key_id")
def _key_id(v: dict[str, Any]) -> None:
    pk = unb64(v["public_key"])
    assert encoding.key_id_hex(pk) == v["key_id"]
    assert encoding.key_id(pk) == bytes.fromhex(v["key_id"])


@replays("fingerprint")
def _fingerprint(v: dict[str, Any]) -> None:
    enc_pk, sig_pk = unb64(v["enc_pk"]), unb64(v["sig_pk"])
    assert encoding.blake2b_256(keys.FINGERPRINT_LABEL + enc_pk + sig_pk).hex() == v["digest_hex"]
    assert keys.fingerprint(enc_pk, sig_pk) == v["fingerprint"]
    assert encoding.format_fingerprint(bytes.fromhex(v["digest_hex"])) == v["fingerprint"]


@replays("canonical_json")
def _canonical_json(v: dict[str, Any]) -> None:
    data = encoding.canonical_json(v["object"])
    assert data == unb64(v["canonical_b64"])
    assert data.decode("utf-8") == v["canonical"]
    assert sha256(data) == v["sha256"]
    assert json.loads(data) == v["object"]


@replays("padme")
def _padme(v: dict[str, Any]) -> None:
    assert [padding.padme(c["length"]) for c in v["cases"]] == [c["padme"] for c in v["cases"]]


@replays("padded_length")
def _padded_length(v: dict[str, Any]) -> None:
    got = [padding.padded_length(c["data_length"]) for c in v["cases"]]
    assert got == [c["padded_length"] for c in v["cases"]]


@replays("envelope_length")
def _envelope_length(v: dict[str, Any]) -> None:
    got = [envelope.envelope_length(c["data_length"], c["recipients"]) for c in v["cases"]]
    assert got == [c["envelope_length"] for c in v["cases"]]


@replays("read_keyring")
def _read_keyring(v: dict[str, Any]) -> None:
    data = read(v["file"])
    if v["expect"] == "reject":
        for passphrase in v["passphrases"]:
            keyring.read_keyring(data, passphrase)
        return
    assert v["passphrase_nfkc"] in v["passphrases"]
    if "passphrase_nfkc_utf8_b64" in v:
        assert v["passphrase_nfkc"].encode("utf-8") == unb64(v["passphrase_nfkc_utf8_b64"])
    want = v["keyring"]
    for passphrase in v["passphrases"]:
        assert unicodedata.normalize("NFKC", passphrase) == v["passphrase_nfkc"]
        ring = keyring.read_keyring(data, passphrase)
        assert ring.org_name == want["org_name"]
        assert len(ring.keys) == len(want["keys"])
        for key, exp in zip(ring.keys, want["keys"]):
            pub = key.public
            assert key.key_id == exp["key_id"]
            assert key.enc_sk == unb64(exp["enc_sk"])
            assert key.sig_seed == unb64(exp["sig_seed"])
            assert pub.enc_pk == unb64(exp["enc_pk"])
            assert pub.sig_pk == unb64(exp["sig_pk"])
            assert (key.created_at, key.status) == (exp["created_at"], exp["status"])
    params, _, _, _ = keyring.read_keyring_header(data)
    assert json.loads(data)["kdf"] == v["kdf"]
    assert (params.t, params.m_kib, params.p) == (v["kdf"]["t"], v["kdf"]["m_kib"], v["kdf"]["p"])


@replays("parse_public_key_file")
def _parse_public_key_file(v: dict[str, Any]) -> None:
    parsed = keys.parse_public_key_file(read(v["file"]))
    want = v["public_key_file"]
    assert (parsed.org_name, parsed.created_at) == (want["org_name"], want["created_at"])
    got = [{**k.to_json(), "fingerprint": k.fingerprint} for k in parsed.keys]
    assert got == want["keys"]
    assert parsed.newest.key_id == want["newest_key_id"]
    assert parsed.fingerprint == want["fingerprint"]


@replays("check_key_update")
def _check_key_update(v: dict[str, Any]) -> None:
    old = keys.parse_public_key_file(read(v["old_file"]))
    new = keys.parse_public_key_file(read(v["new_file"]))
    keys.check_key_update(old, new)


@replays("normalize_codename")
def _normalize_codename(v: dict[str, Any]) -> None:
    assert mailbox.normalize_codename(v["input"]) == v["normalized"]
    assert mailbox.format_codename(v["input"]) == v["formatted"]


@replays("normalize_passphrase")
def _normalize_passphrase(v: dict[str, Any]) -> None:
    norm = mailbox.normalize_passphrase(v["input"])
    assert norm == v["normalized"]
    assert norm.encode("utf-8") == unb64(v["normalized_utf8_b64"])


@replays("derive_mailbox_key")
def _derive_mailbox_key(v: dict[str, Any]) -> None:
    params = kdf.KdfParams(**v["kdf"]).check()
    sk = mailbox.derive_mailbox_key(v["codename"], v["passphrase"], unb64(v["salt"]), params)
    assert mailbox.normalize_codename(v["codename"]) == v["codename_normalized"]
    assert mailbox.normalize_passphrase(v["passphrase"]) == v["passphrase_normalized"]
    assert mailbox.mailbox_secret(v["codename"], v["passphrase"]) == unb64(v["argon2_secret_b64"])
    # The same key from the normalised forms, and from raw Argon2id.
    assert bytes(sk) == unb64(v["mailbox_sk"])
    assert kdf.argon2id(unb64(v["argon2_secret_b64"]), unb64(v["salt"]), params) == unb64(v["mailbox_sk"])
    assert bytes(sk.public_key) == unb64(v["mailbox_pk"])
    assert mailbox.public_keys_equal(bytes(sk.public_key), unb64(v["mailbox_pk"]))
    assert encoding.key_id_hex(bytes(sk.public_key)) == v["key_id"]
    secret = bytes.fromhex(v["instance_secret"])
    assert mailbox.account_lookup(v["codename"], secret).hex() == v["account_lookup"]
    assert mailbox.account_lookup(v["codename_normalized"], secret).hex() == v["account_lookup"]


@replays("account_lookup")
def _account_lookup(v: dict[str, Any]) -> None:
    got = mailbox.account_lookup(v["codename"], bytes.fromhex(v["instance_secret"])).hex()
    assert got == v["account_lookup"]


def _open_each(v: dict[str, Any], data: bytes, named: dict[str, PrivateKey]) -> Iterator[tuple[str, bytes]]:
    """ok: each key in open_with alone; reject: all of them together (raises)."""
    if v["expect"] == "reject":
        envelope.open_bytes(data, [named[n] for n in v["open_with"]])
        return
    assert v["open_with"]
    for name in v["open_with"]:
        yield name, envelope.open_bytes(data, [named[name]])


@replays("open_envelope")
def _open_envelope(v: dict[str, Any]) -> None:
    data = read(v["file"])
    named = x25519_keys(v["recipients"])
    for _, plain in _open_each(v, data, named):
        check_plaintext(plain, v["plaintext"])
    assert len(data) == v["envelope_length"]
    assert envelope.envelope_key_ids(data) == v["stanza_key_ids"]
    # Streaming to a file gives the same bytes.
    out = io.BytesIO()
    assert envelope.open_to_stream(io.BytesIO(data), out, [named[v["open_with"][0]]]) == v["plaintext"]["length"]
    assert sha256(out.getvalue()) == v["plaintext"]["sha256"]


@replays("open_attachment")
def _open_attachment(v: dict[str, Any]) -> None:
    data = read(v["file"])
    named = x25519_keys(v["keys"])
    for _, plain in _open_each(v, data, named):
        check_plaintext(plain, v["plaintext"])
    assert envelope.envelope_key_ids(data) == v["stanza_key_ids"]
    # The report vector in the same file lists this attachment with its size and sha256.
    listing = next(x for x in _load(VECTORS / "items.json")["vectors"] if x["name"] == v["listed_in"])
    assert {"size": v["plaintext"]["length"], "sha256": v["plaintext"]["sha256"]} in [
        {"size": a["size"], "sha256": a["sha256"]} for a in listing["content"]["attachments"]
    ]


@replays("open_item")
def _open_item(v: dict[str, Any]) -> None:
    data = read(v["file"])
    named = x25519_keys(v["keys"])
    if v["expect"] == "reject" and v["stage"] == "open":
        items.open_json(data, [named[n] for n in v["open_with"]], report_code=v["filed_under"])
        return
    for name in v["open_with"]:
        opened = items.open_json(data, [named[name]], report_code=v["filed_under"])
        assert opened.content == v["content"]
        assert opened.content["type"] == v["kind"]
        if v["expect"] == "ok":
            assert opened.moved is v["moved"]
            plain = envelope.open_bytes(data, [named[name]])
            assert plain == encoding.canonical_json(v["content"])
            assert (len(plain), sha256(plain)) == (v["plaintext_length"], v["plaintext_sha256"])
    if v["expect"] == "ok":
        assert envelope.envelope_key_ids(data) == v["stanza_key_ids"]
    if "verify_keys" in v:
        signer = items.verify_reply(v["content"], public_keys_of(v["verify_keys"]))
        assert signer.key_id == v["signer_key_id"]


@replays("read_export_bundle")
def _read_export_bundle(v: dict[str, Any]) -> None:
    named = x25519_keys(v["keys"])
    with export_bundle.ExportBundle(io.BytesIO(read(v["file"]))) as bundle:
        bundle.verify()
        if v["expect"] == "reject":
            for report in bundle.reports:
                for item in report["items"]:
                    bundle.read_item(item["item_id"])
            return
        assert bundle.manifest == v["manifest"]
        listed = {i["item_id"]: (r["report_code"], i) for r in bundle.reports for i in r["items"]}
        assert sorted(listed) == sorted(x["item_id"] for x in v["items"])
        for want in v["items"]:
            code, entry = listed[want["item_id"]]
            assert (code, entry["kind"]) == (want["report_code"], want["kind"])
            data = bundle.read_item(want["item_id"])
            assert (len(data), sha256(data)) == (entry["size"], entry["sha256"])
            for name in want["open_with"]:
                if "content" in want:
                    opened = items.open_json(data, [named[name]], report_code=code)
                    assert opened.content == want["content"] and not opened.moved
                    plain = envelope.open_bytes(data, [named[name]])
                    assert (len(plain), sha256(plain)) == (want["plaintext_length"], want["plaintext_sha256"])
                else:
                    check_plaintext(envelope.open_bytes(data, [named[name]]), want["plaintext"])


@replays("read_reply_bundle")
def _read_reply_bundle(v: dict[str, Any]) -> None:
    pub = keys.parse_public_key_file(read(v["org_public_key_file"]))
    mailbox_pks = {code: unb64(pk) for code, pk in v["mailbox_pks"].items()}
    bundle = reply_bundle.read_reply_bundle(read(v["file"]), pub)
    reply_bundle.check_reply_recipients(bundle, mailbox_pks, v["org_key_ids"])
    if v["expect"] == "reject":
        return
    named = x25519_keys(v["keys"])
    assert (bundle.created_at, bundle.signer_key_id) == (v["created_at"], v["signer_key_id"])
    assert len(bundle.replies) == len(v["replies"])
    for entry, want in zip(bundle.replies, v["replies"]):
        assert (entry.report_code, entry.item_id, entry.set_status) == (
            want["report_code"], want["item_id"], want["set_status"])
        assert sha256(entry.envelope) == want["envelope_sha256"]
        for name in want["open_with"]:
            opened = items.open_json(entry.envelope, [named[name]], report_code=entry.report_code)
            assert opened.content == want["content"] and not opened.moved
            signer = items.verify_reply(opened.content, public_keys_of(v["verify_keys"]))
            assert signer.key_id == opened.content["signer_key_id"]


# ---------------------------------------------------------------- collection


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _vector_files() -> list[Path]:
    return sorted(VECTORS.glob("*.json"))


def _cases() -> list[Any]:
    cases = []
    for path in _vector_files():
        for v in _load(path)["vectors"]:
            cases.append(pytest.param(path.name, v, id=f"{path.stem}/{v['name']}"))
    return cases


@pytest.mark.parametrize("filename, vector", _cases())
def test_vector(filename: str, vector: dict[str, Any]) -> None:
    replay = REPLAYERS[vector["op"]]
    if vector["expect"] == "ok":
        assert "error" not in vector
        replay(vector)
        return
    assert vector["expect"] == "reject"
    error = getattr(errors, vector["error"])
    with pytest.raises(errors.WbsError) as raised:
        replay(vector)
    assert type(raised.value) is error, f"raised {type(raised.value).__name__}: {raised.value}"


def _references(node: Any) -> Iterator[str]:
    """Artifact paths: the values of members named ``file`` or ``*_file``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if (key == "file" or key.endswith("_file")) and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_every_vector_file_is_replayed() -> None:
    present = {p.name for p in _vector_files()}
    assert present == VECTOR_FILES, "a vector file is missing, or one exists that this test does not know"
    referenced: set[str] = set()
    for path in _vector_files():
        doc = _load(path)
        assert set(doc) == {"description", "vectors"} and doc["vectors"], path.name
        names = [v["name"] for v in doc["vectors"]]
        assert len(set(names)) == len(names), f"{path.name}: duplicate vector names"
        for v in doc["vectors"]:
            where = f"{path.name}/{v['name']}"
            assert v["op"] in REPLAYERS, f"{where}: no replayer for op {v['op']!r}"
            assert v["expect"] in ("ok", "reject"), where
            if v["expect"] == "reject":
                error = getattr(errors, v["error"], None)
                assert isinstance(error, type) and issubclass(error, errors.WbsError), where
            for rel in _references(v):
                assert (VECTORS / rel).is_file(), f"{where}: {rel} does not exist"
                referenced.add(rel)
    artifacts = {
        p.relative_to(VECTORS).as_posix()
        for p in VECTORS.rglob("*")
        if p.is_file() and p.parent != VECTORS and "__pycache__" not in p.parts
    }
    assert artifacts == referenced, f"files no vector uses: {sorted(artifacts - referenced)}"
    loose = {p.name for p in VECTORS.iterdir() if p.is_file()} - VECTOR_FILES - NOT_VECTORS
    assert not loose, f"unknown files in tests/vectors/: {sorted(loose)}"


def test_vectors_cover_every_op_both_ways() -> None:
    """Every op has an ok vector; the formats that can be refused have reject vectors too."""
    seen: dict[str, set[str]] = {}
    for path in _vector_files():
        for v in _load(path)["vectors"]:
            seen.setdefault(v["op"], set()).add(v["expect"])
    assert set(seen) == set(REPLAYERS)
    for op in ("read_keyring", "parse_public_key_file", "normalize_codename", "open_envelope", "open_item",
               "read_export_bundle", "read_reply_bundle"):
        assert seen[op] == {"ok", "reject"}, op


def test_vectors_stay_small() -> None:
    total = sum(p.stat().st_size for p in VECTORS.rglob("*") if p.is_file())
    assert total < 12 * 1024 * 1024
