"""``yetztml describe CELL``: print a cell's numbered equations."""

from __future__ import annotations

import argparse

from ..cells.catalogue import CATALOGUE, entry


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "describe",
        help="print a cell's numbered forward (F…) and backward (B…) equations",
        description="Print the numbered equations of a cell, as implemented (each line of code cites its id).",
    )
    p.add_argument("cell", choices=sorted(CATALOGUE), help="which cell")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import inspect
    import sys

    cls = entry(args.cell).load()
    print(inspect.getdoc(sys.modules[cls.__module__]))
    return 0
