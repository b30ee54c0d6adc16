"""Sealed traces: what ``backward`` reads cannot be changed after ``forward`` without an error.

``backward`` computes its gradients from the arrays ``forward`` left in the trace (gate and state
trajectories, the inputs of every layer, dropout masks). An array changed in between would give wrong
gradients and no error, so every ``forward`` of a :class:`~yetztml.cells.base.Cell` is wrapped (in
:meth:`Cell.__init_subclass__ <yetztml.cells.base.Cell>`) to do three things when it is the outermost call
(not a part's forward inside a model's):

* **copy the caller's arrays** (``x``, a state, lengths) before the forward runs, so that the trace owns
  what it keeps: the caller may reuse or change its own buffers at once, and the gradients are still
  those of the values forward saw. The copy is one pass over the inputs, which are small beside the
  trajectories (an LSTM keeps 7·H numbers per step and sequence and reads I);
* **seal** every array of the trace it returns (``a.flags.writeable = False``: no data is read or
  copied), views and the arrays they view included. A write then fails at once with NumPy's
  ``ValueError: assignment destination is read-only``;
* in ``backward``, **check** that every sealed array is still read-only: one made writable again
  (``a.flags.writeable = True`` before a write) is an :class:`~yetztml.core.errors.OptionError` naming
  the cell and the array. The arrays are opened for the backward's compiled kernels while it runs (so
  the kernels see the array types they were compiled for) and sealed again after.

The cost is a walk over the trace's fields and a flag per array, plus the copy of the inputs: about 30 µs
for an LSTM of 128 units at batch 64 and 10 steps, whose forward and backward take about 44 ms.

Left writable: the parameters (the optimiser updates them in place), ``final_state`` when it owns its
memory (the next chunk's initial state; no backward reads it) and memory that NumPy does not own (a torch
tensor seen as an array). :func:`release` hands a trace's arrays over to code that must write them (its
checks end). A :class:`~yetztml.cells.closed_loop.Workspace` opens its arrays again for the next
``forward`` that uses it; the closed-loop models refuse the older trace by its number.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import OptionError, message

_LOCAL = threading.local()


def depth() -> int:
    """How many wrapped ``forward``/``backward`` calls of this thread are running."""
    return getattr(_LOCAL, "depth", 0)


class Nested:
    """Context manager counting a wrapped call (see :func:`depth`)."""

    def __enter__(self) -> int:
        outer = depth()
        _LOCAL.depth = outer + 1
        return outer

    def __exit__(self, *exc: object) -> None:
        _LOCAL.depth -= 1


@dataclass(eq=False)
class Seal:
    """The arrays a forward sealed: those owning their memory first (they are opened first)."""

    arrays: list[np.ndarray]
    open: int = 0  # backward calls running on the trace

    def __deepcopy__(self, memo: dict) -> Seal:
        return Seal([])  # a deep copy of a trace holds writable copies of its arrays: the copier's to change


def copy_inputs(value: Any) -> Any:
    """``value`` with every ndarray in it (inside tuples, NamedTuples, lists, dicts) copied."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        items = [copy_inputs(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [copy_inputs(v) for v in value]
    if isinstance(value, dict):
        return {k: copy_inputs(v) for k, v in value.items()}
    return value


def _reopenable(a: np.ndarray) -> bool:
    """Whether ``a.flags.writeable = True`` will be allowed again: its memory is NumPy's (not a torch
    tensor's or a read-only buffer's) and reachable through writable arrays."""
    base = a.base
    if base is None:
        return True
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return True
        if base.base is None:
            return False
        base = base.base
    return False


def _arrays(obj: Any, out: dict[int, np.ndarray], seen: set[int]) -> None:
    """Collect the ndarrays in a trace (dataclass fields, tuples, lists, dict values), by id."""
    if isinstance(obj, np.ndarray):
        out[id(obj)] = obj
        return
    if id(obj) in seen:
        return
    if isinstance(obj, (list, tuple)):
        seen.add(id(obj))
        for v in obj:
            _arrays(v, out, seen)
    elif isinstance(obj, dict):
        seen.add(id(obj))
        for v in obj.values():
            _arrays(v, out, seen)
    elif hasattr(obj, "__dataclass_fields__") and not isinstance(obj, type):
        seen.add(id(obj))
        for name in obj.__dataclass_fields__:
            _arrays(getattr(obj, name, None), out, seen)


