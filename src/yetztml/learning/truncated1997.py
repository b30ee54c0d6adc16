"""The 1997 truncated-gradient algorithm, forward in time: stored partials ∂s/∂w, no backward pass.

For the memory-block cells (LSTM1997, LSTMForget, LSTMPeephole). Errors arriving at the net inputs of
cells and gates are not propagated to earlier steps [1997 App. A.1, eqs. 12–15]; inside a cell the error
flows back through the CEC, and that flow is carried forward as the partials of s with respect to the
weights feeding the cell and its gates. Block j(n) is the block of cell n, u_m(t) an entry of u(t) (1 for
a bias, s_{c_j^v}(t−1) for a peephole weight of the input or forget gate), y^φ ≡ 1 without forget gate
and y^out ≡ 1 without output gate. Step t, after the forward pass (BF1)–(BF9) of the cells
(:mod:`yetztml.cells.block_step`, whose local derivatives (BD1)–(BD3) are the partials' sources):

Partials, updated during the forward pass (the only quantities kept between steps besides the state)::

    (TP1) ∂s_n(t)/∂w_{c_n m}  = y^φ_j(t) ∂s_n(t−1)/∂w_{c_n m}  + g'(net_c_n(t)) y^in_j(t) u_m(t)     [1997 eq. 27]
    (TP2) ∂s_n(t)/∂w_{in_j m} = y^φ_j(t) ∂s_n(t−1)/∂w_{in_j m} + g(net_c_n(t)) f'_in(net_in_j(t)) u_m(t)
                                                                                             [1997 eq. 25]
    (TP3) ∂s_n(t)/∂w_{φ_j m}  = y^φ_j(t) ∂s_n(t−1)/∂w_{φ_j m}  + s_n(t−1) f'_φ(net_φ_j(t)) u_m(t)
                                                                               [Gers 2000 eqs. 3.10–3.12]
    (TP4) ∂s_n(t)/∂s_n(−1)    = y^φ_j(t) ∂s_n(t−1)/∂s_n(−1),  ∂s_n(−1)/∂s_n(−1) = 1
    (TP1)–(TP4) start from 0 (1 for TP4) at the first step of every sequence.

Errors, with δ_k(t) = ∂L/∂y^k(t) given by the loss (for squared_error, −2 × the paper's t^k − y^k)::

    (TE1) e_k(t)     = f_k'(net_k(t)) δ_k(t)                                                   [1997 eq. 19]
    (TE2) e_{y^c_n}(t) = Σ_k w_{k c_n} e_k(t)                    (no error from step t+1: truncated)
    (TE3) e_out_j(t) = f'_out(net_out_j(t)) Σ_{v} h(s_{c_j^v}(t)) e_{y^c_{c_j^v}}(t)           [1997 eq. 21]
    (TE4) e_s_n(t)   = y^out_j(t) h'(s_n(t)) e_{y^c_n}(t)                                      [1997 eq. 23]

Per-step contributions to ∂L/∂w (the paper's −Δw/α, eq. 17)::

    (TU1) output units:   e_k(t) v_m(t)                   (v: x(t) with shortcut, y^c(t))    [1997 eq. 22]
    (TU2) output gates:   e_out_j(t) u_m(t);  peephole P_out[j, v]: e_out_j(t) s_{c_j^v}(t)  [1997 eq. 22; Gers 2002]
    (TU3) cell inputs:    e_s_n(t) ∂s_n(t)/∂w_{c_n m}                                         [1997 eq. 28]
    (TU4) input gates:    Σ_v e_s_{c_j^v}(t) ∂s_{c_j^v}(t)/∂w_{in_j m}                        [1997 eqs. 24, 26]
    (TU5) forget gates:   Σ_v e_s_{c_j^v}(t) ∂s_{c_j^v}(t)/∂w_{φ_j m}                         [Gers 2000]
    (TU6) initial state:  e_s_n(t) ∂s_n(t)/∂s_n(−1)   (the truncated ∂L/∂s(−1); other state parts get 0)

Peephole weights of the input and forget gates are ordinary sources with u_m = s(t−1) in (TP2), (TP3); the
output gate's see s(t) in (TU2) [Gers 2002 §3]. No error flows from a gate through a peephole into the
CEC: s(t−1) in (TP2), (TP3) and s(t) in (TU2) are constants.

Two uses, one compiled kernel ``run`` (:mod:`yetztml.learning.truncated1997_kernel`):

* per sequence (``gradients(method="truncated1997")``): weights fixed, Σ_t (TU1)–(TU6) accumulated. This
  equals the cell's ``backward(..., truncate=True)`` (the same truncated gradient in backward form);
* online (``Trainer(update="step")``): after every step w ← w − α(t) (TU1)–(TU5) for plain SGD, the paper's
  rule Δw(t) = α e ∂/∂w (weights change within the sequence; the partials keep accumulating across the
  changes, as in the paper).

Storage per sequence: the partials (TP1)–(TP4), 3 (N·(U+1)) + 2 N·S + N numbers — O(W), independent of the
sequence length. Work per step: O(W).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..cells.base import Cell, Grads
from ..cells.block_cell import MemoryBlockCell
from ..cells.block_step import REC_CELLS, REC_FULL, REC_NONE
from ..core import activations
from ..core.errors import UnsupportedError, message
from ..core.validation import check_array
from .truncated1997_kernel import BIAS_CELLS, BIAS_GATES, BIAS_OUTPUTS, ERROR, FORWARD, run

if TYPE_CHECKING:
    from .problem import Problem

#: The cells the 1997 algorithm supports (named in error messages).
TRUNCATED1997_CELLS = "LSTM1997, LSTMForget and LSTMPeephole (the memory-block cells)"

#: Parameter order of the kernels' ``prm`` tuple.
NAMES = ("W_c", "b_c", "W_in", "b_in", "W_phi", "b_phi", "W_out", "b_out", "P_in", "P_phi", "P_out", "W_k", "b_k")

_RECURRENT = {"none": REC_NONE, "cells": REC_CELLS, "full": REC_FULL}


# -- packing, validation, the gradient method, the per-step interface ------------------------------------
def require(cell: Cell, thing: str) -> MemoryBlockCell:
    """``cell`` if the 1997 algorithm supports it; UnsupportedError naming the cells that do otherwise."""
    if not isinstance(cell, MemoryBlockCell) or not cell.supports("truncated1997"):
        raise UnsupportedError(
            message(
                thing,
                f"one of the cells {TRUNCATED1997_CELLS}",
                f"a {type(cell).__name__}",
                "The 1997 algorithm is defined for memory blocks; use method='bptt' or 'rtrl'.",
            )
        )
    return cell


def _sizes(cell: MemoryBlockCell) -> tuple[int, int, int, int, int, int]:
    C, S, N = cell.num_blocks, cell.block_size, cell.num_cells
    return C, S, N, (C if cell.forget_gate else 0), (C if cell.output_gate else 0), cell.num_sources


def flags(cell: MemoryBlockCell) -> tuple:
    """The kernels' ``fl`` tuple."""
    bias = (
        (BIAS_CELLS if "cells" in cell.bias else 0)
        | (BIAS_GATES if "gates" in cell.bias else 0)
        | (BIAS_OUTPUTS if "outputs" in cell.bias else 0)
    )
    return (
        cell.num_blocks, cell.block_size, activations.CODES[cell.g], activations.CODES[cell.h],
        activations.CODES[cell.output], _RECURRENT[cell.recurrent], cell.shortcut, cell.forget_gate,
        cell.output_gate, cell.peepholes, bias,
    )


