"""The 1997 Exp 2a baseline net, trained by RTRL (online) or BPTT (per sequence), compiled.

The net is the cell :class:`yetztml.cells.baseline_rnn.BaselineRNN` (forward and backward on dense inputs);
these are the paper's training kernels on one-hot inputs, which run the cell's step
:func:`~yetztml.cells.baseline_rnn.baseline_step` with the active input's weights.

One self-recurrent logistic hidden unit h and K logistic output units; "every layer is fed by all layers
below" [1997 §5.2]: h from the inputs and itself, the outputs from the inputs and h; no biases. Inputs are
one-hot, given as the index i(t) of the active unit. Weights: w_h (I,), w_hh, W_o (K, I + 1) (column I is
from h): (I + 1)² in all (36 for p = 4, 144 for p = 10, 10404 for p = 100; Table 2).

Forward, step t (h(−1) = 0): (BLF1)–(BLF2) of the cell with x(t) the one-hot row of i(t)::

    net_h(t) = w_h[i(t)] + w_hh h(t−1);        h(t) = σ(net_h(t))
    net_k(t) = W_o[k, i(t)] + W_o[k, I] h(t);  y_k(t) = σ(net_k(t))          (same step, as LSTM)

Error term (as the LSTM rows: eq. 19, e = f'(t − y), i.e. −∂E½/∂net with E½ = ½ Σ (t − y)²)::

    (TRE1) e_k(t) = y_k(1 − y_k) (t_k(t) − y_k(t));   e_h(t) = Σ_k W_o[k, I] e_k(t)

RTRL (exact for this net; the sensitivities p = ∂h/∂(w_h, w_hh) are carried forward)::

    (TRR1) p_i(t)  = σ'(net_h(t)) (δ_{i, i(t)} + w_hh p_i(t−1)),   p_hh(t) = σ'(net_h(t)) (h(t−1) + w_hh p_hh(t−1))
    (TRR2) Δw = α × [e_k(t) for W_o[k, i(t)];  e_k(t) h(t) for W_o[k, I];  e_h(t) p(t) for w_h, w_hh]
         online: applied after every step; otherwise summed over the sequence (weights fixed)

BPTT (the whole sequence, then one change)::

    (TRB1) d_h(t) = e_h(t) + w_hh σ'(net_h(t+1)) d_h(t+1),   δ_h(t) = σ'(net_h(t)) d_h(t)
    (TRB2) ΔW_o as (TRR2) summed;  Δw_h[i(t)] += α δ_h(t);  Δw_hh += α δ_h(t) h(t−1)

With weights fixed, Σ_t (TRR2) = (TRB2) = −α ∂E½/∂w; the tests check both against finite differences.
σ is (A3) of :mod:`yetztml.core.squash` (one exp), the form of the 1997 online kernel.
(BLF1), (BLF2) and the cell's backward (BLB1)–(BLB4) are numbered in :mod:`yetztml.cells.baseline_rnn`.
"""

from __future__ import annotations

import numba
import numpy as np

from ..cells.baseline_rnn import baseline_step


@numba.njit(cache=True, inline="always")
def _errors(y, tgt, W_o, e, sse):
    """(TRE1) at one step: e (K,) ← y(1 − y)(t − y); returns sse + Σ (t − y)² and e_h = Σ_k W_o[k, I] e_k."""
    I = W_o.shape[1] - 1
    e_h = 0.0
    for k in range(W_o.shape[0]):
        d = tgt[k] - y[k]
        sse += d * d
        e[k] = y[k] * (1.0 - y[k]) * d
        e_h += W_o[k, I] * e[k]
    return sse, e_h


@numba.njit(cache=True)
def rtrl_sequence(w_h, w_hh, W_o, xi, tgt, alpha, online, g_h, g_hh, g_o, y_out):
    """One sequence by RTRL: xi (T,), tgt (T, K). Online: weights change after each step; else the
    gradient sums go to g_h, g_hh (1,), g_o. y_out (T, K) receives the outputs. Returns Σ (t − y)²."""
    T = xi.shape[0]
    K, I1 = W_o.shape
    I = I1 - 1
    p = np.zeros(I)
    p_hh = 0.0
    h = 0.0
    e = np.zeros(K)
    sse = 0.0
    for t in range(T):
        i = xi[t]
        h_prev = h
        h = baseline_step(w_h[i], h_prev, w_hh[0], W_o[:, i], W_o, y_out[t])  # (BLF1), (BLF2)
        dh = h * (1.0 - h)
        for m in range(I):
            p[m] = dh * w_hh[0] * p[m]  # (TRR1)
        p[i] += dh
        p_hh = dh * (h_prev + w_hh[0] * p_hh)
        sse, e_h = _errors(y_out[t], tgt[t], W_o, e, sse)  # (TRE1)
        if online:  # (TRR2)
            for k in range(K):
                W_o[k, i] += alpha * e[k]
                W_o[k, I] += alpha * e[k] * h
            for m in range(I):
                w_h[m] += alpha * e_h * p[m]
            w_hh[0] += alpha * e_h * p_hh
        else:
            for k in range(K):
                g_o[k, i] += e[k]
                g_o[k, I] += e[k] * h
            for m in range(I):
                g_h[m] += e_h * p[m]
            g_hh[0] += e_h * p_hh
    return sse


