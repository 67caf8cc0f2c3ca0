"""Before and after, round by round: the same benchmark against two (or more) code trees.

Run::

    .venv/bin/python bench/compare.py upload --size 256M --rounds 6 . /tmp/patched
    .venv/bin/python bench/compare.py export --size 1G --rounds 6 . /tmp/patched
    .venv/bin/python bench/compare.py login --rounds 3 . /tmp/patched

A measurement, not a test: it exits 0 unless it crashes.

This machine's speed drifts between seconds, so a change is judged by
alternating the trees within one run rather than by two runs minutes apart:

* ``upload``: one server per tree, all running; each round measures the
  upload reference (``evidence_bench.upload_reference``) once, then one
  ``curl`` upload of the same file to each tree's server (blobs removed
  after each round). Best and median MB/s per tree, over the best and
  median reference.
* ``export``: one report of SIZE is uploaded once (first tree); each round
  copies the blobs (the export reference), then runs ``wbs export --all``
  of that data folder with each tree's code. Best MB/s per tree.
* ``login``: ``login_bench.py`` run by each tree in turn, ROUNDS times;
  its flood and p99 lines are printed.

A tree is a directory holding ``crypto/``, ``server/`` and ``templates/``
(e.g. ``cp -r . /tmp/patched`` and edit there).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    CHEAP_KDF,
    KiB,
    MiB,
    Server,
    format_size,
    make_workdir,
    median,
    parse_size,
    proc_status_kib,
    remove_tree,
    reset_peak_rss,
    run_with_rusage,
    sync_disk,
    wbs_command,
    write_random_file,
)
from evidence_bench import blob_files, check_bundle, copy_reference, curl_upload, upload_reference  # noqa: E402


def compare_upload(trees: Sequence[Path], size: int, rounds: int) -> None:
    work = make_workdir("compare-upload")
    servers: list[Server] = []
    try:
        src = work / "evidence.bin"
        write_random_file(src, size)
        limit = size + 64 * MiB
        for i, tree in enumerate(trees):
            server = Server.create(work / f"srv{i}", code=tree, **CHEAP_KDF, max_file_bytes=limit,
                                   max_report_bytes=limit)
            server.start()
            servers.append(server)
        refs: list[float] = []
        runs: list[list[float]] = [[] for _ in trees]
        growth: list[list[float]] = [[] for _ in trees]
        timeout = 60 + size / 10e6
        for n in range(rounds):
            refs.append(upload_reference(src, work / "reference.ss"))
            line = [f"round {n}: ref {refs[-1]:6.1f}"]
            for i, server in enumerate(servers):
                server.client().get("/submit")
                sync_disk()
                time.sleep(0.2)
                idle = server.rss_kib()
                reset_peak_rss(server.pid)
                status, seconds = curl_upload(server, src, server.home / "response.html", timeout)
                if status != 200:
                    raise RuntimeError(f"{trees[i]}: upload answered {status}")
                runs[i].append(size / seconds / 1e6)
                growth[i].append((proc_status_kib(server.pid, "VmHWM") - idle) / KiB)
                line.append(f"{runs[i][-1]:6.1f}")
                for blob in blob_files(server):
                    if blob.stat().st_size > MiB:
                        blob.unlink()  # keep the disk from filling; the database row stays, unused
            print("  ".join(line), flush=True)
        refs.append(upload_reference(src, work / "reference.ss"))
        best_ref, median_ref = max(refs), median(refs)
        print(f"upload {format_size(size)} x{rounds}; reference best {best_ref:.1f}, median {median_ref:.1f} MB/s")
        for i, tree in enumerate(trees):
            print(f"  {str(tree):40} best {max(runs[i]):6.1f} MB/s ({max(runs[i]) / best_ref:.2f})  median "
                  f"{median(runs[i]):6.1f} ({median(runs[i]) / median_ref:.2f})  RSS growth <= {max(growth[i]):.1f} MiB")
    finally:
        for server in servers:
            server.stop()
        remove_tree(work)


def compare_export(trees: Sequence[Path], size: int, rounds: int) -> None:
    work = make_workdir("compare-export")
    try:
        src = work / "evidence.bin"
        write_random_file(src, size)
        limit = size + 64 * MiB
        server = Server.create(work / "srv", code=trees[0], **CHEAP_KDF, max_file_bytes=limit,
                               max_report_bytes=limit)
        with server:
            server.start()
            status, _ = curl_upload(server, src, work / "response.html", 60 + size / 10e6)
            if status != 200:
                raise RuntimeError(f"upload answered {status}")
        src.unlink()
        blobs = blob_files(server)
        total = sum(p.stat().st_size for p in blobs)
        copies: list[float] = []
        runs: list[list[float]] = [[] for _ in trees]
        maxrss: list[float] = [0.0 for _ in trees]
        for n in range(rounds):
            copies.append(copy_reference(blobs, work / "copy.bin"))
            line = [f"round {n}: copy {copies[-1]:7.1f}"]
            for i, tree in enumerate(trees):
                out = work / "bundle.zip"
                sync_disk()
                _, seconds, rss = run_with_rusage(
                    wbs_command("export", "--all", "--out", str(out), "--config", str(server.config)),
                    cwd=work, code=tree, timeout=60 + size / 10e6)
                check_bundle(out, size)
                out.unlink()
                runs[i].append(total / seconds / 1e6)
                maxrss[i] = max(maxrss[i], rss / KiB)
                line.append(f"{runs[i][-1]:7.1f}")
            print("  ".join(line), flush=True)
        best = max(copies)
        print(f"export {format_size(size)} x{rounds}; copy reference best {best:.1f} MB/s")
        for i, tree in enumerate(trees):
            print(f"  {str(tree):40} best {max(runs[i]):7.1f} MB/s ({max(runs[i]) / best:.2f})  median "
                  f"{median(runs[i]):7.1f}  ru_maxrss {maxrss[i]:.1f} MiB")
    finally:
        remove_tree(work)


def compare_login(trees: Sequence[Path], rounds: int, quick: bool) -> None:
    script = Path(__file__).resolve().parent / "login_bench.py"
    for n in range(rounds):
        for tree in trees:
            command = [sys.executable, str(script)] + (["--quick"] if quick else [])
            done = subprocess.run(command, capture_output=True, text=True, check=True,
                                  env=dict(os.environ, WBS_BENCH_CODE=str(tree)))
            keep = [line for line in done.stdout.splitlines()
                    if line.lstrip().startswith(("idle", "during", "flood:", "p99 ratio", "login - reference"))]
            print(f"round {n}: {tree}")
            for line in keep:
                print("  " + line.strip())
            sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("what", choices=("upload", "export", "login"))
    parser.add_argument("trees", nargs="+", type=Path, help="code trees; the first is the 'before'")
    parser.add_argument("--size", default="256M", help="upload and export size (default 256M)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="login: the quick login benchmark")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.trees]
    for tree in trees:
        if not (tree / "server").is_dir() or not (tree / "crypto").is_dir():
            parser.error(f"{tree} holds no server/ and crypto/")
    if args.what == "upload":
        compare_upload(trees, parse_size(args.size), args.rounds)
    elif args.what == "export":
        compare_export(trees, parse_size(args.size), args.rounds)
    else:
        compare_login(trees, args.rounds, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