def _shapes(cell: MemoryBlockCell) -> dict[str, tuple[int, ...]]:
    C, S, N, Cf, Co, U = _sizes(cell)
    K, V = cell.output_size, cell.num_output_sources
    return {
        "W_c": (N, U), "b_c": (N,), "W_in": (C, U), "b_in": (C,), "W_phi": (Cf, U), "b_phi": (Cf,),
        "W_out": (Co, U), "b_out": (Co,), "P_in": (C, S), "P_phi": (C, S), "P_out": (C, S),
        "W_k": (K, V), "b_k": (K,),
    }


def parameters(cell: MemoryBlockCell) -> tuple[np.ndarray, ...]:
    """The kernels' ``prm`` tuple: the cell's own arrays (updated in place online), zeros where absent."""
    shapes = _shapes(cell)
    return tuple(
        cell.params[name] if name in cell.params else np.zeros(shapes[name], cell.dtype) for name in NAMES
    )


def zeros_like_parameters(cell: MemoryBlockCell) -> tuple[np.ndarray, ...]:
    shapes = _shapes(cell)
    return tuple(np.zeros(shapes[name], cell.dtype) for name in NAMES)


def workspace(cell: MemoryBlockCell) -> tuple[tuple, tuple]:
    """Fresh ``car`` (partials and the previous step's state) and ``buf`` (one step's values)."""
    C, S, N, Cf, Co, U = _sizes(cell)
    K, V, dt = cell.output_size, cell.num_output_sources, cell.dtype
    z = lambda *shape: np.zeros(shape, dt)
    # y^c (N), y^in (C), y^φ (Cf), y^out (Co), s (N) of step t−1; ∂s/∂w_c, ∂s/∂w_in, ∂s/∂w_φ (N, U+1);
    # ∂s/∂P_in, ∂s/∂P_φ (N, S); ∂s/∂s(−1) (N)
    car = (z(N), z(C), z(Cf), z(Co), z(N), z(N, U + 1), z(N, U + 1), z(N if Cf else 0, U + 1), z(N, S), z(N, S),
           np.ones(N, dt))
    # u (U+1, last entry 1), g_c (N), y^in (C), y^φ (Cf), s (N), y^out, f'_out (Co), h(s), h'(s), y^c (N),
    # v (V), net_k, y^k (K); errors e_k (K), e_{y^c}, e_s (N), e_out (Co)
    buf = (z(U + 1), z(N), z(C), z(Cf), z(N), z(Co), z(Co), z(N), z(N), z(N), z(V), z(K), z(K),
           z(K), z(N), z(N), z(Co))
    return car, buf


