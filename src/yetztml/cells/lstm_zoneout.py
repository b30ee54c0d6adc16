"""LSTM with zoneout (Krueger et al. 2016) and recurrent dropout (Semeniuta, Severyn & Barth 2016), PyTorch
layout with gate rows (i, f, g, o) — the parameters of :mod:`yetztml.cells.lstm`.

Zoneout keeps each unit's previous value with probability p instead of updating it; recurrent dropout drops
the cell input g (never the carried state, so the error flow through c is not cut). Per step, three masks
(B, H): d_h, d_c ∈ {0, 1} with P(1) = p_h, p_c, and m_g ∈ {0, 1/(1 − p_g)} with P(0) = p_g. In evaluation
mode the masks are their expectations, d_h = p_h, d_c = p_c, m_g = 1 [Krueger et al. 2016, §3: "as in
dropout, we use the expectation of the random noise at test time"]. One layer, → direction::

    (ZF1)  a(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh;  i, f, g, o as (LSF2)–(LSF5) of the LSTM
    (ZF2)  c̃(t) = f ⊙ c(t−1) + i ⊙ m_g ⊙ g                                    recurrent dropout on g
    (ZF3)  h̃(t) = o ⊙ tanh(c̃(t))
    (ZF4)  c(t) = d_c ⊙ c(t−1) + (1 − d_c) ⊙ c̃(t)                             zoneout of the cell state
    (ZF5)  h(t) = d_h ⊙ h(t−1) + (1 − d_h) ⊙ h̃(t)                             zoneout of the output

With p_h = p_c = p_g = 0 it is the LSTM. Backward, t = T−1…0, δh = δh_n and δc = δc_n at the end::

    (ZB1)  δh(t) += δoutputs(t);  δh̃ = (1 − d_h) ⊙ δh(t)                      from (ZF5)
    (ZB2)  δc̃ = (1 − d_c) ⊙ δc(t) + δh̃ ⊙ o ⊙ (1 − tanh²c̃)                   from (ZF4), (ZF3)
    (ZB3)  δa_o = δh̃ ⊙ tanh c̃ ⊙ o(1 − o);  δa_i = δc̃ ⊙ m_g g ⊙ i(1 − i)
           δa_f = δc̃ ⊙ c(t−1) ⊙ f(1 − f);   δa_g = δc̃ ⊙ i m_g ⊙ (1 − g²)     from (ZF3), (ZF2)
    (ZB4)  δc(t−1) = d_c ⊙ δc(t) + f ⊙ δc̃;  δh(t−1) = d_h ⊙ δh(t) + W_hhᵀ δa(t)
    (ZB5)  δW_ih = Σ_t δa x(t)ᵀ,  δW_hh = Σ_t δa h(t−1)ᵀ,  δb_ih = δb_hh = Σ_t δa,  δx(t) = W_ihᵀ δa(t)

The masks are drawn, in training mode, from the cell's own generator (seeded by ``mask_seed``), one set per
layer, direction and step; ``training=False`` (or ``cell.training = False``) selects the expectations. Equations:
docs/equations/lstm_zoneout.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from ..core import squash
from ..core.errors import DTypeError, message
from ..core.linalg import gemm_nn, gemm_nt
from ..core.rng import make_rng
from ..core.validation import check_float
from .stack import Stacked
from .sweep import CellSweep, LSTMState, slots, start_lstm_sweep, summed_sweep_grads


@numba.njit(cache=True, error_model="numpy")
def zoneout_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, d_h, d_c, m_g, reverse, fast, h, c, gates, tanh_ct):
    """One layer, one direction. x (T, B, I); masks d_h, d_c, m_g (T, B, H); h0, c0 (B, H).

    Fills h, c (T+1, B, H) (initial state in slot T·reverse), gates (T, B, 4H) with i, f, g, o, and
    tanh_ct (T, B, H) = tanh c̃(t).
    """
    T, B, I = x.shape
    H = h0.shape[1]
    # (ZF1) W_ih x(t), all T·B rows at once; b = b_ih + b_hh; rows i, f, o logistic, g (block 2) tanh
    b, scale, shift, rec = start_lstm_sweep(x, w_ih, b_ih, b_hh, h0, c0, h, c, gates, reverse, 2)
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, rec, False)  # (ZF1) W_hh h(t−1)
        for n in range(B):
            a = gates[t, n]
            squash.squash_gates(a, rec[n], b, scale, shift, fast)  # (ZF1) i, f, g, o
            # one 1-D view per gate block and per array row: the loop then vectorises
            ai, af, ag, ao = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            c_prev, c_cur, h_prev, h_cur = c[prev, n], c[cur, n], h[prev, n], h[cur, n]
            mg, dcm, dhm, tct = m_g[t, n], d_c[t, n], d_h[t, n], tanh_ct[t, n]
            for j in range(H):
                ct = af[j] * c_prev[j] + ai[j] * mg[j] * ag[j]  # (ZF2)
                tc = squash.tanh(ct, fast)
                tct[j] = tc
                c_cur[j] = dcm[j] * c_prev[j] + (1.0 - dcm[j]) * ct  # (ZF4)
                h_cur[j] = dhm[j] * h_prev[j] + (1.0 - dhm[j]) * ao[j] * tc  # (ZF3), (ZF5)


@numba.njit(cache=True, error_model="numpy")
def zoneout_backward(x, w_ih, w_hh, h, c, gates, tanh_ct, d_h, d_c, m_g, d_out, dh_n, dc_n, reverse, da, dx):
    """Backward of :func:`zoneout_forward`; returns δW_ih, δW_hh, δb (= δb_ih = δb_hh), δh0, δc0."""
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()
    dc = dc_n.copy()
    keep = np.empty((B, H), x.dtype)  # d_h ⊙ δh(t), the direct path of (ZB4)
    for s in range(T):
        t, prev, _ = slots(T, T - 1 - s, reverse)
        for n in range(B):
            # one 1-D view per gate block and per array row: the loop then vectorises
            gi, gf, gg, go = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H : 3 * H], gates[t, n, 3 * H :]
            di, df, dg, do = da[t, n, :H], da[t, n, H : 2 * H], da[t, n, 2 * H : 3 * H], da[t, n, 3 * H :]
            dhn, dcn, keepn, dy, c_prev = dh[n], dc[n], keep[n], d_out[t, n], c[prev, n]
            mg, dcm, dhm, tct = m_g[t, n], d_c[t, n], d_h[t, n], tanh_ct[t, n]
            for j in range(H):
                dhj = dhn[j] + dy[j]  # (ZB1)
                dht = (1.0 - dhm[j]) * dhj
                keepn[j] = dhm[j] * dhj
                i = gi[j]
                f = gf[j]
                g = gg[j]
                o = go[j]
                tc = tct[j]
                dct = (1.0 - dcm[j]) * dcn[j] + dht * o * (1.0 - tc * tc)  # (ZB2)
                do[j] = dht * tc * o * (1.0 - o)  # (ZB3)
                di[j] = dct * mg[j] * g * i * (1.0 - i)
                df[j] = dct * c_prev[j] * f * (1.0 - f)
                dg[j] = dct * i * mg[j] * (1.0 - g * g)
                dcn[j] = dcm[j] * dcn[j] + f * dct  # (ZB4)
        gemm_nn(da[t], w_hh, dh, False)  # (ZB4) W_hhᵀ δa(t), as rows
        dh += keep  # (ZB4) + d_h ⊙ δh(t)
    dw_ih, dw_hh, db = summed_sweep_grads(x, h, w_ih, w_hh, da, reverse, dx)  # (ZB5) as (SW2)–(SW4)
    return dw_ih, dw_hh, db, dh, dc


@dataclass(eq=False)
class ZoneoutSweep(CellSweep):
    """One layer and direction of a zoneout LSTM forward pass, with the masks it used (time-major)."""

    gates: np.ndarray  # (T, B, 4H) i, f, g, o
    tanh_ct: np.ndarray  # (T, B, H) tanh c̃(t)
    d_h: np.ndarray  # (T, B, H) zoneout masks of h
    d_c: np.ndarray  # (T, B, H) zoneout masks of c
    m_g: np.ndarray  # (T, B, H) recurrent-dropout masks of g


class LSTMZoneout(Stacked):
    """LSTM with zoneout of h and c and recurrent dropout of g; ``nn.LSTM``'s parameters.

    >>> import numpy as np
    >>> cell = LSTMZoneout(2, 3, zoneout_h=0.1, zoneout_c=0.05, recurrent_dropout=0.25, seed=0)
    >>> cell.training = False   # expectations: d_h = 0.1, d_c = 0.05, m_g = 1
    >>> cell.forward(np.zeros((4, 1, 2))).outputs.shape
    (4, 1, 3)
    """

    name: ClassVar[str] = "lstm-zoneout"
    gate_blocks: ClassVar[int] = 4
    state_type: ClassVar[type] = LSTMState
    _sweep_type: ClassVar[type] = ZoneoutSweep
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (
        ("h", 1, 1, 0), ("c", 1, 1, 0), ("gates", 0, 4, 0), ("tanh_ct", 0, 1, 0)
    )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        zoneout_h: float = 0.0,
        zoneout_c: float = 0.0,
        recurrent_dropout: float = 0.0,
        mask_seed: int | np.random.Generator = 0,
        training: bool = True,
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        self.zoneout_h = check_float(f"{cls}(zoneout_h=...)", zoneout_h, minimum=0.0, maximum=1.0)
        self.zoneout_c = check_float(f"{cls}(zoneout_c=...)", zoneout_c, minimum=0.0, maximum=1.0)
        self.recurrent_dropout = check_float(f"{cls}(recurrent_dropout=...)", recurrent_dropout, minimum=0.0,
                                             maximum=0.999)
        super().__init__(input_size, hidden_size, num_layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional, seed=seed, dtype=dtype)
        self.mask_rng = make_rng(mask_seed)
        if not isinstance(training, bool):
            raise DTypeError(message(f"{cls}(training=...)", "True or False", repr(training)))
        self.training = training

    def masks(self, T: int, B: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(d_h, d_c, m_g), each (T, B, H): drawn in training mode, their expectations otherwise."""
        shape, dt = (T, B, self.hidden_size), self.dtype
        if not self.training:
            return np.full(shape, self.zoneout_h, dt), np.full(shape, self.zoneout_c, dt), np.ones(shape, dt)
        rng, p_g = self.mask_rng, self.recurrent_dropout
        d_h = (rng.random(shape) < self.zoneout_h).astype(dt)
        d_c = (rng.random(shape) < self.zoneout_c).astype(dt)
        m_g = ((rng.random(shape) >= p_g) / (1.0 - p_g)).astype(dt)
        return d_h, d_c, m_g

    def _sweep(self, x, keys, init, reverse) -> ZoneoutSweep:
        return self.sweep_with_masks(x, keys, init, reverse, self.masks(x.shape[0], x.shape[1]))

    def sweep_with_masks(self, x, keys, init, reverse, masks) -> ZoneoutSweep:
        """One layer and direction with given masks (d_h, d_c, m_g), each (T, B, H) time-major."""
        arrays = self._allocate(x)  # h, c, gates, tanh_ct
        d_h, d_c, m_g = (np.ascontiguousarray(m) for m in masks)
        zoneout_forward(x, *self._weights(keys), *init, d_h, d_c, m_g, reverse, self._fast, *arrays.values())
        return ZoneoutSweep(x=x, reverse=reverse, d_h=d_h, d_c=d_c, m_g=m_g, **arrays)

    def _sweep_back(self, sweep, keys, d_out, d_final):
        w_ih, w_hh, _, _ = self._weights(keys)
        x = sweep.x
        da, dx = self._workspace("da", sweep.gates.shape), np.empty(x.shape, self.dtype)
        dw_ih, dw_hh, db, dh0, dc0 = zoneout_backward(
            x, w_ih, w_hh, sweep.h, sweep.c, sweep.gates, sweep.tanh_ct, sweep.d_h, sweep.d_c, sweep.m_g, d_out,
            d_final[0], d_final[1], sweep.reverse, da, dx,
        )
        return dx, self._grads(keys, dw_ih, dw_hh, db), (dh0, dc0)
