"""``yetztml gradcheck [CELL…]``: float64 finite-difference checks of the hand-derived backward passes."""

from __future__ import annotations

import argparse

from ..cells.catalogue import CATALOGUE, gradient_check
from ..core.results import write_json
from .parsers import command

TOLERANCE = 1e-6
HELP = "check every cell's backward pass against float64 central finite differences"
DESCRIPTION = (
    "Build each cell on small random configurations (float64), compute the gradient of a random "
    "linear function of outputs and final state with the hand-derived backward pass, and compare "
    "it with central finite differences. Reports the max normwise relative error per parameter "
    f"(pass at <= {TOLERANCE:g}). Exit status 1 if any check fails."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "gradcheck", HELP, DESCRIPTION, handle)
    p.add_argument("cells", nargs="*", metavar="CELL", help=f"cells to check (default: all of {', '.join(CATALOGUE)})")
    p.add_argument("--seed", type=int, default=0, help="seed for configurations and inputs, >= 0 (default: 0)")
    p.add_argument("--json", metavar="PATH", help="also write the full results as JSON to the file PATH")


def handle(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..cells.catalogue import entry
    from . import paths

    names = args.cells or list(CATALOGUE)
    for name in names:
        entry(name)
    paths.seed("--seed", args.seed)
    if args.json is not None:
        paths.out_file("--json", args.json)
    console = Console()
    console.print(f"gradcheck: cells={names} seed={args.seed} tolerance={TOLERANCE:g} (float64)")
    table = Table("cell", "config", "parameter", "relative error", "verdict")
    results = []
    failed = False
    for name in names:
        with console.status(f"checking {name}…"):
            res = gradient_check(name, seed=args.seed)
        results.append(res)
        for i, cfg in enumerate(res["configs"]):
            for param, err in cfg["errors"].items():
                ok = err <= TOLERANCE
                failed |= not ok
                table.add_row(name, str(i), param, f"{err:.2e}", "pass" if ok else "[red]FAIL[/red]")
    console.print(table)
    if args.json:
        write_json(args.json, {"tolerance": TOLERANCE, "seed": args.seed, "cells": results})
        console.print(f"wrote {args.json}")
    return 1 if failed else 0
