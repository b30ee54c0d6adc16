"""LSTM in PyTorch's layout: input, forget, cell and output gates packed as rows (i, f, g, o).

One layer, → direction (← reads t = T−1…0 and its "previous" state is h(t+1)); σ is the logistic,
⊙ the elementwise product, a = (a_i, a_f, a_g, a_o) the four H-row blocks of the preactivation::

    (LSF1)  a(t) = W_ih x(t) + b_ih + W_hh h(t−1) + b_hh                        (B, 4H)
    (LSF2)  i(t) = σ(a_i(t))                                                    input gate
    (LSF3)  f(t) = σ(a_f(t))                                                    forget gate
    (LSF4)  g(t) = tanh(a_g(t))                                                 cell input
    (LSF5)  o(t) = σ(a_o(t))                                                    output gate
    (LSF6)  c(t) = f(t) ⊙ c(t−1) + i(t) ⊙ g(t)                                  cell state
    (LSF7)  h(t) = o(t) ⊙ tanh(c(t))                                            hidden state = output

Backward, t = T−1…0, with δh(T−1) = δh_n and δc(T−1) = δc_n arriving from the final state::

    (LSB1)  δh(t) += δoutputs(t)
    (LSB2)  δc(t) += δh(t) ⊙ o(t) ⊙ (1 − tanh²c(t))                            from (LSF7)
    (LSB3)  δa_o = δh(t) ⊙ tanh c(t) ⊙ o(1 − o)                                from (LSF7), (LSF5)
    (LSB4)  δa_i = δc(t) ⊙ g(t) ⊙ i(1 − i)                                     from (LSF6), (LSF2)
    (LSB5)  δa_f = δc(t) ⊙ c(t−1) ⊙ f(1 − f)                                   from (LSF6), (LSF3)
    (LSB6)  δa_g = δc(t) ⊙ i(t) ⊙ (1 − g²)                                     from (LSF6), (LSF4)
    (LSB7)  δh(t−1) = W_hhᵀ δa(t);  δc(t−1) = δc(t) ⊙ f(t)                     from (LSF1), (LSF6)
    (LSB8)  δW_ih = Σ_t δa(t) x(t)ᵀ,  δW_hh = Σ_t δa(t) h(t−1)ᵀ,  δb_ih = δb_hh = Σ_t δa(t)
    (LSB9)  δx(t) = W_ihᵀ δa(t)

The initial-state gradients are δh(−1) and δc(−1) after the last step of the sweep. Layers and the
reverse direction are stacked by :mod:`yetztml.cells.stack` (ST1)–(ST7).

Single-matrix form. With X(t) = [x(t) | h(t−1)] (B, I + H) and W = [W_ih | W_hh] (4H, I + H)::

    (LSE1)  W X(t) = W_ih x(t) + W_hh h(t−1),   so (LSF1) reads  a(t) = W X(t) + (b_ih + b_hh)

:func:`stacked_weights` builds W and b = b_ih + b_hh; :func:`stacked_forward` is a plain NumPy forward
written with them, used by the tests to prove (LSE1) against the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numba
import numpy as np

from ..core import squash
from ..core.errors import OptionError, message
from ..core.linalg import gemm_nn, gemm_nt
from ..core.validation import check_int
from .stack import Stacked
from .sweep import CellSweep, LSTMState, slots, start_lstm_sweep, summed_sweep_grads


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def lstm_forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse, fast, h, c, gates, tanh_c):
    """One layer, one direction. x (T, B, I); w_ih (4H, I); w_hh (4H, H); b_* (4H,); h0, c0 (B, H).

    Fills h, c (T+1, B, H) (initial state in slot T·reverse), gates (T, B, 4H) with i, f, g, o, and
    tanh_c (T, B, H). ``fast`` selects the rational tanh of :mod:`yetztml.core.squash`.
    """
    T, B, I = x.shape
    H = h0.shape[1]
    # (LSF1) W_ih x(t), all T·B rows at once; b = b_ih + b_hh; rows i, f, o logistic, g (block 2) tanh
    b, scale, shift, rec = start_lstm_sweep(x, w_ih, b_ih, b_hh, h0, c0, h, c, gates, reverse, 2)
    for s in range(T):
        t, prev, cur = slots(T, s, reverse)
        gemm_nt(h[prev], w_hh, rec, False)  # (LSF1) W_hh h(t−1)
        for n in range(B):
            a = gates[t, n]  # (4H,) W_ih x(t); becomes i, f, g, o
            squash.squash_gates(a, rec[n], b, scale, shift, fast)  # (LSF1)–(LSF5)
            ai, af, ag, ao = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            c_prev = c[prev, n]
            c_cur = c[cur, n]
            tc = tanh_c[t, n]
            h_cur = h[cur, n]
            for j in range(H):
                c_cur[j] = af[j] * c_prev[j] + ai[j] * ag[j]  # (LSF6)
                tc[j] = squash.tanh(c_cur[j], fast)
                h_cur[j] = ao[j] * tc[j]  # (LSF7)


@numba.njit(cache=True, error_model="numpy")  # no zero-division checks: loops vectorise
def lstm_backward(x, w_ih, w_hh, h, c, gates, tanh_c, d_out, dh_n, dc_n, reverse, da, dx):
    """Backward of :func:`lstm_forward`. d_out (T, B, H); dh_n, dc_n (B, H) at the final state.

    Fills da (T, B, 4H) with δa and dx (T, B, I) with δx; returns δW_ih (4H, I), δW_hh (4H, H),
    δb (4H,) (= δb_ih = δb_hh), δh0 and δc0 (B, H).
    """
    T, B, I = x.shape
    H = h.shape[2]
    dh = dh_n.copy()  # (B, H)
    dc = dc_n.copy()  # (B, H)
    for s in range(T):
        t, prev, _ = slots(T, T - 1 - s, reverse)
        for n in range(B):
            # one slice per gate row block (not offsets into one row): the loop then vectorises
            gi, gf, gg, go = gates[t, n, :H], gates[t, n, H : 2 * H], gates[t, n, 2 * H : 3 * H], gates[t, n, 3 * H :]
            di, df, dg, do = da[t, n, :H], da[t, n, H : 2 * H], da[t, n, 2 * H : 3 * H], da[t, n, 3 * H :]
            tc = tanh_c[t, n]
            c_prev = c[prev, n]
            dy = d_out[t, n]
            dhn = dh[n]
            dcn = dc[n]
            for j in range(H):
                dhj = dhn[j] + dy[j]  # (LSB1)
                i = gi[j]
                f = gf[j]
                g = gg[j]
                o = go[j]
                dcj = dcn[j] + dhj * o * (1.0 - tc[j] * tc[j])  # (LSB2)
                do[j] = dhj * tc[j] * o * (1.0 - o)  # (LSB3)
                di[j] = dcj * g * i * (1.0 - i)  # (LSB4)
                df[j] = dcj * c_prev[j] * f * (1.0 - f)  # (LSB5)
                dg[j] = dcj * i * (1.0 - g * g)  # (LSB6)
                dcn[j] = dcj * f  # (LSB7)
        gemm_nn(da[t], w_hh, dh, False)  # (LSB7) δh(t−1) = W_hhᵀ δa(t), as rows: δa (B, 4H) · W_hh (4H, H)
    dw_ih, dw_hh, db = summed_sweep_grads(x, h, w_ih, w_hh, da, reverse, dx)  # (LSB8), (LSB9) as (SW2)–(SW4)
    return dw_ih, dw_hh, db, dh, dc


@dataclass(eq=False)
class LSTMSweep(CellSweep):
    """One layer and direction of an LSTM forward pass (time-major)."""

    gates: np.ndarray  # (T, B, 4H) i, f, g, o after their squashing functions
    tanh_c: np.ndarray  # (T, B, H) tanh c(t)


class LSTM(Stacked):
    """Long Short-Term Memory with PyTorch's ``nn.LSTM`` layout, parameters and initialisation.

    >>> import numpy as np
    >>> cell = LSTM(input_size=2, hidden_size=4, seed=0)
    >>> trace = cell.forward(np.zeros((5, 3, 2)))
    >>> trace.outputs.shape, trace.final_state.c.shape
    ((5, 3, 4), (1, 3, 4))
    >>> cell.num_weights  # 4H·I + 4H·H + 2·4H
    128
    """

    capabilities = frozenset({"rtrl"})

    name: ClassVar[str] = "lstm"
    gate_blocks: ClassVar[int] = 4
    state_type: ClassVar[type] = LSTMState
    _sweep_type: ClassVar[type] = LSTMSweep
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (
        ("h", 1, 1, 0), ("c", 1, 1, 0), ("gates", 0, 4, 0), ("tanh_c", 0, 1, 0)
    )
    _forward_kernel: ClassVar[Any] = staticmethod(lstm_forward)
    _backward_kernel: ClassVar[Any] = staticmethod(lstm_backward)


def stacked_weights(cell: LSTM, layer: int = 0, reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(LSE1): W = [W_ih | W_hh] ``(4H, I_l + H)`` and b = b_ih + b_hh ``(4H,)`` of one layer and direction."""
    layer = check_int("stacked_weights(layer=...)", layer, minimum=0, maximum=cell.num_layers - 1)
    if reverse and not cell.bidirectional:
        raise OptionError(message("stacked_weights(reverse=...)", "False for a one-directional LSTM", reverse))
    w_ih, w_hh, b_ih, b_hh = cell._weights(cell._keys[layer * cell.num_directions + int(bool(reverse))])
    return np.concatenate([w_ih, w_hh], axis=1), b_ih + b_hh


def stacked_forward(
    w: np.ndarray, b: np.ndarray, x: np.ndarray, h0: np.ndarray, c0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Reference forward of one layer in plain NumPy with the single-matrix form (LSE1).

    ``w`` (4H, I + H), ``b`` (4H,), ``x`` (T, B, I) read from t = 0 on (reverse it for ←),
    ``h0``, ``c0`` (B, H). Returns h and c, each ``(T, B, H)``.
    """
    H = h0.shape[1]
    h, c = h0, c0
    hs, cs = [], []
    for t in range(x.shape[0]):
        big_x = np.concatenate([x[t], h], axis=1)  # X(t) = [x(t) | h(t−1)]  (B, I + H)
        a = big_x @ w.T + b  # (LSE1) = (LSF1)
        sig = 0.5 * (1.0 + np.tanh(0.5 * a))
        i, f, o = sig[:, :H], sig[:, H : 2 * H], sig[:, 3 * H :]
        g = np.tanh(a[:, 2 * H : 3 * H])
        c = f * c + i * g  # (LSF6)
        h = o * np.tanh(c)  # (LSF7)
        hs.append(h)
        cs.append(c)
    return np.stack(hs), np.stack(cs)

