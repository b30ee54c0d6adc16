"""``yetztml reproduce``: run a paper's table rows (trials in parallel, resumable) and write their report."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import warnings

from ..core.errors import OptionError, interrupt_behind, message
from .parsers import command

DESCRIPTION = (
    "Run the trials of one table row (in parallel over the cores; rerunning the same command resumes "
    "an interrupted run) and write OUT/result.json and OUT/report.md with figures, the paper's values "
    "beside ours. `--list` shows the rows."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..experiments.registry import REPRODUCTIONS, summary

    p = command(sub, "reproduce", f"reproduce a paper's tables: {summary()}", DESCRIPTION)
    papers = p.add_subparsers(dest="paper", metavar="PAPER")
    for spec in REPRODUCTIONS.values():
        options, handler = _PAPERS[spec.name]
        a = command(papers, spec.name, spec.help, spec.description, handler)
        options(a, spec)
        _common(a, spec)
    p.set_defaults(handler=lambda args: _no_paper(p))


def _lstm1997_options(a: argparse.ArgumentParser, spec) -> None:
    a.add_argument("--list", action="store_true", help="list the rows, their parameters and the paper's values")
    a.add_argument("--exp", metavar="ID", help="experiment id (1, 2a, 2b, 2c, 3a, 3b, 3c, 4, 5, 6a, 6b) or table id")
    a.add_argument("--T", type=int, default=None, help="sequence length parameter T (Exps 3, 4)")
    a.add_argument("--N", type=int, default=None, help="information elements N (Exp 3)")
    a.add_argument("--p", type=int, default=None, help="p (Exp 2: lag / distractor symbols)")
    a.add_argument("--q", type=int, default=None, help="q (Exp 2c: minimal lag − 1)")
    a.add_argument("--alpha", type=float, default=None, help="learning rate α of the row (Exps 1, 2a)")
    a.add_argument("--blocks", type=int, default=None, help="memory blocks (Exp 1: 3 or 4)")
    a.add_argument("--block-size", dest="block_size", type=int, default=None, help="cells per block (Exp 1)")
    a.add_argument("--n-seq", dest="n_seq", type=int, default=None, help="n_seq (Exp 5: 140 or 13)")
    a.add_argument("--method", default=None, help="lstm (default), rtrl or bptt (Exp 2a baselines)")
    a.add_argument("--variant", default=spec.defaults["variant"],
                   help=f"named variant (default: {spec.defaults['variant']}); see --list")
    a.add_argument("--max-sequences", dest="max_sequences", type=int, default=None,
                   help="cap on training sequences per trial (default: the row's)")


def _gers2000_options(g: argparse.ArgumentParser, spec) -> None:
    g.add_argument("--list", action="store_true", help="list the rows and the paper's values")
    g.add_argument("--row", metavar="NAME", help="row name (see --list)")
    g.add_argument("--max-streams", dest="max_streams", type=int, default=None,
                   help="cap on training streams per net (default: the paper's 30,000)")
    g.add_argument("--max-steps", dest="max_steps", type=int, default=None,
                   help="cap on time steps per net, training and tests together (default: none)")


def _common(p: argparse.ArgumentParser, spec) -> None:
    seed = spec.defaults["seed"]
    p.add_argument("--trials", type=int, default=None, help="number of trials / nets (default: the paper's)")
    p.add_argument("--seed", type=int, default=seed,
                   help=f"base seed, >= 0; trial i uses (seed, i) (default: {seed})")
    p.add_argument("--out", default=None, metavar="DIR",
                   help=f"run folder (default: {spec.out_pattern}); rerunning the same command into it resumes, "
                        "another configuration is refused")
    p.add_argument("--force", action="store_true",
                   help="start over in DIR, deleting the finished trials and results of the run there")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel trials (default: all available cores; with --backend ray and no --address, the "
                        "CPUs of the Ray instance started for the run)")
    p.add_argument("--backend", default="local", metavar="local|ray",
                   help="where trials run: local processes (default) or Ray tasks (the extra yetztml[ray]); "
                        "results are the same")
    p.add_argument("--address", default=None, metavar="HOST:PORT|auto",
                   help="with --backend ray: the cluster's head (auto: the one running on this machine; "
                        "default: a Ray instance started for this run)")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="skip the figures")


def _no_paper(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


#: What a run folder holds; ``--force`` deletes these before starting over.
RUN_FILES = ("config.json", "trials.jsonl", "trials.torn", "result.json", "report.md")


def _check_paths(args: argparse.Namespace) -> None:
    """Seed and --out, checked before anything is written (``--out ""`` is refused, not the default)."""
    from . import paths

    paths.seed("--seed", args.seed)
    if args.out is not None:
        paths.out_folder("--out", args.out)
    for option in ("max_streams", "max_steps"):
        if getattr(args, option, None) is not None:
            paths.count("--" + option.replace("_", "-"), getattr(args, option), 1)


def _prepare_out(out: str, force: bool) -> None:
    """Check the run folder; with ``--force`` delete the run there (only its own files), after every check."""
    from pathlib import Path

    from . import paths

    paths.out_folder("--out", out)
    if force:
        for name in RUN_FILES:
            (Path(out) / name).unlink(missing_ok=True)


def _check_trials(args: argparse.Namespace) -> None:
    _check_paths(args)
    if args.trials is not None and args.trials < 1:
        raise OptionError(message("--trials", "an integer >= 1", args.trials))
    if args.jobs is not None and args.jobs < 1:
        raise OptionError(message("--jobs", "an integer >= 1", args.jobs))
    if getattr(args, "max_sequences", None) is not None and args.max_sequences < 1:
        raise OptionError(message("--max-sequences", "an integer >= 1", args.max_sequences))


def backend_of(args: argparse.Namespace):
    """The backend of --backend, --address and --jobs, checked (Ray importable, address reachable)."""
    from ..experiments.backends import make_backend

    backend = make_backend(args.backend, args.address, args.jobs)
    backend.check()
    return backend


@contextlib.contextmanager
def one_line_warnings(command: str):
    """Warnings raised inside (e.g. a cut line of trials.jsonl set aside) printed as one line each."""
    def show(text, category, filename, lineno, file=None, line=None):
        print(f"yetztml {command}: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = show
        yield


def _finished_line(record: dict, finished: int, total: int) -> str:
    test = record.get("test") or {}
    if "streams" in record:
        what = f"{record['streams']:,} streams, {record['class']}, mean test length {record['test_length_mean']:,.0f}"
    else:
        what = f"{record['sequences']:,} sequences, test wrong {test.get('wrong', '–')}"
    return (f"  trial {record['trial']:>3}: {'success' if record['success'] else 'no success'} after {what}, "
            f"{record['wall_s']:.1f} s  [{finished}/{total}]")


#: Off a terminal (a log file, CI), a running trial's progress is printed at most once per this many seconds.
PLAIN_EVERY = 60.0


class _Display:
    """Finished trials as lines; running trials as live bars on a terminal, else a line per trial a minute."""

    def __init__(self) -> None:
        self.live = sys.stdout.isatty()
        self.bars = None
        self.tasks: dict[int, int] = {}
        self.printed: dict[int, float] = {}
        self.finished: set[int] = set()

    def __enter__(self) -> _Display:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bars = Progress(TextColumn("  trial {task.fields[trial]:>3}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[unit]}  {task.fields[detail]}"), TimeElapsedColumn(),
                                 transient=True)
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()

    def record(self, record: dict, finished: int, total: int) -> None:
        line = _finished_line(record, finished, total)
        self.finished.add(record["trial"])
        task = self.tasks.pop(record["trial"], None)
        if self.bars is not None:
            if task is not None:
                self.bars.remove_task(task)
            self.bars.console.print(line, highlight=False)
        else:
            print(line, flush=True)

    def progress(self, report: dict) -> None:
        trial = report["trial"]
        if trial in self.finished:  # a report that was still queued when the trial's record arrived
            return
        if self.bars is not None:
            fields = {"trial": trial, "unit": report["unit"], "detail": report["detail"]}
            if trial not in self.tasks:
                self.tasks[trial] = self.bars.add_task("", total=report["total"], completed=report["done"], **fields)
            else:
                self.bars.update(self.tasks[trial], completed=report["done"], total=report["total"], **fields)
            return
        now = time.monotonic()
        if now - self.printed.get(trial, now) >= PLAIN_EVERY:
            print(f"  trial {trial:>3}: {report['done']:,} of {report['total']:,} {report['unit']}, "
                  f"{report['detail']}", flush=True)
            self.printed[trial] = now
        self.printed.setdefault(trial, now)


@contextlib.contextmanager
def _resumable(out: str):
    """On Ctrl-C, say where the finished trials are and how to resume, then let the interrupt through (also
    when it surfaced from compiled code as another error, a trial run in this process with --jobs 1)."""
    try:
        yield
    except BaseException as err:
        if interrupt_behind(err) is None:
            raise
        print(f"interrupted: finished trials are kept in {out}/trials.jsonl; rerun the same command to resume",
              file=sys.stderr)
        raise


def _list_lstm1997() -> None:
    from ..experiments.lstm1997 import PARAMETERS, ROWS, VARIANTS
    from ..report.reproduction import fmt

    print("Hochreiter & Schmidhuber 1997 rows (select with --exp ID or --exp EXP plus parameters):")
    print(f"  {'id':<11} {'table':<6} {'exp':<4} {'label':<28} {'weights':>7} {'α':>5} {'trials':>6}  paper")
    for r in ROWS.values():
        weights = r.net.weights if r.net else r.baseline["weights"]
        paper = ", ".join(f"{k}={fmt(v)}" for k, v in r.paper.items())
        print(f"  {r.id:<11} {r.table:<6} {r.exp:<4} {r.label:<28} {weights:>7} {r.alpha:>5} {r.trials:>6}  {paper}")
    print("Parameters per experiment: " + "; ".join(f"{e}: {', '.join(p) or '–'}" for e, p in PARAMETERS.items()))
    print("Variants:")
    for v in VARIANTS.values():
        print(f"  {v.name:<14} {v.summary}")


def handle_lstm1997(args: argparse.Namespace) -> int:
    from ..experiments.lstm1997 import resolve_row
    from ..experiments.lstm1997.variants import get_variant
    from ..experiments.registry import REPRODUCTIONS
    from ..report.reproduction import side_by_side, write_report

    if args.list:
        _list_lstm1997()
        return 0
    if args.exp is None:
        raise OptionError(message("--exp", "an experiment or table id", "nothing",
                                  "See `yetztml reproduce lstm1997 --list`."))
    _check_trials(args)
    method = args.method
    if method is not None and method not in ("lstm", "rtrl", "bptt"):
        raise OptionError(message("--method", "one of 'lstm', 'rtrl', 'bptt'", repr(method)))
    row = resolve_row(args.exp, T=args.T, N=args.N, p=args.p, q=args.q, alpha=args.alpha, blocks=args.blocks,
                      block_size=args.block_size, n_seq=args.n_seq, method=method)
    get_variant(args.variant).apply(row)
    spec = REPRODUCTIONS["lstm1997"]
    out = args.out or spec.default_out(row.id, variant=args.variant)
    trials = row.trials if args.trials is None else args.trials
    cap = args.max_sequences or row.max_sequences
    backend = backend_of(args)
    _prepare_out(out, args.force)
    print(f"reproduce lstm1997: row {row.id} (Table {row.table}, Exp {row.exp}: {row.label}), "
          f"variant {args.variant}, trials {trials}, seed {args.seed}, cap {cap:,} sequences, out {out}, "
          f"backend {backend.describe()}", flush=True)
    with _resumable(out), one_line_warnings("reproduce"), _Display() as display:
        result = spec.entry(row, variant=args.variant, trials=trials, seed=args.seed, out=out, jobs=args.jobs,
                           max_sequences=args.max_sequences, on_record=display.record,
                           on_progress=display.progress, backend=backend)
    report = write_report(out, result, figures=args.figures)
    for line in side_by_side(result):
        print("  " + line)
    print(f"report: {report}")
    return 0


def handle_gers2000(args: argparse.Namespace) -> int:
    from ..experiments import gers2000
    from ..experiments.registry import REPRODUCTIONS
    from ..report.reproduction import side_by_side, write_report

    if args.list:
        gers2000.print_rows()
        return 0
    if args.row is None:
        raise OptionError(message("--row", "a row name", "nothing", "See `yetztml reproduce gers2000 --list`."))
    _check_trials(args)
    row = gers2000.get_row(args.row)
    spec = REPRODUCTIONS["gers2000"]
    out = args.out or spec.default_out(row.id)
    trials = row.trials if args.trials is None else args.trials
    backend = backend_of(args)
    _prepare_out(out, args.force)
    print(f"reproduce gers2000: row {row.id} ({row.label}), nets {trials}, seed {args.seed}, out {out}, "
          f"backend {backend.describe()}", flush=True)
    with _resumable(out), one_line_warnings("reproduce"), _Display() as display:
        result = spec.entry(row, trials=trials, seed=args.seed, out=out, jobs=args.jobs,
                                    max_streams=args.max_streams, max_steps=args.max_steps,
                                    on_record=display.record, on_progress=display.progress, backend=backend)
    report = write_report(out, result, figures=args.figures)
    for line in side_by_side(result):
        print("  " + line)
    print(f"report: {report}")
    return 0


#: The row options and the handler of each registry entry (experiments/registry.py).
_PAPERS = {"lstm1997": (_lstm1997_options, handle_lstm1997), "gers2000": (_gers2000_options, handle_gers2000)}
