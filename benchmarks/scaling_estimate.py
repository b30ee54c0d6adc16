"""Wall time of the complete Hochreiter & Schmidhuber 1997 and Gers 2000 tables at the papers' trial counts
on 1, 8 and 64 workers, from measured per-sequence (per-step) costs (docs/scaling.md).

Two steps:

* ``measure --out DIR``: one trial of every row with a small cap (``--max-sequences``; Gers 2000:
  ``--max-steps``), one command at a time, each through ``yetztml reproduce ... --trials 1 --jobs 1``, and
  ``DIR/costs.json`` with the cost per sequence (1997: the trial's ``wall_s`` / ``sequences``, which
  includes the protocol's periodic tests and the trial's final test) and per step (Gers: ``us_per_step``),
  with the load average before each command.
* ``table [--costs DIR/costs.json]``: the estimate. Without ``--costs`` it uses :data:`MEASURED`, the costs
  measured for docs/scaling.md (written into this file by hand from such a ``costs.json``).

Per row: trials (the paper's count, ``Row.trials`` / ``GersRow.trials``, taken from the papers by the specs
in /work/shared/specs), sequences per trial and cost per sequence. Sequences per trial under three
assumptions: ``paper`` (the paper's success rate and mean sequences to success, failures to the row's cap),
``here`` (the success rate and mean of the runs in docs/reproduction.md, failures to the row's cap; rows
not run there fall back to ``paper``, marked ``*``), ``cap`` (every trial to the row's cap: an upper bound
whatever the nets do). Gers 2000 (the paper states no cost per net): ``paper`` and ``here`` take the wall
seconds per net of docs/reproduction.md's Table 2 runs (:data:`GERS_HERE`, 3·10⁷-step budget), ``cap``
every net at that budget at the per-step cost measured now (an upper bound for that protocol; the
paper's own protocol has no step budget). The workers run the trials of all rows as one pool (one sweep,
or every row started at once on a Ray cluster), so the wall time on W workers is max(total / W, the
longest trial).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

#: Sequences per measuring trial (1997, by row id) and steps per measuring net (Gers 2000): ≈ 10⁶–2·10⁷
#: steps each, a few to ≈ 40 s on a loaded core, and at least 10x a final test of 2560 sequences.
CAPS_1997 = {
    "1-1": 30_000, "1-2": 30_000, "1-3": 30_000, "1-4": 30_000, "1-5": 30_000,
    "2a": 10_000, "2b": 10_000,
    "2c-1": 150_000, "2c-2": 80_000, "2c-3": 40_000, "2c-4": 20_000, "2c-5": 10_000, "2c-6": 10_000,
    "2c-7": 10_000, "2c-8": 10_000, "2c-9": 10_000,
    "3a-1": 80_000, "3a-2": 80_000, "3a-3": 10_000, "3b-1": 80_000, "3b-2": 80_000, "3b-3": 10_000,
    "3c-1": 80_000, "3c-2": 80_000,
    "4-1": 80_000, "4-2": 30_000, "4-3": 20_000,
    "5-1": 80_000, "5-2": 80_000, "6a": 80_000, "6b": 80_000,
    "2a-rtrl-1": 1_000_000, "2a-rtrl-2": 1_000_000, "2a-rtrl-3": 1_000_000, "2a-rtrl-4": 500_000,
    "2a-rtrl-5": 50_000, "2a-bptt-1": 20_000,
}
GERS_ROWS = ("reset", "standard", "state-decay", "forget", "forget-decay")
GERS_MEASURE_STEPS = 3_000_000


def _load() -> float:
    return os.getloadavg()[0]


def _last_record(folder: Path) -> dict:
    lines = [line for line in (folder / "trials.jsonl").read_text().splitlines() if line.strip()]
    return json.loads(lines[-1])


def measure(out: Path, only: list[str] | None) -> Path:
    """Run the measuring trials one at a time; write and return ``out/costs.json``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "costs.json"
    costs = json.loads(path.read_text()) if path.exists() else {"lstm1997": {}, "gers2000": {}}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    exe = [sys.executable, "-m", "yetztml"]
    jobs = [("lstm1997", row, ["reproduce", "lstm1997", "--exp", row, "--max-sequences", str(cap)])
            for row, cap in CAPS_1997.items()]
    jobs += [("gers2000", row, ["reproduce", "gers2000", "--row", row, "--max-steps", str(GERS_MEASURE_STEPS)])
             for row in GERS_ROWS]
    for paper, row, args in jobs:
        if (only and row not in only) or (not only and row in costs[paper]):
            continue
        folder = out / paper / row
        command = [*args, "--trials", "1", "--seed", "0", "--jobs", "1", "--no-figures", "--out", str(folder)]
        load = _load()
        started = time.perf_counter()
        done = subprocess.run(exe + command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            print(f"{paper} {row}: failed ({done.stderr.strip().splitlines()[-1:]}); rerun with --only {row}",
                  flush=True)
            continue
        record = _last_record(folder)
        entry = {"command": "yetztml " + " ".join(command), "load_average_1min": round(load, 2),
                 "process_s": round(time.perf_counter() - started, 2), "sequences": record["sequences"],
                 "steps": record["steps"], "wall_s": round(record["wall_s"], 3),
                 "us_per_step": round(record["us_per_step"], 4),
                 "us_per_sequence": round(1e6 * record["wall_s"] / max(1, record["sequences"]), 2)}
        costs[paper][row] = entry
        path.write_text(json.dumps(costs, indent=1) + "\n")
        print(f"{paper} {row}: {entry['us_per_sequence']:,.1f} µs/sequence, {entry['us_per_step']:.3f} µs/step, "
              f"trial {entry['wall_s']:.1f} s, load {load:.2f}", flush=True)
    return path


#: Measured 2026-12-03 by ``measure --out /tmp/scaling-costs`` on the shared 2-core machine (1-minute load
#: average 5.0–7.6 from other jobs), one command at a time. Per row: µs per sequence (the trial's wall_s /
#: sequences), µs per step (its us_per_step), sequences, wall_s, the load average before the command.
_FIELDS = ("us_per_sequence", "us_per_step", "sequences", "wall_s", "load_average_1min")
_MEASURED = {
    "lstm1997": {
        "1-1": (203.85, 13.4145, 30000, 6.116, 5.86),
        "1-2": (159.42, 10.4909, 30000, 4.783, 5.73),
        "1-3": (150.65, 9.9135, 30000, 4.519, 5.54),
        "1-4": (176.06, 11.5857, 30000, 5.282, 5.53),
        "1-5": (204.42, 13.4518, 30000, 6.132, 5.44),
        "2a": (1083.54, 10.8354, 10000, 10.835, 5.34),
        "2b": (1507.07, 15.0707, 10000, 15.071, 5.5),
        "2c-1": (94.39, 1.5223, 96328, 9.093, 5.01),
        "2c-2": (128.25, 1.1447, 80000, 10.26, 5.22),
        "2c-3": (283.53, 1.3373, 40000, 11.341, 5.62),
        "2c-4": (1400.84, 2.7354, 20000, 28.017, 6.08),
        "2c-5": (2322.77, 2.2951, 10000, 23.228, 7.24),
        "2c-6": (3400.46, 3.36, 10000, 34.005, 7.01),
        "2c-7": (2013.82, 1.9899, 10000, 20.138, 7.08),
        "2c-9": (3061.82, 3.0254, 10000, 30.618, 6.58),
        "3a-1": (278.72, 2.6545, 61000, 17.002, 7.44),
        "3a-2": (204.65, 1.9492, 44000, 9.005, 7.21),
        "3a-3": (2128.77, 2.0281, 10000, 21.288, 7.14),
        "3b-1": (188.07, 1.7912, 40000, 7.523, 7.63),
        "3b-2": (161.97, 1.5425, 80000, 12.958, 7.41),
        "3b-3": (2026.57, 1.9308, 10000, 20.266, 7.15),
        "3c-1": (182.13, 1.734, 17500, 3.187, 6.89),
        "3c-2": (152.21, 1.4496, 80000, 12.177, 6.75),
        "4-1": (100.16, 0.954, 80000, 8.013, 6.5),
        "4-2": (607.68, 1.1575, 30000, 18.23, 6.33),
        "4-3": (1109.53, 1.057, 20000, 22.191, 5.89),
        "5-1": (108.86, 1.0368, 80000, 8.708, 6.01),
        "5-2": (108.7, 1.0352, 80000, 8.696, 5.94),
        "6a": (196.8, 1.8739, 22122, 4.354, 5.59),
        "6b": (224.19, 2.1348, 80000, 17.935, 5.57),
        "2a-rtrl-1": (4.48, 1.1209, 1000000, 4.483, 5.56),
        "2a-rtrl-2": (4.79, 1.1973, 1000000, 4.789, 5.66),
        "2a-rtrl-3": (4.17, 1.0437, 1000000, 4.175, 5.71),
        "2a-rtrl-4": (12.32, 1.2315, 500000, 6.158, 5.68),
        "2a-rtrl-5": (406.72, 4.0672, 50000, 20.336, 5.67),
        "2a-bptt-1": (475.91, 4.7591, 20000, 9.518, 5.55),
        "2c-8": (2278.26, 2.2512, 10000, 22.783, 6.0),
    },
    "gers2000": {
        "reset": (4699.42, 9.2962, 5974, 28.074, 5.65),
        "standard": (3677.42, 23.1293, 18870, 69.393, 5.55),
        "state-decay": (3030.47, 15.9657, 15806, 47.9, 6.54),
        "forget": (11562.95, 40.6976, 10561, 122.116, 7.12),
        "forget-decay": (2702.34, 11.1439, 12385, 33.468, 7.56),
    },
}
MEASURED = {paper: {row: dict(zip(_FIELDS, values, strict=True)) for row, values in rows.items()}
            for paper, rows in _MEASURED.items()}

#: The runs of docs/reproduction.md (as written, seed 0): row → (trials run, successful, mean sequences of the
#: successful, where). Rows absent here were not run there; the ``here`` estimate uses the paper for them.
HERE = {
    "1-5": (30, 6, 53_533, "Exp 1 section: 20.0 % of 30, mean 53,533"),
    "2a": (3, 1, 173_600, "Exp 2a section: 1 of 3 within 300k, at 173,600"),
    "2b": (1, 0, None, "Exp 2b section: 0 of 1 within 300k"),
    "2c-1": (2, 2, 109_778, "Exp 2c, q = p = 50: 2 of 2, mean 109,778"),
    "2c-2": (10, 0, None, "Exp 2c, q = p = 100: 0 of 10 within 1M"),
    "2c-5": (2, 0, None, "Exp 2c, q = p = 1000: 0 of 2 within 300k"),
    "3a-1": (10, 10, 54_150, "Exp 3a, T = 100, N = 3: ST2 at a mean 54,150, all 10 within the cap"),
    "4-1": (10, 10, 659_424, "Exp 4, T = 100: 100 % of 10, mean 659,424"),
    "4-2": (4, 4, 906_519, "Exp 4, T = 500: 4 of 4, mean 906,519"),
    "4-3": (3, 0, None, "Exp 4, T = 1000: 0 of 1 within 600k, 0 of 2 within 1.5M"),
    "5-1": (10, 10, 1_028_528, "Exp 5, n_seq = 140: 100 % of 10, mean 1,028,528"),
    "6a": (20, 19, 27_611, "Exp 6a: 95.0 % of 20, mean 27,611"),
    "6b": (10, 5, 578_902, "Exp 6b: 50.0 % of 10, mean 578,902"),
    "2a-rtrl-1": (18, 0, None, "2a-rtrl-1: 0 of 18 within 5M"),
    "2a-rtrl-2": (18, 8, 3_749_462, "2a-rtrl-2: 44.4 % of 18, mean 3,749,462"),
    "2a-rtrl-3": (18, 18, 1_248_467, "2a-rtrl-3: 100 % of 18, mean 1,248,467"),
    "2a-rtrl-4": (18, 0, None, "2a-rtrl-4: 0 of 18 within 5M"),
    "2a-rtrl-5": (18, 0, None, "2a-rtrl-5: 0 of 18 within 20k"),
    "2a-bptt-1": (18, 0, None, "2a-bptt-1: 0 of 18 within 20k"),
}
#: Steps per Gers 2000 net: the budget of docs/reproduction.md's Table 2 runs (``--max-steps 30000000``).
GERS_STEPS_PER_NET = 30_000_000
#: The Gers 2000 runs of docs/reproduction.md (6 nets per row, the 3·10⁷-step budget, 2026-11-28, the same
#: shared machine): row → (wall seconds of the command, nets, nets at a time). Per net: wall × at a time / nets.
GERS_HERE = {"reset": (498, 6, 1), "standard": (281, 6, 2), "state-decay": (653, 6, 1), "forget": (155, 6, 2),
             "forget-decay": (341, 6, 2)}
#: The three assumptions on sequences per trial (module docstring).
KINDS = ("paper", "here", "cap")


def _per_trial(success: float, mean: float | None, cap: int) -> float:
    """Expected sequences of one trial: successful ones at ``mean``, the rest at ``cap``."""
    return success * (mean or 0.0) + (1.0 - success) * cap


def estimate(costs: dict) -> tuple[list[dict], dict]:
    """Per row: trials, µs per sequence, sequences per trial and CPU seconds under each assumption; and the
    totals with the longest single trial."""
    from yetztml.experiments import gers2000
    from yetztml.experiments.lstm1997 import ROWS

    rows = []
    for row_id, row in ROWS.items():
        cap = row.stop["max_sequences"]
        paper_mean = row.paper.get("sequences", row.paper.get("st2"))
        paper_success = row.paper.get("success_pct", 100) / 100.0
        us = costs["lstm1997"][row_id]["us_per_sequence"]
        odds = {"paper": (paper_success, paper_mean), "cap": (0.0, None)}
        if row_id in HERE:
            run, ok, mean, _ = HERE[row_id]
            odds["here"], marked = (ok / run, mean), ""
        else:
            odds["here"], marked = odds["paper"], "*"
        seqs = {k: _per_trial(success, mean, cap) for k, (success, mean) in odds.items()}
        # the longest trial: one at the cap where some fail, else one at the mean (longer ones are not known)
        longest = {k: (cap if success < 1.0 else mean) * us * 1e-6 for k, (success, mean) in odds.items()}
        rows.append({"row": row_id, "trials": row.trials, "cost": us, "unit": "µs/seq", "seqs": seqs,
                     "marked": marked, "cpu_s": {k: row.trials * v * us * 1e-6 for k, v in seqs.items()},
                     "longest_s": longest})
    for row_id in GERS_ROWS:
        row = gers2000.get_row(row_id)
        us = costs["gers2000"][row_id]["us_per_step"]
        wall, nets, at_a_time = GERS_HERE[row_id]
        per_net = {"cap": GERS_STEPS_PER_NET * us * 1e-6, "here": wall * at_a_time / nets}
        per_net["paper"] = per_net["here"]  # the paper states no cost; its nets are taken to cost what ours did
        rows.append({"row": f"gers-{row_id}", "trials": row.trials, "cost": us, "unit": "µs/step",
                     "seqs": None, "per_net_s": per_net["here"], "marked": "",
                     "cpu_s": {k: row.trials * v for k, v in per_net.items()}, "longest_s": per_net})
    totals = {k: sum(r["cpu_s"][k] for r in rows) for k in KINDS}
    longest = {k: max(r["longest_s"][k] for r in rows) for k in KINDS}
    return rows, {"cpu_s": totals, "longest_s": longest}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h" if seconds >= 360 else f"{seconds / 60:,.1f} min"


def print_table(costs: dict, workers: tuple[int, ...]) -> None:
    rows, totals = estimate(costs)
    print("| row | trials | cost | sequences per trial: paper / here / cap | CPU: paper / here / cap |")
    print("|---|---|---|---|---|")
    for r in rows:
        if r["seqs"] is None:  # Gers 2000: seconds per net (reproduction.md) / the same / the step budget
            seqs = f"{r['per_net_s']:,.0f} s per net / the same / {GERS_STEPS_PER_NET:,} steps"
        else:
            seqs = " / ".join(f"{r['seqs'][k]:,.0f}" + (r["marked"] if k == "here" else "") for k in KINDS)
        cpu = " / ".join(_hours(r["cpu_s"][k]) for k in KINDS)
        print(f"| {r['row']} | {r['trials']} | {r['cost']:,.2f} {r['unit']} | {seqs} | {cpu} |")
    print()
    print("| workers | " + " | ".join(f"wall, {k}" for k in KINDS) + " |")
    print("|---|---|---|---|")
    for w in workers:
        cells = [_hours(max(totals["cpu_s"][k] / w, totals["longest_s"][k])) for k in KINDS]
        print(f"| {w} | " + " | ".join(cells) + " |")
    print()
    print("CPU total: " + ", ".join(f"{k} {_hours(totals['cpu_s'][k])}" for k in KINDS))
    print("longest single trial: " + ", ".join(f"{k} {_hours(totals['longest_s'][k])}" for k in KINDS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Details: docs/scaling.md and this file's docstring.")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure", help="one capped trial per row, one at a time; writes OUT/costs.json")
    m.add_argument("--out", required=True, type=Path, help="folder for the run folders and costs.json")
    m.add_argument("--only", nargs="*", help="row ids to (re)measure (default: the rows not yet in costs.json)")
    t = sub.add_parser("table", help="print the estimate (Markdown tables)")
    t.add_argument("--costs", type=Path, help="a costs.json written by measure (default: MEASURED in this file)")
    t.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64], help="worker counts")
    args = parser.parse_args(argv)
    if args.command == "measure":
        print(measure(args.out, args.only))
    else:
        print_table(json.loads(args.costs.read_text()) if args.costs else MEASURED, tuple(args.workers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
