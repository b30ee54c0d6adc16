"""Speed of two commits side by side: the library's benchmarks run from both trees in one run.

Each commit is exported (``git archive``, the repository itself is left as it is) into a temporary folder,
and every round runs each selected benchmark script once from each tree, alternating which tree goes first
(ABBA), so that load from other processes falls on both alike. A script is run as a fresh process with the
tree's ``src`` first on ``PYTHONPATH``, one BLAS/OpenMP/Numba thread, its warm-up (and kernel compilation)
untimed as the script itself arranges. From each run the script's own medians are read:

* ``bench_truncated1997.py``: µs per step (wall and CPU) of each compiled path and dtype;
* ``bench_lstm.py``: ms per forward + backward of ``LSTM`` at each size (wall);
* ``bench_bss.py``: s per training batch of the closed-loop model (wall and CPU);
* ``bench_cells.py``: ms per forward + backward of each stacked cell and dtype (wall and CPU).

A script that the old commit does not have yet is taken from the new tree and run against the old tree's
``src`` (said in the output): it must use only what both commits offer.

The table gives, per measurement, the median over the rounds for each commit and the ratio NEW / OLD; a
ratio above 1 + ``--tolerance`` (default 5 %) is marked. ``--reduced`` passes each script smaller sizes
and fewer repeats (the numbers are then noisier; the ratios are still side by side). Run from the
repository root::

    python benchmarks/compare_commits.py OLD NEW                  # e.g. HEAD~3 HEAD, --rounds 3
    python benchmarks/compare_commits.py OLD NEW --reduced --only truncated1997 bss
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FULL = {
    "truncated1997": ["--no-overhead", "--no-parallel"],
    "lstm": [],
    "bss": ["--torch-repeats", "0"],
    "cells": [],
}
REDUCED = {
    "truncated1997": ["--repeats", "5", "--sequences", "600", "--api-sequences", "40", "--torch-sequences", "4",
                      "--check-sequences", "4", "--no-overhead", "--no-parallel"],
    "lstm": ["--repeats", "5", "--min-sample", "0.05"],
    "bss": ["--repeats", "3", "--steps", "300", "--torch-repeats", "0"],
    "cells": ["--repeats", "3", "--min-sample", "0.1"],
}
_ROW_T97 = re.compile(r"^\| (float\d+) \| ([^|]+?) \| \d+ \| ([\d.]+) \([^)]*\) \| ([\d.]+) \|")
_ROW_LSTM = re.compile(r"^\| ([\d, ]+) \| ([\d.]+) \|")
_ROW_CELLS = re.compile(r"^\| (\w+) \| (float\d+) \| ([\d.]+) \| ([\d.]+) \|")
_ROW_BSS = re.compile(
    r"^yetztml \(Numba\)\s+best\s+[\d.]+ s\s+median\s+([\d.]+) s.*CPU time best [\d.]+ s, median ([\d.]+) s"
)


def parse(bench: str, out: str) -> dict[str, float]:
    """The script's medians from its printed table, keyed by what was measured."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if bench == "truncated1997":
            m = _ROW_T97.match(line)
            if m and m.group(2) != "torch eager":
                found[f"{m.group(1)} {m.group(2)} µs/step wall"] = float(m.group(3))
                found[f"{m.group(1)} {m.group(2)} µs/step CPU"] = float(m.group(4))
        elif bench == "cells":
            m = _ROW_CELLS.match(line)
            if m:
                found[f"{m.group(1)} {m.group(2)} ms wall"] = float(m.group(3))
                found[f"{m.group(1)} {m.group(2)} ms CPU"] = float(m.group(4))
        elif bench == "lstm":
            m = _ROW_LSTM.match(line)
            if m:
                found[f"LSTM {m.group(1)} ms wall"] = float(m.group(2))
        else:
            m = _ROW_BSS.match(line)
            if m:
                found["closed loop s/batch wall"] = float(m.group(1))
                found["closed loop s/batch CPU"] = float(m.group(2))
    return found


def export(rev: str, into: Path) -> Path:
    """The tree of ``rev`` as plain files under ``into`` (``git archive``: no worktree, no checkout)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run(tree: Path, bench: str, args: list[str], scripts: Path) -> dict[str, float]:
    """One run of ``bench_<bench>.py`` against ``tree``'s ``src``; the script is the tree's own, or
    ``scripts``'s where the tree has none."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = "1"
    script = tree / "benchmarks" / f"bench_{bench}.py"
    if not script.exists():
        script = scripts / "benchmarks" / f"bench_{bench}.py"
    done = subprocess.run([sys.executable, str(script), *args], cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compare_commits: {script} failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    found = parse(bench, done.stdout)
    if not found:
        raise SystemExit(f"compare_commits: no timings found in the output of {script}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the reference commit (any git revision)")
    parser.add_argument("new", help="the commit compared with it")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each script per commit (default 3)")
    parser.add_argument("--only", nargs="+", choices=tuple(FULL), default=list(FULL), help="benchmarks to run")
    parser.add_argument("--reduced", action="store_true", help="smaller sizes and fewer repeats in each script")
    parser.add_argument("--tolerance", type=float, default=0.05, help="allowed slow-down NEW / OLD − 1 (0.05)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    options = REDUCED if args.reduced else FULL
    base = Path(tempfile.mkdtemp(prefix="yetztml-compare-"))
    try:
        trees = {"old": export(args.old, base / "old"), "new": export(args.new, base / "new")}
        results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
        print(f"# compare_commits: old {args.old}, new {args.new}, rounds {args.rounds}, "
              f"{'reduced' if args.reduced else 'full'} sizes, load average at start {os.getloadavg()[0]:.2f}")
        for bench in args.only:
            if not (trees["old"] / "benchmarks" / f"bench_{bench}.py").exists():
                print(f"# bench_{bench}.py is not in {args.old}: the new commit's script runs against both")
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for bench in args.only:
                for side in order:
                    for key, value in run(trees[side], bench, options[bench], trees["new"]).items():
                        results[side].setdefault(key, []).append(value)
                    print(f"round {r + 1}: {bench} ({side}) done", file=sys.stderr, flush=True)
        print(f"# load average at the end {os.getloadavg()[0]:.2f}\n")
        print("| measurement | old (median) | new (median) | new / old | within tolerance |")
        print("|---|---|---|---|---|")
        for key in results["old"]:
            if key not in results["new"]:
                continue
            o, n = statistics.median(results["old"][key]), statistics.median(results["new"][key])
            ratio = n / o
            print(f"| {key} | {o:.4g} | {n:.4g} | {ratio:.3f} | {'yes' if ratio <= 1 + args.tolerance else 'NO'} |")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
