"""Peephole LSTM in PyTorch's layout: the LSTM with diagonal peepholes from the cell state to its gates
(Gers, Schraudolph & Schmidhuber 2002), gate rows (i, f, g, o), stacked and bidirectional.

:mod:`yetztml.cells.lstm_peephole` computes the same function as memory blocks (one cell per block,
u(t) = [x(t); y^c(t−1)], g = h = tanh; a test proves the two equal); this cell runs it with the batched
kernels of :mod:`yetztml.cells.lstm`, for hidden sizes where the block kernels are slow. One layer,
→ direction (← reads t = T−1…0); p_i, p_f, p_o are the H-wide rows of ``weight_peephole``::

    (PF1)  a(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh                        (B, 4H)
    (PF2)  i(t) = σ(a_i + p_i ⊙ c(t−1)),  f(t) = σ(a_f + p_f ⊙ c(t−1))          peek at the old state
    (PF3)  g(t) = tanh(a_g)
    (PF4)  c(t) = f ⊙ c(t−1) + i ⊙ g
    (PF5)  o(t) = σ(a_o + p_o ⊙ c(t))                                           peeks at the new state
    (PF6)  h(t) = o ⊙ tanh(c(t))                                                hidden state = output

Backward, t = T−1…0, with δh(T−1) = δh_n and δc(T−1) = δc_n from the final state::

    (PB1)  δh(t) += δoutputs(t)
    (PB2)  δa_o = δh ⊙ tanh c(t) ⊙ o(1 − o)                                    from (PF6), (PF5)
    (PB3)  δc(t) += δh ⊙ o ⊙ (1 − tanh²c(t)) + p_o ⊙ δa_o                       from (PF6), (PF5)
    (PB4)  δa_i = δc g i(1 − i),  δa_f = δc c(t−1) f(1 − f),  δa_g = δc i (1 − g²)   from (PF4), (PF2), (PF3)
    (PB5)  δc(t−1) = δc(t) ⊙ f + p_i ⊙ δa_i + p_f ⊙ δa_f                       from (PF4), (PF2)
    (PB6)  δh(t−1) = W_hhᵀ δa(t);  δx(t) = W_ihᵀ δa(t)                          from (PF1)
    (PB7)  δW_ih = Σ_t δa x(t)ᵀ,  δW_hh = Σ_t δa h(t−1)ᵀ,  δb_ih = δb_hh = Σ_t δa
    (PB8)  δp_i = Σ_t δa_i ⊙ c(t−1),  δp_f = Σ_t δa_f ⊙ c(t−1),  δp_o = Σ_t δa_o ⊙ c(t)

Parameters per layer and direction: ``nn.LSTM``'s four and ``weight_peephole`` (3H,), rows i, f, o
(U(−1/√H, 1/√H) like the others). With zero peepholes the cell is the LSTM. Layers and directions are
stacked by :mod:`yetztml.cells.stack` (ST1)–(ST7). Equations: docs/equations/lstm_peephole_stacked.md.
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


@numba.njit(cache=True, error_model="numpy")
def peephole_forward(x, w_ih, w_hh, b_ih, b_hh, p, h0, c0, reverse, fast, h, c, gates, tanh_c):
    """One layer, one direction. x (T, B, I); w_ih (4H, I); w_hh (4H, H); b_* (4H,); p (3H,); h0, c0 (B, H).

    Fills h, c (T+1, B, H) (initial state in slot T·reverse), gates (T, B, 4H) with i, f, g, o, tanh_c.
    """
    T, B, I = x.shape
    H = h0.shape[1]
    # (PF1) W_ih x(t), all T·B rows at once; b = b_ih + b_hh; rows i, f, o logistic, g (block 2) tanh
    b, scale, shift, rec = start_lstm_sweep(x, w_ih, b_ih, b_hh, h0, c0, h, c, gates, reverse, 2)
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, rec, False)  # (PF1) W_hh h(t−1)
        for n in range(B):
            # one slice per gate row block, preactivations first and each squashing in a loop of its own:
            # the loops then vectorise
            ai, af, ag, ao = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H : 3 * H], gates[t, n, 3 * H :]
            ri, rf, rg, ro = rec[n, :H], rec[n, H : 2 * H], rec[n, 2 * H : 3 * H], rec[n, 3 * H :]
            bi, bf, bg, bo = b[:H], b[H : 2 * H], b[2 * H : 3 * H], b[3 * H :]
            pi, pf, po = p[:H], p[H : 2 * H], p[2 * H :]
            c_prev = c[prev, n]
            for j in range(H):
                ai[j] = ai[j] + ri[j] + bi[j] + pi[j] * c_prev[j]  # (PF2) i, before σ
                af[j] = af[j] + rf[j] + bf[j] + pf[j] * c_prev[j]  # (PF2) f, before σ
                ag[j] = ag[j] + rg[j] + bg[j]  # (PF3) before tanh
            squash.squash_rows(gates[t, n, : 3 * H], scale[: 3 * H], shift[: 3 * H], fast)  # (PF2), (PF3)
            c_cur = c[cur, n]
            tc = tanh_c[t, n]
            h_cur = h[cur, n]
            for j in range(H):
                c_cur[j] = af[j] * c_prev[j] + ai[j] * ag[j]  # (PF4)
                ao[j] = ao[j] + ro[j] + bo[j] + po[j] * c_cur[j]  # (PF5) before σ
            squash.squash_rows(ao, scale[3 * H :], shift[3 * H :], fast)  # (PF5)
            for j in range(H):
                tc[j] = squash.tanh(c_cur[j], fast)
                h_cur[j] = ao[j] * tc[j]  # (PF6)


@numba.njit(cache=True, error_model="numpy")
def peephole_backward(x, w_ih, w_hh, p, h, c, gates, tanh_c, d_out, dh_n, dc_n, reverse, da, dx):
    """Backward of :func:`peephole_forward`; returns δW_ih, δW_hh, δb (= δb_ih = δb_hh), δp (3H,), δh0, δc0."""
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()
    dc = dc_n.copy()
    for s in range(T):
        t, prev, _ = slots(T, T - 1 - s, reverse)
        for n in range(B):
            gi, gf, gg, go = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H : 3 * H], gates[t, n, 3 * H :]
            di, df, dg, do = da[t, n, :H], da[t, n, H : 2 * H], da[t, n, 2 * H : 3 * H], da[t, n, 3 * H :]
            pi, pf, po = p[:H], p[H : 2 * H], p[2 * H :]
            tc = tanh_c[t, n]
            c_prev = c[prev, n]
            dhn = dh[n]
            dcn = dc[n]
            dy = d_out[t, n]
            for j in range(H):
                dhj = dhn[j] + dy[j]  # (PB1)
                i = gi[j]
                f = gf[j]
                g = gg[j]
                o = go[j]
                dao = dhj * tc[j] * o * (1.0 - o)  # (PB2)
                do[j] = dao
                dcj = dcn[j] + dhj * o * (1.0 - tc[j] * tc[j]) + po[j] * dao  # (PB3)
                dai = dcj * g * i * (1.0 - i)  # (PB4)
                daf = dcj * c_prev[j] * f * (1.0 - f)
                di[j] = dai
                df[j] = daf
                dg[j] = dcj * i * (1.0 - g * g)
                dcn[j] = dcj * f + pi[j] * dai + pf[j] * daf  # (PB5)
        gemm_nn(da[t], w_hh, dh, False)  # (PB6) δh(t−1) = W_hhᵀ δa(t), as rows
    dw_ih, dw_hh, db = summed_sweep_grads(x, h, w_ih, w_hh, da, reverse, dx)  # (PB7), (PB6) as (SW2)–(SW4)
    dp = np.zeros(3 * H, x.dtype)
    dpi, dpf, dpo = dp[:H], dp[H : 2 * H], dp[2 * H :]
    for t in range(T):
        prev = t + reverse
        cur = t + 1 - reverse
        for n in range(B):
            di, df, do = da[t, n, :H], da[t, n, H : 2 * H], da[t, n, 3 * H :]
            c_prev = c[prev, n]
            c_cur = c[cur, n]
            for j in range(H):
                dpi[j] += di[j] * c_prev[j]  # (PB8)
                dpf[j] += df[j] * c_prev[j]
                dpo[j] += do[j] * c_cur[j]
    return dw_ih, dw_hh, db, dp, dh, dc


@dataclass(eq=False)
class PeepholeSweep(CellSweep):
    """One layer and direction of a peephole LSTM forward pass (time-major)."""

    gates: np.ndarray  # (T, B, 4H) i, f, g, o
    tanh_c: np.ndarray  # (T, B, H)


class LSTMPeepholeStacked(Stacked):
    """Peephole LSTM in PyTorch's layout: ``nn.LSTM``'s parameters plus ``weight_peephole`` (3H,), rows i, f, o.

    >>> import numpy as np
    >>> cell = LSTMPeepholeStacked(input_size=2, hidden_size=4, seed=0)
    >>> cell.num_weights  # the LSTM's 128 + 3H
    140
    """

    name: ClassVar[str] = "lstm-peephole-stacked"
    gate_blocks: ClassVar[int] = 4
    state_type: ClassVar[type] = LSTMState
    _sweep_type: ClassVar[type] = PeepholeSweep
    extra_params: ClassVar[tuple[tuple[str, int, float | None], ...]] = (("weight_peephole", 3, None),)
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (
        ("h", 1, 1, 0), ("c", 1, 1, 0), ("gates", 0, 4, 0), ("tanh_c", 0, 1, 0)
    )
    _forward_kernel: ClassVar[Any] = staticmethod(peephole_forward)
    _backward_kernel: ClassVar[Any] = staticmethod(peephole_backward)
