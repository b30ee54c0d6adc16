"""Gradient drivers: the loss of a cell on a sequence and its gradient, by a named method.

With loss L(y(0), …, y(T−1)) and δ(t) = ∂L/∂y(t) computed from the whole sequence's outputs:

    (G1)  bptt:   forward over t = 0…T−1, then backward with δ — the exact gradient ∂L/∂θ
                  (``truncate_recurrent=True`` asks a memory-block cell to cut the recurrent paths into its
                  gates and cell inputs, the 1997 truncated gradient [1997 §4, App. A.1])

    (G2)  tbptt(k1, k2), Williams & Peng's BPTT(k2; k1) with weights held fixed over the sequence:
          chunk ends  e_c = k1, 2k1, … (and T if k1 does not divide T);  chunk c = steps [e_{c−1}, e_c)
          window      W_c = steps [max(0, e_c − k2), e_c)  — the last k2 steps up to the chunk's end
          gradient    g = Σ_c ∂/∂θ Σ_{t ∈ chunk c} δ(t)·y(t),  differentiated through W_c only: the state
                      entering W_c is a constant (detached) unless the window starts at t = 0
          so the error injected at step t of chunk c reaches back to step max(0, e_c − k2): through
          t − e_c + k2 + 1 steps, between k2 − k1 + 1 and k2 (fewer near t = 0).
          k1 = k2 ≥ T is (G1); k2 < k1 would leave the chunk's first steps outside the window and is refused.

With ``lengths`` (a model that declares the ``"lengths"`` capability: sequence b is steps 0…lengths[b]−1,
the rest padding), (G1) passes them to the forward pass; the other methods refuse them.

The returned loss value is always L of the full forward pass. ``grads.inputs`` sums every window's ∂/∂x;
``grads.initial_state`` sums the windows that start at t = 0 (the only ones that reach it).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells.base import Cell, Grads
from ..core.errors import DTypeError, OptionError, UnsupportedError, message
from ..core.validation import check_int
from .losses import LossFn, resolve_loss
from .problem import Problem
from .rtrl import rtrl
from .truncated1997 import truncated1997

#: The cells whose ``backward`` accepts ``truncate=True`` (named in error messages).
TRUNCATING_CELLS = "LSTM1997, LSTMForget and LSTMPeephole"

MethodFn = Callable[..., tuple[float, Grads]]


@dataclass(frozen=True)
class Method:
    """A gradient method: ``fn(problem, **options) -> (loss value, grads)`` and the options it accepts."""

    fn: MethodFn
    options: tuple[str, ...]


def _backward_options(cell: Cell, truncate_recurrent: object) -> dict[str, bool]:
    if not isinstance(truncate_recurrent, (bool, np.bool_)):
        raise DTypeError(message("gradients(truncate_recurrent)", "True or False", repr(truncate_recurrent)))
    if not truncate_recurrent:
        return {}
    if not cell.supports("truncate"):
        raise UnsupportedError(
            message(
                "gradients(truncate_recurrent=True)",
                f"a cell whose backward cuts recurrent paths ({TRUNCATING_CELLS})",
                f"a {type(cell).__name__}",
                "Use truncate_recurrent=False, or one of those cells.",
            )
        )
    return {"truncate": True}


def bptt(problem: Problem, truncate_recurrent: bool = False) -> tuple[float, Grads]:
    """(G1) Forward over the whole sequence, the loss, and the cell's backward."""
    options = _backward_options(problem.cell, truncate_recurrent)
    trace = problem.forward(problem.x, problem.state)
    value, d_outputs = problem.loss(trace.outputs)
    return value, problem.cell.backward(trace, d_outputs, **options)  # (G1)


def _tree_add(a: Any, b: Any) -> Any:
    """Sum of two states with the same structure (ndarray, tuple or NamedTuple of them)."""
    if isinstance(a, np.ndarray):
        return a + b
    parts = [_tree_add(p, q) for p, q in zip(a, b, strict=True)]
    return type(a)(*parts) if hasattr(a, "_fields") else type(a)(parts)


