"""How every command and sub-command is registered: its name, its one-line help (the list in the parent's
``--help``), its description (its own ``--help``) and the handler that runs it.

A command module declares its texts at its top (``HELP``, ``DESCRIPTION``) and registers itself in
``add_parser(sub)`` with :func:`command`, or with :func:`group` when it only chooses among sub-commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def command(sub: argparse._SubParsersAction, name: str, help: str, description: str,
            handler: Callable[[argparse.Namespace], int] | None = None, **options: Any) -> argparse.ArgumentParser:
    """The parser of ``name`` under ``sub``, whose parsed arguments ``handler`` runs; ``options`` are
    argparse's (``formatter_class``, ``epilog``)."""
    p = sub.add_parser(name, help=help, description=description, **options)
    if handler is not None:
        p.set_defaults(handler=handler)
    return p


def group(sub: argparse._SubParsersAction, name: str, help: str, description: str, dest: str,
          metavar: str) -> argparse._SubParsersAction:
    """The command ``name`` that runs one of its sub-commands (required; ``metavar`` in its usage, the
    chosen name in ``args.<dest>``): add them to the returned action with :func:`command`."""
    return command(sub, name, help, description).add_subparsers(dest=dest, metavar=metavar, required=True)
