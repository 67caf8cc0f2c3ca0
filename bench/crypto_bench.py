"""Micro-benchmark of the ``.wbse`` envelope (PROTOCOL.md §4) against raw secretstream.

Run::

    .venv/bin/python bench/crypto_bench.py [--sizes 1M,16M,256M,1G] [--quick]

This is a measurement, not a test: it always exits 0 unless the benchmark
itself crashes.

Method
------
Each size runs in a fresh child process (this script with the hidden
``--child SIZE`` flag), so the child's ``ru_maxrss`` is the peak RSS of
exactly one size; the parent collects the children's JSON lines and prints
the table.

In the child, a fixed 8 MiB pool of random bytes is generated once (its size
does not depend on the benchmarked size, so it does not skew RSS). The input
of ``SIZE`` bytes is that pool repeated; both sides see byte-for-byte the same
input and the same sink, so the comparison is like for like:

* seal: ``EnvelopeWriter`` to 3 recipients (2 org keys + the mailbox key, a
  realistic report), fed 1 MiB ``memoryview`` slices of the pool, writing to a
  null sink; timed from the writer's construction (3 ``crypto_box_seal``)
  through ``close()`` (padding and final chunk).
* raw push: ``init_push`` then a tight loop of
  ``crypto_secretstream_xchacha20poly1305_push`` over the same input as
  pre-cut 64 KiB ``bytes`` pieces (the last one TAG_FINAL), to the same sink.
* open: ``open_stream`` (what ``open_to_stream`` loops over) from a sealed
  file, opened with one org key, each piece written to the null sink; timed
  from the header read and ``crypto_box_seal_open`` to the padding check.
* raw pull: ``init_pull`` then ``pull`` over a raw secretstream file's
  65,553-byte chunks (as many 64 KiB data chunks as the raw push makes),
  output discarded.

Interleaving. The machine's speed drifts by tens of per cent over seconds (a
shared 2-core VM), so timing the envelope for a whole second and then the raw
loop for another second gave ratios of 0.7 to 1.0 for the same code. Instead,
the envelope and the raw side take turns on the same 1 MiB block of input, each
timed by its own stopwatch; both streams stay single, ordinary streams, only
their work is interleaved, so both see the same machine.

Sinks. Seal and push write to a null sink: timed writes of hundreds of MiB to
the page cache were dominated by kernel writeback (sys time). The two files
read by open and pull are written once per size, untimed, by the same two code
paths and fsync'ed, so no writeback runs while they are read back from the page
cache. Nothing the size of the input is held in memory, so RSS must stay flat;
the files live in a temporary directory removed at the end of the child.

MB/s is 10^6 bytes of *plaintext* per second in every column, so the envelope
is also charged for its padmé padding (about 3 % extra chunks at these sizes)
and its per-envelope stanza work, both part of the format's real cost. The
child times an empty item to show that fixed cost and the ratio it caps at the
smallest size. Every figure is the best of N repeats (9 for sizes up to 16 MiB,
1 above), after a small warm-up. Targets: envelope/raw >= 0.8 for seal and
open, and peak RSS flat in the size (max - min across sizes <= 16 MiB).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Sequence, TypeVar, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the crypto/ next to bench/

from nacl.bindings import (  # noqa: E402
    crypto_secretstream_xchacha20poly1305_ABYTES as ABYTES,
    crypto_secretstream_xchacha20poly1305_HEADERBYTES as SS_HEADER_BYTES,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_keygen,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL as TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as TAG_MESSAGE,
)
from nacl.public import PrivateKey  # noqa: E402

from crypto.envelope import EnvelopeWriter, open_bytes, open_stream, seal_bytes  # noqa: E402

T = TypeVar("T")

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
PIECE = 64 * KiB
CHUNK = PIECE + ABYTES
BLOCK = 1 * MiB  # the writer's write size and the interleaving step
POOL = 8 * MiB
WARMUP = 1 * MiB
DEFAULT_SIZES = "1M,16M,256M,1G"
QUICK_SIZES = "1M,16M"
RATIO_TARGET = 0.8
RSS_SPREAD_TARGET_MIB = 16.0
RECIPIENTS = 3  # 2 org keys + the reporter's mailbox key
SMALL = 16 * MiB
SMALL_REPEATS = 9  # runs of a few ms are noisy; nine cost well under a second
LARGE_REPEATS = 1
FIXED_TRIES = 20
_UNITS = {"": 1, "K": KiB, "M": MiB, "G": GiB}


# ----------------------------------------------------------------- helpers


def parse_size(text: str) -> int:
    """``"16M"`` -> 16 MiB; suffixes K, M, G are binary, no suffix is bytes."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = text[-1] if text and text[-1] in "KMG" else ""
    number = int(text[: len(text) - len(unit)])
    if number <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text}")
    return number * _UNITS[unit]


