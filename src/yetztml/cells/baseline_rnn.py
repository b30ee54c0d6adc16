"""The 1997 Exp 2a baseline net as a cell: one self-recurrent logistic hidden unit, K logistic outputs.

"Every layer is fed by all layers below" [1997 §5.2]: h from the inputs and itself, the outputs from the
inputs and h; no biases. Weights w_h (I,), w_hh (1,), W_o (K, I + 1) (column I is from h): (I + 1)² in all
(36 for p = 4, 144 for p = 10; Table 2). Forward, step t, from h(−1) (the state, 0 by default)::

    (BLF1) net_h(t) = w_h · x(t) + w_hh h(t−1);               h(t) = σ(net_h(t))
    (BLF2) net_k(t) = W_o[k, :I] · x(t) + W_o[k, I] h(t);    y_k(t) = σ(net_k(t))     (same step, as LSTM)

Backward (BPTT), with d_k(t) = ∂L/∂y_k(t)::

    (BLB1) δ_k(t)   = d_k(t) y_k(t) (1 − y_k(t))
    (BLB2) ∂L/∂h(t) = Σ_k W_o[k, I] δ_k(t) + w_hh δ_h(t+1);   δ_h(t) = h(t) (1 − h(t)) ∂L/∂h(t)
    (BLB3) ∂L/∂w_h = Σ_t δ_h(t) x(t),  ∂L/∂w_hh = Σ_t δ_h(t) h(t−1),
           ∂L/∂W_o[k, :I] = Σ_t δ_k(t) x(t),  ∂L/∂W_o[k, I] = Σ_t δ_k(t) h(t)
    (BLB4) ∂L/∂x(t) = w_h δ_h(t) + W_o[:, :I]ᵀ δ_k(t);   ∂L/∂h(−1) = w_hh δ_h(0) (+ the final-state error
           enters ∂L/∂h(T−1))

σ is (A3) of :mod:`yetztml.core.squash` (one exp). :func:`baseline_step` is the net's one step: this cell
runs it on dense inputs, and the paper's training kernels (RTRL and BPTT on one-hot inputs,
:mod:`yetztml.learning.tiny_rnn`) run it with the active input's weights — for one-hot rows the products
w_h · x(t) are exactly w_h[i(t)], so both give the same numbers.
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.rng import make_rng
from ..core.squash import logistic_exp
from ..core.validation import check_float, check_sizes
from .base import Cell, Grads, Trace


@numba.njit(cache=True, inline="always")
def baseline_step(a_h, h_prev, w_hh, a_k, W_o, y):
    """(BLF1)–(BLF2) from the inputs' parts a_h = w_h · x(t) and a_k (K,) = W_o[:, :I] x(t); y (K,) ← y(t).

    Returns h(t).
    """
    I = W_o.shape[1] - 1
    h = logistic_exp(a_h + w_hh * h_prev)  # (BLF1)
    for k in range(W_o.shape[0]):
        y[k] = logistic_exp(a_k[k] + W_o[k, I] * h)  # (BLF2)
    return h


@numba.njit(cache=True)
def baseline_forward(x, w_h, w_hh, W_o, h0):
    """(BLF1)–(BLF2) over x (T, B, I) from h0 (B,): returns h (T, B) and y (T, B, K)."""
    T, B, I = x.shape
    K = W_o.shape[0]
    h = np.empty((T, B), x.dtype)
    y = np.empty((T, B, K), x.dtype)
    a_k = np.empty(K)
    for b in range(B):
        h_prev = h0[b]
        for t in range(T):
            a_h = 0.0
            for m in range(I):
                a_h += w_h[m] * x[t, b, m]
            for k in range(K):
                acc = 0.0
                for m in range(I):
                    acc += W_o[k, m] * x[t, b, m]
                a_k[k] = acc
            h_prev = baseline_step(a_h, h_prev, w_hh[0], a_k, W_o, y[t, b])
            h[t, b] = h_prev
    return h, y


@numba.njit(cache=True)
def baseline_backward(x, h, y, h0, d_y, d_hT, w_h, w_hh, W_o):
    """(BLB1)–(BLB4): returns ∂w_h (I,), ∂w_hh (1,), ∂W_o (K, I + 1), ∂x (T, B, I), ∂h(−1) (B,)."""
    T, B, I = x.shape
    K = W_o.shape[0]
    g_h = np.zeros(I, x.dtype)
    g_hh = np.zeros(1, x.dtype)
    g_o = np.zeros((K, I + 1), x.dtype)
    dx = np.zeros((T, B, I), x.dtype)
    dh0 = np.zeros(B, x.dtype)
    dk = np.empty(K)
    for b in range(B):
        carry = d_hT[b]  # w_hh δ_h(t+1), or the final-state error at t = T−1
        for t in range(T - 1, -1, -1):
            h_t = h[t, b]
            h_p = h0[b] if t == 0 else h[t - 1, b]
            acc = 0.0
            for k in range(K):
                yk = y[t, b, k]
                dk[k] = yk * (1.0 - yk) * d_y[t, b, k]  # (BLB1)
                acc += W_o[k, I] * dk[k]  # (BLB2)
                g_o[k, I] += dk[k] * h_t  # (BLB3)
                for m in range(I):
                    g_o[k, m] += dk[k] * x[t, b, m]
                    dx[t, b, m] += W_o[k, m] * dk[k]  # (BLB4)
            delta = h_t * (1.0 - h_t) * (acc + carry)  # (BLB2)
            for m in range(I):
                g_h[m] += delta * x[t, b, m]  # (BLB3)
                dx[t, b, m] += w_h[m] * delta  # (BLB4)
            g_hh[0] += delta * h_p
            carry = w_hh[0] * delta
        dh0[b] = carry  # (BLB4)
    return g_h, g_hh, g_o, dx, dh0


class BaselineRNN(Cell):
    """The 1997 Exp 2a baseline net (one logistic hidden unit, no biases), weights from U[−r, r].

    ``BaselineRNN(inputs, outputs, init_range=0.2, seed=0)``; ``params`` are ``w_h`` (I,), ``w_hh`` (1,),
    ``W_o`` (K, I + 1); the state is h (B, 1). float64 only (the paper's nets).
    """

    name = "baseline2a"

    def __init__(self, input_size: int, output_size: int, init_range: float = 0.2, seed=0) -> None:
        cls = type(self).__name__
        input_size, output_size = check_sizes(cls, input_size=input_size, output_size=output_size)
        init_range = check_float(f"{cls}(init_range=...)", init_range, minimum=0.0)
        super().__init__(input_size, output_size, np.float64)
        rng = make_rng(seed)
        self.params["w_h"] = rng.uniform(-init_range, init_range, input_size)
        self.params["w_hh"] = rng.uniform(-init_range, init_range, 1)
        self.params["W_o"] = rng.uniform(-init_range, init_range, (output_size, input_size + 1))

    def zero_state(self, batch: int) -> np.ndarray:
        """h(−1) = 0, (B, 1)."""
        return np.zeros((batch, 1), self.dtype)

    def forward(self, x, state=None) -> Trace:
        """(BLF1)–(BLF2) over x (T, B, I); the trace keeps h (T, B) in ``extras["h"]``."""
        cls = type(self).__name__
        x = self._check_input(x)
        self._check_params_finite()
        B = x.shape[1]
        h0 = self.zero_state(B) if state is None else np.array(
            self._check_state(f"{cls}.forward(state)", state, self.zero_state(B)), dtype=self.dtype)
        p = self.params
        h, y = baseline_forward(x, p["w_h"], p["w_hh"], p["W_o"], np.ascontiguousarray(h0[:, 0]))
        return Trace(x=x, outputs=y, initial_state=h0, final_state=h[-1][:, None].copy(), extras={"h": h})

    def backward(self, trace: Trace, d_outputs, d_final_state=None) -> Grads:
        """Gradient of Σ d_outputs·outputs (+ Σ d_final_state·h(T−1)) by (BLB1)–(BLB4)."""
        cls = type(self).__name__
        d_y = np.ascontiguousarray(self._check_d_outputs(trace, d_outputs))
        B = trace.x.shape[1]
        d_hT = np.zeros(B) if d_final_state is None else np.array(
            self._check_state(f"{cls}.backward(d_final_state)", d_final_state, self.zero_state(B)))[:, 0]
        p = self.params
        g_h, g_hh, g_o, dx, dh0 = baseline_backward(
            trace.x, trace.extras["h"], trace.outputs, np.ascontiguousarray(trace.initial_state[:, 0]), d_y,
            np.ascontiguousarray(d_hT), p["w_h"], p["w_hh"], p["W_o"],
        )
        return Grads({"w_h": g_h, "w_hh": g_hh, "W_o": g_o}, inputs=dx, initial_state=dh0[:, None])


__all__ = ["BaselineRNN", "baseline_backward", "baseline_forward", "baseline_step"]
