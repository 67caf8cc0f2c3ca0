#!/usr/bin/env python3
"""Run mutation testing on the policy modules and print the kill ratio.

``make mutate`` calls this with the project's ``.venv``. The modules in scope
and the tests that may kill a mutant live in ``[tool.mutmut]`` of
pyproject.toml (``only_mutate``, ``pytest_add_cli_args_test_selection``);
docs/testing.md says why those and how to read the output.

mutmut copies the sources into ``mutants/`` and runs the unit tests there, in
forked pytest processes, each mutant against only the tests that reached its
function. A whole run is bounded in wall-clock time (``--budget-minutes``):
when the budget runs out the run is stopped and the mutants not reached are
reported as "not checked", which count against the ratio.

Exit status: 0 when the ratio reaches ``--min-score``, 1 below it, 2 when
mutmut itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutants"

# mutmut's exit codes per mutant (mutmut/stats.py), folded into what the report shows.
# A mutant whose tests time out or crash the worker is detected: the suite does not pass.
DETECTED = {1: "killed", 3: "killed", -11: "killed", -9: "killed", 37: "killed",
            36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}
UNDETECTED = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked"}


@dataclass
class ModuleTally:
    """Counts of one module's mutants by outcome, and its undetected mutant names."""

    path: str
    counts: Counter = field(default_factory=Counter)
    undetected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return self.counts["killed"] + self.counts["timeout"]


def scoped_modules() -> list[str]:
    """The ``only_mutate`` list of pyproject.toml: the modules in scope."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


def outcome(exit_code: int | None) -> str:
    if exit_code in DETECTED:
        return DETECTED[exit_code]
    return UNDETECTED.get(exit_code, "suspicious")


def tally(module: str) -> ModuleTally:
    """Read mutmut's per-file results (``mutants/<module>.meta``)."""
    result = ModuleTally(module)
    meta = WORK / (module + ".meta")
    if not meta.exists():
        return result
    exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    for name, code in sorted(exit_codes.items(), key=lambda kv: mutant_sort_key(kv[0])):
        status = outcome(code)
        result.counts[status] += 1
        if status != "killed":
            result.undetected.append((name, status))
    return result


def mutant_sort_key(name: str) -> tuple[str, int]:
    function, _, number = name.rpartition("__mutmut_")
    return function, int(number) if number.isdigit() else 0


def run_mutmut(mutmut: Path, max_children: int, budget_s: float, names: list[str]) -> tuple[int, bool]:
    """Run ``mutmut run`` (on ``names`` only, if given) in its own process group; stop it
    when the budget is spent.

    Returns mutmut's exit code and whether the budget ran out.
    """
    proc = subprocess.Popen(
        [str(mutmut), "run", "--max-children", str(max_children), *names],
        cwd=ROOT,
        stdout=subprocess.DEVNULL if not sys.stdout.isatty() else None,
        start_new_session=True,
    )
    try:
        return proc.wait(timeout=budget_s), False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return 0, True


def show_diff(mutmut: Path, name: str) -> str:
    shown = subprocess.run([str(mutmut), "show", name], cwd=ROOT, capture_output=True, text=True)
    lines = shown.stdout.splitlines()
    return "\n".join(line for line in lines if line.startswith(("-", "+")) and not line.startswith(("---", "+++")))


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    – "


def print_report(tallies: list[ModuleTally], mutmut: Path, diffs: bool) -> float:
    """Print the per-module table and the undetected mutants; return the overall ratio."""
    columns = ("killed", "timeout", "survived", "no tests", "not checked", "suspicious")
    width = max(len(t.path) for t in tallies)
    print(f"\n{'module':<{width}}  mutants  " + "  ".join(f"{c:>11}" for c in columns) + "   score")
    for t in tallies:
        cells = "  ".join(f"{t.counts[c]:>11}" for c in columns)
        print(f"{t.path:<{width}}  {t.total:>7}  {cells}  {percent(t.detected, t.total)}")
    total = sum(t.total for t in tallies)
    detected = sum(t.detected for t in tallies)
    summed = Counter()
    for t in tallies:
        summed.update(t.counts)
    cells = "  ".join(f"{summed[c]:>11}" for c in columns)
    print(f"{'all':<{width}}  {total:>7}  {cells}  {percent(detected, total)}")

    undetected = [(name, status) for t in tallies for name, status in t.undetected]
    if undetected:
        print(f"\nmutants not killed outright ({len(undetected)}; a timeout counts as detected);"
              " `mutmut show NAME` prints one in full:")
        for name, status in undetected:
            print(f"  {name}  [{status}]")
            if diffs and status == "survived":
                for line in show_diff(mutmut, name).splitlines():
                    print(f"      {line}")
    return detected / total if total else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant workers (default 2)")
    parser.add_argument("--budget-minutes", type=float, default=60, help="wall-clock bound of the run")
    parser.add_argument("--min-score", type=float, default=90, help="percent detected needed for exit 0")
    parser.add_argument("--resume", action="store_true",
                        help="keep mutants/ from an earlier run (mutmut re-tests only what changed)")
    parser.add_argument("--recheck", action="store_true",
                        help="run again only the last run's mutants that were not killed (after adding tests)")
    parser.add_argument("--report-only", action="store_true", help="print the last run's results")
    parser.add_argument("--no-diffs", action="store_true", help="list survivors without their diffs")
    args = parser.parse_args(argv)

    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        print("mutate: mutmut is not installed here; run `make mutate`", file=sys.stderr)
        return 2
    ran_out = False
    names = []
    if args.recheck:
        names = [name for module in scoped_modules() for name, status in tally(module).undetected
                 if status != "timeout"]
        if not names:
            print("mutate: nothing to check again")
            args.report_only = True
    if not args.report_only:
        if not args.recheck and not args.resume and WORK.exists():
            shutil.rmtree(WORK)
        started = time.monotonic()
        code, ran_out = run_mutmut(mutmut, args.max_children, args.budget_minutes * 60, names)
        elapsed = time.monotonic() - started
        print(f"\nmutmut ran {elapsed / 60:.1f} min with {args.max_children} worker(s)")
        if code != 0:
            print(f"mutate: mutmut exited with {code}", file=sys.stderr)
            return 2
        if ran_out:
            print(f"mutate: the {args.budget_minutes:g}-minute budget ran out; unreached mutants are 'not checked'")

    tallies = [tally(module) for module in scoped_modules()]
    score = print_report(tallies, mutmut, diffs=not args.no_diffs)
    verdict = "reaches" if score * 100 >= args.min_score else "is below"
    print(f"\nmutation score {100 * score:.1f} % {verdict} the {args.min_score:g} % goal")
    return 0 if score * 100 >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
