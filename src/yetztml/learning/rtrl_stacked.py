"""RTRL step Jacobians (RT2) of the PyTorch-layout cells: RNN, LSTM and GRU, unidirectional, stacked.

The state z of one sequence is the cell's state parts laid end to end, each part ``(L, H)`` read layer
by layer: RNN/GRU z = [h_l0 … h_l(L−1)], LSTM z = [h_l0 … h_l(L−1), c_l0 … c_l(L−1)]. Within one step
layer l reads h^(l−1)(t) of the same step, so its input derivative d x^(l)(t) is the d h^(l−1)(t) just
computed (0 for l = 0). With d· = ∂·/∂[z(t−1); θ] (B, ·, D) and the cells' equations::

    (RS1)  da   = W_ih dx + W_hh dh(t−1) + ∂(W_ih x + b_ih + W_hh h(t−1) + b_hh)/∂θ  RNN (RNF1), LSTM (LSF1)
    (RS2)  dh   = φ'(a) ⊙ da                                                             RNN (RNF2)
    (RS3)  di = i(1−i) da_i,  df = f(1−f) da_f,  dg = (1−g²) da_g,  do = o(1−o) da_o       LSTM (LSF2)–(LSF5)
    (RS4)  dc   = f dc(t−1) + c(t−1) df + i dg + g di                                     LSTM (LSF6)
    (RS5)  dh   = o (1 − tanh²c) dc + tanh c do                                           LSTM (LSF7)
    (RS6)  dp   = W_ih dx + ∂(W_ih x + b_ih)/∂θ;   dq = W_hh dh(t−1) + ∂(W_hh h(t−1) + b_hh)/∂θ   GRU (GF1), (GF2)
    (RS7)  dr = r(1−r)(dp_r + dq_r),  dz = z(1−z)(dp_z + dq_z),  dn = (1−n²)(dp_n + r dq_n + q_n dr)
    (RS8)  dh   = (1−z) dn + (h(t−1) − n) dz + z dh(t−1)                                  GRU (GF6)

dh(t−1), dc(t−1) are unit rows (the state's own columns); y(t) = h^(L−1)(t), so J_y, I_y are the last
layer's dh. Gate values come from the recorded trace.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cells.base import Cell
from ..cells.gru import GRU
from ..cells.lstm import LSTM
from ..core import activations
from .rtrl_layout import Layout, add_bias, add_weight, selection


def _phi_prime(kind: int, y: np.ndarray) -> np.ndarray:
    """φ'(a) from y = φ(a) for the RNN's squashing functions (relu: a > 0 ⇔ y > 0)."""
    if kind == activations.TANH:
        return 1.0 - y * y
    if kind == activations.LOGISTIC:
        return y * (1.0 - y)
    return (y > 0.0).astype(np.float64)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


class StackedModel:
    """(RS1)–(RS8) for a unidirectional RNN, LSTM or GRU with any number of layers."""

    def __init__(self, cell: Cell) -> None:
        self.cell = cell
        self.kind = "lstm" if isinstance(cell, LSTM) else "gru" if isinstance(cell, GRU) else "rnn"
        L, H = cell.num_layers, cell.hidden_size
        self.parts = len(cell.state_names)
        self.layout = Layout.of(cell, self.parts * L * H)
        self.h_cols = [l * H + np.arange(H) for l in range(L)]  # z columns of h_l
        self.c_cols = [(L + l) * H + np.arange(H) for l in range(L)]  # z columns of c_l (LSTM)
        self.sel_h = [selection(self.layout, cols) for cols in self.h_cols]  # (H, D)
        self.sel_c = [selection(self.layout, cols) for cols in self.c_cols] if self.parts == 2 else []

    def _affine(self, d: np.ndarray, w: np.ndarray, u: np.ndarray, d_u: Any, w_name: str, b_name: str | None):
        """d (B, m, D) += w d_u + ∂(w u + b)/∂θ; d_u is (B, k, D), a constant (k, D), or None (zero)."""
        if d_u is not None:
            d += np.matmul(w, d_u)
        add_weight(self.layout, d, w, u, w_name)
        if b_name is not None:
            add_bias(self.layout, d, b_name)

    def step(self, trace, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(RT2) at step t: dz (B, n, D) and dy (B, H, D)."""
        p, lay = self.cell.params, self.layout
        B = trace.x.shape[1]
        H = self.cell.hidden_size
        dz = np.zeros((B, lay.n, lay.D))
        below = None  # dx^(l)(t): None for the first layer (x(t) is not a function of z or θ)
        for l, (sweep,) in enumerate(trace.layers):
            w_ih = _f64(p[f"weight_ih_l{l}"])
            w_hh = _f64(p[f"weight_hh_l{l}"])
            b_ih = f"bias_ih_l{l}" if self.cell.bias else None
            b_hh = f"bias_hh_l{l}" if self.cell.bias else None
            x = _f64(sweep.x[t])  # (B, I_l)
            h_prev = _f64(sweep.h[t])  # (B, H) → direction: h[t] holds h(t−1)
            rows = w_hh.shape[0]
            if self.kind == "gru":
                dp = np.zeros((B, rows, lay.D))
                self._affine(dp, w_ih, x, below, f"weight_ih_l{l}", b_ih)  # (RS6)
                dq = np.zeros((B, rows, lay.D))
                self._affine(dq, w_hh, h_prev, self.sel_h[l], f"weight_hh_l{l}", b_hh)  # (RS6)
                gates = _f64(sweep.gates[t])
                r, z, n = gates[:, :H, None], gates[:, H : 2 * H, None], gates[:, 2 * H :, None]
                q_n = _f64(sweep.q_n[t])[:, :, None]
                dr = r * (1.0 - r) * (dp[:, :H] + dq[:, :H])  # (RS7)
                d_z = z * (1.0 - z) * (dp[:, H : 2 * H] + dq[:, H : 2 * H])
                dn = (1.0 - n * n) * (dp[:, 2 * H :] + r * dq[:, 2 * H :] + q_n * dr)
                dh = (1.0 - z) * dn + (h_prev[:, :, None] - n) * d_z + z * self.sel_h[l]  # (RS8)
            else:
                da = np.zeros((B, rows, lay.D))
                self._affine(da, w_ih, x, below, f"weight_ih_l{l}", b_ih)  # (RS1)
                da += np.matmul(w_hh, self.sel_h[l])  # (RS1) W_hh dh(t−1)
                add_weight(lay, da, w_hh, h_prev, f"weight_hh_l{l}")
                if b_hh is not None:
                    add_bias(lay, da, b_hh)
                if self.kind == "rnn":
                    dh = _phi_prime(self.cell.kind, _f64(sweep.h[t + 1]))[:, :, None] * da  # (RS2)
                else:
                    gates = _f64(sweep.gates[t])
                    i, f = gates[:, :H, None], gates[:, H : 2 * H, None]
                    g, o = gates[:, 2 * H : 3 * H, None], gates[:, 3 * H :, None]
                    di = i * (1.0 - i) * da[:, :H]  # (RS3)
                    df = f * (1.0 - f) * da[:, H : 2 * H]
                    dg = (1.0 - g * g) * da[:, 2 * H : 3 * H]
                    do = o * (1.0 - o) * da[:, 3 * H :]
                    c_prev = _f64(sweep.c[t])[:, :, None]
                    dc = f * self.sel_c[l] + c_prev * df + i * dg + g * di  # (RS4)
                    tc = _f64(sweep.tanh_c[t])[:, :, None]
                    dh = o * (1.0 - tc * tc) * dc + tc * do  # (RS5)
                    dz[:, self.c_cols[l]] = dc
            dz[:, self.h_cols[l]] = dh
            below = dh
        return dz, below

    def unflatten_state(self, grad_z0: np.ndarray, trace, dtype: np.dtype):
        """(B, n) → the cell's state structure, each part (L, B, H)."""
        B = grad_z0.shape[0]
        L, H = self.cell.num_layers, self.cell.hidden_size
        parts = grad_z0.reshape(B, self.parts, L, H).transpose(1, 2, 0, 3).astype(dtype)  # (P, L, B, H)
        init = trace.initial_state
        if isinstance(init, np.ndarray):
            return np.ascontiguousarray(parts[0])
        return type(init)(*[np.ascontiguousarray(part) for part in parts])
