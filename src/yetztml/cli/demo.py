"""``yetztml demo bss``: the feedback-modulation demonstration (Naumann, Keijser & Sprekeler, eLife 2022)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .parsers import command, group

HELP = ("demonstrations built on the cells (bss: LSTM feedback modulation, eLife 2022; sarcasm: text "
        "classification of news headlines)")
BSS = (
    "Train a closed-loop model (an LSTM that watches the mixed signals and its own output and "
    "re-weights a feedforward net) on dynamic blind source separation, test it on 20 new contexts, "
    "and write OUT/result.json, OUT/report.md (the reference numbers beside ours), the figures and "
    "OUT/checkpoint.npz. Run folders: rerunning the same command resumes the run in OUT (after Ctrl-C "
    "too: every finished batch is kept); a run of another configuration there is refused; --force "
    "starts over. See docs/bss.md and docs/guarantees.md."
)
SARCASM = (
    "Train the measured configuration (a bidirectional LSTM over word embeddings, max pooling; "
    "docs/text.md) on the sarcasm headlines (columns is_sarcastic, text) with a seeded stratified "
    "80/10/10 split, and write OUT like `yetztml text train`: the model, result.json (validation and "
    "test accuracy and macro-F1), report.md beside the published references. Without --data the "
    "file fetched by `yetztml data fetch sarcasm` is used."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from .demo_bss import add_arguments
    from .translate import add_demo

    demos = group(sub, "demo", HELP, "Demonstrations built on the cells.", "demo", "DEMO")
    add_arguments(command(demos, "bss", "dynamic blind source separation by LSTM feedback modulation (eLife 2022)",
                          BSS, handle))
    sarcasm = command(demos, "sarcasm",
                      "sarcasm detection on news headlines: the measured text-classification configuration", SARCASM,
                      handle_sarcasm)
    sarcasm.add_argument("--data", help="Sarcasm_Headlines_Dataset.csv (default: the fetched copy)")
    sarcasm.add_argument("--out", default="sarcasm-model", help="the model directory to write")
    sarcasm.add_argument("--seed", type=int, default=0, help="seed of the split, weights, dropout and batches")
    sarcasm.add_argument("--cell", default="lstm", help="lstm, gru, rnn, lstm1997 or peephole")
    sarcasm.add_argument("--epochs", type=int, default=12, help="maximum epochs")
    sarcasm.add_argument("--force", action="store_true", help="start over in a directory that holds a run")
    sarcasm.add_argument("--no-figures", dest="figures", action="store_false", help="no figures in report.md")
    add_demo(demos)


def handle_sarcasm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..apps.text import TextConfig
    from ..core.errors import OptionError, message
    from ..data import cache_dir
    from .text import run_training

    data = args.data
    if data is None:
        data = str(cache_dir() / "sarcasm" / "Sarcasm_Headlines_Dataset.csv")
        if not Path(data).is_file():
            raise OptionError(message("demo sarcasm --data", "the sarcasm headlines CSV", f"no file {data!r}",
                                      "Run `yetztml data fetch sarcasm`, or pass --data PATH."))
    config = TextConfig(cell=args.cell, epochs=args.epochs, seed=args.seed)
    args.text_column, args.label_column, args.delimiter = "text", "is_sarcastic", None
    args.val = args.test = args.vectors = None
    run_training(args, config, data)
    return 0


def handle(args: argparse.Namespace) -> int:
    from ..experiments.bss import run_bss
    from . import paths
    from .demo_bss import options_from_args

    paths.out_folder("--out", args.out)
    paths.seed("--seed", args.seed)
    options = options_from_args(args)
    print("demo bss: " + " ".join(f"{k}={v}" for k, v in options.items()), flush=True)
    try:
        result = run_bss(**options)
    except (KeyboardInterrupt, SystemError) as err:
        from .main import interrupt_behind

        if interrupt_behind(err) is not None and (Path(args.out) / "checkpoint.npz").exists():
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
