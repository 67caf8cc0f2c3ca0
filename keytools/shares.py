"""``split`` and ``combine``: K-of-N recovery shares of the keyring file.

The sharing is Shamir's scheme over GF(256) as SLIP-0039 specifies it,
through its reference implementation ``shamir-mnemonic`` (Trezor): any K
shares give the secret back, fewer tell nothing about it. SLIP-0039 also
gives each share its index, the threshold, a set identifier, a checksum
(RS1024, the last three words), and a typeable encoding: words from a list
of 1,024 whose first four letters are unique. It has published test vectors
(``tests/unit/test_keytools_shares.py`` replays some).

What is shared is the keyring *file*, still sealed by its passphrase: a
restored keyring opens only with that passphrase, and shares are a remedy
for a lost or broken disk, not for a forgotten passphrase. The shared
secret is::

    version 0x01 | codec | length (4 bytes, big-endian) | body | BLAKE2b-128(keyring file) [| 0x00]

``codec`` 1 is the keyring's fields in binary (about half the words of the
file), used only when writing them back as ``crypto.keyring`` does gives
the file byte for byte; codec 0 is the file compressed with zlib. The final
zero byte is there when needed to make the length even, as SLIP-0039 asks.

Checks on the way back, from the outside in: each line of a share file ends
with a check of its words, which points at a mistyped line; RS1024 catches
what is left of typing errors; SLIP-0039's digest and then the BLAKE2b-128
of the whole file catch a wrong combination. ``combine`` writes nothing
unless all of them pass.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import shamir_mnemonic
from shamir_mnemonic import MnemonicError, Share
from shamir_mnemonic.wordlist import WORDLIST

from crypto.encoding import b64, format_day, utc_now
from crypto.errors import FormatError
from crypto.kdf import KdfParams
from crypto.keyring import KEYRING_FORMAT, read_keyring_header

from .errors import ShareError, UsageError

SHARE_FORMAT = "wbs-keyring-share/1"
PAYLOAD_VERSION = 1
CODEC_ZLIB = 0
CODEC_KEYRING = 1
DIGEST_BYTES = 16
WORDS_PER_LINE = 10
MAX_SHARES = 16
MAX_SHARE_FILE = 256 * 1024
_LINE_RE = re.compile(r"\s*(\d{1,4})\s+([a-zA-Z ]+?)\s*\|\s*([0-9a-fA-F]{4})\s*\Z")
_PREFIXES = {word[:4]: word for word in WORDLIST}


@dataclass(frozen=True)
class ShareFile:
    """One share as read from its text file."""

    path: Path
    share: Share
    mnemonic: str

    @property
    def number(self) -> int:
        return self.share.index + 1


# ------------------------------------------------------------------ the secret


def _digest(keyring_file: bytes) -> bytes:
    return hashlib.blake2b(keyring_file, digest_size=DIGEST_BYTES, person=b"wbs-shares-v1").digest()


def _render_keyring(t: int, m_kib: int, p: int, salt: bytes, nonce: bytes, sealed: bytes) -> bytes:
    """The keyring file as ``crypto.keyring.write_keyring`` lays it out."""
    outer = {"format": KEYRING_FORMAT, "kdf": KdfParams(t, m_kib, p).to_json(salt), "nonce": b64(nonce), "box": b64(sealed)}
    return json.dumps(outer, indent=2, sort_keys=True).encode("ascii") + b"\n"


def _compact(keyring_file: bytes) -> bytes | None:
    kdf, salt, nonce, sealed = read_keyring_header(keyring_file)
    if _render_keyring(kdf.t, kdf.m_kib, kdf.p, salt, nonce, sealed) != keyring_file:
        return None
    return struct.pack(">BIB", kdf.t, kdf.m_kib, kdf.p) + salt + nonce + sealed


def _expand(body: bytes) -> bytes:
    t, m_kib, p = struct.unpack(">BIB", body[:6])
    return _render_keyring(t, m_kib, p, body[6:22], body[22:46], body[46:])


def keyring_payload(keyring_file: bytes) -> bytes:
    """The secret to share for ``keyring_file`` (which must be a keyring)."""
    compact = _compact(keyring_file)
    codec, body = (CODEC_KEYRING, compact) if compact is not None else (CODEC_ZLIB, zlib.compress(keyring_file, 9))
    payload = bytes((PAYLOAD_VERSION, codec)) + struct.pack(">I", len(body)) + body + _digest(keyring_file)
    return payload + b"\x00" * (len(payload) % 2)


def keyring_from_payload(payload: bytes) -> bytes:
    """The keyring file back from a recovered secret; raises ``ShareError`` unless it checks."""
    try:
        version, codec, length = struct.unpack(">BBI", payload[:6])
        body = payload[6 : 6 + length]
        digest = payload[6 + length : 6 + length + DIGEST_BYTES]
        padding = payload[6 + length + DIGEST_BYTES :]
        if version != PAYLOAD_VERSION or len(body) != length or len(digest) != DIGEST_BYTES \
                or padding not in (b"", b"\x00") or codec not in (CODEC_ZLIB, CODEC_KEYRING):
            raise ValueError
        keyring_file = _expand(body) if codec == CODEC_KEYRING else zlib.decompress(body)
    except (struct.error, ValueError, zlib.error):
        raise ShareError("the shares combine to something that is not a keyring") from None
    if _digest(keyring_file) != digest:
        raise ShareError("the restored keyring does not match its checksum")
    return keyring_file


# ------------------------------------------------------------------ share files


def _line_check(number: int, words: Sequence[str]) -> str:
    return hashlib.blake2b(f"{number}:{' '.join(words)}".encode("ascii"), digest_size=2,
                           person=b"wbs-share-line").hexdigest()


def share_text(mnemonic: str, *, number: int, count: int, threshold: int, identifier: int, made: str) -> str:
    """A share as a printable text file: a header for people, then numbered lines of words."""
    words = mnemonic.split()
    lines = [
        "WBS - BAGIAN PEMULIHAN KEYRING / KEYRING RECOVERY SHARE",
        f"format: {SHARE_FORMAT}",
        f"set: {identifier}",
        f"share: {number} of {count}",
        f"threshold: {threshold}",
        f"made: {made}",
        f"words: {len(words)} (SLIP-0039; the first four letters of a word are enough)",
        "",
        f"Any {threshold} shares of set {identifier} restore the keyring file (it still needs its passphrase).",
        f"Fewer than {threshold} tell nothing about it. Each line ends with a check of its words.",
        f"Gabungan {threshold} bagian dari set {identifier} memulihkan berkas keyring (tetap perlu frasa sandinya).",
        f"Kurang dari {threshold} bagian tidak mengungkap apa pun. Setiap baris diakhiri kode periksa kata-katanya.",
        "",
    ]
    for start in range(0, len(words), WORDS_PER_LINE):
        row = words[start : start + WORDS_PER_LINE]
        number_ = start // WORDS_PER_LINE + 1
        text = " ".join(f"{w:<8}" for w in row)
        lines.append(f"{number_:3d}  {text:<{9 * WORDS_PER_LINE - 1}}  | {_line_check(number_, row)}")
    lines += ["", "-- end / selesai --", ""]
    return "\n".join(lines)


def _word(token: str, where: str) -> str:
    token = token.lower()
    word = _PREFIXES.get(token[:4])
    if word is None or not word.startswith(token) or len(token) < 4 and token != word:
        raise ShareError(f"{where}: {token!r} is not a share word")
    return word


def _header(lines: Sequence[str], name: str) -> str | None:
    prefix = f"{name}:"
    return next((line[len(prefix):].strip() for line in lines if line.startswith(prefix)), None)


def parse_share_text(text: str, path: Path) -> ShareFile:
    lines = text.splitlines()
    if _header(lines, "format") != SHARE_FORMAT:
        raise ShareError(f"{path} is not a {SHARE_FORMAT} file")
    words: list[str] = []
    for raw in lines:
        match = _LINE_RE.match(raw)
        if not match:
            continue
        number = int(match.group(1))
        if number != len(words) // WORDS_PER_LINE + 1:
            raise ShareError(f"{path}: line {number} is missing, repeated or out of order")
        where = f"{path}, line {number}"
        row = [_word(t, where) for t in match.group(2).split()]
        if _line_check(number, row) != match.group(3).lower():
            raise ShareError(f"{where}: the words do not match the line's check {match.group(3)}",
                             hint="compare this line with the printed share, word by word")
        words += row
    mnemonic = " ".join(words)
    try:
        share = Share.from_mnemonic(mnemonic)
    except MnemonicError as exc:
        raise ShareError(f"{path} is damaged or mistyped: {exc}") from None
    for name, expected in (("set", str(share.identifier)), ("threshold", str(share.member_threshold))):
        if _header(lines, name) != expected:
            raise ShareError(f"{path}: the header's {name} does not match the share's words")
    stated = (_header(lines, "share") or "").split(" of ")[0]
    if stated != str(share.index + 1):
        raise ShareError(f"{path}: the header's share number does not match the share's words")
    return ShareFile(path, share, mnemonic)


def read_share_file(path: Path) -> ShareFile:
    try:
        with open(path, "rb") as src:
            data = src.read(MAX_SHARE_FILE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read share {path}: {exc.strerror}") from None
    if len(data) > MAX_SHARE_FILE:
        raise ShareError(f"{path} is too large to be a share")
    try:
        return parse_share_text(data.decode("utf-8"), path)
    except UnicodeDecodeError:
        raise ShareError(f"{path} is not a text file") from None


# ------------------------------------------------------------------ split and combine


def split_keyring(keyring_file: bytes, *, shares: int, threshold: int,
                  now: datetime | None = None) -> list[tuple[str, str]]:
    """``(file name, text)`` of each share; checked by combining before anything is returned."""
    if not 2 <= shares <= MAX_SHARES:
        raise UsageError(f"--shares must be 2..{MAX_SHARES}")
    if not 2 <= threshold <= shares:
        raise UsageError("--threshold must be at least 2 and at most --shares",
                         hint="with a threshold of 1 each share would be a whole copy; copy the keyring file instead")
    try:
        payload = keyring_payload(keyring_file)
    except FormatError as exc:
        raise UsageError(f"not a keyring file: {exc}") from None
    # No SLIP-0039 passphrase (the keyring file is already sealed by its own) and the
    # lowest iteration exponent: the Feistel layer then costs nothing worth waiting for.
    [mnemonics] = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(threshold, shares)], master_secret=payload,
        passphrase=b"", extendable=True, iteration_exponent=0)
    if keyring_from_payload(shamir_mnemonic.combine_mnemonics(mnemonics[-threshold:])) != keyring_file:
        raise ShareError("the shares just made do not restore the keyring; nothing was written")
    identifier = Share.from_mnemonic(mnemonics[0]).identifier
    made = format_day(now or utc_now())
    return [
        (f"share-{i}-of-{shares}.txt",
         share_text(m, number=i, count=shares, threshold=threshold, identifier=identifier, made=made))
        for i, m in enumerate(mnemonics, start=1)
    ]


def combine_shares(files: Sequence[ShareFile]) -> bytes:
    """The keyring file from at least ``threshold`` shares of one set."""
    if not files:
        raise ShareError("no share given")
    first = files[0].share
    seen: dict[int, ShareFile] = {}
    for item in files:
        if item.share.common_parameters() != first.common_parameters() or \
                item.share.member_threshold != first.member_threshold:
            raise ShareError(f"{item.path} belongs to another set of shares than {files[0].path}")
        if item.share.index in seen:
            raise ShareError(f"share {item.number} is given twice ({seen[item.share.index].path} and {item.path})")
        seen[item.share.index] = item
    need = first.member_threshold
    if len(seen) < need:
        raise ShareError(f"not enough shares: set {first.identifier} needs {need}, {len(seen)} given",
                         hint="the keyring cannot be restored from fewer shares; find another keyholder's share")
    chosen = [item.mnemonic for item in list(seen.values())[:need]]
    try:
        payload = shamir_mnemonic.combine_mnemonics(chosen)
    except MnemonicError as exc:
        raise ShareError(f"the shares do not combine: {exc}") from None
    return keyring_from_payload(payload)