def format_size(size: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def repeats_for(size: int) -> int:
    return SMALL_REPEATS if size <= SMALL else LARGE_REPEATS


def peak_rss_mib() -> float:
    """This process's peak RSS; Linux reports ``ru_maxrss`` in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KiB


def block_ends(size: int) -> Iterator[int]:
    """Where each 1 MiB block of a ``size``-byte input ends."""
    for start in range(0, size, BLOCK):
        yield min(start + BLOCK, size)


class Stopwatch:
    """Adds up the time spent in the actions it runs."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def run(self, action: Callable[..., T], *args: object) -> T:
        start = time.perf_counter()
        try:
            return action(*args)
        finally:
            self.seconds += time.perf_counter() - start


class NullSink(io.RawIOBase):
    """A write-only, non-seekable sink that drops what it is given."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        return len(data)


def null_sink() -> BinaryIO:
    return cast(BinaryIO, NullSink())


# ----------------------------------------------------------------- input


@dataclass(frozen=True)
class Input:
    """``size`` bytes: the random pool repeated, served in 1 MiB blocks."""

    pool: bytes
    pieces: tuple[bytes, ...]  # the pool cut into 64 KiB ``bytes``, for the raw side
    size: int

    @classmethod
    def make(cls, size: int) -> "Input":
        pool = os.urandom(POOL)
        pieces = tuple(pool[i : i + PIECE] for i in range(0, POOL, PIECE))
        return cls(pool, pieces, size)

    def blocks(self) -> Iterator[tuple[memoryview, list[bytes]]]:
        """Each 1 MiB block twice: as a zero-copy view (for the writer) and as
        64 KiB ``bytes`` pieces (for raw push; only a short last piece is copied)."""
        view = memoryview(self.pool)
        start = 0
        for end in block_ends(self.size):
            at = start % POOL
            yield view[at : at + end - start], self._pieces(start, end)
            start = end

    def _pieces(self, start: int, end: int) -> list[bytes]:
        pieces = []
        for offset in range(start, end, PIECE):
            piece = self.pieces[(offset % POOL) // PIECE]
            pieces.append(piece if end - offset >= PIECE else piece[: end - offset])
        return pieces


# ----------------------------------------------------------------- raw secretstream reference


class RawPusher:
    """A tight raw secretstream push; the last piece is held back to carry TAG_FINAL."""

    def __init__(self, dst: BinaryIO, key: bytes) -> None:
        self._state = crypto_secretstream_xchacha20poly1305_state()
        self._dst = dst
        self._pending: bytes | None = None
        self.size = 0
        dst.write(crypto_secretstream_xchacha20poly1305_init_push(self._state, key))

    def push(self, pieces: list[bytes]) -> None:
        push, state, write = crypto_secretstream_xchacha20poly1305_push, self._state, self._dst.write
        if self._pending is not None:
            write(push(state, self._pending, None, TAG_MESSAGE))
        for piece in pieces[:-1]:
            write(push(state, piece, None, TAG_MESSAGE))
        self._pending = pieces[-1]
        self.size += sum(map(len, pieces))

    def close(self) -> None:
        if self._pending is not None:
            self._dst.write(crypto_secretstream_xchacha20poly1305_push(self._state, self._pending, None, TAG_FINAL))
            self._pending = None


class RawPuller:
    """A tight raw secretstream pull of 65,553-byte chunks, output discarded."""

    def __init__(self, src: BinaryIO, key: bytes) -> None:
        self._state = crypto_secretstream_xchacha20poly1305_state()
        self._src = src
        self.final = False
        crypto_secretstream_xchacha20poly1305_init_pull(self._state, src.read(SS_HEADER_BYTES), key)

    def pull(self, want: int) -> int:
        """Pull chunks until ``want`` plaintext bytes came out or the final chunk did."""
        pull, state, read = crypto_secretstream_xchacha20poly1305_pull, self._state, self._src.read
        got = 0
        while got < want and not self.final:
            piece, tag = pull(state, read(CHUNK), None)
            got += len(piece)
            self.final = tag == TAG_FINAL
        return got


def drain(pieces: Iterator[bytes], dst: BinaryIO, want: int) -> int:
    """Write envelope pieces to ``dst`` until ``want`` bytes went out or they end."""
    got = 0
    if want <= 0:
        return got
    for piece in pieces:
        dst.write(piece)
        got += len(piece)
        if got >= want:
            break
    return got


# ----------------------------------------------------------------- the measured pairs


def seal_and_push(data: Input, recipients: Sequence[bytes], raw_key: bytes, dst: BinaryIO) -> tuple[float, float]:
    """Seconds spent sealing and raw-pushing ``data``, taking turns per 1 MiB block."""
    env, raw = Stopwatch(), Stopwatch()
    writer = env.run(EnvelopeWriter, dst, recipients)
    pusher = raw.run(RawPusher, dst, raw_key)
    for view, pieces in data.blocks():
        env.run(writer.write, view)
        raw.run(pusher.push, pieces)
    env.run(writer.close)
    raw.run(pusher.close)
    if pusher.size != data.size:
        raise RuntimeError(f"raw push took {pusher.size} bytes, expected {data.size}")
    return env.seconds, raw.seconds


def open_and_pull(sealed: Path, key: PrivateKey, raw: Path, raw_key: bytes, size: int) -> tuple[float, float]:
    """Seconds spent opening the envelope and raw-pulling, taking turns per 1 MiB block."""
    env, ref = Stopwatch(), Stopwatch()
    sink = null_sink()
    with open(sealed, "rb") as env_src, open(raw, "rb") as raw_src:
        pieces = open_stream(env_src, [key])  # a generator: nothing runs until drained
        puller = ref.run(RawPuller, raw_src, raw_key)
        opened = pulled = 0
        for end in block_ends(size):
            opened += env.run(drain, pieces, sink, end - opened)
            pulled += ref.run(puller.pull, end - pulled)
        opened += env.run(drain, pieces, sink, 1)  # runs the generator to its end
    if opened != size or pulled != size or not puller.final:
        raise RuntimeError(f"opened {opened}, pulled {pulled} bytes, expected {size}")
    return env.seconds, ref.seconds


# ----------------------------------------------------------------- child: one size


@dataclass
class Result:
    size: int
    repeats: int
    seal: float
    push: float
    open: float
    pull: float
    envelope_bytes: int
    seal_fixed_us: float
    open_fixed_us: float
    rss_mib: float


def write_synced(path: Path, produce: Callable[[BinaryIO], object]) -> None:
    """Untimed: write a file and flush it to disk, so no writeback runs while reading it."""
    with open(path, "wb") as dst:
        produce(dst)
        dst.flush()
        os.fsync(dst.fileno())


@dataclass(frozen=True)
class Case:
    """One size's input, keys, and its sealed and raw files (written on creation)."""

    data: Input
    recipients: tuple[bytes, ...]
    org_key: PrivateKey
    raw_key: bytes
    sealed: Path
    raw: Path

    @classmethod
    def make(cls, size: int, workdir: Path) -> "Case":
        org_keys = [PrivateKey.generate() for _ in range(RECIPIENTS - 1)]
        mailbox = PrivateKey.generate()
        case = cls(
            data=Input.make(size),
            recipients=tuple(bytes(k.public_key) for k in (*org_keys, mailbox)),
            org_key=org_keys[0],
            raw_key=crypto_secretstream_xchacha20poly1305_keygen(),
            sealed=workdir / f"sealed-{size}.wbse",
            raw=workdir / f"raw-{size}.ss",
        )
        write_synced(case.sealed, case._seal_to)
        write_synced(case.raw, case._push_to)
        return case

    def _seal_to(self, dst: BinaryIO) -> None:
        writer = EnvelopeWriter(dst, self.recipients)
        for view, _ in self.data.blocks():
            writer.write(view)
        writer.close()

    def _push_to(self, dst: BinaryIO) -> None:
        pusher = RawPusher(dst, self.raw_key)
        for _, pieces in self.data.blocks():
            pusher.push(pieces)
        pusher.close()

    def measure_once(self) -> dict[str, float]:
        """MB/s of the four paths, in one interleaved seal/push and one open/pull run."""
        size = self.data.size
        seal, push = seal_and_push(self.data, self.recipients, self.raw_key, null_sink())
        opened, pull = open_and_pull(self.sealed, self.org_key, self.raw, self.raw_key, size)
        seconds = {"seal": seal, "push": push, "open": opened, "pull": pull}
        return {name: size / spent / 1e6 for name, spent in seconds.items()}

    def fixed_costs_us(self) -> tuple[float, float]:
        """Best seal and open time of an empty item: the per-envelope cost of the stanzas."""
        sealed = seal_bytes(b"", self.recipients)
        seal = min(timed(seal_bytes, b"", self.recipients) for _ in range(FIXED_TRIES))
        opened = min(timed(open_bytes, sealed, [self.org_key]) for _ in range(FIXED_TRIES))
        return seal * 1e6, opened * 1e6


def timed(action: Callable[..., object], *args: object) -> float:
    """Seconds one call takes."""
    watch = Stopwatch()
    watch.run(action, *args)
    return watch.seconds


def best_of(case: Case, repeats: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeats):
        for name, mbps in case.measure_once().items():
            best[name] = max(best.get(name, 0.0), mbps)
    return best


def run_child(size: int, repeats: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="wbs-crypto-bench-") as tmp:
        workdir = Path(tmp)
        best_of(Case.make(WARMUP, workdir), 1)
        case = Case.make(size, workdir)
        best = best_of(case, repeats)
        seal_fixed, open_fixed = case.fixed_costs_us()
        envelope_bytes = case.sealed.stat().st_size
    return Result(
        size=size,
        repeats=repeats,
        envelope_bytes=envelope_bytes,
        seal_fixed_us=seal_fixed,
        open_fixed_us=open_fixed,
        rss_mib=peak_rss_mib(),
        **best,
    )


# ----------------------------------------------------------------- parent: report


def spawn_child(size: int, repeats: int | None) -> Result:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(size)]
    if repeats is not None:
        command += ["--repeats", str(repeats)]
    done = subprocess.run(command, stdout=subprocess.PIPE, check=True, text=True)
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


