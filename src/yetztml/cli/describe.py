"""``yetztml describe CELL``: print a cell's numbered equations; with sizes, its parameters and pictures."""

from __future__ import annotations

import argparse

from ..cells.catalogue import CATALOGUE, entry
from ..core.errors import OptionError, message
from .parsers import command

HELP = "print a cell's numbered equations; with sizes, its parameter table and pictures"
DESCRIPTION = (
    "Print the numbered equations of a cell, as implemented (each line of code cites its id). With "
    "--input-size and --hidden-size, also build the cell and print every parameter with its shape and "
    "count (the total is the cell's num_weights, beside PyTorch's count where PyTorch has the cell) and "
    "the vectors of one step with their sizes; --figure draws the net unfolded in time with its layers "
    "and the inside of the cell with the dimension of every vector and matrix."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command(sub, "describe", HELP, DESCRIPTION, handle)
    p.add_argument("cell", choices=sorted(CATALOGUE), help="which cell")
    p.add_argument("--input-size", type=int, default=None, metavar="I", help="inputs per step")
    p.add_argument("--hidden-size", type=int, default=None, metavar="H",
                   help="hidden units per layer and direction; for memory-block cells the number of blocks")
    p.add_argument("--num-layers", type=int, default=1, metavar="L", help="stacked layers, rnn/lstm/gru (default: 1)")
    p.add_argument("--bidirectional", action="store_true", help="both directions, rnn/lstm/gru")
    p.add_argument("--block-size", type=int, default=1, metavar="S", help="cells per block, memory-block cells "
                   "(default: 1)")
    p.add_argument("--output-size", type=int, default=1, metavar="K", help="output units, memory-block cells "
                   "(default: 1)")
    p.add_argument("--figure", default=None, metavar="PATH", help="draw the pictures into PATH (.png, .svg, .pdf)")
    p.add_argument("--json", default=None, metavar="PATH", help="write parameters (name → shape, count) and total")


def handle(args: argparse.Namespace) -> int:
    import inspect
    import sys

    sized = args.input_size is not None or args.hidden_size is not None
    if (sized or args.figure or args.json) and (args.input_size is None or args.hidden_size is None):
        raise OptionError(message("describe --input-size/--hidden-size", "both, to build the cell",
                                  f"input size {args.input_size}, hidden size {args.hidden_size}",
                                  f"e.g. yetztml describe {args.cell} --input-size 3 --hidden-size 4"))
    built = _build(args) if sized else None
    cls = entry(args.cell).load()
    print(inspect.getdoc(sys.modules[cls.__module__]))
    if built is not None:
        _sized(args, built)
    return 0


def _build(args: argparse.Namespace) -> dict:
    """Check the output paths, build the cell and read its anatomy (before anything is printed)."""
    from ..analysis.anatomy import anatomy, build
    from ..report.pictures import SUFFIXES
    from . import paths

    if args.figure is not None:
        paths.out_file("--figure", args.figure)
        if not str(args.figure).lower().endswith(SUFFIXES):
            raise OptionError(message("describe --figure", "a path ending in " + ", ".join(SUFFIXES), args.figure))
    if args.json is not None:
        paths.out_file("--json", args.json)
    cell = build(args.cell, args.input_size, args.hidden_size, args.num_layers, args.bidirectional,
                 args.block_size, args.output_size)
    return anatomy(cell, args.cell)


def _sized(args: argparse.Namespace, a: dict) -> None:
    from ..core.results import write_json
    from ..report.pictures import table_lines, torch_total, write_picture

    count = torch_total(a)
    print()
    for line in table_lines(a, count):
        print(line)
    if args.figure is not None:
        print(f"wrote {write_picture(a, args.figure)}")
    if args.json is not None:
        print(f"wrote {write_json(args.json, {**a, 'torch_total': count})}")
