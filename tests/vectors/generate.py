#!/usr/bin/env python3
"""Write the committed test vectors of PROTOCOL.md §8.

    .venv/bin/python tests/vectors/generate.py [--add | --force]

Every "ok" vector is written by the crypto package's own public functions:
that is the point, they are what this project's writer emits. "reject"
vectors are made from ok ones by editing bytes or JSON, and a few envelopes
are built by hand from the libsodium bindings, following PROTOCOL.md §4 to
the letter, where the writer cannot produce them (a missing padding marker,
a stanza whose key id does not match).

Released vectors never change. Envelopes (crypto_box_seal and the
secretstream header are random) come out different on every run, so this
script refuses to overwrite anything without ``--force``; use it only
before a release, or to add new vector files. ``--add`` appends the vectors
that are new by name to the released files and writes their files, leaving
every released vector and file as it is.

Everything that is not random is derived from labels with SHAKE-256, so a
reader of the JSON can regenerate every plaintext (see README.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import unicodedata
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from nacl.bindings import (  # noqa: E402
    crypto_box_seal,
    crypto_box_seal_open,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
)
from nacl.public import PrivateKey  # noqa: E402
from nacl.secret import SecretBox  # noqa: E402

from crypto import encoding, envelope, items, kdf, keyring, keys, mailbox, padding  # noqa: E402
from crypto import export_bundle, reply_bundle  # noqa: E402

# Files and folders this script owns inside tests/vectors/.
VECTOR_FILES = (
    "encoding.json",
    "padding.json",
    "keyrings.json",
    "public_keys.json",
    "mailbox.json",
    "envelopes.json",
    "items.json",
    "export_bundles.json",
    "reply_bundles.json",
)
ARTIFACT_DIRS = ("keyrings", "pubkeys", "envelopes", "items", "bundles")

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 8, 30, 0, tzinfo=UTC)
CHEAP = kdf.TEST_CHEAPEST  # t=1, m_kib=8, p=1
CHEAP_LANES = kdf.KdfParams(t=2, m_kib=1024, p=2)
ORG_NAME = "Inspektorat Daerah Kabupaten Klungkung"
ORG_NAME_UNICODE = "Inspektorat Daerah Kabupaten Klungkung — Pengaduan (Bali) ✓"
SHAKE_PREFIX = "wbs-vectors/"


# ---------------------------------------------------------------- helpers


def shake(label: str, length: int) -> bytes:
    """SHAKE-256 of the UTF-8 bytes of ``"wbs-vectors/" + label``, first ``length`` bytes."""
    return hashlib.shake_256((SHAKE_PREFIX + label).encode("utf-8")).digest(length)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flip(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


def plaintext(source: dict[str, Any], length: int) -> bytes:
    if source["fill"] == "shake256":
        return shake(source["label"], length)
    if source["fill"] == "zeros":
        return bytes(length)
    raise ValueError(source)


def describe(source: dict[str, Any], length: int) -> dict[str, Any]:
    """A plaintext described by how to regenerate it, its length and sha256 (+ b64 when small)."""
    data = plaintext(source, length)
    out: dict[str, Any] = {"source": source, "length": length, "sha256": sha256(data)}
    if length <= 65536:
        out["b64"] = b64(data)
    return out


def x25519(label: str) -> PrivateKey:
    return PrivateKey(shake("x25519/" + label, 32))


def x25519_json(name: str, sk: PrivateKey) -> dict[str, str]:
    pk = bytes(sk.public_key)
    return {"name": name, "sk": b64(bytes(sk)), "pk": b64(pk), "key_id": encoding.key_id_hex(pk)}


def org_key(label: str, created_at: str, status: str) -> keys.OrgKey:
    return keys.OrgKey(
        enc_sk=shake(f"org/{label}/enc_sk", 32),
        sig_seed=shake(f"org/{label}/sig_seed", 32),
        created_at=created_at,
        status=status,
    )


def org_key_json(name: str, key: keys.OrgKey) -> dict[str, str]:
    pub = key.public
    return {
        "name": name,
        "key_id": key.key_id,
        "enc_sk": b64(key.enc_sk),
        "enc_pk": b64(pub.enc_pk),
        "sig_seed": b64(key.sig_seed),
        "sig_pk": b64(pub.sig_pk),
        "created_at": key.created_at,
        "status": key.status,
    }


def org_public_json(key: keys.OrgKey) -> dict[str, str]:
    return {**key.public.to_json(), "fingerprint": key.public.fingerprint}


def counter_token(label: str) -> Callable[[int], bytes]:
    """A deterministic stand-in for ``secrets.token_bytes`` (salts, nonces) in vectors."""
    state = {"n": 0}

    def token(size: int) -> bytes:
        state["n"] += 1
        return shake(f"token/{label}/{state['n']}", size)

    return token


def vector(name: str, expect: str, op: str, description: str, error: str | None = None, **fields: Any) -> dict[str, Any]:
    v: dict[str, Any] = {"name": name, "expect": expect}
    if error is not None:
        v["error"] = error
    v["op"] = op
    v["description"] = description
    v.update(fields)
    return v


def ok(name: str, op: str, description: str, **fields: Any) -> dict[str, Any]:
    return vector(name, "ok", op, description, **fields)


def reject(name: str, op: str, error: str, description: str, **fields: Any) -> dict[str, Any]:
    return vector(name, "reject", op, description, error=error, **fields)


class Output:
    """Collects every file before anything is written."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, relpath: str, data: bytes) -> str:
        if relpath in self.files:
            raise ValueError(f"{relpath} written twice")
        self.files[relpath] = data
        return relpath

    def vectors(self, filename: str, description: str, vectors: list[dict[str, Any]]) -> None:
        names = [v["name"] for v in vectors]
        if len(set(names)) != len(names):
            raise ValueError(f"{filename}: duplicate vector names")
        doc = {"description": description, "vectors": vectors}
        self.put(filename, (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


# ---------------------------------------------------------------- §1 encoding


def gen_encoding(out: Output) -> None:
    vs = []
    pks = {
        "all_zero": bytes(32),
        "all_ff": b"\xff" * 32,
        "org_2025_enc_pk": org_key("2025", "2025-01-15T09:00:00Z", "retired").public.enc_pk,
        "x25519_r01_pk": bytes(x25519("r01").public_key),
    }
    for label, pk in pks.items():
        vs.append(
            ok(
                f"key_id_{label}",
                "key_id",
                "key_id(pk) = first 8 bytes of BLAKE2b-256(pk), as 16 lowercase hex",
                public_key=b64(pk),
                key_id=encoding.key_id_hex(pk),
            )
        )
    for label in ("2025", "2026"):
        pub = org_key(label, f"{label}-01-15T09:00:00Z", "active").public
        digest = encoding.blake2b_256(keys.FINGERPRINT_LABEL + pub.enc_pk + pub.sig_pk)
        vs.append(
            ok(
                f"fingerprint_org_{label}",
                "fingerprint",
                'BLAKE2b-256(b"wbs-org-v1" || enc_pk || sig_pk), 16 groups of 4 upper-case hex digits',
                enc_pk=b64(pub.enc_pk),
                sig_pk=b64(pub.sig_pk),
                digest_hex=digest.hex(),
                fingerprint=keys.fingerprint(pub.enc_pk, pub.sig_pk),
            )
        )
    objects = {
        "flat_sorted": (
            "members sorted, no white space",
            {"type": "reply", "v": 1, "body": "Terima kasih", "a": True, "z": None, "n": -42, "big": 5368709120},
        ),
        "nested_sorting": (
            "objects inside lists inside objects are sorted too; list order is kept",
            {
                "b": {"z": 1, "a": [{"d": [], "c": {}}, {"y": [3, 2, 1], "x": False}]},
                "a": {"B": 1, "a": 2, "_": 3, "": 4, "a ": 5, "ab": 6},
            },
        ),
        "non_ascii_strings": (
            "non-ASCII stays raw UTF-8 (ensure_ascii=False); no Unicode normalisation of strings",
            {
                "lokasi": "Semarapura — Klungkung, Bali",
                "nama": "Ni Luh Putu Ayu Swastini",
                "composed": "café",
                "decomposed": "cafe\u0301",
                "emoji": "laporan 😀 ✓",
                "jawa": "ꦲꦏ꧀ꦱꦫ",
            },
        ),
        "escapes": (
            'what is escaped: " \\\\ and control characters (\\b \\f \\n \\r \\t, others as \\u00XX with lowercase hex); '
            "not escaped: / DEL U+2028 U+2029",
            {"s": 'q"b\\s/ \x00\x01\x08\x09\x0a\x0c\x0d\x1f\x7f \u2028\u2029'},
        ),
        "non_bmp_key_order": (
            "member names sort by Unicode code point (U+FB01 before U+1F600), not by UTF-16 code unit",
            {"😀": 1, "ﬁ": 2, "é": 3, "z": 4, "Z": 5},
        ),
    }
    for label, (description, obj) in objects.items():
        data = encoding.canonical_json(obj)
        vs.append(
            ok(
                f"canonical_json_{label}",
                "canonical_json",
                "canonical JSON: " + description,
                object=obj,
                canonical=data.decode("utf-8"),
                canonical_b64=b64(data),
                sha256=sha256(data),
            )
        )
    out.vectors("encoding.json", "PROTOCOL.md §1 and §2: key ids, fingerprints, canonical JSON.", vs)


# ---------------------------------------------------------------- §4 padding


def gen_padding(out: Output) -> None:
    padme_lengths = [2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 1023, 1024, 1025, 1026, 1100, 2047, 2048, 2049,
                     63488, 63489, 65535, 65536, 65537, 70001, 131073, 2**20, 2**20 + 1, 2**30 + 12345,
                     2**32 + 1, 5 * 2**30 + 7, 2**40 + 3]
    data_lengths = [0, 1, 2, 1022, 1023, 1024, 1025, 63487, 63488, 65534, 65535, 65536, 65537, 70000,
                    131071, 131072, 2**20, 2**20 + 1, 2**30 + 12345, 2**32, 5 * 2**30]
    vs = [
        ok(
            "padme",
            "padme",
            "padme(L) for L >= 2: E = floor(log2 L), S = floor(log2 E) + 1, mask = 2^(E-S) - 1, (L + mask) & ~mask",
            cases=[{"length": n, "padme": padding.padme(n)} for n in padme_lengths],
        ),
        ok(
            "padded_length",
            "padded_length",
            "len(P) = padme(max(len(data) + 1, 1024))",
            cases=[{"data_length": n, "padded_length": padding.padded_length(n)} for n in data_lengths],
        ),
        ok(
            "envelope_length",
            "envelope_length",
            "6 + 88*n + 24 + len(P) + 17 * ceil(len(P) / 65536)",
            cases=[
                {"data_length": d, "recipients": r, "envelope_length": envelope.envelope_length(d, r)}
                for d in (0, 1, 1023, 65535, 65536, 131071, 2**20 + 1, 2**30 + 12345)
                for r in (1, 2, 16)
            ],
        ),
    ]
    out.vectors("padding.json", "PROTOCOL.md §4 padding: padme, padded length and envelope length.", vs)


# ---------------------------------------------------------------- §2.2 keyrings


def dump_keyring_outer(outer: dict[str, Any]) -> bytes:
    """The same layout write_keyring uses, for edited copies."""
    return json.dumps(outer, indent=2, sort_keys=True).encode("ascii") + b"\n"


def gen_keyrings(out: Output) -> None:
    vs = []
    g2025 = org_key("2025", "2025-01-15T09:00:00Z", "retired")
    g2026 = org_key("2026", "2026-06-01T02:00:00Z", "active")
    solo = org_key("solo", "2026-11-28T08:30:00Z", "active")

    def write(name: str, ring: keyring.Keyring, passphrase: str, params: kdf.KdfParams) -> tuple[str, bytes]:
        data = keyring.write_keyring(ring, passphrase, kdf=params, token_bytes=counter_token(f"keyring/{name}"))
        return out.put(f"keyrings/{name}.key", data), data

    def expected(ring: keyring.Keyring) -> dict[str, Any]:
        return {
            "org_name": ring.org_name,
            "keys": [
                {k: v for k, v in org_key_json(f"gen{i}", key).items() if k != "name"}
                for i, key in enumerate(ring.keys, 1)
            ],
        }

    def kdf_of(data: bytes) -> dict[str, Any]:
        return json.loads(data)["kdf"]

    one = keyring.Keyring(ORG_NAME, (solo,))
    pw_one = "correct horse battery staple"
    one_path, one_data = write("one_generation", one, pw_one, CHEAP)
    vs.append(ok("one_generation", "read_keyring",
                 "one active generation, cheap test KDF parameters taken from the file",
                 file=one_path, passphrases=[pw_one], passphrase_nfkc=pw_one, kdf=kdf_of(one_data),
                 keyring=expected(one)))

    two = keyring.Keyring(ORG_NAME, (g2025, g2026))
    pw_two = "tujuh kata sandi untuk kunci organisasi"
    two_path, two_data = write("two_generations", two, pw_two, CHEAP_LANES)
    vs.append(ok("two_generations", "read_keyring",
                 "two generations (2025 retired, 2026 active), Argon2id with p=2 lanes",
                 file=two_path, passphrases=[pw_two], passphrase_nfkc=pw_two, kdf=kdf_of(two_data),
                 keyring=expected(two)))

    uni = keyring.Keyring(ORG_NAME_UNICODE, (g2025, g2026))
    pw_typed = "Ｋｌｕｎｇｋｕｎｇ ﬁle cafe\u0301 №① ½"
    pw_nfkc = unicodedata.normalize("NFKC", pw_typed)
    assert pw_nfkc != pw_typed
    uni_path, uni_data = write("nfkc_passphrase", uni, pw_typed, CHEAP)
    vs.append(ok("nfkc_passphrase", "read_keyring",
                 "non-ASCII org name; the passphrase as typed (full-width letters, ligature, combining accent, "
                 "circled digit, fraction) and its NFKC form both open it: Argon2id takes NFKC(passphrase) as UTF-8. "
                 "Case is not folded for keyrings.",
                 file=uni_path, passphrases=[pw_typed, pw_nfkc], passphrase_nfkc=pw_nfkc,
                 passphrase_nfkc_utf8_b64=b64(pw_nfkc.encode("utf-8")), kdf=kdf_of(uni_data),
                 keyring=expected(uni)))

    pw_default = "lembaga pengawas daerah menjaga kunci di brankas"
    def_path, def_data = write("default_kdf", two, pw_default, kdf.KEYRING_DEFAULT)
    vs.append(ok("default_kdf", "read_keyring",
                 "the real default: Argon2id t=4, m_kib=262144 (256 MiB), p=1",
                 file=def_path, passphrases=[pw_default], passphrase_nfkc=pw_default, kdf=kdf_of(def_data),
                 keyring=expected(two)))

    # ---- rejects, edited from one_generation
    outer = json.loads(one_data)
    vs.append(reject("wrong_passphrase", "read_keyring", "DecryptionError",
                     "the one_generation keyring with a wrong passphrase (differs only in case)",
                     file=one_path, passphrases=["Correct horse battery staple"]))

    def edited(name: str, change: Callable[[dict[str, Any]], None]) -> str:
        o = json.loads(one_data)
        change(o)
        return out.put(f"keyrings/{name}.key", dump_keyring_outer(o))

    def flip_b64(o: dict[str, Any], member: str, offset: int) -> None:
        o[member] = b64(flip(base64.b64decode(o[member]), offset))

    def set_kdf(member: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda o: o["kdf"].__setitem__(member, value)

    box_len = len(base64.b64decode(outer["box"]))
    cases = [
        ("box_flipped_first_byte", "DecryptionError", "one byte of the box (in the MAC) flipped",
         lambda o: flip_b64(o, "box", 0)),
        ("box_flipped_last_byte", "DecryptionError", "the last byte of the box (in the ciphertext) flipped",
         lambda o: flip_b64(o, "box", box_len - 1)),
        ("nonce_flipped", "DecryptionError", "one byte of the nonce flipped", lambda o: flip_b64(o, "nonce", 5)),
        ("salt_flipped", "DecryptionError", "one byte of the Argon2id salt flipped",
         lambda o: o["kdf"].__setitem__("salt", b64(flip(base64.b64decode(o["kdf"]["salt"]), 0)))),
        ("kdf_t_changed", "DecryptionError", "t changed from 1 to 2: valid parameters, but another key",
         set_kdf("t", 2)),
        ("kdf_m_kib_absurd", "FormatError", "m_kib = 2^40 (1 PiB): a reader refuses before allocating",
         set_kdf("m_kib", 2**40)),
        ("kdf_t_zero", "FormatError", "t = 0 is not a valid Argon2id cost", set_kdf("t", 0)),
        ("kdf_p_zero", "FormatError", "p = 0 is not a valid Argon2id cost", set_kdf("p", 0)),
        ("kdf_m_kib_below_8p", "FormatError", "m_kib = 4 < 8*p: Argon2id needs at least 8 KiB per lane",
         set_kdf("m_kib", 4)),
        ("kdf_t_string", "FormatError", 't = "1", a string: parameters are JSON integers', set_kdf("t", "1")),
        ("kdf_alg_argon2i", "FormatError", 'alg "argon2i": only "argon2id" exists', set_kdf("alg", "argon2i")),
        ("salt_15_bytes", "FormatError", "salt of 15 bytes: it is 16",
         lambda o: o["kdf"].__setitem__("salt", b64(base64.b64decode(o["kdf"]["salt"])[:15]))),
        ("format_version_2", "FormatError", 'format "wbs-keyring/2" is not this version',
         lambda o: o.__setitem__("format", "wbs-keyring/2")),
    ]
    for name, error, description, change in cases:
        vs.append(reject(name, "read_keyring", error, "the one_generation keyring with " + description,
                         file=edited(name, change), passphrases=[pw_one]))

    # An inner key whose key_id does not match its enc_sk, sealed properly with
    # the passphrase's key: only the inner check can refuse it.
    params, salt, nonce, _ = keyring.read_keyring_header(one_data)
    k = kdf.argon2id(pw_one.encode("utf-8"), salt, params)
    inner_key = {k2: v for k2, v in org_key_json("x", solo).items() if k2 in ("key_id", "enc_sk", "sig_seed", "created_at", "status")}
    inner_key["key_id"] = g2026.key_id
    inner = {"org_name": ORG_NAME, "keys": [inner_key]}
    o = json.loads(one_data)
    o["box"] = b64(SecretBox(k).encrypt(encoding.canonical_json(inner), nonce).ciphertext)
    vs.append(reject("inner_key_id_mismatch", "read_keyring", "FormatError",
                     "a keyring that decrypts, but whose inner key_id is not key_id(X25519 public key of enc_sk)",
                     file=out.put("keyrings/inner_key_id_mismatch.key", dump_keyring_outer(o)), passphrases=[pw_one]))
    out.vectors("keyrings.json",
                "PROTOCOL.md §2.2: keyring files org.key. ok: every passphrase listed opens the file to exactly "
                "`keyring`; reject: opening with the passphrase fails with `error`.", vs)


# ---------------------------------------------------------------- §2.1 public key files


def gen_public_keys(out: Output) -> None:
    vs = []
    g2025_active = org_key("2025", "2025-01-15T09:00:00Z", "active")
    g2025 = g2025_active.retired()
    g2026 = org_key("2026", "2026-06-01T02:00:00Z", "active")
    solo = org_key("solo", "2026-11-28T08:30:00Z", "active")
    t0 = datetime(2025, 1, 15, 9, 5, tzinfo=UTC)

    def expected(org_name: str, created_at: str, ks: Iterable[keys.OrgKey]) -> dict[str, Any]:
        ks = list(ks)
        newest = keys.newest_active(ks)
        return {
            "org_name": org_name,
            "created_at": created_at,
            "keys": [org_public_json(k) for k in ks],
            "newest_key_id": newest.key_id,
            "fingerprint": newest.public.fingerprint,
        }

    one = keys.make_public_key_file(ORG_NAME, [solo], NOW)
    one_path = out.put("pubkeys/one_generation.pub.json", one)
    vs.append(ok("one_generation", "parse_public_key_file", "one active generation",
                 file=one_path, public_key_file=expected(ORG_NAME, "2026-11-28T08:30:00Z", [solo])))

    first = keys.make_public_key_file(ORG_NAME_UNICODE, [g2025_active], t0)
    first_path = out.put("pubkeys/rotation_before.pub.json", first)
    vs.append(ok("rotation_before", "parse_public_key_file", "the 2025 generation alone, active; non-ASCII org name",
                 file=first_path,
                 public_key_file=expected(ORG_NAME_UNICODE, "2025-01-15T09:05:00Z", [g2025_active])))

    two = keys.make_public_key_file(ORG_NAME_UNICODE, [g2025, g2026], NOW)
    two_path = out.put("pubkeys/two_generations.pub.json", two)
    vs.append(ok("two_generations", "parse_public_key_file",
                 "after rotation: 2025 retired, 2026 active and signing; non-ASCII org name",
                 file=two_path,
                 public_key_file=expected(ORG_NAME_UNICODE, "2026-11-28T08:30:00Z", [g2025, g2026])))

    def resign(obj: dict[str, Any], signer: keys.OrgKey) -> dict[str, Any]:
        body = {k: v for k, v in obj.items() if k != "sig"}
        body["sig"] = b64(signer.signing_key.sign(encoding.canonical_json(body)).signature)
        return body

    def dump(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"

    base = json.loads(two)
    bad = dict(base, org_name=ORG_NAME_UNICODE.replace("Klungkung", "Karangasem"))
    vs.append(reject("org_name_changed", "parse_public_key_file", "SignatureError",
                     "two_generations with org_name changed after signing",
                     file=out.put("pubkeys/org_name_changed.pub.json", dump(bad))))

    bad = json.loads(two)
    bad["keys"][1]["key_id"] = bad["keys"][0]["key_id"][:15] + ("0" if bad["keys"][0]["key_id"][15] != "0" else "1")
    vs.append(reject("key_id_mismatch", "parse_public_key_file", "FormatError",
                     "the 2026 key's key_id is not key_id(enc_pk); the file is re-signed, so only that is wrong",
                     file=out.put("pubkeys/key_id_mismatch.pub.json", dump(resign(bad, g2026)))))

    vs.append(reject("signed_by_retired", "parse_public_key_file", "SignatureError",
                     "two_generations signed with the retired 2025 sig key instead of the newest active (2026)",
                     file=out.put("pubkeys/signed_by_retired.pub.json", dump(resign(json.loads(two), g2025)))))

    bad = json.loads(two)
    bad["keys"][1]["sig_pk"] = bad["keys"][0]["sig_pk"]
    vs.append(reject("sig_pk_swapped", "parse_public_key_file", "SignatureError",
                     "the 2026 entry lists the 2025 sig_pk; signed by the real 2026 sig key",
                     file=out.put("pubkeys/sig_pk_swapped.pub.json", dump(resign(bad, g2026)))))

    bad = json.loads(two)
    bad["keys"][1]["status"] = "revoked"
    vs.append(reject("unknown_status", "parse_public_key_file", "FormatError",
                     'status "revoked": only "active" and "retired" exist',
                     file=out.put("pubkeys/unknown_status.pub.json", dump(resign(bad, g2026)))))

    bad = json.loads(two)
    bad["keys"][1]["status"] = "retired"
    vs.append(reject("no_active_key", "parse_public_key_file", "FormatError",
                     "every generation retired: there is no newest active key to verify with",
                     file=out.put("pubkeys/no_active_key.pub.json", dump(resign(bad, g2026)))))

    # Updates the server accepts or refuses (check_key_update).
    vs.append(ok("update_rotation", "check_key_update",
                 "rotation: the known 2025 key stays, now retired, next to the new 2026 key",
                 old_file=first_path, new_file=two_path))
    vs.append(ok("update_same_file", "check_key_update", "installing the same file again",
                 old_file=two_path, new_file=two_path))
    drop = keys.make_public_key_file(ORG_NAME_UNICODE, [g2026], NOW)
    vs.append(reject("update_drops_active_key", "check_key_update", "KeyPolicyError",
                     "the new file drops the active 2025 key without marking it retired",
                     old_file=first_path, new_file=out.put("pubkeys/drops_2025.pub.json", drop)))
    out.vectors("public_keys.json",
                "PROTOCOL.md §2.1: org.pub.json. parse_public_key_file: the file verifies and reads as "
                "`public_key_file`; check_key_update: the server (holding old_file) accepts or refuses new_file.",
                vs)


# ---------------------------------------------------------------- §3 mailbox


def gen_mailbox(out: Output) -> None:
    vs = []
    for name, typed, norm in [
        ("codename_lower_case", "abcd-efgh-jkmn", "ABCDEFGHJKMN"),
        ("codename_already_normal", "ABCDEFGHJKMN", "ABCDEFGHJKMN"),
        ("codename_spaces_and_confusables", "  7q2o - il9x  zz01 ", "7Q20119XZZ01"),
        ("codename_o_i_l", "o0o0-iiLL-l1l1", "000011111111"),
        ("codename_double_hyphens", "vwxy--z234--5678", "VWXYZ2345678"),
    ]:
        assert mailbox.normalize_codename(typed) == norm
        vs.append(ok(name, "normalize_codename",
                     "upper-case, drop spaces and hyphens, O→0, I→1, L→1",
                     input=typed, normalized=norm, formatted=mailbox.format_codename(norm)))
    for name, typed, why in [
        ("codename_11_symbols", "ABCD-EFGH-JKM", "11 symbols"),
        ("codename_13_symbols", "ABCD-EFGH-JKMNP", "13 symbols"),
        ("codename_with_u", "ABCD-EFGH-JKMU", "U is not a Crockford symbol"),
        ("codename_with_lower_u", "abcd-efgh-jkmu", "u upper-cases to U, not a Crockford symbol"),
        ("codename_with_star", "ABCD-EFGH-JK*N", "a symbol that is not in the alphabet"),
        ("codename_with_underscore", "ABCD_EFGH_JKMN", "underscores are not dropped, only spaces and hyphens"),
        ("codename_with_dot", "ABCD.EFGH.JKMN", "dots are not dropped"),
        ("codename_full_width", "ＡＢＣＤ-ＥＦＧＨ-ＪＫＭＮ",
         "full-width letters: codenames get no NFKC (§3 lists NFKC for the passphrase only)"),
        ("codename_empty", "", "empty"),
        ("codename_only_hyphens", "----", "nothing left after dropping hyphens"),
    ]:
        vs.append(reject(name, "normalize_codename", "CredentialError", why, input=typed))

    for name, typed, norm, why in [
        ("passphrase_plain", "correct horse battery staple", "correct horse battery staple", "already normal"),
        ("passphrase_case_spaces_hyphens", "  Correct   HORSE-battery --staple  ", "correct horse battery staple",
         "lower-case, runs of spaces and hyphens become one space, trimmed"),
        ("passphrase_tab_newline", "kata\tdua\nTIGA\r\n empat", "kata dua tiga empat",
         "tab, newline and carriage return are white space"),
        ("passphrase_full_width", "ＫＵＣＩＮＧ\u3000ｍｅｒａｈ－ｐｕｔｉｈ",
         "kucing merah putih", "NFKC folds full-width letters, U+3000 space and full-width hyphen-minus"),
        ("passphrase_nbsp_ligature", "ﬁle\u00a0ﬂow", "file flow", "NFKC: ligatures, no-break space"),
        ("passphrase_combining", "Cafe\u0301 Ångström", "café ångström",
         "NFKC composes e + U+0301 to é; then lower-case"),
    ]:
        assert mailbox.normalize_passphrase(typed) == norm, (typed, mailbox.normalize_passphrase(typed))
        vs.append(ok(name, "normalize_passphrase",
                     "NFKC, lower-case, every run of white space or hyphens one space, trimmed: " + why,
                     input=typed, normalized=norm, normalized_utf8_b64=b64(norm.encode("utf-8"))))
    for name, typed in [("passphrase_empty", ""), ("passphrase_only_separators", "  - -\t-  ")]:
        vs.append(reject(name, "normalize_passphrase", "CredentialError", "nothing left after normalisation",
                         input=typed))

    # Derivations. Passphrases drawn from the shipped wordlists with a deterministic choice.
    def picker(label: str) -> Callable[[tuple[str, ...]], str]:
        state = {"n": 0}

        def choice(seq: Any) -> Any:
            state["n"] += 1
            return seq[int.from_bytes(shake(f"pick/{label}/{state['n']}", 8), "big") % len(seq)]

        return choice

    en = mailbox.generate_passphrase("en", picker("en"))
    idn = mailbox.generate_passphrase("id", picker("id"))
    code_a = mailbox.generate_codename(picker("codename-a"))
    code_b = mailbox.generate_codename(picker("codename-b"))
    instance = shake("instance-secret", 32)

    def mess_up(passphrase: str) -> str:
        """A passphrase typed carelessly: capitals, doubled spaces, a hyphen, full-width first word."""
        words = passphrase.split(" ")
        first = "".join(chr(ord(c) + 0xFEE0) if "A" <= c <= "Z" else c for c in words[0].upper())
        return "  " + first + "  " + "-".join(w.capitalize() for w in words[1:3]) + "   " + " ".join(words[3:]).upper() + " "

    def typed_code(code: str) -> str:
        low = code.lower().replace("0", "o").replace("1", "l")
        return f" {low[0:4]} - {low[4:8]}-{low[8:12]}  "

    derivations = [
        ("derive_default_en", typed_code(code_a), en, kdf.MAILBOX_DEFAULT,
         "the real parameters (t=3, 64 MiB); English passphrase as generated"),
        ("derive_default_id_typed", typed_code(code_b), mess_up(idn), kdf.MAILBOX_DEFAULT,
         "the real parameters; Indonesian passphrase and codename typed carelessly"),
        ("derive_cheap_typed", typed_code(code_a), mess_up(en), CHEAP,
         "cheap test parameters; same codename and passphrase as derive_default_en, typed carelessly"),
        ("derive_cheap_lanes", code_b, idn, CHEAP_LANES, "cheap test parameters with p=2 lanes"),
    ]
    for name, code_typed, pw_typed, params, why in derivations:
        salt = shake(f"mailbox-salt/{name}", 16)
        sk = mailbox.derive_mailbox_key(code_typed, pw_typed, salt, params)
        pk = bytes(sk.public_key)
        vs.append(ok(name, "derive_mailbox_key",
                     "mailbox key = Argon2id(b'wbs-mailbox-v1\\x00' || codename || b'\\x00' || passphrase, salt, t, "
                     "m_kib, p, 32) as an X25519 secret key; account_lookup = BLAKE2b-256(codename, key=instance "
                     "secret). " + why,
                     codename=code_typed, codename_normalized=mailbox.normalize_codename(code_typed),
                     passphrase=pw_typed, passphrase_normalized=mailbox.normalize_passphrase(pw_typed),
                     argon2_secret_b64=b64(mailbox.mailbox_secret(code_typed, pw_typed)),
                     salt=b64(salt), kdf={"t": params.t, "m_kib": params.m_kib, "p": params.p},
                     mailbox_sk=b64(bytes(sk)), mailbox_pk=b64(pk), key_id=encoding.key_id_hex(pk),
                     instance_secret=instance.hex(),
                     account_lookup=mailbox.account_lookup(code_typed, instance).hex()))
    vs.append(reject("derive_invalid_codename", "derive_mailbox_key", "CredentialError",
                     "a codename with U cannot be used", codename="ABCD-EFGH-JKMU", passphrase=en,
                     salt=b64(shake("mailbox-salt/x", 16)), kdf={"t": 1, "m_kib": 8, "p": 1}))
    vs.append(reject("account_lookup_invalid_codename", "account_lookup", "CredentialError",
                     "a 13-symbol codename has no account index", codename="ABCD-EFGH-JKMNP",
                     instance_secret=instance.hex()))
    out.vectors("mailbox.json",
                "PROTOCOL.md §3: codename and passphrase normalisation, mailbox key derivation, account lookup.", vs)


# ---------------------------------------------------------------- §4 envelopes


def craft_envelope(
    pieces: list[tuple[bytes, int]],
    recipients: list[bytes],
    *,
    stanza_key_ids: list[bytes] | None = None,
) -> bytes:
    """An envelope built from the libsodium bindings exactly as PROTOCOL.md §4 says."""
    file_key = os.urandom(32)
    ids = stanza_key_ids or [encoding.key_id(pk) for pk in recipients]
    stanzas = b"".join(kid + crypto_box_seal(file_key, pk) for kid, pk in zip(ids, recipients))
    state = crypto_secretstream_xchacha20poly1305_state()
    header = b"WBSE" + bytes((1, len(recipients))) + stanzas + crypto_secretstream_xchacha20poly1305_init_push(state, file_key)
    parts = [header]
    ad: bytes | None = header
    for piece, tag in pieces:
        parts.append(crypto_secretstream_xchacha20poly1305_push(state, piece, ad, tag))
        ad = None
    return b"".join(parts)


def spec_pieces(padded: bytes) -> list[tuple[bytes, int]]:
    cut = [padded[i : i + 65536] for i in range(0, len(padded), 65536)]
    return [(p, TAG_FINAL if i == len(cut) - 1 else TAG_MESSAGE) for i, p in enumerate(cut)]


def spec_pad(data: bytes) -> bytes:
    return data + b"\x80" + bytes(padding.padded_length(len(data)) - len(data) - 1)


def seal_streaming(data: bytes, recipients: list[bytes]) -> bytes:
    """EnvelopeWriter fed in uneven writes, as an upload would."""
    dst = io.BytesIO()
    writer = envelope.EnvelopeWriter(dst, recipients)
    sizes = [1, 1000, 70000, 65536, 3, 200000]
    pos = i = 0
    while pos < len(data):
        step = sizes[i % len(sizes)]
        writer.write(data[pos : pos + step])
        pos += step
        i += 1
    writer.close()
    return dst.getvalue()


def gen_envelopes(out: Output) -> None:
    vs = []
    keys16 = [(f"r{i:02d}", x25519(f"r{i:02d}")) for i in range(1, 17)]
    stranger = ("stranger", x25519("stranger"))
    pks16 = [bytes(k.public_key) for _, k in keys16]

    def put(name: str, data: bytes) -> str:
        return out.put(f"envelopes/{name}.wbse", data)

    def add_ok(name: str, description: str, env: bytes, source: dict[str, Any], length: int,
               n: int, open_with: list[str], **extra: Any) -> None:
        vs.append(ok(name, "open_envelope", description, file=put(name, env),
                     recipients=[x25519_json(kn, k) for kn, k in keys16[:n]],
                     stanza_key_ids=envelope.envelope_key_ids(env), open_with=open_with,
                     plaintext=describe(source, length), envelope_length=envelope.envelope_length(length, n),
                     **extra))

    sizes = [(0, "0B"), (1, "1B"), (1023, "1023B"), (65536, "65536B"), (2**20 + 1, "1MiB_plus_1B")]
    for length, label in sizes:
        source = {"fill": "shake256", "label": f"envelope/{label}"}
        data = plaintext(source, length)
        for n in (1, 16):
            env = seal_streaming(data, pks16[:n]) if length > 65536 else envelope.seal_bytes(data, pks16[:n])
            assert len(env) == envelope.envelope_length(length, n)
            opens = ["r01"] if n == 1 else (["r01", "r16"] if length > 65536 else [kn for kn, _ in keys16])
            add_ok(f"{label}_to_{n}", f"{length} bytes sealed to {n} recipient(s); each key in open_with opens it",
                   env, source, length, n, opens)
    for length, why in [(65535, "P is exactly one full piece: a single, full-size final chunk"),
                        (131071, "P is exactly two full pieces: the final chunk is full-size")]:
        source = {"fill": "shake256", "label": f"envelope/{length}B"}
        env = envelope.seal_bytes(plaintext(source, length), pks16[:2])
        add_ok(f"{length}B_to_2", f"{length} bytes: {why}", env, source, length, 2, ["r01", "r02"])
    zeros = {"fill": "zeros"}
    env = envelope.seal_bytes(bytes(70000), pks16[:1])
    add_ok("zeros_70000B_to_1", "70,000 zero bytes: the reader strips the padding's zeros, not the data's",
           env, zeros, 70000, 1, ["r01"])
    env = envelope.seal_bytes(bytes(65536), pks16[:1])
    add_ok("zeros_65536B_to_1", "65,536 zero bytes: the first chunk holds only data zeros, the marker starts chunk 2",
           env, zeros, 65536, 1, ["r01"])
    tail = {"fill": "shake256", "label": "envelope/ends-with-0x80"}
    data = plaintext(tail, 1500)[:-1] + b"\x80"
    # Not regenerable from the label alone, so spell it out.
    env = envelope.seal_bytes(data, pks16[:1])
    vs.append(ok("data_ends_with_0x80_to_1", "open_envelope",
                 "data whose last byte is 0x80, then 0x80 0x00...: only one 0x80 is stripped",
                 file=put("data_ends_with_0x80_to_1", env), recipients=[x25519_json(*keys16[0])],
                 stanza_key_ids=envelope.envelope_key_ids(env), open_with=["r01"],
                 plaintext={"source": {"fill": "literal"}, "length": len(data), "sha256": sha256(data), "b64": b64(data)},
                 envelope_length=envelope.envelope_length(len(data), 1)))

    # Built by hand from PROTOCOL.md §4 with the libsodium bindings.
    source = {"fill": "shake256", "label": "envelope/crafted"}
    data = plaintext(source, 70000)
    env = craft_envelope(spec_pieces(spec_pad(data)), pks16[:3])
    add_ok("crafted_per_spec_to_3", "built by hand from PROTOCOL.md §4 (not by EnvelopeWriter); must open like any other",
           env, source, 70000, 3, ["r01", "r02", "r03"])
    source = {"fill": "shake256", "label": "envelope/stanza-key-id"}
    data = plaintext(source, 100)
    env = craft_envelope(spec_pieces(spec_pad(data)), pks16[:2], stanza_key_ids=[bytes(8), b"\xff" * 8])
    add_ok("stanza_key_ids_wrong_to_2",
           "built by hand: both stanzas carry wrong key_ids (00.. and ff..), authenticated as such; a reader "
           "falls back to trying every stanza and opens it", env, source, 100, 2, ["r01", "r02"])

    # ---- rejects
    def add_reject(name: str, error: str, description: str, env: bytes, n: int = 1, open_with: list[str] | None = None,
                   keys_: list[tuple[str, PrivateKey]] | None = None) -> None:
        ks = keys_ if keys_ is not None else keys16[:n]
        vs.append(reject(name, "open_envelope", error, description, file=put(name, env),
                         recipients=[x25519_json(kn, k) for kn, k in ks],
                         open_with=open_with or [ks[0][0]]))

    small_src = {"fill": "shake256", "label": "envelope/reject-small"}
    small = envelope.seal_bytes(plaintext(small_src, 1023), pks16[:1])
    big_src = {"fill": "shake256", "label": "envelope/reject-3-chunks"}
    big = envelope.seal_bytes(plaintext(big_src, 131073), pks16[:1])
    h1 = envelope.header_length(1)  # 118
    chunk = envelope.CHUNK_BYTES
    assert len(big) == h1 + 2 * chunk + 4096 + 17

    add_reject("magic_flipped", "FormatError", "first byte of the magic flipped ('WBSE' → 'VBSE')", flip(small, 0))
    add_reject("version_2", "FormatError", "version byte 0x02", small[:4] + b"\x02" + small[5:])
    add_reject("version_0", "FormatError", "version byte 0x00", small[:4] + b"\x00" + small[5:])
    add_reject("recipients_0", "FormatError", "n = 0 recipients", small[:5] + b"\x00" + small[6:])
    env16 = envelope.seal_bytes(plaintext(small_src, 10), pks16)
    add_reject("recipients_17", "FormatError", "n = 17 (16 stanzas written, byte changed)", env16[:5] + b"\x11" + env16[6:],
               n=16)
    add_reject("n_1_to_2", "DecryptionError",
               "n changed from 1 to 2: the header grows into the chunks and authentication fails",
               small[:5] + b"\x02" + small[6:])
    add_reject("stanza_key_id_flipped", "DecryptionError",
               "a byte of the stanza's key_id flipped: the stanza still opens by fallback, but the header is "
               "the first chunk's associated data", flip(small, 6))
    add_reject("stanza_sealed_flipped", "DecryptionError", "a byte inside crypto_box_seal(file_key) flipped",
               flip(small, 6 + 8 + 40))
    add_reject("ss_header_flipped", "DecryptionError", "a byte of the secretstream header flipped",
               flip(small, h1 - 3))
    add_reject("chunk1_flipped", "DecryptionError", "a byte in the first chunk (of 3) flipped", flip(big, h1 + 1000))
    add_reject("chunk3_flipped", "DecryptionError", "a byte in the third, final chunk flipped",
               flip(big, h1 + 2 * chunk + 10))
    add_reject("chunk2_mac_flipped", "DecryptionError", "the last byte (in the MAC) of the second chunk flipped",
               flip(big, h1 + 2 * chunk - 1))
    add_reject("truncated_mid_chunk2", "DecryptionError", "cut in the middle of the second of 3 chunks",
               big[: h1 + chunk + 30000])
    add_reject("truncated_after_chunk2", "DecryptionError",
               "cut exactly at a chunk boundary: chunks 1 and 2 (TAG_MESSAGE) present, final chunk missing",
               big[: h1 + 2 * chunk])
    add_reject("truncated_after_chunk1", "DecryptionError", "cut exactly after the first chunk",
               big[: h1 + chunk])
    add_reject("truncated_after_header", "DecryptionError", "the header only, no chunk", big[:h1])
    add_reject("truncated_in_header", "FormatError", "cut inside the stanza", big[:50])
    add_reject("truncated_final_chunk_by_1", "DecryptionError", "the last byte of the final chunk missing",
               big[:-1])
    add_reject("empty_file", "FormatError", "zero bytes", b"")
    add_reject("data_appended_1_byte", "DecryptionError", "one byte after the final chunk", big + b"\x00")
    add_reject("data_appended_chunk", "DecryptionError", "a copy of the final chunk appended after it",
               big + big[h1 + 2 * chunk :])
    add_reject("chunks_swapped", "DecryptionError", "chunks 1 and 2 swapped",
               big[:h1] + big[h1 + chunk : h1 + 2 * chunk] + big[h1 : h1 + chunk] + big[h1 + 2 * chunk :])
    add_reject("wrong_key", "DecryptionError", "opened with a key that is not a recipient", small,
               keys_=[stranger], open_with=["stranger"])
    add_reject("stanza_from_other_envelope", "DecryptionError",
               "the stanza replaced by one (for the right key) from another envelope with another file key",
               small[:6] + envelope.seal_bytes(b"x", pks16[:1])[6:94] + small[94:])

    pad_src = {"fill": "shake256", "label": "envelope/no-marker"}
    add_reject("padding_marker_missing_all_zero", "DecryptionError",
               "built by hand: P is 1,024 zero bytes (no 0x80 anywhere), one TAG_FINAL chunk",
               craft_envelope([(bytes(1024), TAG_FINAL)], pks16[:1]))
    data = plaintext(pad_src, 100)[:99] + b"\x01"
    add_reject("padding_marker_missing_01", "DecryptionError",
               "built by hand: P = 100 data bytes ending in 0x01, then 924 zeros: the last non-zero byte is not 0x80",
               craft_envelope([(data + bytes(924), TAG_FINAL)], pks16[:1]))
    add_reject("padding_marker_missing_2_chunks", "DecryptionError",
               "built by hand: P = 65,536 data bytes then 2,048 zeros, the 0x80 left out",
               craft_envelope([(plaintext(pad_src, 65536), TAG_MESSAGE), (bytes(2048), TAG_FINAL)], pks16[:1]))
    padded = spec_pad(plaintext(pad_src, 1000))
    add_reject("no_final_tag", "DecryptionError", "built by hand: the only chunk carries TAG_MESSAGE, not TAG_FINAL",
               craft_envelope([(padded, TAG_MESSAGE)], pks16[:1]))
    add_reject("final_tag_then_chunk", "DecryptionError",
               "built by hand: a full TAG_FINAL chunk followed by another (authentic) chunk",
               craft_envelope([(plaintext(pad_src, 65536), TAG_FINAL), (b"\x80" + bytes(2047), TAG_FINAL)], pks16[:1]))
    add_reject("short_message_chunk", "DecryptionError",
               "built by hand: P cut in 1,024-byte pieces (TAG_MESSAGE, ..., TAG_FINAL) instead of 65,536",
               craft_envelope([(p, TAG_MESSAGE if i < 1 else TAG_FINAL)
                               for i, p in enumerate((padded[:512], padded[512:]))], pks16[:1]))
    add_reject("push_tag_chunk", "DecryptionError",
               "built by hand: a first chunk tagged TAG_PUSH (1) instead of TAG_MESSAGE",
               craft_envelope([(plaintext(pad_src, 65536), 1), (b"\x80" + bytes(2047), TAG_FINAL)], pks16[:1]))
    vs += envelope_cuts(put, keys16[0])
    out.vectors("envelopes.json",
                "PROTOCOL.md §4: envelopes. ok: each key named in open_with opens the file by itself to exactly the "
                "plaintext; reject: opening with the keys in open_with fails with `error`.", vs)


def pieces_before_cut(env: bytes, sk: PrivateKey) -> bytes:
    """The padded plaintext of every chunk an envelope holds, with no regard for TAG_FINAL."""
    n = env[5]
    start = 6 + envelope.STANZA_BYTES * n
    file_key = crypto_box_seal_open(env[6 + 8 : 6 + envelope.STANZA_BYTES], bytes(sk.public_key), bytes(sk))
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, env[start : start + 24], file_key)
    ad: bytes | None = env[: start + 24]
    parts = []
    for offset in range(start + 24, len(env), envelope.CHUNK_BYTES):
        piece, _ = crypto_secretstream_xchacha20poly1305_pull(state, env[offset : offset + envelope.CHUNK_BYTES], ad)
        parts.append(piece)
        ad = None
    return b"".join(parts)


def envelope_cuts(put: Callable[[str, bytes], str], key: tuple[str, PrivateKey]) -> list[dict[str, Any]]:
    """Envelopes cut exactly at a chunk boundary where what is left ends like valid padding.

    Only the missing TAG_FINAL chunk tells such a cut from a whole envelope: a
    reader that takes the end of the file for the end of the envelope opens
    each of them to a shorter plaintext. (A cut through random data almost
    never ends in 0x80 and zeros, so the other truncation vectors fail for
    another reason as well.)
    """
    name, sk = key
    pk = bytes(sk.public_key)
    h1, chunk = envelope.header_length(1), envelope.CHUNK_BYTES
    cases = [
        ("cut_after_chunk1_marker_ends_piece1", 70536, {65535: b"\x80"}, 1,
         "70,536 bytes with 0x80 at offset 65,535 (the last byte of the first piece), cut after the first chunk"),
        ("cut_after_chunk1_marker_then_zeros", 70536, {60000: b"\x80" + bytes(5535)}, 1,
         "70,536 bytes whose first piece ends in 0x80 at offset 60,000 and 5,535 zeros, cut after the first chunk"),
        ("cut_after_chunk2_marker_ends_piece2", 140000, {131071: b"\x80"}, 2,
         "140,000 bytes with 0x80 at offset 131,071 (the last byte of the second piece), cut after the second chunk"),
        ("cut_after_chunk2_zero_piece", 140000, {65535: b"\x80" + bytes(65536)}, 2,
         "140,000 bytes: the first piece ends in 0x80 and the second holds only (data) zeros, cut after the second "
         "chunk, so the cut looks like a marker and a whole piece of padding"),
        ("cut_after_chunk16_marker_ends_batch", 2**20 + 5000, {2**20 - 1: b"\x80"}, 16,
         "1,053,576 bytes with 0x80 at offset 1,048,575, cut after the 16th chunk (where the writer's first 1 MiB "
         "batch ends)"),
    ]
    vs = []
    for vname, length, marks, kept, why in cases:
        data = bytearray(shake(f"envelope/{vname}", length))
        for offset, value in marks.items():
            data[offset : offset + len(value)] = value
        whole = seal_streaming(bytes(data), [pk])
        assert envelope.open_bytes(whole, [sk]) == data
        cut = whole[: h1 + kept * chunk]
        left = pieces_before_cut(cut, sk).rstrip(b"\x00")
        assert left.endswith(b"\x80") and len(left) - 1 < length  # valid-looking padding, a shorter plaintext
        vs.append(reject(vname, "open_envelope", "DecryptionError",
                         f"{why}: what is left ends like valid padding; only the missing TAG_FINAL shows the cut "
                         f"(a reader that does not require it returns the first {len(left) - 1:,} bytes)",
                         file=put(vname, cut), recipients=[x25519_json(name, sk)], open_with=[name]))
        if kept == 1 and 65535 in marks:
            vs.append(ok("marker_byte_at_65535_to_1", "open_envelope",
                         "the uncut envelope of cut_after_chunk1_marker_ends_piece1: a 0x80 that ends a piece is "
                         "data when more chunks follow",
                         file=put("marker_byte_at_65535_to_1", whole), recipients=[x25519_json(name, sk)],
                         stanza_key_ids=envelope.envelope_key_ids(whole), open_with=[name],
                         plaintext={"source": {"fill": "literal"}, "length": length, "sha256": sha256(bytes(data)),
                                    "b64": b64(bytes(data))},
                         envelope_length=envelope.envelope_length(length, 1)))
    return vs


# ---------------------------------------------------------------- §5 items

REPORT_CODE = "KLK-7K3QX-M9TZ2"
OTHER_CODE = "KLK-AAAAA-BBBBB"


def sample_report(code: str, attachments: list[items.AttachmentRef]) -> dict[str, Any]:
    return items.report_plaintext(
        report_code=code,
        submitted_at="2026-11-27T03:14:15Z",
        lang="id",
        category="pengadaan",
        what="Pengadaan 12 unit laptop dengan harga jauh di atas pasar; spesifikasi di dokumen tidak sesuai barang.",
        who="Panitia pengadaan Dinas Pekerjaan Umum",
        where="Semarapura, Klungkung — kantor dinas",
        when="Maret–April 2026",
        how="Dokumen penawaran “pembanding” dibuat oleh satu orang.",
        loss_estimate="Rp 250.000.000",
        attachments=attachments,
        reported_persons=[{"name": "I Made Contoh", "position": "Ketua panitia", "unit": "Dinas PU"},
                          {"name": "Ni Wayan Sampel", "position": "", "unit": "Bagian Umum"}],
        incident_date="2026-03-15",
        evidence_note="Foto faktur terlampir.",
        identity="Pegawai honorer; nama tidak ingin disebut 🙏",
    )


def gen_items(out: Output) -> None:
    vs = []
    g2025 = org_key("2025", "2025-01-15T09:00:00Z", "retired")
    g2026 = org_key("2026", "2026-06-01T02:00:00Z", "active")
    stranger_org = org_key("stranger", "2026-06-01T02:00:00Z", "active")
    mbox = x25519("mailbox/" + REPORT_CODE)
    mbox_pk = bytes(mbox.public_key)
    pubs = [g2025.public, g2026.public]
    key_list = [
        {"name": "org-2026", "sk": b64(g2026.enc_sk), "pk": b64(g2026.public.enc_pk), "key_id": g2026.key_id},
        x25519_json("mailbox", mbox),
    ]
    verify_keys = [org_public_json(g2025), org_public_json(g2026)]

    def put(name: str, data: bytes) -> str:
        return out.put(f"items/{name}.wbse", data)

    def add_json(name: str, description: str, kind: str, content: dict[str, Any], env: bytes, filed_under: str,
                 moved: bool, open_with: list[str], *, signer: str | None = None) -> None:
        data = encoding.canonical_json(content)
        fields: dict[str, Any] = dict(
            file=put(name, env), kind=kind, filed_under=filed_under, keys=key_list, open_with=open_with,
            stanza_key_ids=envelope.envelope_key_ids(env), plaintext_length=len(data),
            plaintext_sha256=sha256(data), content=content, moved=moved,
        )
        if signer is not None:
            fields["verify_keys"] = verify_keys
            fields["signer_key_id"] = signer
        vs.append(ok(name, "open_item", description, **fields))

    # An attachment, and the report that lists it.
    att_src = {"fill": "shake256", "label": "items/attachment/faktur.jpg"}
    att = plaintext(att_src, 3000)
    att_id = shake("item-id/attachment-1", 16).hex()
    att_env = envelope.seal_bytes(att, items.recipients_for("attachment", pubs, None))
    ref = items.AttachmentRef(item_id=att_id, filename="faktur pembelian (1).jpg", media_type="image/jpeg",
                              size=len(att), sha256=sha256(att))
    vs.append(ok("attachment", "open_attachment", "an attachment: raw bytes sealed to every active org key only",
                 file=put("attachment", att_env), keys=key_list, open_with=["org-2026"],
                 stanza_key_ids=envelope.envelope_key_ids(att_env), plaintext=describe(att_src, len(att)),
                 listed_in="report"))
    vs.append(reject("attachment_not_for_mailbox", "open_attachment", "DecryptionError",
                     "the mailbox key is not a recipient of attachments", file="items/attachment.wbse",
                     keys=key_list, open_with=["mailbox"]))

    report = sample_report(REPORT_CODE, [ref])
    env = items.seal_json(report, items.recipients_for("report", pubs, mbox_pk))
    add_json("report", "a report with one attachment and every optional member; sealed to org keys + mailbox",
             "report", report, env, REPORT_CODE, False, ["org-2026", "mailbox"])

    message = items.message_plaintext(report_code=REPORT_CODE, sent_at="2026-11-28T01:02:03Z",
                                      body="Saya punya satu dokumen lagi.\nApakah perlu dikirim?", attachments=[])
    env = items.seal_json(message, items.recipients_for("message", pubs, mbox_pk))
    add_json("message", "a message from the reporter, no attachments", "message", message, env, REPORT_CODE, False,
             ["org-2026", "mailbox"])

    reply = items.reply_plaintext(report_code=REPORT_CODE, sent_at="2026-11-28T08:30:00Z",
                                  body="Terima kasih. Laporan Anda sedang diverifikasi — mohon kirim dokumennya.")
    signed = items.sign_reply(reply, g2026)
    env = items.seal_json(signed, items.recipients_for("reply", pubs, mbox_pk))
    add_json("reply_signed", "a reply written offline, signed by the 2026 sig key; mailbox stanza first",
             "reply", signed, env, REPORT_CODE, False, ["mailbox", "org-2026"], signer=g2026.key_id)

    env = items.seal_json(reply, items.recipients_for("reply", pubs, mbox_pk))
    add_json("reply_unsigned", "a reply as the server writes it: no sig, no signer_key_id", "reply", reply, env,
             REPORT_CODE, False, ["mailbox"])

    moved = sample_report(OTHER_CODE, [])
    env = items.seal_json(moved, items.recipients_for("report", pubs, mbox_pk))
    add_json("report_moved", f"a report whose report_code is {OTHER_CODE}, filed under {REPORT_CODE}: opens, flagged moved",
             "report", moved, env, REPORT_CODE, True, ["org-2026"])

    future = dict(items.message_plaintext(report_code=REPORT_CODE, sent_at="2026-11-28T01:02:03Z", body="ok",
                                          attachments=[ref]))
    future["x_future_member"] = {"anything": [1, 2, 3]}
    env = items.seal_json(future, items.recipients_for("message", pubs, mbox_pk))
    add_json("message_unknown_member", "a message with a member readers do not know: ignored, not refused",
             "message", future, env, REPORT_CODE, False, ["mailbox"])

    # ---- rejects
    def add_reject(name: str, error: str, description: str, kind: str, env: bytes, content: dict[str, Any] | None,
                   stage: str) -> None:
        fields: dict[str, Any] = dict(file=put(name, env), kind=kind, filed_under=REPORT_CODE, keys=key_list,
                                      open_with=["mailbox"], stage=stage)
        if stage == "verify":
            fields.update(content=content, verify_keys=verify_keys)
        vs.append(reject(name, "open_item", error, description, **fields))

    tampered = dict(signed, body=signed["body"] + " Segera.")
    env = items.seal_json(tampered, items.recipients_for("reply", pubs, mbox_pk))
    add_reject("reply_bad_signature", "SignatureError",
               "a signed reply whose body was changed after signing: opens, verify_reply refuses it", "reply", env,
               tampered, "verify")
    foreign = items.sign_reply(reply, stranger_org)
    env = items.seal_json(foreign, items.recipients_for("reply", pubs, mbox_pk))
    add_reject("reply_unknown_signer", "SignatureError",
               "a reply signed by a key that is not in the org's public key file", "reply", env, foreign, "verify")
    resigned = dict(signed, signer_key_id=g2025.key_id)
    env = items.seal_json(resigned, items.recipients_for("reply", pubs, mbox_pk))
    add_reject("reply_wrong_signer_key_id", "SignatureError",
               "signed by the 2026 key but naming the 2025 key as signer", "reply", env, resigned, "verify")
    for name, obj, why in [
        ("item_version_2", dict(report, v=2), 'report with "v": 2'),
        ("item_unknown_type", dict(message, type="memo"), 'type "memo"'),
        ("item_bad_report_code", dict(message, report_code="klk-7k3qx-m9tz2"), "report_code in lower case"),
        ("report_missing_what", {k: v for k, v in report.items() if k != "what"}, 'report without "what"'),
        ("report_attachment_bad_sha256", dict(report, attachments=[dict(ref.to_json(), sha256="XYZ")]),
         "attachment sha256 not hex"),
    ]:
        env = envelope.seal_bytes(encoding.canonical_json(obj), items.recipients_for("message", pubs, mbox_pk))
        add_reject(name, "FormatError", f"opens, but the plaintext is not a valid item: {why}", obj["type"], env,
                   None, "open")
    env = envelope.seal_bytes(b'{"type":"message","v":1,"v":1}', items.recipients_for("message", pubs, mbox_pk))
    add_reject("item_duplicate_member", "FormatError", "a JSON object with the same member twice", "message", env,
               None, "open")
    env = envelope.seal_bytes(b"\xff\xfe not json", items.recipients_for("message", pubs, mbox_pk))
    add_reject("item_not_utf8_json", "FormatError", "the plaintext is not UTF-8 JSON", "message", env, None, "open")
    out.vectors("items.json",
                "PROTOCOL.md §5: reports, messages, replies and attachments inside envelopes. open_item: each key "
                "in open_with opens the envelope to canonical JSON equal to `content`; `moved` says whether the "
                "inner report_code differs from filed_under; with verify_keys, the reply's signature verifies "
                "and names signer_key_id.", vs)


# ---------------------------------------------------------------- §6 export bundles


def zip_entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def rezip(entries: list[tuple[str, bytes]], *, deflate: set[str] = frozenset()) -> bytes:  # type: ignore[assignment]
    dst = io.BytesIO()
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=export_bundle.ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)
    return dst.getvalue()


def entry_data_offset(data: bytes, name: str) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    start = info.header_offset
    assert data[start : start + 4] == b"PK\x03\x04"
    name_len, extra_len = struct.unpack("<HH", data[start + 26 : start + 30])
    return start + 30 + name_len + extra_len


def gen_export_bundles(out: Output) -> None:
    vs = []
    g2025_then = org_key("2025", "2025-01-15T09:00:00Z", "active")  # as it was when report A came in
    g2025 = g2025_then.retired()
    g2026 = org_key("2026", "2026-06-01T02:00:00Z", "active")
    code_a, code_b = "KLK-0A1B2-C3D4E", "WBS-Z9Y8X-W7V6T"
    mbox_a, mbox_b = x25519("mailbox/" + code_a), x25519("mailbox/" + code_b)
    key_list = [
        {"name": "org-2025", "sk": b64(g2025.enc_sk), "pk": b64(g2025.public.enc_pk), "key_id": g2025.key_id},
        {"name": "org-2026", "sk": b64(g2026.enc_sk), "pk": b64(g2026.public.enc_pk), "key_id": g2026.key_id},
        x25519_json("mailbox-a", mbox_a),
        x25519_json("mailbox-b", mbox_b),
    ]
    expected_items: list[dict[str, Any]] = []
    export_reports = []
    n = 0

    def item_id() -> str:
        nonlocal n
        n += 1
        return shake(f"export/item/{n}", 16).hex()

    def add_item(report_items: list[export_bundle.ExportItem], kind: str, env: bytes, parent: str | None, day: str,
                 iid: str, open_with: list[str], code: str, *, content: dict[str, Any] | None = None,
                 source: dict[str, Any] | None = None, length: int = 0) -> None:
        report_items.append(export_bundle.ExportItem(
            item_id=iid, kind=kind, parent_id=parent, created_day=day,
            open=lambda e=env: io.BytesIO(e), size=len(env), sha256=sha256(env)))
        entry: dict[str, Any] = {"item_id": iid, "report_code": code, "kind": kind, "open_with": open_with}
        if content is not None:
            data = encoding.canonical_json(content)
            entry.update(content=content, plaintext_length=len(data), plaintext_sha256=sha256(data))
        else:
            entry["plaintext"] = describe(source, length)  # type: ignore[arg-type]
        expected_items.append(entry)

    # Report A: came in under the 2025 key (then active); a reply after rotation, sealed to 2026.
    old = [g2025_then.public]
    new = [g2026.public]
    a_items: list[export_bundle.ExportItem] = []
    att1_src = {"fill": "shake256", "label": "export/a/attachment-1"}
    att1 = plaintext(att1_src, 5000)
    att1_id, rep_a_id, msg_a_id, att2_id, reply_a_id = (item_id() for _ in range(5))
    ref1 = items.AttachmentRef(att1_id, "kwitansi.pdf", "application/pdf", len(att1), sha256(att1))
    rep_a = sample_report(code_a, [ref1])
    add_item(a_items, "report", items.seal_json(rep_a, items.recipients_for("report", old, mbox_a.public_key)),
             None, "2026-03-20", rep_a_id, ["org-2025", "mailbox-a"], code_a, content=rep_a)
    add_item(a_items, "attachment", envelope.seal_bytes(att1, items.recipients_for("attachment", old, None)),
             rep_a_id, "2026-03-20", att1_id, ["org-2025"], code_a, source=att1_src, length=len(att1))
    att2_src = {"fill": "shake256", "label": "export/a/attachment-2"}
    att2 = plaintext(att2_src, 70000)
    ref2 = items.AttachmentRef(att2_id, "rekaman rapat.m4a", "audio/mp4", len(att2), sha256(att2))
    msg_a = items.message_plaintext(report_code=code_a, sent_at="2026-04-02T10:00:00Z",
                                    body="Rekaman rapat terlampir.", attachments=[ref2])
    add_item(a_items, "message", items.seal_json(msg_a, items.recipients_for("message", old, mbox_a.public_key)),
             None, "2026-04-02", msg_a_id, ["org-2025", "mailbox-a"], code_a, content=msg_a)
    add_item(a_items, "attachment", envelope.seal_bytes(att2, items.recipients_for("attachment", old, None)),
             msg_a_id, "2026-04-02", att2_id, ["org-2025"], code_a, source=att2_src, length=len(att2))
    reply_a = items.sign_reply(items.reply_plaintext(report_code=code_a, sent_at="2026-07-01T02:00:00Z",
                                                     body="Laporan ditindaklanjuti."), g2026)
    add_item(a_items, "reply", items.seal_json(reply_a, items.recipients_for("reply", new, mbox_a.public_key)),
             None, "2026-07-01", reply_a_id, ["org-2026", "mailbox-a"], code_a, content=reply_a)
    export_reports.append(export_bundle.ExportReport(
        report_code=code_a, status="follow_up", created_day="2026-03-20",
        status_history=[("received", "2026-03-20"), ("verification", "2026-03-25"), ("follow_up", "2026-07-01")],
        mailbox_pk=bytes(mbox_a.public_key), items=a_items))

    b_items: list[export_bundle.ExportItem] = []
    rep_b_id, msg_b_id, empty_att_id, reply_b_id = (item_id() for _ in range(4))
    empty_ref = items.AttachmentRef(empty_att_id, "kosong.txt", "text/plain", 0, sha256(b""))
    rep_b = items.report_plaintext(report_code=code_b, submitted_at="2026-11-20T23:59:59Z", lang="en",
                                   category="other", what="Cash asked for a permit.", who="", where="", when="",
                                   how="", attachments=[empty_ref])
    add_item(b_items, "report", items.seal_json(rep_b, items.recipients_for("report", new, mbox_b.public_key)),
             None, "2026-11-20", rep_b_id, ["org-2026", "mailbox-b"], code_b, content=rep_b)
    add_item(b_items, "attachment", envelope.seal_bytes(b"", items.recipients_for("attachment", new, None)),
             rep_b_id, "2026-11-20", empty_att_id, ["org-2026"], code_b, source={"fill": "zeros"}, length=0)
    msg_b = items.message_plaintext(report_code=code_b, sent_at="2026-11-21T00:00:01Z", body="Any news?")
    add_item(b_items, "message", items.seal_json(msg_b, items.recipients_for("message", new, mbox_b.public_key)),
             None, "2026-11-21", msg_b_id, ["org-2026", "mailbox-b"], code_b, content=msg_b)
    reply_b = items.reply_plaintext(report_code=code_b, sent_at="2026-11-22T08:00:00Z", body="We are checking.")
    add_item(b_items, "reply", items.seal_json(reply_b, items.recipients_for("reply", new, mbox_b.public_key)),
             None, "2026-11-22", reply_b_id, ["mailbox-b", "org-2026"], code_b, content=reply_b)
    export_reports.append(export_bundle.ExportReport(
        report_code=code_b, status="received", created_day="2026-11-20",
        status_history=[("received", "2026-11-20")], mailbox_pk=bytes(mbox_b.public_key), items=b_items))

    dst = io.BytesIO()
    manifest = export_bundle.write_export_bundle(dst, export_reports, org_key_ids=[g2025.key_id, g2026.key_id], now=NOW)
    bundle = dst.getvalue()
    ok_path = out.put("bundles/export_two_reports.zip", bundle)
    vs.append(ok("two_reports", "read_export_bundle",
                 "two reports (the first partly sealed to the now-retired 2025 key), reports, messages, "
                 "attachments (one empty) and replies; every item checks against the manifest and opens",
                 file=ok_path, keys=key_list, manifest=manifest, items=expected_items))

    entries = zip_entries(bundle)
    target = export_bundle.item_path(att2_id)

    def with_entry(name: str, data: bytes) -> list[tuple[str, bytes]]:
        return [(n_, data if n_ == name else d) for n_, d in entries]

    def with_manifest(change: Callable[[dict[str, Any]], None]) -> list[tuple[str, bytes]]:
        m = json.loads(dict(entries)["manifest.json"])
        change(m)
        return with_entry("manifest.json", encoding.canonical_json(m))

    def add_reject(name: str, error: str, description: str, data: bytes) -> None:
        vs.append(reject(name, "read_export_bundle", error, "two_reports with " + description,
                         file=out.put(f"bundles/export_{name}.zip", data), keys=key_list))

    att2_env = dict(entries)[target]
    add_reject("item_changed", "IntegrityError",
               "one byte of an attachment's envelope changed, the ZIP rewritten with a correct CRC-32: "
               "only the manifest's sha256 catches it", rezip(with_entry(target, flip(att2_env, 40000))))
    off = entry_data_offset(bundle, target)
    add_reject("item_flipped_in_place", "IntegrityError",
               "one byte of an attachment's envelope flipped in place (the ZIP's CRC-32 no longer matches)",
               flip(bundle, off + 40000))
    add_reject("entry_missing", "FormatError", "the entry of one listed item left out",
               rezip([(n_, d) for n_, d in entries if n_ != target]))
    add_reject("extra_entry", "FormatError", "an entry the manifest does not list",
               rezip(entries + [("items/" + "ab" * 16 + ".wbse", att2_env)]))
    add_reject("manifest_missing", "FormatError", "no manifest.json",
               rezip([(n_, d) for n_, d in entries if n_ != "manifest.json"]))
    add_reject("entry_deflated", "FormatError", "an item entry compressed with deflate, not stored",
               rezip(entries, deflate={target}))
    add_reject("manifest_bad_kind", "FormatError", 'an item of kind "note"',
               rezip(with_manifest(lambda m: m["reports"][0]["items"][0].__setitem__("kind", "note"))))
    add_reject("manifest_bad_path", "FormatError", "an item whose path is not items/<item_id>.wbse",
               rezip(with_manifest(lambda m: m["reports"][0]["items"][0].__setitem__("path", "items/../x.wbse"))))
    add_reject("manifest_sha256_upper", "FormatError", "a sha256 in upper-case hex",
               rezip(with_manifest(lambda m: m["reports"][1]["items"][0].__setitem__(
                   "sha256", m["reports"][1]["items"][0]["sha256"].upper()))))
    add_reject("manifest_size_wrong", "FormatError", "an item's size one less than its entry's",
               rezip(with_manifest(lambda m: m["reports"][1]["items"][0].__setitem__(
                   "size", m["reports"][1]["items"][0]["size"] - 1))))
    add_reject("manifest_bad_format", "FormatError", 'format "wbs-export/2"',
               rezip(with_manifest(lambda m: m.__setitem__("format", "wbs-export/2"))))
    add_reject("manifest_duplicate_item", "FormatError", "the same item listed under both reports",
               rezip(with_manifest(lambda m: m["reports"][1]["items"].append(m["reports"][0]["items"][0]))))
    add_reject("manifest_bad_mailbox_pk", "FormatError", "a mailbox_pk of 31 bytes",
               rezip(with_manifest(lambda m: m["reports"][0].__setitem__("mailbox_pk", b64(bytes(31))))))
    add_reject("not_a_zip", "FormatError", "the ZIP's central directory cut off", bundle[: len(bundle) // 2])
    out.vectors("export_bundles.json",
                "PROTOCOL.md §6: export bundles. ok: the ZIP's manifest equals `manifest`, every entry matches its "
                "size and sha256, and each item opens with each key in its open_with to the plaintext (content for "
                "JSON items); reject: opening the bundle and reading every item fails with `error`.", vs)


# ---------------------------------------------------------------- §7 reply bundles


def gen_reply_bundles(out: Output) -> None:
    vs = []
    g2025 = org_key("2025", "2025-01-15T09:00:00Z", "retired")
    g2026 = org_key("2026", "2026-06-01T02:00:00Z", "active")
    stranger = org_key("stranger", "2026-06-01T02:00:00Z", "active")
    pub_file = out.put("pubkeys/reply_bundles_org.pub.json", keys.make_public_key_file(ORG_NAME, [g2025, g2026], NOW))
    pubs = [g2025.public, g2026.public]
    code_a, code_b = "KLK-0A1B2-C3D4E", "WBS-Z9Y8X-W7V6T"
    mbox = {code_a: x25519("mailbox/" + code_a), code_b: x25519("mailbox/" + code_b)}
    mailbox_pks = {c: b64(bytes(k.public_key)) for c, k in mbox.items()}
    key_list = [x25519_json("mailbox-a", mbox[code_a]), x25519_json("mailbox-b", mbox[code_b]),
                {"name": "org-2026", "sk": b64(g2026.enc_sk), "pk": b64(g2026.public.enc_pk), "key_id": g2026.key_id}]
    org_key_ids = [g2025.key_id, g2026.key_id]

    def reply_entry(code: str, n: int, body: str, status: str | None, recipients: list[bytes] | None = None,
                    signer: keys.OrgKey = g2026) -> tuple[reply_bundle.ReplyEntry, dict[str, Any]]:
        content = items.sign_reply(items.reply_plaintext(report_code=code, sent_at="2026-11-28T08:00:00Z", body=body),
                                   signer)
        recips = recipients if recipients is not None else items.recipients_for("reply", pubs, mbox[code].public_key)
        env = items.seal_json(content, recips)
        entry = reply_bundle.ReplyEntry(report_code=code, item_id=shake(f"reply/{code}/{n}", 16).hex(), envelope=env,
                                        set_status=status)
        expected = {"report_code": code, "item_id": entry.item_id, "set_status": status,
                    "envelope_sha256": sha256(env), "open_with": ["mailbox-a" if code == code_a else "mailbox-b"],
                    "content": content}
        return entry, expected

    e1, x1 = reply_entry(code_a, 1, "Terima kasih, laporan diteruskan ke tim audit.", "follow_up")
    e2, x2 = reply_entry(code_b, 1, "Mohon kirim bukti tambahan bila ada.", None)
    e3, x3 = reply_entry(code_b, 2, "Kasus ditutup.", "closed")
    good = reply_bundle.build_reply_bundle([e1, e2, e3], g2026, NOW)
    good_path = out.put("bundles/replies-ok.wbsr", good)
    common = dict(org_public_key_file=pub_file, mailbox_pks=mailbox_pks, org_key_ids=org_key_ids, keys=key_list)
    vs.append(ok("three_replies", "read_reply_bundle",
                 "three signed replies to two reports, one without a status change",
                 file=good_path, **common, created_at="2026-11-28T08:30:00Z", signer_key_id=g2026.key_id,
                 replies=[x1, x2, x3], verify_keys=[org_public_json(g2025), org_public_json(g2026)]))

    def dump(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, sort_keys=True, indent=1).encode("ascii") + b"\n"

    def sign(body: dict[str, Any], signer: keys.OrgKey) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if k != "sig"}
        body["sig"] = b64(signer.signing_key.sign(encoding.canonical_json(body)).signature)
        return body

    def add_reject(name: str, error: str, description: str, data: bytes) -> None:
        vs.append(reject(name, "read_reply_bundle", error, description,
                         file=out.put(f"bundles/replies-{name}.wbsr", data), **common))

    obj = json.loads(good)
    obj["replies"][1]["set_status"] = "closed"
    add_reject("set_status_changed", "SignatureError", "three_replies with one set_status changed after signing",
               dump(obj))
    obj = json.loads(good)
    obj["replies"][0]["envelope"] = b64(flip(base64.b64decode(obj["replies"][0]["envelope"]), 500))
    add_reject("envelope_changed", "SignatureError", "three_replies with a byte of an envelope flipped after signing",
               dump(obj))
    add_reject("signed_by_unknown_key", "SignatureError",
               "a bundle signed by a key that is not in org.pub.json (naming it as signer)",
               reply_bundle.build_reply_bundle([e1], stranger, NOW))
    obj = json.loads(good)
    obj["signer_key_id"] = g2025.key_id
    add_reject("signer_key_id_other", "SignatureError",
               "signed by 2026 but naming the retired 2025 key as signer_key_id (re-signed by 2026)",
               dump(sign(obj, g2026)))
    obj = json.loads(good)
    del obj["sig"]
    add_reject("sig_missing", "SignatureError", "three_replies without its sig member", dump(obj))
    obj = json.loads(good)
    obj["format"] = "wbs-replies/2"
    add_reject("format_version_2", "FormatError", 'format "wbs-replies/2" (re-signed)', dump(sign(obj, g2026)))

    e_org_only, _ = reply_entry(code_a, 9, "Not for the reporter.", None,
                                recipients=items.recipients_for("attachment", pubs, None))
    add_reject("not_sealed_to_mailbox", "FormatError",
               "a properly signed bundle whose envelope is sealed to the org key only, not to the report's "
               "mailbox key (check_reply_recipients)",
               reply_bundle.build_reply_bundle([e1, e_org_only], g2026, NOW))
    e_wrong_mbox, _ = reply_entry(code_a, 10, "Sent to the wrong case.", None,
                                  recipients=items.recipients_for("reply", pubs, mbox[code_b].public_key))
    add_reject("sealed_to_other_mailbox", "FormatError",
               "a properly signed bundle: the reply to report A is sealed to report B's mailbox key",
               reply_bundle.build_reply_bundle([e_wrong_mbox], g2026, NOW))
    e_mbox_only, _ = reply_entry(code_b, 11, "Org cannot read this.", None, recipients=[bytes(mbox[code_b].public_key)])
    add_reject("not_sealed_to_org", "FormatError",
               "a properly signed bundle whose envelope is sealed to the mailbox key only (check_reply_recipients)",
               reply_bundle.build_reply_bundle([e_mbox_only], g2026, NOW))
    e_unknown = reply_bundle.ReplyEntry(report_code="KLK-QQQQQ-RRRRR", item_id=shake("reply/unknown", 16).hex(),
                                        envelope=e1.envelope, set_status=None)
    add_reject("unknown_report", "FormatError", "a properly signed bundle replying to a report the server does not have",
               reply_bundle.build_reply_bundle([e_unknown], g2026, NOW))
    obj = json.loads(good)
    obj["replies"][2]["item_id"] = obj["replies"][1]["item_id"]
    add_reject("duplicate_item_id", "FormatError",
               "two replies with the same item_id, properly signed (crafted: the writer refuses this)",
               dump(sign(obj, g2026)))
    obj = json.loads(good)
    obj["replies"][0]["set_status"] = "Closed!"
    add_reject("bad_set_status", "FormatError", 'set_status "Closed!" is not a status key (re-signed)',
               dump(sign(obj, g2026)))
    out.vectors("reply_bundles.json",
                "PROTOCOL.md §7: reply bundles. ok: the bundle verifies against org_public_key_file, passes the "
                "recipient check with mailbox_pks and org_key_ids, and every envelope opens with the report's mailbox "
                "key to `content`, whose own signature verifies; reject: reading the bundle and checking its "
                "recipients fails with `error`.", vs)


# ---------------------------------------------------------------- main


def existing(root: Path) -> list[Path]:
    found = [root / name for name in VECTOR_FILES if (root / name).exists()]
    found += [root / d for d in ARTIFACT_DIRS if (root / d).exists()]
    return found


def references(node: Any) -> Iterator[str]:
    """A vector's files: the values of members named ``file`` or ``*_file``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if (key == "file" or key.endswith("_file")) and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def new_vectors(root: Path, out: Output) -> tuple[dict[str, bytes], list[str]]:
    """The writes that append each vector the released files lack (by name), with its own files.

    A released vector, its description and its files stay byte for byte; a new
    vector whose file already exists is refused (``ValueError``).
    """
    writes: dict[str, bytes] = {}
    added = []
    for filename in VECTOR_FILES:
        made = json.loads(out.files[filename])
        released = json.loads((root / filename).read_text(encoding="utf-8"))
        names = {v["name"] for v in released["vectors"]}
        fresh = [v for v in made["vectors"] if v["name"] not in names]
        for v in fresh:
            for rel in references(v):
                if (root / rel).exists() or rel in writes:
                    raise ValueError(f"{filename}/{v['name']}: {rel} already exists")
                writes[rel] = out.files[rel]
            added.append(f"{filename}/{v['name']}")
        if fresh:
            doc = {"description": released["description"], "vectors": released["vectors"] + fresh}
            writes[filename] = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    return writes, added


def generate() -> Output:
    out = Output()
    for gen in (gen_encoding, gen_padding, gen_keyrings, gen_public_keys, gen_mailbox, gen_envelopes, gen_items,
                gen_export_bundles, gen_reply_bundles):
        gen(out)
    assert set(VECTOR_FILES) <= set(out.files)
    assert all("/" not in p or p.split("/")[0] in ARTIFACT_DIRS for p in out.files)
    return out


def write_all(root: Path, files: dict[str, bytes]) -> int:
    total = 0
    for rel, data in sorted(files.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        total += len(data)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true",
                      help="overwrite existing vectors (released vectors never change: only before a release)")
    mode.add_argument("--add", action="store_true",
                      help="append the vectors that are new by name to the released files, with their own new files; "
                           "every released vector and file stays as it is")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root: Path = args.dir
    old = existing(root)
    if args.add:
        try:
            writes, added = new_vectors(root, generate())
        except ValueError as exc:
            print(f"refusing to add vectors: {exc}", file=sys.stderr)
            return 1
        total = write_all(root, writes)
        print(f"added {len(added)} vector(s), {len(writes)} files, {total:,} bytes, under {root}")
        for name in added:
            print(f"  {name}")
        return 0
    if old and not args.force:
        print("refusing to overwrite existing vectors (released vectors never change):", file=sys.stderr)
        for path in old:
            print(f"  {path}", file=sys.stderr)
        print("pass --add to append new vectors, or --force to regenerate all; envelopes will differ byte for byte.",
              file=sys.stderr)
        return 1

    out = generate()
    for path in old:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    total = write_all(root, out.files)
    print(f"wrote {len(out.files)} files, {total:,} bytes, under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