def tbptt(
    problem: Problem, k1: int | None = None, k2: int | None = None, truncate_recurrent: bool = False
) -> tuple[float, Grads]:
    """(G2) Truncated BPTT: every k1 steps, backpropagate the chunk's errors through the last k2 steps."""
    cell = problem.cell
    if k1 is None:
        raise OptionError(
            message(
                "gradients(method='tbptt', k1=...)",
                "an integer k1 >= 1 (steps between backward passes)",
                "None",
                "Pass k1 (and k2 >= k1, default k2 = k1).",
            )
        )
    k1 = check_int("gradients(k1)", k1, minimum=1)
    k2 = k1 if k2 is None else check_int("gradients(k2)", k2, minimum=1)
    if k2 < k1:
        raise OptionError(
            message(
                "gradients(k2)",
                f"k2 >= k1 = {k1} (each window must cover its chunk, or "
                "errors at the chunk's first steps are lost)",
                k2,
                f"Use k2 >= {k1}.",
            )
        )
    if getattr(cell, "bidirectional", False):
        raise UnsupportedError(
            message(
                "gradients(method='tbptt')",
                "a unidirectional cell",
                f"a bidirectional {type(cell).__name__}",
                "The reverse direction reads the future; use method='bptt'.",
            )
        )
    options = _backward_options(cell, truncate_recurrent)
    T = problem.length
    ends = list(range(k1, T, k1)) + [T]  # (G2) chunk ends e_c
    starts = [max(0, e - k2) for e in ends]  # (G2) window starts
    cuts = sorted(set(starts) | set(ends) | {0})

    # One forward pass through the sequence in pieces between cuts, keeping the state at each cut.
    state_at: dict[int, Any] = {0: problem.state}
    traces: dict[tuple[int, int], Any] = {}
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        trace = cell.forward(problem.slice(problem.x, a, b), state_at[a])
        traces[(a, b)] = trace
        state_at[b] = trace.final_state
    outputs = np.concatenate(
        [traces[p].outputs for p in zip(cuts[:-1], cuts[1:], strict=True)], axis=problem.time_axis
    )
    value, delta = problem.loss(outputs)  # δ(t) = ∂L/∂y(t), from the whole sequence

    grads: dict[str, np.ndarray] = {k: np.zeros_like(v) for k, v in cell.params.items()}
    d_inputs = np.zeros_like(problem.x)
    d_initial = None
    previous_end = 0
    for start, end in zip(starts, ends, strict=True):
        trace = traces.get((start, end))
        if trace is None:  # the window spans several pieces: recompute it from the detached state
            trace = cell.forward(problem.slice(problem.x, start, end), state_at[start])
        d_window = np.zeros_like(trace.outputs)
        problem.slice(d_window, previous_end - start, end - start)[...] = problem.slice(
            delta, previous_end, end
        )
        window = cell.backward(trace, d_window, **options)  # (G2) through W_c only
        for key in grads:
            grads[key] += window[key]
        problem.slice(d_inputs, start, end)[...] += window.inputs
        if start == 0:
            d_initial = (
                window.initial_state if d_initial is None else _tree_add(d_initial, window.initial_state)
            )
        previous_end = end
    return value, Grads(grads, inputs=d_inputs, initial_state=d_initial)


#: Gradient methods selectable by name, with the options each accepts.
METHODS: dict[str, Method] = {
    "bptt": Method(bptt, ("truncate_recurrent",)),
    "tbptt": Method(tbptt, ("k1", "k2", "truncate_recurrent")),
    "rtrl": Method(rtrl, ()),  # (RT1)–(RT6), learning/rtrl.py
    "truncated1997": Method(truncated1997, ()),  # (TP1)–(TU6), learning/truncated1997.py
}


def _read_signature(loss_fn: LossFn) -> tuple[tuple[str, ...], bool]:
    """The parameter names of a loss, and whether it takes arbitrary keywords."""
    params = inspect.signature(loss_fn).parameters
    return tuple(params), any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


_cached_signature = functools.lru_cache(maxsize=64)(_read_signature)


