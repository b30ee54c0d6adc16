"""``yetztml run``: the main job — a guided tour that writes a report folder."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the guided tour (no arguments needed): writes a report folder",
        description=(
            "The main job. Checks every cell's hand-derived gradients against finite differences and "
            "writes OUT/result.json and OUT/report.md with the results and the numbered equations."
        ),
    )
    p.add_argument("--out", default="yetztml-report", help="report folder (default: ./yetztml-report)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random draw (default: 0)")
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

        result = run_tour(out, seed=args.seed, progress=progress)
    report = write_tour_report(out, result)
    failed = [c["class"] for c in result["gradcheck"]["cells"] if not c["passed"]]
    for c in result["gradcheck"]["cells"]:
        verdict = "pass" if c["passed"] else "FAIL"
        console.print(f"  {c['class']:<14} max relative error {c['max_error']:.1e}  {verdict}")
    console.print(f"report: {report.resolve()}")
    return 1 if failed else 0
