"""``yetztml`` command line: argument parsing and printing only; the mathematics lives below."""

from __future__ import annotations

import argparse
import sys

from ..core.errors import YetztmlError
from . import demo, describe, errorflow, gradcheck, reproduce, run

COMMANDS = (run, describe, gradcheck, errorflow, reproduce, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yetztml",
        description=(
            "The mathematics of Long Short-Term Memory, executable and fast: recurrent cells written as "
            "their equations, hand-derived gradients proven against finite differences and PyTorch."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `yetztml run` with no arguments for the guided tour; `yetztml COMMAND --help` for details.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"yetztml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except YetztmlError as err:
        print(f"yetztml {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"yetztml {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