@numba.njit(cache=True)
def bptt_sequence(w_h, w_hh, W_o, xi, tgt, alpha, apply, g_h, g_hh, g_o, y_out):
    """One sequence by BPTT: the gradient sums into g_h, g_hh, g_o (zeroed first); ``apply`` adds α × them
    to the weights after the sequence. y_out (T, K) receives the outputs. Returns Σ (t − y)²."""
    T = xi.shape[0]
    K, I1 = W_o.shape
    I = I1 - 1
    hs = np.zeros(T + 1)  # hs[t + 1] = h(t)
    e_h = np.zeros(T)
    e = np.zeros(K)
    g_h[:] = 0.0
    g_hh[0] = 0.0
    g_o[:, :] = 0.0
    sse = 0.0
    for t in range(T):
        i = xi[t]
        h = baseline_step(w_h[i], hs[t], w_hh[0], W_o[:, i], W_o, y_out[t])  # (BLF1), (BLF2)
        hs[t + 1] = h
        sse, e_h[t] = _errors(y_out[t], tgt[t], W_o, e, sse)  # (TRE1)
        for k in range(K):
            g_o[k, i] += e[k]  # (TRB2)
            g_o[k, I] += e[k] * h
    carry = 0.0  # w_hh σ'(net_h(t+1)) d_h(t+1)
    for t in range(T - 1, -1, -1):
        h = hs[t + 1]
        d_h = e_h[t] + carry  # (TRB1)
        delta = h * (1.0 - h) * d_h
        g_h[xi[t]] += delta  # (TRB2)
        g_hh[0] += delta * hs[t]
        carry = w_hh[0] * delta
    if apply:
        for m in range(I):
            w_h[m] += alpha * g_h[m]
        w_hh[0] += alpha * g_hh[0]
        for k in range(K):
            for m in range(I1):
                W_o[k, m] += alpha * g_o[k, m]
    return sse


@numba.njit(cache=True)
def train_presentations(w_h, w_hh, W_o, xi, tgt, order, alpha, bptt):
    """Present sequences order[0], order[1], … of the pool xi (P, T), tgt (P, T, K); update after every
    step (RTRL) or after every sequence (BPTT). Returns the Σ (t − y)² of each presentation."""
    T = xi.shape[1]
    K = W_o.shape[0]
    g_h, g_hh, g_o = np.zeros_like(w_h), np.zeros(1), np.zeros_like(W_o)
    y = np.zeros((T, K))
    sse = np.zeros(order.shape[0])
    for n in range(order.shape[0]):
        j = order[n]
        if bptt:
            sse[n] = bptt_sequence(w_h, w_hh, W_o, xi[j], tgt[j], alpha, True, g_h, g_hh, g_o, y)
        else:
            sse[n] = rtrl_sequence(w_h, w_hh, W_o, xi[j], tgt[j], alpha, True, g_h, g_hh, g_o, y)
    return sse


class TinyRNN:
    """Weights of the baseline net: w_h (I,), w_hh (1,), W_o (K, I + 1), drawn from U[−r, r]."""

    def __init__(self, inputs: int, outputs: int, init_range: float, rng: np.random.Generator) -> None:
        self.w_h = rng.uniform(-init_range, init_range, inputs)
        self.w_hh = rng.uniform(-init_range, init_range, 1)
        self.W_o = rng.uniform(-init_range, init_range, (outputs, inputs + 1))

    @property
    def num_weights(self) -> int:
        return self.w_h.size + self.w_hh.size + self.W_o.size

    def zero_grads(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.zeros_like(self.w_h), np.zeros_like(self.w_hh), np.zeros_like(self.W_o)


__all__ = ["TinyRNN", "bptt_sequence", "rtrl_sequence", "train_presentations"]
