"""CIFG LSTM: coupled input and forget gate, f = 1 − i (Greff, Srivastava, Koutník, Steunebrink &
Schmidhuber 2017, "LSTM: A Search Space Odyssey", variant CIFG), in PyTorch's layout with rows (i, g, o).

One layer, → direction (← reads t = T−1…0 and its "previous" state is h(t+1)); σ is the logistic,
a = (a_i, a_g, a_o) the three H-row blocks of the preactivation::

    (CF1)  a(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh                      (B, 3H)
    (CF2)  i(t) = σ(a_i(t))                                                  input gate
    (CF3)  g(t) = tanh(a_g(t))                                               cell input
    (CF4)  o(t) = σ(a_o(t))                                                  output gate
    (CF5)  f(t) = 1 − i(t)                                                   the coupled forget gate
    (CF6)  c(t) = f(t) ⊙ c(t−1) + i(t) ⊙ g(t) = c(t−1) + i(t) ⊙ (g(t) − c(t−1))
    (CF7)  h(t) = o(t) ⊙ tanh(c(t))                                          hidden state = output

Backward, t = T−1…0, with δh(T−1) = δh_n and δc(T−1) = δc_n arriving from the final state::

    (CB1)  δh(t) += δoutputs(t)
    (CB2)  δc(t) += δh(t) ⊙ o(t) ⊙ (1 − tanh²c(t))                         from (CF7)
    (CB3)  δa_o = δh(t) ⊙ tanh c(t) ⊙ o(1 − o)                             from (CF7), (CF4)
    (CB4)  δa_i = δc(t) ⊙ (g(t) − c(t−1)) ⊙ i(1 − i)                       from (CF6), (CF5), (CF2)
    (CB5)  δa_g = δc(t) ⊙ i(t) ⊙ (1 − g²)                                  from (CF6), (CF3)
    (CB6)  δh(t−1) = W_hhᵀ δa(t);  δc(t−1) = δc(t) ⊙ (1 − i(t))            from (CF1), (CF6)
    (CB7)  δW_ih = Σ_t δa(t) x(t)ᵀ,  δW_hh = Σ_t δa(t) h(t−1)ᵀ,  δb_ih = δb_hh = Σ_t δa(t)
    (CB8)  δx(t) = W_ihᵀ δa(t)

Compared with :mod:`yetztml.cells.lstm` the cell has 3H instead of 4H gate rows (a quarter fewer
weights) and the input gate's error collects both of its roles, (CB4). Layers and the reverse direction
are stacked by :mod:`yetztml.cells.stack` (ST1)–(ST7). Equations: docs/equations/lstm_cifg.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numba
import numpy as np

from ..core import squash
from ..core.linalg import gemm_nn, gemm_nt
from .stack import Stacked
from .sweep import CellSweep, LSTMState, slots, start_lstm_sweep, summed_sweep_grads


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def cifg_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse, fast, h, c, gates, tanh_c):
    """One layer, one direction. x (T, B, I); w_ih (3H, I); w_hh (3H, H); b_* (3H,); h0, c0 (B, H).

    Fills h, c (T+1, B, H) (initial state in slot T·reverse), gates (T, B, 3H) with i, g, o, and
    tanh_c (T, B, H).
    """
    T, B, I = x.shape
    H = h0.shape[1]
    # (CF1) W_ih x(t), all T·B rows at once; b = b_ih + b_hh; rows i, o logistic, g (block 1) tanh
    b, scale, shift, rec = start_lstm_sweep(x, w_ih, b_ih, b_hh, h0, c0, h, c, gates, reverse, 1)
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, rec, False)  # (CF1) W_hh h(t−1)
        for n in range(B):
            squash.squash_gates(gates[t, n], rec[n], b, scale, shift, fast)  # (CF1)–(CF4): i, g, o
            ai, ag, ao = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H :]
            c_prev = c[prev, n]
            c_cur = c[cur, n]
            tc = tanh_c[t, n]
            h_cur = h[cur, n]
            for j in range(H):
                c_cur[j] = (1.0 - ai[j]) * c_prev[j] + ai[j] * ag[j]  # (CF5), (CF6)
                tc[j] = squash.tanh(c_cur[j], fast)
                h_cur[j] = ao[j] * tc[j]  # (CF7)


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def cifg_backward(x, w_ih, w_hh, h, c, gates, tanh_c, d_out, dh_n, dc_n, reverse, da, dx):
    """Backward of :func:`cifg_forward`. d_out (T, B, H); dh_n, dc_n (B, H) at the final state.

    Fills da (T, B, 3H) with δa and dx (T, B, I) with δx; returns δW_ih (3H, I), δW_hh (3H, H),
    δb (3H,) (= δb_ih = δb_hh), δh0 and δc0 (B, H).
    """
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()  # (B, H)
    dc = dc_n.copy()  # (B, H)
    for s in range(T):
        t, prev, _ = slots(T, T - 1 - s, reverse)
        for n in range(B):
            # one slice per gate row block (not offsets into one row): the loop then vectorises
            gi, gg, go = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H :]
            di, dg, do = da[t, n, :H], da[t, n, H : 2 * H], da[t, n, 2 * H :]
            tc = tanh_c[t, n]
            c_prev = c[prev, n]
            dy = d_out[t, n]
            dhn = dh[n]
            dcn = dc[n]
            for j in range(H):
                dhj = dhn[j] + dy[j]  # (CB1)
                i = gi[j]
                g = gg[j]
                o = go[j]
                dcj = dcn[j] + dhj * o * (1.0 - tc[j] * tc[j])  # (CB2)
                do[j] = dhj * tc[j] * o * (1.0 - o)  # (CB3)
                di[j] = dcj * (g - c_prev[j]) * i * (1.0 - i)  # (CB4)
                dg[j] = dcj * i * (1.0 - g * g)  # (CB5)
                dcn[j] = dcj * (1.0 - i)  # (CB6)
        gemm_nn(da[t], w_hh, dh, False)  # (CB6) δh(t−1) = W_hhᵀ δa(t), as rows: δa (B, 3H) · W_hh (3H, H)
    dw_ih, dw_hh, db = summed_sweep_grads(x, h, w_ih, w_hh, da, reverse, dx)  # (CB7), (CB8) as (SW2)–(SW4)
    return dw_ih, dw_hh, db, dh, dc


@dataclass(eq=False)
class CIFGSweep(CellSweep):
    """One layer and direction of a CIFG forward pass (time-major)."""

    gates: np.ndarray  # (T, B, 3H) i, g, o after their squashing functions
    tanh_c: np.ndarray  # (T, B, H) tanh c(t)


class LSTMCIFG(Stacked):
    """LSTM with coupled input and forget gate (f = 1 − i), PyTorch layout with gate rows (i, g, o).

    >>> import numpy as np
    >>> cell = LSTMCIFG(input_size=2, hidden_size=4, seed=0)
    >>> cell.num_weights  # 3H·I + 3H·H + 2·3H, three quarters of the LSTM's 128
    96
    >>> cell.forward(np.zeros((5, 3, 2))).final_state.c.shape
    (1, 3, 4)
    """

    name: ClassVar[str] = "lstm-cifg"
    gate_blocks: ClassVar[int] = 3
    state_type: ClassVar[type] = LSTMState
    _sweep_type: ClassVar[type] = CIFGSweep
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (
        ("h", 1, 1, 0), ("c", 1, 1, 0), ("gates", 0, 3, 0), ("tanh_c", 0, 1, 0)
    )
    _forward_kernel: ClassVar[Any] = staticmethod(cifg_forward)
    _backward_kernel: ClassVar[Any] = staticmethod(cifg_backward)
