"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", §3.1 and the LSTM of §6.3), PyTorch
layout with gate rows (i, f, g, o), normalisation per gate block.

LN(z; γ, β) normalises each H-wide block of z over its H entries: with μ and v the block's mean and
(biased) variance, ẑ = (z − μ) / √(v + ε) and LN = γ ⊙ ẑ + β (ε = 1e-5, as ``torch.nn.LayerNorm``).
One layer, → direction (← reads t = T−1…0 and its "previous" state is h(t+1))::

    (LN1)  p(t) = W_ih x(t),   q(t) = W_hh h(t−1)                                   (B, 4H) each
    (LN2)  p̂(t), q̂(t): p and q normalised per gate block, inverse deviations r_p, r_q  (B, 4)
    (LN3)  a(t) = γ_ih ⊙ p̂(t) + β_ih + γ_hh ⊙ q̂(t) + β_hh + b_ih + b_hh
    (LN4)  i = σ(a_i),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)
    (LN5)  c(t) = f ⊙ c(t−1) + i ⊙ g                                            cell state (the carry)
    (LN6)  ĉ(t) = (c(t) − μ_c) r_c,  r_c = 1/√(v_c + ε)                         normalised over its H entries
    (LN7)  n(t) = γ_c ⊙ ĉ(t) + β_c
    (LN8)  h(t) = o ⊙ tanh(n(t))                                                 hidden state = output

The carried state is the unnormalised c(t); only the path to h(t) sees LN(c) [Ba et al. 2016, §6.3].
Backward, t = T−1…0, with δh(T−1) = δh_n and δc(T−1) = δc_n from the final state; for a normalised
block, LN'(δŷ) = r (δŷ − mean(δŷ) − ŷ mean(δŷ ⊙ ŷ)) is the error on its input::

    (LB1)  δh(t) += δoutputs(t)
    (LB2)  δn = δh ⊙ o ⊙ (1 − tanh²n);  δa_o = δh ⊙ tanh n ⊙ o(1 − o)            from (LN8)
    (LB3)  δγ_c += δn ⊙ ĉ;  δβ_c += δn                                          from (LN7)
    (LB4)  δc(t) += LN'_c(δn ⊙ γ_c)                                            from (LN6)
    (LB5)  δa_i = δc g i(1 − i),  δa_f = δc c(t−1) f(1 − f),  δa_g = δc i (1 − g²)   from (LN5), (LN4)
    (LB6)  δc(t−1) = δc(t) ⊙ f
    (LB7)  δγ_ih = Σ δa ⊙ p̂,  δγ_hh = Σ δa ⊙ q̂,  δβ_ih = δβ_hh = δb_ih = δb_hh = Σ δa      from (LN3)
    (LB8)  δp = LN'_p(δa ⊙ γ_ih),  δq = LN'_q(δa ⊙ γ_hh)   per gate block          from (LN2)
    (LB9)  δh(t−1) = W_hhᵀ δq(t);  δx(t) = W_ihᵀ δp(t)                             from (LN1)
    (LB10) δW_ih = Σ_t δp(t) x(t)ᵀ,  δW_hh = Σ_t δq(t) h(t−1)ᵀ

Parameters per layer and direction: ``nn.LSTM``'s four plus ``ln_ih_weight``, ``ln_ih_bias``,
``ln_hh_weight``, ``ln_hh_bias`` (4H) and ``ln_c_weight``, ``ln_c_bias`` (H); gains start at 1, LN biases
at 0. Layers and the reverse direction are stacked by :mod:`yetztml.cells.stack` (ST1)–(ST7).
Equations: docs/equations/lstm_layernorm.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numba
import numpy as np

from ..core import squash
from ..core.linalg import gemm_nn, gemm_nt
from .stack import Stacked
from .sweep import CellSweep, LSTMState, column_sums, slots, start_lstm_sweep, sweep_grads