def initial_leaves(cell: MemoryBlockCell, state: Any) -> tuple[np.ndarray, ...]:
    """(y^c, y^in, y^φ, y^out, s), each (B, ·) and C-contiguous, from a validated state NamedTuple."""
    y_phi = getattr(state, "y_phi", None)
    if y_phi is None:
        y_phi = np.zeros((state.s.shape[0], 0), cell.dtype)
    return tuple(np.ascontiguousarray(a) for a in (state.y_c, state.y_in, y_phi, state.y_out, state.s))


def truncated1997(problem: Problem) -> tuple[float, Grads]:
    """Σ_t (TU1)–(TU6) with weights fixed over the sequence: the 1997 truncated gradient, forward in time."""
    cell = require(problem.cell, "gradients(method='truncated1997')")
    trace = cell.forward(problem.x, problem.state)  # validates x and the state
    value, d_outputs = problem.loss(trace.outputs)
    d_y = check_array(
        "gradients(method='truncated1997'): d_outputs returned by the loss",
        np.ascontiguousarray(d_outputs, dtype=cell.dtype), shape=trace.outputs.shape, names="like the outputs",
    )  # (T, B, K)
    x = trace.x
    B = x.shape[1]
    init = initial_leaves(cell, trace.initial_state)
    out = zeros_like_parameters(cell)
    g_s0 = np.zeros((B, cell.num_cells), cell.dtype)
    car, buf = workspace(cell)
    empty_t = np.zeros((0, 0, 0))  # targets are float64 in every call: one compiled signature per dtype
    empty_m = np.zeros((0, 0), np.bool_)
    run(x, d_y, empty_t, empty_m, True, parameters(cell), out, g_s0, car, buf, init, flags(cell),
        False, 0.0, 1.0, 0, False, 0, 0, True, FORWARD | ERROR)
    grads = {name: out[NAMES.index(name)] for name in cell.params}
    zero = cell.zero_state(B)
    return value, Grads(grads, inputs=None, initial_state=zero._replace(s=g_s0))


class Stepper:
    """The 1997 algorithm one step at a time, for the trainer's per-step update mode.

    ``start(state)`` begins a sequence (batch 1, None = zero state); ``forward(x_t)`` runs (BF1)–(BF9) and
    (TP1)–(TP4) for x_t (1, 1, I) with the cell's current weights and returns y(t) (1, 1, K);
    ``backward(d_y)`` returns (TU1)–(TU5) for d_y = ∂L_t/∂y(t) (1, 1, K), keyed like ``cell.params``.
    Each is one call of :func:`run` with the matching ``phases``.
    """

    def __init__(self, cell: Cell, thing: str) -> None:
        self.cell = require(cell, thing)
        self.fl = flags(self.cell)
        self.car, self.buf = workspace(self.cell)
        dt = self.cell.dtype
        self._g_s0 = np.zeros((1, self.cell.num_cells), dt)
        self._empty_t = np.zeros((0, 0, 0))
        self._empty_m = np.zeros((0, 0), np.bool_)
        self._x = np.zeros((1, 1, self.cell.input_size), dt)
        self._d_y = np.zeros((1, 1, self.cell.output_size), dt)
        self._zero = initial_leaves(self.cell, self.cell.zero_state(1))

    def _run(self, out, init, fresh: bool, phases: int) -> None:
        run(self._x, self._d_y, self._empty_t, self._empty_m, True, parameters(self.cell), out, self._g_s0,
            self.car, self.buf, init, self.fl, False, 0.0, 1.0, 0, False, 0, 0, fresh, phases)

    def start(self, state: Any = None) -> None:
        init = self._zero if state is None else initial_leaves(self.cell, state)
        self._run(parameters(self.cell), init, True, 0)

    def forward(self, x_t: np.ndarray) -> np.ndarray:
        self._x[...] = np.reshape(x_t, self._x.shape)
        self._run(parameters(self.cell), self._zero, False, FORWARD)
        return self.buf[12].copy().reshape(1, 1, -1)

    def backward(self, d_y: np.ndarray) -> dict[str, np.ndarray]:
        out = zeros_like_parameters(self.cell)
        self._d_y[...] = np.reshape(d_y, self._d_y.shape)
        self._run(out, self._zero, False, ERROR)
        return {name: out[NAMES.index(name)] for name in self.cell.params}


__all__ = ["ERROR", "FORWARD", "NAMES", "TRUNCATED1997_CELLS", "Stepper", "require", "run", "truncated1997"]
