"""Every WBS benchmark, one after another, and one summary table: ``make bench``.

Run::

    .venv/bin/python bench/run.py [--quick] [--only NAME,...] [--code DIR] [--tmp DIR]
    make bench                      # the full run (about 2.5 minutes here)
    make bench BENCH_ARGS=--quick   # the quick run (about 1.5 minutes)

A measurement, not a test: the exit status is 0 when every benchmark ran to
its end, whatever the figures; 1 if one crashed or overran its time limit.

Each benchmark is a script of its own in ``bench/`` (run it alone for its
full output and method) and runs here as a child process with a hard time
limit. Each prints its own table, then one ``BENCH-RESULT`` line of JSON that
this runner reads for the summary: every figure beside the reference it was
measured against in the same run, their ratio, the target it is held to and
MET / NOT MET. ``crypto_bench.py``, ``keytools_open_bench.py`` and
``desk_import_bench.py`` print ``TARGETS:`` lines instead (they also run on
their own, without the server's helpers); those lines are parsed into the
summary.

``--code DIR`` measures another tree (e.g. a patched copy of the repository):
every ``wbs`` process and every in-process reference imports from DIR. The
figures and what they depend on are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

BENCH = Path(__file__).resolve().parent
RESULT_PREFIX = "BENCH-RESULT "


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    limit: float  # seconds, full mode
    quick_limit: float
    prints_targets: bool = False  # no BENCH-RESULT line: parse its TARGETS line(s)
    quick_args: tuple[str, ...] = ("--quick",)


BENCHMARKS = (
    Benchmark("pages", "pages_bench.py", 120, 60),
    Benchmark("coldstart", "coldstart_bench.py", 240, 180),
    Benchmark("reports", "reports_bench.py", 300, 300),
    Benchmark("login", "login_bench.py", 240, 180),
    Benchmark("flood", "flood_bench.py", 600, 360),
    Benchmark("evidence", "evidence_bench.py", 480, 240),
    Benchmark("crypto", "crypto_bench.py", 300, 120, prints_targets=True),
    Benchmark("keytools", "keytools_open_bench.py", 300, 180, prints_targets=True),
    Benchmark("slow_uploads", "slow_uploads_bench.py", 240, 120),
    Benchmark("desk", "desk_import_bench.py", 400, 180, prints_targets=True),
    Benchmark("connections", "connections_bench.py", 240, 180),
    Benchmark("tenants", "tenants_bench.py", 240, 120),
    Benchmark("nodes", "nodes_bench.py", 420, 180),
)


@dataclass
class Outcome:
    benchmark: Benchmark
    status: str  # "ok", "crashed (exit N)", "timed out", "missing"
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    other_cpu: float | None = None  # CPU-seconds per second used by processes that are not ours


class CpuWatch:
    """How much CPU the rest of the machine used while a benchmark ran.

    The machine's busy time (/proc/stat) minus what this process and its
    waited-for descendants used (RUSAGE_SELF + RUSAGE_CHILDREN): other
    people's processes, and kernel threads such as writeback. On 2 CPUs,
    0.5 means a quarter of the machine was not ours.
    """

    @staticmethod
    def _busy() -> float:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait

    @staticmethod
    def _ours() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    def __enter__(self) -> "CpuWatch":
        self.start = (time.perf_counter(), self._busy(), self._ours())
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.start[0]
        other = (self._busy() - self.start[1]) - (self._ours() - self.start[2])
        self.other = max(0.0, other) / wall if wall > 0 else 0.0


def machine() -> list[str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return [
        f"  machine: {os.cpu_count()} CPUs ({model or platform.machine()}), {mem_kib / 1024 / 1024:.0f} GiB RAM,"
        f" kernel {platform.release()}; python {platform.python_version()}",
    ]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _split_target(name: str) -> tuple[str, str]:
    """``"seal ratio >= 0.8"`` -> (``"seal ratio"``, ``">= 0.8"``); an operator inside brackets stays in the name."""
    depth = 0
    for i, ch in enumerate(name):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch in "<>" and i and name[i - 1] == " ":
            return name[: i - 1].strip(), name[i:].strip()
    return name.strip(), ""


def parse_targets(benchmark: str, lines: Sequence[str]) -> list[dict[str, Any]]:
    """Rows from a benchmark's ``TARGETS: name: MET (detail); ...`` line(s)."""
    rows = []
    for line in lines:
        if not line.startswith("TARGETS:"):
            continue
        for part in re.split(r";\s+(?![^()]*\))", line[len("TARGETS:"):]):
            match = re.match(r"\s*(?P<name>.+?):\s*(?P<verdict>NOT MET|MET)\s*(?:\((?P<detail>.*)\))?\s*$", part)
            if not match:
                continue
            name, target = _split_target(match.group("name"))
            value, _, rest = (match.group("detail") or "").partition(", ")
            ratio = None
            least = re.fullmatch(r"min (\d+\.\d+)", value)
            said = re.search(r"(?:,\s*)?\bratio (\d+(?:\.\d+)?)", rest)
            if least and name.endswith("ratio"):  # crypto_bench: the worst size's envelope/raw ratio
                ratio, value, rest = float(least.group(1)), "", "raw, same run"
            elif said:
                ratio, rest = float(said.group(1)), (rest[: said.start()] + rest[said.end():]).strip(", ")
            rows.append({"benchmark": benchmark, "figure": name, "value": value, "reference": rest,
                         "ratio": ratio, "target": target, "met": match.group("verdict") == "MET"})
    return rows


