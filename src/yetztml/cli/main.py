"""``yetztml`` command line: argument parsing and printing only; the mathematics lives below.

Every failure a user can cause ends as one line on stderr, ``yetztml COMMAND: error: ...``, and exit status
2: the catalogue's errors (bad options, a run folder that belongs to another configuration) and the
operating system's (``OSError``: a path that cannot be read or written, a full disk), named with the path.
Ctrl-C (SIGINT) ends with ``yetztml COMMAND: interrupted`` and status 130, SIGTERM with ``terminated`` and
143; what was finished is kept (see docs/guarantees.md). Worker processes forked from the command ignore
SIGINT and end quietly on SIGTERM: the command's own process reports the interrupt and stops them.

Python acts on a SIGINT at the next Python code it runs. During a long compiled (Numba) call that is
Numba's own callback ``numba.core.serialize._numba_unpickle``, which rebuilds Python objects as the compiled
function hands back its results; the ``KeyboardInterrupt`` raised there cannot pass through the compiled
wrapper, which reports a ``SystemError`` ("returned a result with an exception set") for each value —
nine chained ones for a backward kernel that returns nine arrays. :func:`interrupt_behind` recognises such a
chain as the interrupt it is. Training loops that run compiled batches (``demo bss``) go further and defer
the signals to the end of the batch, so that the checkpoint written there holds every finished batch.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import threading
from typing import NoReturn

from ..core.errors import YetztmlError, clear_signals, interrupt_behind, last_signal, note_signal
from . import data, demo, describe, errorflow, gradcheck, reproduce, run, sweep, text

COMMANDS = (run, describe, gradcheck, errorflow, reproduce, sweep, demo, text, data)


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser with its errors on one line (``PROG: error: ...; see PROG --help``), exit status 2.
    Sub-parsers are made of the same class, so every command and sub-command behaves alike."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> object:
        # Python 3.11's argparse drops a value of "--" (`--seed=--`) and stores [] unconverted.
        if action.nargs is None and action.option_strings and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one value, got '--'")
        return super()._get_values(action, arg_strings)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's ``KeyboardInterrupt`` so that the same clean-up runs."""


#: The process that runs the command; worker processes forked from it inherit the handlers below.
_owner: dict[str, int] = {"pid": -1}


def _stop_workers() -> None:
    """End the worker processes the command started, so that a pool shutting down does not wait for their
    jobs to finish (a signal sent to the command's process alone, by ``kill`` or a job scheduler)."""
    for child in multiprocessing.active_children():
        child.terminate()


def _interrupt(signum: int, frame: object) -> None:
    """SIGINT: ``KeyboardInterrupt`` in the command's process, which first ends its workers; ignored in a
    forked worker (a terminal sends Ctrl-C to every process of the group)."""
    if os.getpid() == _owner["pid"]:
        note_signal(signum)
        _stop_workers()
        raise KeyboardInterrupt


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM: :class:`Terminated` in the command's process; a forked worker ends as SIGTERM's default."""
    if os.getpid() != _owner["pid"]:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    note_signal(signum)
    _stop_workers()
    raise Terminated()


def _install_handlers() -> dict[int, object]:
    """Install :func:`_interrupt` and :func:`_terminate` where Python's defaults are (not over an ignored
    signal); return the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _owner["pid"] = os.getpid()
    previous = {}
    for signum, default, handler in ((signal.SIGINT, signal.default_int_handler, _interrupt),
                                     (signal.SIGTERM, signal.SIG_DFL, _terminate)):
        if signal.getsignal(signum) == default:
            previous[signum] = signal.signal(signum, handler)
    return previous


def _os_error_line(err: OSError) -> str:
    """One line for an operating-system error: what failed, on which path, and what to do."""
    paths = " -> ".join(repr(str(p)) for p in (err.filename, err.filename2) if p is not None)
    what = err.strerror or type(err).__name__
    return (f"{what}: {paths or str(err)}. Check that the path exists, is of the right kind (file or folder) "
            "and may be written, or choose another one")


def _interrupted(command: str, err: BaseException) -> int:
    if isinstance(err, Terminated) or (not isinstance(err, KeyboardInterrupt) and last_signal() == signal.SIGTERM):
        print(f"yetztml {command}: terminated", file=sys.stderr)
        return 143
    print(f"yetztml {command}: interrupted", file=sys.stderr)
    return 130


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    clear_signals()
    previous = _install_handlers()
    try:
        return int(args.handler(args) or 0)
    except YetztmlError as err:
        print(f"yetztml {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"yetztml {args.command}: error: {_os_error_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        return _interrupted(args.command, err)
    except Exception as err:  # an interrupt that surfaced from compiled code as another error
        cause = interrupt_behind(err)
        if cause is None:
            raise
        return _interrupted(args.command, cause)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