def seal(trace: Any, params: dict[str, np.ndarray]) -> None:
    """Make the arrays of ``trace`` read-only (see the module docstring) and record them on it."""
    found: dict[int, np.ndarray] = {}
    _arrays(trace, found, set())
    keep = {id(a) for a in params.values()} | {id(a.base) for a in params.values() if a.base is not None}
    finals: dict[int, np.ndarray] = {}
    _arrays(getattr(trace, "final_state", ()), finals, set())
    keep |= {i for i, a in finals.items() if a.base is None}
    for a in list(found.values()):  # the arrays the views look into are sealed too
        base = a.base
        if isinstance(base, np.ndarray) and id(base) not in found:
            found[id(base)] = base
    owners: list[np.ndarray] = []
    views: list[np.ndarray] = []
    for i, a in found.items():
        if i in keep or not a.flags.writeable or not _reopenable(a):
            continue
        (owners if a.base is None else views).append(a)
    if not hasattr(trace, "__dict__"):
        return  # nowhere to record the seal: backward could not open it
    for a in owners + views:
        a.flags.writeable = False
    trace.__dict__["_seal"] = Seal(owners + views)


def _where(obj: Any, target: np.ndarray, path: str, seen: set[int]) -> str | None:
    """The path of ``target`` inside ``obj`` (``trace.layers[0][0].gates``), or None."""
    if isinstance(obj, np.ndarray):
        return path if obj is target else None
    if id(obj) in seen:
        return None
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        names = getattr(obj, "_fields", None)
        items = [(f".{names[k]}" if names else f"[{k}]", v) for k, v in enumerate(obj)]
    elif isinstance(obj, dict):
        items = [(f"[{k!r}]", v) for k, v in obj.items()]
    elif hasattr(obj, "__dataclass_fields__"):
        items = [(f".{n}", getattr(obj, n, None)) for n in obj.__dataclass_fields__]
    else:
        return None
    for step, value in items:
        got = _where(value, target, path + step, seen)
        if got is not None:
            return got
    return None


def _path(trace: Any, target: np.ndarray) -> str:
    """Where ``target`` sits in ``trace``; for an array the trace only views, the place of a view."""
    found = _where(trace, target, "trace", set())
    if found is not None:
        return found
    for a in _sealed(trace).arrays:
        if a.base is target:
            view = _where(trace, a, "trace", set())
            if view is not None:
                return f"the array behind {view}"
    return "an array of the trace"


def _sealed(trace: Any) -> Seal:
    return getattr(trace, "__dict__", {}).get("_seal") or Seal([])


def check(cell: Any, trace: Any) -> None:
    """Raise :class:`OptionError` naming ``cell`` if an array ``trace`` had sealed is writable again."""
    record = _sealed(trace)
    if record.open:
        return
    for a in record.arrays:
        if a.flags.writeable:
            cls = type(cell).__name__
            raise OptionError(message(
                f"{cls}.backward(trace)", f"the trace as {cls}.forward left it (its arrays read-only)",
                f"{_path(trace, a)} made writable again after forward",
                "Its gradients would be those of changed values: run forward again on the changed inputs "
                "rather than editing the trace (np.array(trace_array) gives a copy to change)."))


class Opened:
    """Context manager: the trace's sealed arrays writable while a backward runs, sealed again after."""

    def __init__(self, trace: Any) -> None:
        self.record = _sealed(trace)

    def __enter__(self) -> None:
        record = self.record
        if not record.open:
            for a in record.arrays:
                try:
                    a.flags.writeable = True
                except ValueError:  # the memory behind a view was made read-only by its owner
                    pass
        record.open += 1

    def __exit__(self, *exc: object) -> None:
        record = self.record
        record.open -= 1
        if not record.open:
            for a in record.arrays:
                a.flags.writeable = False


def release(trace: Any) -> Any:
    """Hand ``trace``'s arrays over to the caller: writable again, and no longer checked by backward."""
    record = _sealed(trace)
    for a in record.arrays:
        a.flags.writeable = True
    record.arrays = []
    return trace