#: ε inside the square root of every normalisation (torch.nn.LayerNorm's default).
EPS = 1e-5
LN_NAMES = ("ln_ih_weight", "ln_ih_bias", "ln_hh_weight", "ln_hh_bias", "ln_c_weight", "ln_c_bias")


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})  # the block sums may be reordered
def _normalise(z, zhat, r, groups, eps):
    """(LN2)/(LN6) for one row: z (G·W,) in ``groups`` blocks → ẑ (G·W,), r (G,) inverse deviations."""
    W = z.shape[0] // groups
    for k in range(groups):
        mu = 0.0
        for j in range(k * W, (k + 1) * W):
            mu += z[j]
        mu /= W
        var = 0.0
        for j in range(k * W, (k + 1) * W):
            var += (z[j] - mu) * (z[j] - mu)
        rk = 1.0 / math.sqrt(var / W + eps)
        r[k] = rk
        for j in range(k * W, (k + 1) * W):
            zhat[j] = (z[j] - mu) * rk


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc"})  # the block sums may be reordered
def _normalise_back(dy, yhat, r, dz, groups):
    """LN'(δŷ) for one row: dz = r (δŷ − mean δŷ − ŷ mean(δŷ ŷ)) per block (the error on z)."""
    W = dy.shape[0] // groups
    for k in range(groups):
        m1 = 0.0
        m2 = 0.0
        for j in range(k * W, (k + 1) * W):
            m1 += dy[j]
            m2 += dy[j] * yhat[j]
        m1 /= W
        m2 /= W
        for j in range(k * W, (k + 1) * W):
            dz[j] = r[k] * (dy[j] - m1 - yhat[j] * m2)


@numba.njit(cache=True, error_model="numpy")
def ln_forward(x, w_ih, w_hh, b_ih, b_hh, g_ih, be_ih, g_hh, be_hh, g_c, be_c, h0, c0, reverse, fast,
               h, c, gates, p_hat, r_p, q_hat, r_q, c_hat, r_c, tanh_n):
    """One layer, one direction. x (T, B, I); w_ih (4H, I); w_hh (4H, H); b_* (4H,); ε is :data:`EPS`.

    Fills h, c (T+1, B, H) (initial state in slot T·reverse), gates (T, B, 4H) (i, f, g, o), p_hat, q_hat
    (T, B, 4H), r_p, r_q (T, B, 4), c_hat, tanh_n (T, B, H) and r_c (T, B, 1).
    """
    T, B, I = x.shape
    H = h0.shape[1]
    # (LN1) W_ih x(t), all T·B rows at once; b = b_ih + b_hh; rows i, f, o logistic, g (block 2) tanh
    b, scale, shift, rec = start_lstm_sweep(x, w_ih, b_ih, b_hh, h0, c0, h, c, gates, reverse, 2)
    for t in range(T):
        for n in range(B):
            _normalise(gates[t, n], p_hat[t, n], r_p[t, n], 4, EPS)  # (LN2)
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, rec, False)  # (LN1) q = W_hh h(t−1)
        for n in range(B):
            _normalise(rec[n], q_hat[t, n], r_q[t, n], 4, EPS)  # (LN2)
            a = gates[t, n]
            ph = p_hat[t, n]
            qh = q_hat[t, n]
            for k in range(4 * H):
                a[k] = g_ih[k] * ph[k] + be_ih[k] + g_hh[k] * qh[k] + be_hh[k] + b[k]  # (LN3)
            squash.squash_rows(a, scale, shift, fast)  # (LN4) i, f, g, o
            ai, af, ag, ao = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            c_prev = c[prev, n]
            c_cur = c[cur, n]
            for j in range(H):
                c_cur[j] = af[j] * c_prev[j] + ai[j] * ag[j]  # (LN5)
            _normalise(c_cur, c_hat[t, n], r_c[t, n], 1, EPS)  # (LN6)
            ch = c_hat[t, n]
            tn = tanh_n[t, n]
            h_cur = h[cur, n]
            for j in range(H):
                tn[j] = squash.tanh(g_c[j] * ch[j] + be_c[j], fast)  # (LN7)
                h_cur[j] = ao[j] * tn[j]  # (LN8)


