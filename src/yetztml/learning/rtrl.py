"""Real-time recurrent learning (Williams & Zipser 1989): the exact gradient by forward sensitivities.

A cell is a map from the state z(t−1) (n numbers per sequence) and the input x(t) to the state z(t) and
the outputs y(t); θ are its W parameters, flattened in the order of ``cell.params``. With D = n + W
columns [z(t−1); θ]::

    (RT1)  z(t) = F(z(t−1), x(t); θ),   y(t) = G(z(t−1), x(t); θ)          (y through this step's state)
    (RT2)  [J(t) | I(t)]   = ∂z(t)/∂[z(t−1); θ]       (n × D)   J: state → state, I: immediate ∂/∂θ
          [J_y(t) | I_y(t)] = ∂y(t)/∂[z(t−1); θ]     (K × D)
    (RT3)  P(t) = J(t) P(t−1) + I(t),  P(−1) = 0                  sensitivities ∂z(t)/∂θ   (n × W)
    (RT4)  Q(t) = J(t) Q(t−1),  Q(−1) = 1                         ∂z(t)/∂z(−1)             (n × n)
    (RT5)  ∂L/∂θ    = Σ_t δ(t)ᵀ (J_y(t) P(t−1) + I_y(t)),  δ(t) = ∂L/∂y(t)
    (RT6)  ∂L/∂z(−1) = Σ_t δ(t)ᵀ J_y(t) Q(t−1)

(RT2) is forward-mode differentiation through the step's own equations: each intermediate quantity q of
the step carries dq = ∂q/∂[z(t−1); θ] (a row of D numbers), built from the recorded forward pass. The
per-cell step functions live in :mod:`~yetztml.learning.rtrl_stacked` (RNN, LSTM, GRU) and
:mod:`~yetztml.learning.rtrl_blocks` (LSTM1997, LSTMForget, LSTMPeephole); this module is the one
propagation driver they share.

Cost per step and sequence: (RT3) is an (n × n)·(n × W) product, O(n² W) = O(n⁴) with W = O(n²)
weights, and the storage is P, O(n W) = O(n³), independent of the sequence length T. BPTT costs O(W) per
step and O(T n) storage. RTRL is causal (z(t) from z(t−1)), so a bidirectional cell cannot use it.

``Grads.inputs`` is None: ∂L/∂x(t) would need a sensitivity per input step, which forward mode does not
carry. ``Grads.initial_state`` is (RT6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..cells.base import Cell, Grads
from ..cells.block_cell import MemoryBlockCell
from ..cells.gru import GRU
from ..cells.lstm import LSTM
from ..cells.rnn import RNN
from ..core.errors import UnsupportedError, message
from ..core.validation import check_array
from .rtrl_blocks import BlockModel
from .rtrl_layout import Layout
from .rtrl_stacked import StackedModel

if TYPE_CHECKING:
    from .problem import Problem

#: The cells RTRL supports (named in error messages).
RTRL_CELLS = "RNN, LSTM, GRU (unidirectional, any number of layers), LSTM1997, LSTMForget, LSTMPeephole"


# -- the driver -----------------------------------------------------------------------------------------
def model_for(cell: Cell, thing: str):
    """The RTRL step model of ``cell``; UnsupportedError for cells without one."""
    if not cell.supports("rtrl"):  # declared by the exact class, so a subclass never inherits it unchecked
        raise UnsupportedError(
            message(thing, f"one of the cells {RTRL_CELLS}", f"a {type(cell).__name__}", "Use method='bptt'.")
        )
    if isinstance(cell, MemoryBlockCell):
        return BlockModel(cell)
    if isinstance(cell, (RNN, LSTM, GRU)):
        if cell.bidirectional:
            raise UnsupportedError(
                message(
                    thing,
                    "a unidirectional cell (RTRL is causal: z(t) is computed from z(t−1) as time runs forward)",
                    f"a bidirectional {type(cell).__name__}",
                    "The reverse direction reads the future; use method='bptt'.",
                )
            )
        return StackedModel(cell)
    raise UnsupportedError(
        message(thing, f"one of the cells {RTRL_CELLS}", f"a {type(cell).__name__}", "Use method='bptt'.")
    )


def time_major(cell: Cell, array: np.ndarray) -> np.ndarray:
    """An array in the caller's layout moved to time-major (T, B, ·)."""
    return np.swapaxes(array, 0, 1) if getattr(cell, "batch_first", False) else array


