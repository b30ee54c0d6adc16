"""``yetztml demo bss``: the feedback-modulation demonstration (Naumann, Keijser & Sprekeler, eLife 2022)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="demonstrations built on the cells (bss: LSTM feedback modulation, eLife 2022)",
        description="Demonstrations built on the cells.",
    )
    demos = p.add_subparsers(dest="demo", metavar="DEMO", required=True)
    bss = demos.add_parser(
        "bss",
        help="dynamic blind source separation by LSTM feedback modulation (eLife 2022)",
        description=(
            "Train a closed-loop model (an LSTM that watches the mixed signals and its own output and "
            "re-weights a feedforward net) on dynamic blind source separation, test it on 20 new contexts, "
            "and write OUT/result.json, OUT/report.md (the reference numbers beside ours), the figures and "
            "OUT/checkpoint.npz. Run folders: rerunning the same command resumes the run in OUT (after Ctrl-C "
            "too: every finished batch is kept); a run of another configuration there is refused; --force "
            "starts over. See docs/bss.md and docs/guarantees.md."
        ),
    )
    from ..experiments.bss import add_arguments

    add_arguments(bss)
    bss.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..experiments.bss import options_from_args, run_bss
    from . import paths

    paths.out_folder("--out", args.out)
    paths.seed("--seed", args.seed)
    options = options_from_args(args)
    print("demo bss: " + " ".join(f"{k}={v}" for k, v in options.items()), flush=True)
    try:
        result = run_bss(**options)
    except KeyboardInterrupt:
        if (Path(args.out) / "checkpoint.npz").exists():
            print(f"interrupted: finished batches are kept in {args.out}/checkpoint.npz; rerun the same command "
                  "to resume", file=sys.stderr)
        raise
    print(
        f"clarity: stimulus {result['clarity_stimulus']:.3f}, output {result['clarity_output']:.3f} "
        f"(mean over the test contexts); {result['seconds_per_batch']:.3f} s per batch over "
        f"{result['batches']} batches"
    )
    print(f"report: {args.out}/report.md")
    return 0