@numba.njit(cache=True, error_model="numpy")
def ln_backward(x, w_ih, w_hh, g_ih, g_hh, g_c, h, c, gates, p_hat, r_p, q_hat, r_q, c_hat, r_c, tanh_n,
                d_out, dh_n, dc_n, reverse, da, dp, dq, dx):
    """Backward of :func:`ln_forward`. d_out (T, B, H); dh_n, dc_n (B, H) at the final state.

    Fills da, dp, dq (T, B, 4H) and dx (T, B, I); returns δW_ih, δW_hh, δb (= δb_ih = δb_hh = δβ_ih =
    δβ_hh), δγ_ih, δγ_hh (4H,), δγ_c, δβ_c (H,), δh0, δc0 (B, H).
    """
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()  # (B, H)
    dc = dc_n.copy()  # (B, H)
    dg_c = np.zeros(H, x.dtype)
    db_c = np.zeros(H, x.dtype)
    dn = np.empty(H, x.dtype)  # δn ⊙ γ_c, then reused
    dcl = np.empty(H, x.dtype)  # LN'_c(δn ⊙ γ_c)
    tmp = np.empty(4 * H, x.dtype)
    for s in range(T):
        t, prev, _ = slots(T, T - 1 - s, reverse)
        for n in range(B):
            # one slice per gate row block (not offsets into one row): the loops then vectorise
            gi, gf, gg, go = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H : 3 * H], gates[t, n, 3 * H :]
            d4 = da[t, n]
            di, df, dg, do = d4[:H], d4[H : 2 * H], d4[2 * H : 3 * H], d4[3 * H :]
            tn = tanh_n[t, n]
            ch = c_hat[t, n]
            dy = d_out[t, n]
            dhn = dh[n]
            for j in range(H):
                dhj = dhn[j] + dy[j]  # (LB1)
                o = go[j]
                dnj = dhj * o * (1.0 - tn[j] * tn[j])  # (LB2)
                do[j] = dhj * tn[j] * o * (1.0 - o)  # (LB2)
                dg_c[j] += dnj * ch[j]  # (LB3)
                db_c[j] += dnj
                dn[j] = dnj * g_c[j]
            _normalise_back(dn, ch, r_c[t, n], dcl, 1)  # (LB4)
            c_prev = c[prev, n]
            dcn = dc[n]
            for j in range(H):
                dcj = dcn[j] + dcl[j]  # (LB4)
                i = gi[j]
                f = gf[j]
                g = gg[j]
                di[j] = dcj * g * i * (1.0 - i)  # (LB5)
                df[j] = dcj * c_prev[j] * f * (1.0 - f)
                dg[j] = dcj * i * (1.0 - g * g)
                dcn[j] = dcj * f  # (LB6)
            for k in range(4 * H):
                tmp[k] = d4[k] * g_hh[k]
            _normalise_back(tmp, q_hat[t, n], r_q[t, n], dq[t, n], 4)  # (LB8) δq
            for k in range(4 * H):
                tmp[k] = d4[k] * g_ih[k]
            _normalise_back(tmp, p_hat[t, n], r_p[t, n], dp[t, n], 4)  # (LB8) δp
        gemm_nn(dq[t], w_hh, dh, False)  # (LB9) δh(t−1) = W_hhᵀ δq(t), as rows
    rows = da.reshape(T * B, 4 * H)
    db = column_sums(rows)  # (LB7)
    dg_ih = np.zeros(4 * H, x.dtype)
    dg_hh = np.zeros(4 * H, x.dtype)
    ph = p_hat.reshape(T * B, 4 * H)
    qh = q_hat.reshape(T * B, 4 * H)
    for r in range(T * B):
        for k in range(4 * H):
            dg_ih[k] += rows[r, k] * ph[r, k]  # (LB7)
            dg_hh[k] += rows[r, k] * qh[r, k]
    dw_ih, dw_hh = sweep_grads(x, h, w_ih, w_hh, dp, dq, reverse, dx)  # (LB10), (LB9) as (SW2), (SW3)
    return dw_ih, dw_hh, db, dg_ih, dg_hh, dg_c, db_c, dh, dc


