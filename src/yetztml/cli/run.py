"""``yetztml run``: the main job — a guided tour that writes a report folder."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the guided tour (no arguments needed): writes a report folder",
        description=(
            "The main job, a guided tour in about two minutes on two cores: every cell's hand-derived "
            "gradients checked against finite differences; Hochreiter's error-flow picture (vanishing flow "
            "in an RNN, constant flow in the CEC); LSTM1997 solving the adding problem (T = 100) next to an "
            "Elman RNN that fails, with the paper's Table 7 row. Writes OUT/result.json, OUT/report.md and "
            "the figures."
        ),
    )
    p.add_argument("--out", default="yetztml-report", help="report folder (default: ./yetztml-report)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random draw (default: 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: one per core; 0 runs everything in this process)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..experiments.tour import run_tour
    from ..report.tour import write_tour_report

    console = Console()
    out = Path(args.out)
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
    console.print(f"report: {report.resolve()}")
    return 1 if failed else 0