def _signature(loss_fn: LossFn) -> tuple[tuple[str, ...], bool]:
    try:
        return _cached_signature(loss_fn)
    except TypeError:  # an unhashable callable
        return _read_signature(loss_fn)


def _loss_closure(loss_fn: LossFn, targets: Any, mask: Any, loss_kwargs: dict[str, Any]):
    params, takes_any = _signature(loss_fn)
    unknown = sorted(k for k in loss_kwargs if k not in params and not takes_any)
    if unknown:
        accepted = [k for k in params if k not in ("outputs", "targets", "logits", "labels", "mask")]
        raise OptionError(
            message(
                f"gradients: options of loss {getattr(loss_fn, '__name__', loss_fn)!r}",
                f"some of {accepted}",
                f"unknown {unknown}",
            )
        )
    if mask is None:
        return lambda outputs: loss_fn(outputs, targets, **loss_kwargs)
    return lambda outputs: loss_fn(outputs, targets, mask=mask, **loss_kwargs)


def gradients(
    cell: Cell,
    x: np.ndarray,
    targets: Any,
    loss: str | LossFn = "squared_error",
    method: str = "bptt",
    mask: Any = None,
    state: Any = None,
    k1: int | None = None,
    k2: int | None = None,
    truncate_recurrent: bool = False,
    lengths: Any = None,
    **loss_kwargs: Any,
) -> tuple[float, Grads]:
    """The loss of ``cell`` on ``x`` against ``targets`` and its gradient, keyed like ``cell.params``.

    ``loss`` is a name in :data:`~yetztml.learning.losses.LOSSES` or a callable
    ``(outputs, targets, mask=..., **loss_kwargs) -> (value, d_outputs)``; ``method`` is a name in
    :data:`METHODS`. ``x`` is (T, B, I) ((B, T, I) for a batch_first cell); ``state`` the initial state
    (None: zeros); ``lengths`` the length of each sequence of a padded batch (method "bptt", a model that
    declares the ``"lengths"`` capability). Returns ``(loss value, Grads)`` with ``.inputs`` and
    ``.initial_state``.
    """
    if not isinstance(cell, Cell):
        raise DTypeError(
            message("gradients(cell)", "a yetztml cell, layer or model (yetztml.cells.Cell)", type(cell).__name__,
                    "Compose cells and layers with yetztml.models.Sequential(...).")
        )
    if method not in METHODS:
        raise OptionError(
            message("gradients(method)", "one of " + ", ".join(repr(m) for m in METHODS), repr(method))
        )
    chosen = METHODS[method]
    given = {"k1": k1, "k2": k2, "truncate_recurrent": truncate_recurrent}
    defaults = {"k1": None, "k2": None, "truncate_recurrent": False}
    options = {}
    for name, value in given.items():
        if name in chosen.options:
            options[name] = value
        elif value is not defaults[name]:
            users = [m for m, spec in METHODS.items() if name in spec.options]
            raise OptionError(
                message(
                    f"gradients({name}=...)",
                    f"no {name} with method={method!r}",
                    repr(value),
                    f"{name} applies to method " + " or ".join(repr(u) for u in users) + ".",
                )
            )
    x = cell.check_x("gradients(x)", x)
    if lengths is not None:
        if method != "bptt":
            raise UnsupportedError(
                message("gradients(lengths=...)", "method='bptt' (padded batches with lengths)", repr(method))
            )
        if not cell.supports("lengths"):
            raise UnsupportedError(
                message("gradients(lengths=...)", "a model with a part that takes lengths", type(cell).__name__,
                        "Read the outputs through Pool(...) or Linear(steps='last'), or drop lengths.")
            )
    loss_fn = resolve_loss(loss)
    problem = Problem(
        cell=cell,
        x=x,
        targets=targets,
        loss=_loss_closure(loss_fn, targets, mask, loss_kwargs),
        state=state,
        time_axis=1 if getattr(cell, "batch_first", False) else 0,
        lengths=lengths,
    )
    return chosen.fn(problem, **options)


__all__ = ["METHODS", "Method", "Problem", "bptt", "gradients", "tbptt"]
