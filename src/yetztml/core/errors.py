"""The error catalogue: every user-facing error yetztml raises is one of these classes.

Messages follow one form, ``"<Thing>: expected <X>, got <Y>. <fix>"``, built by :func:`message`.
All classes derive from the builtin exception a Python user would expect (``ValueError`` or
``TypeError``) so that ordinary ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class YetztmlError(Exception):
    """Base class of every error raised deliberately by yetztml."""


class ShapeError(YetztmlError, ValueError):
    """An array has the wrong number of dimensions or the wrong size along one of them."""


class DTypeError(YetztmlError, TypeError):
    """An array or value has the wrong type (e.g. float16, int, a list where an ndarray is needed)."""


class OptionError(YetztmlError, ValueError):
    """An option or argument has a value outside the allowed set or range."""


class NonFiniteError(YetztmlError, ValueError):
    """NaN or inf found in inputs, parameters, or (during training) in a computed tensor."""


class UnsupportedError(YetztmlError, ValueError):
    """A valid option that this object does not support (e.g. a method a cell cannot run)."""


class CheckpointError(YetztmlError, ValueError):
    """A checkpoint or result file is missing, corrupt, or belongs to another configuration."""


class DataError(YetztmlError, ValueError):
    """A data file cannot be used as read: empty, a missing column, undecodable bytes, a malformed line,
    a download that failed or whose checksum differs."""


def message(thing: str, expected: str, got: object, fix: str | None = None) -> str:
    """Build the catalogue's message: ``"<thing>: expected <expected>, got <got>. <fix>"``."""
    text = f"{thing}: expected {expected}, got {got}"
    if fix:
        text += f". {fix}"
    return text


#: Signals noted by the command line's handlers (:func:`note_signal`), newest last.
_SIGNALS: list[int] = []


def note_signal(signum: int) -> None:
    """Record that the process received ``signum`` (called by a signal handler before it raises)."""
    _SIGNALS.append(int(signum))


def clear_signals() -> None:
    """Forget the noted signals (a new command starts)."""
    _SIGNALS.clear()


def last_signal() -> int | None:
    """The last signal noted by :func:`note_signal`, or None."""
    return _SIGNALS[-1] if _SIGNALS else None


def interrupt_behind(err: BaseException) -> BaseException | None:
    """The interrupt behind ``err``: a ``KeyboardInterrupt`` anywhere in its chain of causes, or — when a
    signal was noted (:func:`note_signal`) — ``err`` itself; None for an ordinary error.

    A SIGINT that arrives while compiled (Numba) code has called back into Python raises the
    ``KeyboardInterrupt`` inside that callback; Numba reports it as a ``SystemError`` ("returned a result
    with an exception set"), chained once per compiled frame, and one that lands while Numba compiles or
    caches a kernel can surface as a ``RuntimeError``. Either is the interrupt it hides.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    if _SIGNALS and not isinstance(err, YetztmlError):
        return err
    return None