def run_one(bench: Benchmark, quick: bool, env: dict[str, str]) -> Outcome:
    path = BENCH / bench.script
    if not path.exists():
        return Outcome(bench, "missing")
    command = [sys.executable, str(path)]
    if quick:
        if bench.prints_targets:
            usage = subprocess.run(command + ["--help"], capture_output=True, text=True, env=env, timeout=60).stdout
            if "--quick" in usage:
                command += list(bench.quick_args)
        else:
            command += list(bench.quick_args)
    limit = bench.quick_limit if quick else bench.limit
    print(f"\n{'=' * 100}\n== {bench.name}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(command))}"
          f"   (limit {limit:.0f} s, load average {loadavg()})\n{'=' * 100}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    lines: list[str] = []
    timed_out = False
    deadline = started + limit

    def watchdog() -> None:
        nonlocal timed_out
        while process.poll() is None:
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)  # the benchmark and every server it started
                return
            time.sleep(0.5)

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        lines.append(line)
        if not line.startswith(RESULT_PREFIX):
            print(line, flush=True)
    process.wait()
    guard.join(timeout=5)
    seconds = time.perf_counter() - started
    if timed_out:
        return Outcome(bench, f"timed out after {limit:.0f} s", seconds)
    if process.returncode != 0:
        return Outcome(bench, f"crashed (exit {process.returncode})", seconds)
    rows: list[dict[str, Any]] = []
    for line in lines:
        if line.startswith(RESULT_PREFIX):
            rows = json.loads(line[len(RESULT_PREFIX):])["rows"]
    if bench.prints_targets or not rows:
        rows = rows or parse_targets(bench.name, lines)
    return Outcome(bench, "ok", seconds, rows)


def cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def print_summary(outcomes: Sequence[Outcome], quick: bool, total: float, load: tuple[str, str], code: Path) -> None:
    print(f"\n{'=' * 100}\nSUMMARY ({'quick' if quick else 'full'} run, {total / 60:.1f} min; code under test: {code})")
    for line in machine():
        print(line)
    print(f"  load average at start {load[0]}, at end {load[1]}; anything else running skews every figure:"
          " see 'CPU used by other processes' below")
    print("  ratio = value / reference, both measured in this run on this machine; '-' = no target for this figure")
    print()
    head = (f"{'benchmark':<11} {'figure':<44} {'value':>14} {'reference':>22} {'ratio':>6}  {'target':<30} verdict")
    print(head)
    print("-" * len(head))
    met = missed = 0
    for outcome in outcomes:
        if outcome.status == "missing":
            print(f"{outcome.benchmark.name:<11} ({outcome.benchmark.script} not present: skipped)")
            continue
        if outcome.status != "ok":
            print(f"{outcome.benchmark.name:<11} ({outcome.status}: no figures)")
            continue
        if not outcome.rows:
            print(f"{outcome.benchmark.name:<11} {'(ran; no figures parsed: see its output above)':<44}")
        for row in outcome.rows:
            ratio = "" if row.get("ratio") is None else f"{row['ratio']:.2f}"
            verdict = "-" if row.get("met") is None else ("MET" if row["met"] else "NOT MET")
            if row.get("met") is True:
                met += 1
            elif row.get("met") is False:
                missed += 1
            print(f"{row['benchmark']:<11} {cell(row['figure'], 44):<44} {cell(str(row['value']), 14):>14} "
                  f"{cell(str(row.get('reference', '')), 22):>22} {ratio:>6}  {cell(row.get('target', ''), 30):<30} {verdict}")
    print()
    problems = [o for o in outcomes if o.status not in ("ok", "missing")]
    missing = [o.benchmark.script for o in outcomes if o.status == "missing"]
    print(f"TARGETS: {met} MET, {missed} NOT MET"
          + (f"; {len(problems)} benchmark(s) did not finish: " + ", ".join(f"{o.benchmark.name} {o.status}" for o in problems)
             if problems else "")
          + (f"; not present: {', '.join(missing)}" if missing else ""))
    print("  times: " + ", ".join(f"{o.benchmark.name} {o.seconds:.0f} s" for o in outcomes if o.status != "missing"))
    print(f"  CPU used by other processes meanwhile (of {os.cpu_count()} = the whole machine): "
          + ", ".join(f"{o.benchmark.name} {o.other_cpu:.2f}" for o in outcomes if o.other_cpu is not None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (about 1.5 minutes)")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--code", type=Path, default=None, help="the tree to measure (default: this repository)")
    parser.add_argument("--tmp", type=Path, default=None,
                        help="where data folders and inputs go (default: the system temp dir; it needs ~3 GiB free"
                             " and should be on the disk a real data folder would use)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    code = (args.code or BENCH.parent).resolve()
    env["WBS_BENCH_CODE"] = str(code)
    env["PYTHONPATH"] = str(code)  # for the scripts that print TARGETS lines (crypto_bench.py puts its own repository first anyway)
    if args.tmp:
        env["WBS_BENCH_TMP"] = str(args.tmp.resolve())
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    print(f"WBS benchmarks ({'quick' if args.quick else 'full'}): {', '.join(b.name for b in chosen)}")
    for line in machine():
        print(line)
    start_load = loadavg()
    started = time.perf_counter()
    outcomes = []
    for bench in chosen:
        with CpuWatch() as watch:
            outcome = run_one(bench, args.quick, env)
        outcome.other_cpu = watch.other
        if outcome.status != "missing":
            print(f"-- {bench.name}: {outcome.status} in {outcome.seconds:.0f} s; other processes used "
                  f"{watch.other:.2f} CPU(s) meanwhile", flush=True)
        outcomes.append(outcome)
    print_summary(outcomes, args.quick, time.perf_counter() - started, (start_load, loadavg()), code)
    return 0 if all(o.status in ("ok", "missing") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
