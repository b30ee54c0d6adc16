"""``yetztml run``: the main job — a guided tour that writes a report folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from .parsers import command

HELP = "the guided tour (no arguments needed): writes a report folder"
DESCRIPTION = (
    "The main job, a guided tour in about two minutes on two cores: every cell's hand-derived "
    "gradients checked against finite differences; Hochreiter's error-flow picture (vanishing flow "
    "in an RNN, constant flow in the CEC); LSTM1997 solving the adding problem (T = 100) next to an "
    "Elman RNN that fails, with the paper's Table 7 row; the input and output weight conflict (1997 "
    "§3.2: a naive constant-error unit against the gated memory cell); the pictures of an Elman RNN "
    "with num_layers = 2 unfolded in time and of LSTM1997 without a forget gate with every dimension. "
    "Writes OUT/result.json, OUT/report.md and the figures. Rerunning the same command into OUT "
    "computes the same report again; a report of another seed there is refused (--force replaces it)."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "run", HELP, DESCRIPTION, handle)
    p.add_argument("--out", default="yetztml-report", help="report folder (default: ./yetztml-report)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random draw, >= 0 (default: 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: one per core; 0 runs everything in this process)")
    p.add_argument("--force", action="store_true", help="replace a report of another seed in OUT")


def check_folder(out: Path, seed: int, force: bool) -> None:
    """The run-folder rule for the tour: OUT is new, or holds the tour of the same seed (or ``force``)."""
    from ..core.errors import CheckpointError, message
    from ..core.results import read_json

    result = out / "result.json"
    if force or not result.exists():
        return
    try:
        found = read_json(result)
        theirs = found["seed"] if found.get("job") == "yetztml run" else None
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise CheckpointError(message(f"output folder {str(out)!r}", "a new folder or a tour report",
                                      f"an unreadable result.json ({type(err).__name__})",
                                      "Use another --out, or --force to replace it.")) from err
    if theirs != seed:
        what = f"the tour of seed {theirs}" if theirs is not None else f"the results of {found.get('job')!r}"
        raise CheckpointError(message(f"output folder {str(out)!r}", f"a new folder or the tour of seed {seed}",
                                      what, "Use another --out, or --force to replace it."))


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..experiments.tour import run_tour
    from ..report.tour import write_tour_report
    from . import paths

    out = paths.out_folder("--out", args.out)
    paths.seed("--seed", args.seed)
    paths.count("--workers", args.workers, 0, none_means="one per core")
    check_folder(out, args.seed, args.force)
    console = Console()
    console.print(f"yetztml run: out={out} seed={args.seed}")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("starting", total=1)

        def progress(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        result = run_tour(out, seed=args.seed, progress=progress, workers=args.workers)
    report = write_tour_report(out, result)
    failed = [c["class"] for c in result["gradcheck"]["cells"] if not c["passed"]]
    for c in result["gradcheck"]["cells"]:
        verdict = "pass" if c["passed"] else "FAIL"
        console.print(f"  {c['class']:<14} max relative error {c['max_error']:.1e}  {verdict}")
    adding = result["adding"]
    console.print(f"adding problem, T = {adding['T']} (paper, Table 7: {adding['paper']['sequences']:,} sequences)")
    for variant, r in adding["lstm1997"].items():
        state = "stop criterion met" if r["success"] else "stop criterion not met"
        console.print(f"  LSTM1997 {variant:<14} {state} after {r['sequences']:>9,} sequences; "
                      f"test wrong {r['test']['wrong']}/2560")
    rnn = adding["rnn"]
    console.print(f"  Elman RNN (BPTT, Adam)  {'solved' if rnn['success'] else 'not solved'} after "
                  f"{rnn['sequences']:>9,} sequences; test mean abs. error {rnn['test']['mae']:.3f} "
                  f"(constant output: {rnn['baseline_mae']:.4f})")
    for name, r in result["conflict"].items():
        console.print(f"{name}, T = {r['config']['steps']}: " + "; ".join(
            f"{net} {'solved' if r[net]['solved'] else 'not solved'} after {r[net]['updates']:,} updates "
            f"(ρ of {r[net]['weight']} {r[net]['opposing_fraction']:.2f})" for net in ("naive", "gated")))
    console.print(f"report: {report.resolve()}")
    return 1 if failed else 0
