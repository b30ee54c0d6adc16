"""Bidirectional: one cell reads each sequence forwards, another reads it backwards from its own last step.

With lengths L_b (L_b = T without lengths), the reversal of each sequence's valid prefix::

    (BI1)  r_b(t) = L_b − 1 − t  for t < L_b,   r_b(t) = t  otherwise      (an involution: r_b(r_b(t)) = t)
    (BI2)  u(t, b) = x(r_b(t), b)                                          each sequence reversed, padding last
    (BI3)  y→ = F(x, s→);   y←(t, b) = G(u, s←)(r_b(t), b)
    (BI4)  y(t) = [y→(t) | y←(t)]                                          (T, B, H→ + H←)

So the reverse cell starts at each sequence's own last element (PyTorch's packed-sequence semantics) and
padding never reaches a valid step of either direction. Backward, splitting δy = [δy→ | δy←]::

    (BI5)  δv(t, b) = δy←(r_b(t), b);   G.backward(δv) gives δu and G's gradients
    (BI6)  δx(t, b) = δx→(t, b) + δu(r_b(t), b)

Outputs at padding steps are computed but belong to no sequence; read them through a part that takes
lengths (:class:`~yetztml.layers.Pool`, ``Linear(steps="last")``). The final states are those after
step T − 1 of each direction's input (for the forward cell that includes padding steps; use outputs).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..cells.base import Cell, Grads
from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..layers.base import check_lengths
from .sequential import ModelTrace

__all__ = ["Bidirectional", "reversal"]


def reversal(lengths: np.ndarray, steps: int) -> np.ndarray:
    """(BI1) the (T, B) step index r_b(t)."""
    t = np.arange(steps)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


@numba.njit(cache=True)
def _reverse_into(src, lengths, out):  # pragma: no cover - compiled
    """out(t, b) = src(r_b(t), b) (BI1) for time-major src, out (T, B, F); out may be a column slice."""
    T, B = src.shape[0], src.shape[1]
    for t in range(T):
        for b in range(B):
            s = lengths[b] - 1 - t if t < lengths[b] else t  # (BI1)
            out[t, b, :] = src[s, b, :]


def _reversed(array: np.ndarray, lengths: np.ndarray, time_axis: int, out: np.ndarray | None = None) -> np.ndarray:
    """array(r_b(t), b) along the time axis (BI1), into ``out`` (a new C-ordered array by default)."""
    if out is None:
        out = np.empty(array.shape, dtype=array.dtype)
    if time_axis == 1:
        _reverse_into(array.transpose(1, 0, 2), lengths, out.transpose(1, 0, 2))
    else:
        _reverse_into(array, lengths, out)
    return out


class Bidirectional(Cell):
    """A forward cell and a reverse cell over the same input, outputs concatenated (BI1)–(BI6)."""

    name = "bidirectional"

    def __init__(self, forward_cell: Cell, reverse_cell: Cell) -> None:
        cls = type(self).__name__
        for label, cell in (("forward_cell", forward_cell), ("reverse_cell", reverse_cell)):
            if not isinstance(cell, Cell):
                raise DTypeError(message(f"{cls}({label})", "a yetztml cell", type(cell).__name__))
            if getattr(cell, "bidirectional", False):
                raise OptionError(
                    message(f"{cls}({label})", "a unidirectional cell", "a bidirectional one",
                            "Build both cells with bidirectional=False.")
                )
        if forward_cell.input_size != reverse_cell.input_size:
            raise ShapeError(
                message(f"{cls}(reverse_cell)", f"input size {forward_cell.input_size}", reverse_cell.input_size)
            )
        if forward_cell.dtype != reverse_cell.dtype:
            raise DTypeError(message(f"{cls}(reverse_cell)", f"dtype {forward_cell.dtype}", reverse_cell.dtype))
        layouts = {bool(getattr(c, "batch_first", False)) for c in (forward_cell, reverse_cell)}
        if len(layouts) != 1:
            raise OptionError(message(f"{cls}", "cells with the same batch_first", "a mix"))
        super().__init__(
            forward_cell.input_size, forward_cell.output_size + reverse_cell.output_size, forward_cell.dtype
        )
        self.forward_cell, self.reverse_cell = forward_cell, reverse_cell
        self.batch_first = layouts.pop()
        self.params = {
            **{f"forward.{k}": v for k, v in forward_cell.params.items()},
            **{f"reverse.{k}": v for k, v in reverse_cell.params.items()},
        }

    capabilities = frozenset({"lengths"})

    @property
    def time_axis(self) -> int:
        return 1 if self.batch_first else 0

    def config(self) -> dict[str, Any]:
        return {
            "forward_cell": {"class": type(self.forward_cell).__name__, "config": self.forward_cell.config()},
            "reverse_cell": {"class": type(self.reverse_cell).__name__, "config": self.reverse_cell.config()},
        }

    def astype(self, dtype: object) -> Bidirectional:
        return Bidirectional(self.forward_cell.astype(dtype), self.reverse_cell.astype(dtype))

    def train(self, mode: bool = True) -> Bidirectional:
        super().train(mode)
        self.forward_cell.train(mode)
        self.reverse_cell.train(mode)
        return self

    def check_x(self, thing: str, x: object) -> np.ndarray:
        return self.forward_cell.check_x(thing, x)

    def forward(self, x: object, state: Any = None, lengths: object = None) -> ModelTrace:
        """(BI1)–(BI4)."""
        cls = type(self).__name__
        x = self.check_x(f"{cls}.forward(x)", x)
        T, B = (x.shape[1], x.shape[0]) if self.batch_first else x.shape[:2]
        lengths = (
            np.full(B, T, np.int64) if lengths is None
            else check_lengths(f"{cls}.forward(lengths)", lengths, T, B)
        )
        if state is None:
            state = (None, None)
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ShapeError(
                message(f"{cls}.forward(state)", "None or (forward state, reverse state)", type(state).__name__)
            )
        fwd = self.forward_cell.forward(x, state[0])  # (BI3) y→
        rev = self.reverse_cell.forward(_reversed(x, lengths, self.time_axis), state[1])  # (BI2), (BI3)
        split = self.forward_cell.output_size
        outputs = np.empty((*fwd.outputs.shape[:2], self.output_size), dtype=fwd.outputs.dtype)
        outputs[..., :split] = fwd.outputs  # (BI4)
        _reversed(rev.outputs, lengths, self.time_axis, outputs[..., split:])  # (BI3) y←(t) = G(u)(r(t)), (BI4)
        trace = ModelTrace(
            x=x, outputs=outputs, initial_state=(fwd.initial_state, rev.initial_state),
            final_state=(fwd.final_state, rev.final_state), parts=(fwd, rev),
        )
        trace.extras["lengths"] = lengths
        return trace

    def backward(self, trace: ModelTrace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(BI5)–(BI6)."""
        d = self._check_d_outputs(trace, d_outputs)
        split = self.forward_cell.output_size
        lengths = trace.extras["lengths"]
        d_fin = (None, None) if d_final_state is None else d_final_state
        g_fwd = self.forward_cell.backward(trace.parts[0], np.ascontiguousarray(d[..., :split]), d_fin[0])
        d_v = _reversed(d[..., split:], lengths, self.time_axis)  # (BI5)
        g_rev = self.reverse_cell.backward(trace.parts[1], d_v, d_fin[1])
        d_x = g_fwd.inputs + _reversed(g_rev.inputs, lengths, self.time_axis)  # (BI6)
        grads = {
            **{f"forward.{k}": v for k, v in g_fwd.items()},
            **{f"reverse.{k}": v for k, v in g_rev.items()},
        }
        return Grads(grads, inputs=d_x, initial_state=(g_fwd.initial_state, g_rev.initial_state))