def print_header(sizes: Sequence[int]) -> None:
    lines = [
        "WBS envelope micro-benchmark (PROTOCOL.md §4) vs raw crypto_secretstream_xchacha20poly1305",
        f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs; sizes: {', '.join(map(format_size, sizes))}",
        f"  envelope sealed to {RECIPIENTS} recipients (2 org keys + mailbox key), opened with one org key",
        "  seal: EnvelopeWriter fed 1 MiB writes of a pre-generated 8 MiB random buffer (cycled) -> null sink",
        "  push: tight loop of raw secretstream push, same input in 64 KiB pieces -> the same null sink",
        "  open: open_stream (= open_to_stream's loop) of a sealed temp file -> null sink",
        "  pull: raw secretstream pull of a raw temp file's 64 KiB chunks -> discarded",
        "  (both temp files written once per size untimed, fsync'ed, read back from page cache; removed after)",
        "  envelope and raw take turns per 1 MiB block (own stopwatches), so machine-speed drift hits both alike",
        "  MB/s = 10^6 plaintext bytes/s; the envelope also pays its ~3 % padme padding and its stanzas",
        f"  best of {SMALL_REPEATS} repeats for sizes <= {format_size(SMALL)}, {LARGE_REPEATS} above;"
        " each size in a fresh child process; peak RSS = that child's ru_maxrss",
    ]
    print("\n".join(lines))
    print()


