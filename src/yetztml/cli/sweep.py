"""``yetztml sweep SPEC.toml``: a grid (or list) of a command's options and seeds, every trial a task on one
backend, collected into ``sweep.csv`` and ``report.md`` (resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .parsers import command

HELP = ("run a grid or list of reproduce or text-train options and seeds as tasks (local or Ray); one table "
        "and report")
DESCRIPTION = (
    "Run every point of the sweep file SPEC (a TOML grid or list over one command's options\n"
    "and seeds), all trials of all points as tasks of one backend, and collect the points into\n"
    "OUT/sweep.csv and OUT/report.md with a figure. Rerunning the same command resumes; --force\n"
    "starts over."
)
EXAMPLE = """\
example SPEC.toml (all trials of all 4 points are tasks of one run):

  command = "reproduce lstm1997"      # or "reproduce gers2000", "text train"
  [base]                              # options every point shares (the command's option names)
  exp = "4"
  T = 100
  trials = 2
  max-sequences = 2000
  [grid]                              # every combination of these values
  variant = ["as-written", "linear-output"]
  seed = [0, 1]
  # [[points]]                        # and/or points listed one by one, each over [base]
  # variant = "no-fprime"

a sweep of text classifiers (each point one `yetztml text train` run of those options; the table has its
validation and test accuracy and macro-F1; the trained models are not kept):

  command = "text train"
  [base]
  data = "headlines.csv"              # and val, test, text-column, label-column, delimiter as in text train
  epochs = 6
  [grid]
  cell = ["lstm", "gru"]
  lr = [1e-3, 2e-3]
  seed = [0, 1, 2]

OUT/points/<point>/ holds each point's run folder (trials.jsonl, result.json); OUT/sweep.csv the table
(one row per point: the varying options, then the summary), OUT/report.md the table and sweep.png.
Rerunning the same command resumes; adding values to the grid adds points.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "sweep", HELP, DESCRIPTION, handle, epilog=EXAMPLE,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep file (TOML; see the example below)")
    p.add_argument("--out", default=None, metavar="DIR", help="sweep folder (default: sweep-<SPEC's name>)")
    p.add_argument("--backend", default="local", metavar="local|ray",
                   help="where trials run: local processes (default) or Ray tasks (the extra yetztml[ray])")
    p.add_argument("--address", default=None, metavar="HOST:PORT|auto",
                   help="with --backend ray: the cluster's head (auto: the one running on this machine; "
                        "default: a Ray instance started for this run)")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel trials (default: all available cores; with --backend ray and no --address, the "
                        "CPUs of the Ray instance started for the run)")
    p.add_argument("--force", action="store_true",
                   help="start over in DIR: delete the sweep's table and report and the finished trials and results "
                        "of its points there")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="skip the figure")


#: What a sweep folder holds besides its points' run folders; ``--force`` deletes these.
SWEEP_FILES = ("sweep.json", "sweep.csv", "report.md", "sweep.png")


def _start_over(out: Path, points: list) -> None:
    """Delete the sweep's own files and the run files of its points (nothing else in DIR)."""
    from ..experiments.runner import TORN_FILE
    from .reproduce import RUN_FILES

    for name in SWEEP_FILES:
        (out / name).unlink(missing_ok=True)
    for point in points:
        for name in (*RUN_FILES, TORN_FILE):
            (point.folder / name).unlink(missing_ok=True)


def handle(args: argparse.Namespace) -> int:
    from ..core.errors import interrupt_behind
    from ..experiments.sweep import COMMANDS, plan_sweep, read_spec, run_sweep
    from ..report.sweep import table_lines, write_sweep_report
    from . import paths
    from .reproduce import backend_of, one_line_warnings
    from .sweep_text import register_text_train

    register_text_train()
    spec = read_spec(args.spec)
    out = args.out if args.out is not None else f"sweep-{Path(args.spec).stem}"
    paths.out_folder("--out", out)
    if args.jobs is not None:
        paths.count("--jobs", args.jobs, 1)
    points = plan_sweep(spec, out)  # every point's options checked before anything is written
    backend = backend_of(args)
    if args.force:
        _start_over(Path(out), points)
    trials = sum(p.trials for p in points)
    print(f"sweep: {spec['command']}, {len(points)} points, {trials} trials, out {out}, "
          f"backend {backend.describe()}", flush=True)

    command = COMMANDS[spec["command"]]

    def finished(point, record: dict, done: int, total: int) -> None:
        print(f"  {point.name} trial {record['trial']:>3}: {command.describe(record)}, "
              f"{record['wall_s']:.1f} s  [{done}/{total}]", flush=True)

    try:
        with one_line_warnings("sweep"):
            table = run_sweep(spec, out, backend, on_record=finished)
    except BaseException as err:  # Ctrl-C, also when it surfaced from compiled code as another error
        if interrupt_behind(err) is None:
            raise
        print(f"interrupted: finished trials are kept in {out}/points/*/trials.jsonl; rerun the same command "
              "to resume", file=sys.stderr)
        raise
    report = write_sweep_report(out, table, figures=args.figures)
    for line in table_lines(table):
        print("  " + line)
    print(f"table: {Path(out) / 'sweep.csv'}\nreport: {report}")
    return 0
