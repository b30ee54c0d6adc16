"""One sweep of a PyTorch-layout cell: what the kernels of every such cell share, and the sweep types.

A sweep runs one layer in one direction over the whole sequence; :mod:`yetztml.cells.stack` stacks the
layers and directions, and its docstring gives the storage of h: ``(T+1, B, H)`` with one slot for the
initial state.

Every sweep starts the same way and ends its backward the same way. With δp(t) the error on W_ih x(t)
and δq(t) the error on W_hh h(t−1) (the same array δa(t) for cells whose preactivation is their sum)::

    (SW1)  W_ih x(t) for all T·B rows at once, before the steps                  one GEMM
    (SW2)  δW_ih = Σ_t δp(t) x(t)ᵀ,  δW_hh = Σ_t δq(t) h(t−1)ᵀ                   one GEMM each
    (SW3)  δx(t) = W_ihᵀ δp(t)
    (SW4)  δb_ih = δb_hh = Σ_t δa(t)          when the preactivation is W_ih x + b_ih + W_hh h + b_hh

The LSTM family's forward sweeps (a cell state c beside h, G gate blocks of H rows) also start alike:
:func:`start_lstm_sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from ..core import squash
from ..core.linalg import blas_product


@numba.njit(cache=True)
def column_sums(rows):
    """Σ over the rows of ``rows`` (N, G) → (G,): the bias gradients, Σ_t δa(t) over all T·B rows."""
    out = np.zeros(rows.shape[1], dtype=rows.dtype)
    for r in range(rows.shape[0]):
        for k in range(rows.shape[1]):
            out[k] += rows[r, k]
    return out


@numba.njit(cache=True)
def start_sweep(x, w_ih, h0, h, out, reverse):
    """The start of a forward sweep: h0 into its slot of h (T·reverse) and W_ih x(t) of all T·B rows at once
    (one GEMM) into out (T, B, G), where each step adds the rest of its preactivation."""
    T, B, I = x.shape
    h[T * reverse] = h0
    blas_product(x.reshape(T * B, I), w_ih.T, out.reshape(T * B, out.shape[2]), False)  # (SW1)


@numba.njit(cache=True, inline="always")  # the kernels compile as if it were written in them
def start_lstm_sweep(x, w_ih, b_ih, b_hh, h0, c0, h, c, gates, reverse, tanh_block):
    """The start of a forward sweep of an LSTM-family cell: :func:`start_sweep` into gates (T, B, G·H) and c0
    into its slot of c; returns what every step uses: b = b_ih + b_hh (G·H,), the per-row scale and shift of
    :func:`~yetztml.core.squash.gate_scales` (block ``tanh_block`` tanh, the others logistic) and rec
    (B, G·H), room for one step's W_hh h(t−1)."""
    T, B, _ = x.shape
    H = h0.shape[1]
    G = gates.shape[2] // H
    scale, shift = squash.gate_scales(H, G, tanh_block, x)
    c[T * reverse] = c0
    start_sweep(x, w_ih, h0, h, gates, reverse)
    return b_ih + b_hh, scale, shift, np.empty((B, G * H), dtype=x.dtype)


@numba.njit(cache=True)
def slots(T, s, reverse):
    """Step s of a forward sweep over T steps: its time t (s for →, T−1−s for ←) and the slots of h holding
    its previous state and its new one (see the storage in :mod:`yetztml.cells.stack`). Step s of a backward
    sweep is ``slots(T, T − 1 − s, reverse)``."""
    t = T - 1 - s if reverse else s
    return t, t + reverse, t + 1 - reverse


@numba.njit(cache=True)
def sweep_grads(x, h, w_ih, w_hh, d_ih, d_hh, reverse, dx):
    """(SW2), (SW3) of one sweep. x (T, B, I); h (T+1, B, H) laid out as in :mod:`yetztml.cells.stack`;
    d_ih, d_hh (T, B, G) the errors δp, δq. Fills dx (T, B, I); returns δW_ih (G, I) and δW_hh (G, H)."""
    T, B, I = x.shape
    H = h.shape[2]
    rows_ih = d_ih.reshape(T * B, d_ih.shape[2])  # (T·B, G)
    rows_hh = d_hh.reshape(T * B, d_hh.shape[2])  # (T·B, G)
    dw_ih = np.empty_like(w_ih)
    dw_hh = np.empty_like(w_hh)
    blas_product(rows_ih.T, x.reshape(T * B, I), dw_ih, False)  # (SW2)
    previous = h[reverse : T + reverse].reshape(T * B, H)  # the states each step started from
    blas_product(rows_hh.T, previous, dw_hh, False)  # (SW2)
    blas_product(rows_ih, w_ih, dx.reshape(T * B, I), False)  # (SW3)
    return dw_ih, dw_hh


@numba.njit(cache=True, inline="always")  # the kernels compile as if it were written in them
def summed_sweep_grads(x, h, w_ih, w_hh, da, reverse, dx):
    """(SW2)–(SW4) of a cell whose preactivation is W_ih x + b_ih + W_hh h + b_hh, so δp = δq = δa (T, B, G).
    Fills dx (T, B, I); returns δW_ih (G, I), δW_hh (G, H) and δb (G,), which is δb_ih and δb_hh."""
    T, B, G = da.shape
    dw_ih, dw_hh = sweep_grads(x, h, w_ih, w_hh, da, da, reverse, dx)  # (SW2), (SW3)
    return dw_ih, dw_hh, column_sums(da.reshape(T * B, G))  # (SW4)


class LSTMState(NamedTuple):
    """LSTM state, each part ``(num_layers·D, B, H)`` like PyTorch's ``(h_0, c_0)``."""

    h: np.ndarray
    c: np.ndarray


@dataclass(eq=False)
class Sweep:
    """Trajectories of one layer in one direction, time-major. Cells subclass it to add their gates."""

    x: np.ndarray  # (T, B, I_l) the layer's input
    h: np.ndarray  # (T+1, B, H) hidden states, initial state in slot 0 (→) or T (←)
    reverse: int  # 0 for →, 1 for ←

    @property
    def outputs(self) -> np.ndarray:
        """h(t) for t = 0…T−1, ``(T, B, H)``."""
        return self.h[:-1] if self.reverse else self.h[1:]

    @property
    def previous(self) -> np.ndarray:
        """The state each step starts from, ``(T, B, H)`` (h(t−1) for →, h(t+1) for ←)."""
        return self.h[1:] if self.reverse else self.h[:-1]

    def finals(self) -> tuple[np.ndarray, ...]:
        """The state after the last step, one ``(B, H)`` array per state part."""
        return (self.h[0] if self.reverse else self.h[-1],)


@dataclass(eq=False)
class CellSweep(Sweep):
    """A :class:`Sweep` of a cell that also carries a cell state c (the LSTMs)."""

    c: np.ndarray  # (T+1, B, H) cell states, laid out like h

    def finals(self) -> tuple[np.ndarray, ...]:
        last = 0 if self.reverse else -1
        return self.h[last], self.c[last]