def print_table(results: Sequence[Result]) -> None:
    head = (
        f"{'size':>8} | {'seal MB/s':>9} {'push MB/s':>9} {'ratio':>5} | "
        f"{'open MB/s':>9} {'pull MB/s':>9} {'ratio':>5} | {'pad %':>5} | {'peak RSS MiB':>12} | {'reps':>4}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        padding = 100.0 * (r.envelope_bytes - r.size) / r.size
        print(
            f"{format_size(r.size):>8} | {r.seal:9.1f} {r.push:9.1f} {r.seal / r.push:5.2f} | "
            f"{r.open:9.1f} {r.pull:9.1f} {r.open / r.pull:5.2f} | {padding:5.1f} | {r.rss_mib:12.1f} | {r.repeats:>4}"
        )
    print()


def ceiling(raw_mbps: float, size: int, envelope_bytes: int, fixed_us: float) -> float:
    """The best envelope/raw ratio possible if only padding and the stanzas cost extra."""
    raw_us = size / raw_mbps
    return raw_us / (raw_us * envelope_bytes / size + fixed_us)


def print_fixed_costs(results: Sequence[Result]) -> None:
    seal = min(r.seal_fixed_us for r in results)
    opened = min(r.open_fixed_us for r in results)
    small = min(results, key=lambda r: r.size)
    print(
        f"Fixed cost per envelope (empty item, {RECIPIENTS} recipients): seal {seal:.0f} us "
        f"({RECIPIENTS} x crypto_box_seal), open {opened:.0f} us (1 x crypto_box_seal_open)."
    )
    print(
        f"With the padding, these alone cap the ratios at {format_size(small.size)} at "
        f"seal <= {ceiling(small.push, small.size, small.envelope_bytes, seal):.2f}, "
        f"open <= {ceiling(small.pull, small.size, small.envelope_bytes, opened):.2f}."
    )
    print()


def verdict(results: Sequence[Result]) -> str:
    seal = min(r.seal / r.push for r in results)
    opened = min(r.open / r.pull for r in results)
    rss = [r.rss_mib for r in results]
    spread = max(rss) - min(rss)

    def met(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    return (
        f"TARGETS: seal ratio >= {RATIO_TARGET}: {met(seal >= RATIO_TARGET)} (min {seal:.2f}); "
        f"open ratio >= {RATIO_TARGET}: {met(opened >= RATIO_TARGET)} (min {opened:.2f}); "
        f"flat RSS (max - min <= {RSS_SPREAD_TARGET_MIB:.0f} MiB): "
        f"{met(spread <= RSS_SPREAD_TARGET_MIB)} (spread {spread:.1f} MiB, {min(rss):.1f}..{max(rss):.1f})"
    )


def run_parent(sizes: Sequence[int], repeats: int | None) -> None:
    print_header(sizes)
    results = []
    for size in sizes:
        print(f"  ... {format_size(size)}", file=sys.stderr, flush=True)
        results.append(spawn_child(size, repeats))
    print_table(results)
    print_fixed_costs(results)
    print(verdict(results))


# ----------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default=None, help=f"comma-separated sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_SIZES}")
    parser.add_argument("--repeats", type=int, default=None, help="override the best-of-N count")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        result = run_child(args.child, args.repeats or repeats_for(args.child))
        print(json.dumps(asdict(result)))
        return 0
    spec = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    run_parent([parse_size(s) for s in spec.split(",") if s.strip()], args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
