"""GRU in PyTorch's layout (``nn.GRU``): reset, update and new-gate rows packed as (r, z, n).

One layer, → direction (← reads t = T−1…0 and its "previous" state is h(t+1)); σ is the logistic.
The reset gate multiplies the *whole* recurrent term of n, bias included (PyTorch's form)::

    (GF1)  p(t) = W_ih x(t) + b_ih                     blocks p_r, p_z, p_n        (B, 3H)
    (GF2)  q(t) = W_hh h(t−1) + b_hh                   blocks q_r, q_z, q_n        (B, 3H)
    (GF3)  r(t) = σ(p_r + q_r)                                                     reset gate
    (GF4)  z(t) = σ(p_z + q_z)                                                     update gate
    (GF5)  n(t) = tanh(p_n + r(t) ⊙ q_n)                                           candidate
    (GF6)  h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)                               hidden state = output

Backward, t = T−1…0, with δh(T−1) = δh_n arriving from the final state; u = p_n + r ⊙ q_n::

    (GB1)  δh(t) += δoutputs(t)
    (GB2)  δu = δh(t) ⊙ (1 − z) ⊙ (1 − n²)                                     from (GF6), (GF5)
    (GB3)  δ(p_z + q_z) = δh(t) ⊙ (h(t−1) − n) ⊙ z(1 − z)                       from (GF6), (GF4)
    (GB4)  δ(p_r + q_r) = δu ⊙ q_n ⊙ r(1 − r)                                   from (GF5), (GF3)
    (GB5)  δp = (δ(p_r + q_r), δ(p_z + q_z), δu);  δq = (δ(p_r + q_r), δ(p_z + q_z), δu ⊙ r)
    (GB6)  δh(t−1) = δh(t) ⊙ z + W_hhᵀ δq(t)                                    from (GF6), (GF2)
    (GB7)  δW_ih = Σ_t δp(t) x(t)ᵀ,  δW_hh = Σ_t δq(t) h(t−1)ᵀ,  δb_ih = Σ_t δp(t),  δb_hh = Σ_t δq(t)
    (GB8)  δx(t) = W_ihᵀ δp(t)

The initial-state gradient is δh(−1) after the last step of the sweep. Layers and the reverse
direction are stacked by :mod:`yetztml.cells.stack` (ST1)–(ST7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numba
import numpy as np

from ..core import squash
from ..core.linalg import gemm_nn, gemm_nt
from .stack import Stacked
from .sweep import Sweep, column_sums, slots, start_sweep, sweep_grads


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def gru_forward(x, w_ih, w_hh, b_ih, b_hh, h0, reverse, fast, h, gates, q_n):
    """One layer, one direction. x (T, B, I); w_ih (3H, I); w_hh (3H, H); b_* (3H,); h0 (B, H).

    Fills h (T+1, B, H) (initial state in slot T·reverse), gates (T, B, 3H) with r, z, n, and
    q_n (T, B, H), the recurrent term that r multiplies. ``fast`` selects the rational tanh of
    :mod:`yetztml.core.squash`.
    """
    T, B, I = x.shape
    H = h0.shape[1]
    q = np.empty((B, 3 * H), dtype=x.dtype)  # W_hh h(t−1), one step
    start_sweep(x, w_ih, h0, h, gates, reverse)  # (GF1) W_ih x(t), all T·B rows at once
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, q, False)  # (GF2) W_hh h(t−1)
        for n in range(B):
            p = gates[t, n]  # (3H,) W_ih x(t); becomes r, z, n
            qb = q[n]
            for k in range(2 * H):
                p[k] = squash.logistic(p[k] + b_ih[k] + qb[k] + b_hh[k], fast)  # (GF1)–(GF4)
            # one slice per gate row block (not offsets into one row): the loop then vectorises
            pr, pz, pn = p[:H], p[H : 2 * H], p[2 * H :]
            qbn, bhn, bin_ = qb[2 * H :], b_hh[2 * H :], b_ih[2 * H :]
            h_prev = h[prev, n]
            h_cur = h[cur, n]
            qn = q_n[t, n]
            for j in range(H):
                qn[j] = qbn[j] + bhn[j]  # (GF2)
                pn[j] = squash.tanh(pn[j] + bin_[j] + pr[j] * qn[j], fast)  # (GF5)
                h_cur[j] = (1.0 - pz[j]) * pn[j] + pz[j] * h_prev[j]  # (GF6)


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def gru_backward(x, w_ih, w_hh, h, gates, q_n, d_out, dh_n, reverse, dp, dq, dx):
    """Backward of :func:`gru_forward`. d_out (T, B, H); dh_n (B, H) at the final state.

    Fills dp, dq (T, B, 3H) with δp, δq and dx (T, B, I) with δx; returns δW_ih (3H, I),
    δW_hh (3H, H), δb_ih, δb_hh (3H,) and δh0 (B, H).
    """
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()  # (B, H)
    for s in range(T):
        t, prev, _ = slots(T, T - 1 - s, reverse)
        for n in range(B):
            # one slice per gate row block (not offsets into one row): the loop then vectorises
            gr, gz, gn = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H :]
            dpr, dpz, dpn = dp[t, n, :H], dp[t, n, H : 2 * H], dp[t, n, 2 * H :]
            dqr, dqz, dqn = dq[t, n, :H], dq[t, n, H : 2 * H], dq[t, n, 2 * H :]
            qn = q_n[t, n]
            h_prev = h[prev, n]
            dy = d_out[t, n]
            dhn = dh[n]
            for j in range(H):
                dhj = dhn[j] + dy[j]  # (GB1)
                r = gr[j]
                z = gz[j]
                nj = gn[j]
                du = dhj * (1.0 - z) * (1.0 - nj * nj)  # (GB2)
                dz = dhj * (h_prev[j] - nj) * z * (1.0 - z)  # (GB3)
                dr = du * qn[j] * r * (1.0 - r)  # (GB4)
                dpr[j] = dr  # (GB5)
                dpz[j] = dz
                dpn[j] = du
                dqr[j] = dr
                dqz[j] = dz
                dqn[j] = du * r
                dhn[j] = dhj * z  # (GB6) the direct path through (GF6)
        gemm_nn(dq[t], w_hh, dh, True)  # (GB6) + W_hhᵀ δq(t), as rows: δq (B, 3H) · W_hh (3H, H)
    dw_ih, dw_hh = sweep_grads(x, h, w_ih, w_hh, dp, dq, reverse, dx)  # (GB7), (GB8) as (SW2), (SW3)
    db_ih = column_sums(dp.reshape(T * B, 3 * H))  # (GB7)
    db_hh = column_sums(dq.reshape(T * B, 3 * H))  # (GB7)
    return dw_ih, dw_hh, db_ih, db_hh, dh


@dataclass(eq=False)
class GRUSweep(Sweep):
    """One layer and direction of a GRU forward pass (time-major)."""

    gates: np.ndarray  # (T, B, 3H) r, z, n after their squashing functions
    q_n: np.ndarray  # (T, B, H) W_hn h(t−1) + b_hn, the term the reset gate multiplies


class GRU(Stacked):
    """Gated recurrent unit with PyTorch's ``nn.GRU`` layout, parameters and initialisation.

    >>> import numpy as np
    >>> cell = GRU(input_size=2, hidden_size=3, batch_first=True, seed=0)
    >>> trace = cell.forward(np.zeros((4, 6, 2)))  # (B, T, I)
    >>> trace.outputs.shape, trace.final_state.shape
    ((4, 6, 3), (1, 4, 3))
    """

    capabilities = frozenset({"rtrl"})

    name: ClassVar[str] = "gru"
    gate_blocks: ClassVar[int] = 3
    _sweep_type: ClassVar[type] = GRUSweep
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (
        ("h", 1, 1, 0), ("gates", 0, 3, 0), ("q_n", 0, 1, 0)
    )
    _forward_kernel: ClassVar[Any] = staticmethod(gru_forward)
    _backward_kernel: ClassVar[Any] = staticmethod(gru_backward)
    _workspaces: ClassVar[tuple[str, ...]] = ("dp", "dq")