def propagate(model, trace, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(RT3)–(RT6) over a recorded trace; δ (T, B, K) time-major. Returns ∂L/∂θ (W,) and ∂L/∂z(−1) (B, n)."""
    T, B, _ = delta.shape
    n, W = model.layout.n, model.layout.W
    P = np.zeros((B, n, W))  # (RT3) P(−1) = 0
    Q = np.broadcast_to(np.eye(n), (B, n, n)).copy()  # (RT4) Q(−1) = 1
    grad = np.zeros(W)
    grad_z0 = np.zeros((B, n))
    for t in range(T):
        dz, dy = model.step(trace, t)  # (RT2) (B, n, D), (B, K, D)
        d = delta[t][:, None, :]  # (B, 1, K)
        e = np.matmul(d, dy[:, :, :n])  # δᵀ J_y   (B, 1, n)
        grad += np.matmul(e, P).sum(axis=(0, 1)) + np.matmul(d, dy[:, :, n:]).sum(axis=(0, 1))  # (RT5)
        grad_z0 += np.matmul(e, Q)[:, 0]  # (RT6)
        J = dz[:, :, :n]
        P = np.matmul(J, P) + dz[:, :, n:]  # (RT3)
        Q = np.matmul(J, Q)  # (RT4)
    return grad, grad_z0


def rtrl(problem: Problem) -> tuple[float, Grads]:
    """(RT1)–(RT6): the loss of one forward pass and its exact gradient, accumulated forward in time."""
    cell = problem.cell
    model = model_for(cell, "gradients(method='rtrl')")
    trace = cell.forward(problem.x, problem.state)
    value, d_outputs = problem.loss(trace.outputs)
    d_outputs = check_array(
        "gradients(method='rtrl'): d_outputs returned by the loss", np.asarray(d_outputs, dtype=np.float64),
        shape=trace.outputs.shape, names="like the outputs",
    )
    delta = time_major(cell, d_outputs)
    grad, grad_z0 = propagate(model, trace, delta)
    grads = model.layout.unflatten(grad, cell.dtype)
    return value, Grads(grads, inputs=None, initial_state=model.unflatten_state(grad_z0, trace, cell.dtype))


class Stepper:
    """Online RTRL, one time step at a time, for the per-step update mode of the trainer.

    ``start(state)`` begins a sequence (batch 1); ``forward(x_t)`` runs one step (x_t (1, 1, I)) with the
    current weights and returns y(t) (1, 1, K); ``backward(d_y)`` returns ∂L_t/∂θ by (RT5) and advances the
    sensitivities by (RT3), both with the weights that step ran with. Between steps the weights may change:
    P then mixes Jacobians of successive weights, as in Williams & Zipser's online algorithm.
    """

    def __init__(self, cell: Cell, thing: str) -> None:
        self.cell = cell
        self.model = model_for(cell, thing)
        self.state: Any = None
        self.P = np.zeros((1, self.model.layout.n, self.model.layout.W))
        self.trace = None

    def start(self, state: Any = None) -> None:
        self.state = state
        self.P[...] = 0.0  # (RT3) P(−1) = 0

    def forward(self, x_t: np.ndarray) -> np.ndarray:
        self.trace = self.cell.forward(x_t, self.state)
        return np.asarray(self.trace.outputs)

    def backward(self, d_y: np.ndarray) -> dict[str, np.ndarray]:
        n = self.model.layout.n
        dz, dy = self.model.step(self.trace, 0)  # (RT2) at the weights of this step
        d = np.asarray(d_y, dtype=np.float64).reshape(1, 1, -1)
        grad = np.matmul(np.matmul(d, dy[:, :, :n]), self.P) + np.matmul(d, dy[:, :, n:])  # (RT5)
        self.P = np.matmul(dz[:, :, :n], self.P) + dz[:, :, n:]  # (RT3)
        self.state = self.trace.final_state
        return self.model.layout.unflatten(grad.reshape(-1), self.cell.dtype)


__all__ = ["RTRL_CELLS", "Layout", "Stepper", "model_for", "propagate", "rtrl"]