@dataclass(eq=False)
class LNSweep(CellSweep):
    """One layer and direction of a layer-normalised LSTM forward pass (time-major)."""

    gates: np.ndarray  # (T, B, 4H) i, f, g, o
    p_hat: np.ndarray  # (T, B, 4H) normalised W_ih x
    r_p: np.ndarray  # (T, B, 4) inverse deviations of W_ih x per gate block
    q_hat: np.ndarray  # (T, B, 4H) normalised W_hh h(t−1)
    r_q: np.ndarray  # (T, B, 4)
    c_hat: np.ndarray  # (T, B, H) normalised c(t)
    r_c: np.ndarray  # (T, B, 1)
    tanh_n: np.ndarray  # (T, B, H) tanh(γ_c ĉ + β_c)


class LSTMLayerNorm(Stacked):
    """Layer-normalised LSTM (Ba, Kiros & Hinton 2016), ``nn.LSTM``'s layout plus LN gains and biases.

    >>> import numpy as np
    >>> cell = LSTMLayerNorm(input_size=2, hidden_size=4, seed=0)
    >>> cell.num_weights  # the LSTM's 128 + 4·(4H) + 2·H
    200
    >>> cell.params["ln_c_weight_l0"]
    array([1., 1., 1., 1.])
    """

    name: ClassVar[str] = "lstm-layernorm"
    gate_blocks: ClassVar[int] = 4
    state_type: ClassVar[type] = LSTMState
    _sweep_type: ClassVar[type] = LNSweep
    extra_params: ClassVar[tuple[tuple[str, int, float | None], ...]] = tuple(
        (name, 1 if name.startswith("ln_c") else 4, 1.0 if name.endswith("weight") else 0.0) for name in LN_NAMES
    )  # gains 1, biases 0; ln_c_* are H wide, the others 4H
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (
        ("h", 1, 1, 0), ("c", 1, 1, 0), ("gates", 0, 4, 0), ("p_hat", 0, 4, 0), ("r_p", 0, 0, 4), ("q_hat", 0, 4, 0),
        ("r_q", 0, 0, 4), ("c_hat", 0, 1, 0), ("r_c", 0, 0, 1), ("tanh_n", 0, 1, 0),
    )

    _forward_kernel: ClassVar[Any] = staticmethod(ln_forward)

    def _sweep_back(self, sweep, keys, d_out, d_final):
        w_ih, w_hh, _, _ = self._weights(keys)
        g_ih, _, g_hh, _, g_c, _ = self._extras(keys)
        x = sweep.x
        shape = sweep.gates.shape
        da, dp, dq = (self._workspace(name, shape) for name in ("da", "dp", "dq"))
        dx = np.empty(x.shape, self.dtype)
        dw_ih, dw_hh, db, dg_ih, dg_hh, dg_c, db_c, dh0, dc0 = ln_backward(
            x, w_ih, w_hh, g_ih, g_hh, g_c, sweep.h, sweep.c, sweep.gates, sweep.p_hat, sweep.r_p, sweep.q_hat,
            sweep.r_q, sweep.c_hat, sweep.r_c, sweep.tanh_n, d_out, d_final[0], d_final[1], sweep.reverse,
            da, dp, dq, dx,
        )
        extras = tuple(v.copy() for v in (dg_ih, db, dg_hh, db, dg_c, db_c))  # in the order of LN_NAMES
        return dx, self._grads(keys, dw_ih, dw_hh, db, extras=extras), (dh0, dc0)
