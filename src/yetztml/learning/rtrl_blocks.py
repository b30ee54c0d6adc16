"""RTRL step Jacobians (RT2) of the memory-block cells: LSTM1997, LSTMForget, LSTMPeephole.

The state z of one sequence is the cell's state tuple laid end to end: [y^c (N); y^in (C); y^φ (C, forget
gate only); y^out (C, output gate only); s (N)]. u(t) holds x(t) and (by ``recurrent``) entries of z(t−1),
so du is a constant selection (zero rows for x). Block j(n) is the block of cell n. With
d· = ∂·/∂[z(t−1); θ] (B, ·, D) and the cells' equations (BF1)–(BF9)::

    (RB1)  dnet_c   = W_c du + ∂(W_c u + b_c)/∂θ;                 dg_c = g'(net_c) dnet_c          (BF2)
    (RB2)  dnet_in  = W_in du + P_in ds(t−1) + ∂(W_in u + b_in + P_in s(t−1))/∂θ;  dy^in = σ' dnet_in  (BF3)
    (RB3)  dnet_φ   = W_φ du + P_φ ds(t−1) + ∂(W_φ u + b_φ + P_φ s(t−1))/∂θ;     dy^φ = σ' dnet_φ     (BF4)
    (RB4)  ds       = y^φ ds(t−1) + s(t−1) dy^φ + y^in dg_c + g_c dy^in      (y^φ ≡ 1 without forget gate)  (BF5)
    (RB5)  dnet_out = W_out du + P_out ds + ∂(W_out u + b_out + P_out s(t))/∂θ;  dy^out = σ' dnet_out    (BF6)
    (RB6)  dy^c     = y^out h'(s) ds + h(s) dy^out                         (y^out ≡ 1 without output gate)  (BF7)
    (RB7)  dnet_k   = W_k dv + ∂(W_k v + b_k)/∂θ,  dv = [0 (shortcut x); dy^c];  dy^k = f_k'(net_k) dnet_k  (BF8), (BF9)

Gate and state values come from the recorded trace. This is the full gradient: nothing is truncated.
"""

from __future__ import annotations

import numpy as np

from ..cells.block_cell import MemoryBlockCell
from ..core import activations
from .rtrl_layout import Layout, add_bias, add_weight, selection


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


class BlockModel:
    """(RB1)–(RB7) for every memory-block cell and option (recurrent, shortcut, biases, gates, peepholes)."""

    def __init__(self, cell: MemoryBlockCell) -> None:
        self.cell = cell
        C, S, N = cell.num_blocks, cell.block_size, cell.num_cells
        Cf = C if cell.forget_gate else 0
        Co = C if cell.output_gate else 0
        self.sizes = (N, C, Cf, Co, N)  # z = [y^c; y^in; y^φ; y^out; s]
        at = np.cumsum((0,) + self.sizes)
        self.z_c, self.z_in, self.z_phi, self.z_out, self.z_s = (int(a) for a in at[:5])
        self.layout = Layout.of(cell, int(at[-1]))
        self.block = np.arange(N) // S  # j(n)
        self.kinds = tuple(activations.CODES[name] for name in (cell.g, cell.h, cell.output))
        I = cell.input_size
        sources = [-1] * I  # x(t): not a function of z(t−1)
        if cell.recurrent in ("cells", "full"):
            sources += list(range(self.z_c, self.z_c + N))
        if cell.recurrent == "full":
            sources += list(range(self.z_in, self.z_in + C))
            sources += list(range(self.z_phi, self.z_phi + Cf))
            sources += list(range(self.z_out, self.z_out + Co))
        self.du = selection(self.layout, np.array(sources))  # (U, D)
        self.ds_prev = selection(self.layout, np.arange(self.z_s, self.z_s + N))  # (N, D)

    def _net(self, B: int, gate: str, u: np.ndarray, peek: np.ndarray | None, d_peek: np.ndarray | None):
        """dnet (B, rows, D) of the unit kind ``gate`` ("c", "in", "phi", "out") (RB1)–(RB3), (RB5)."""
        p, lay = self.cell.params, self.layout
        w = _f64(p[f"W_{gate}"])
        d = np.zeros((B, w.shape[0], lay.D))
        d += np.matmul(w, self.du)
        add_weight(lay, d, w, u, f"W_{gate}")
        if f"b_{gate}" in p:
            add_bias(lay, d, f"b_{gate}")
        if peek is not None and f"P_{gate}" in p:  # Σ_v P[j, v] s_{c_j^v}: the block's own cells
            P = _f64(p[f"P_{gate}"])  # (C, S)
            C, S = P.shape
            d += np.einsum("js,bjsd->bjd", P, d_peek.reshape(B, C, S, lay.D))  # P dpeek
            cols = lay.column(f"P_{gate}") + np.arange(C * S).reshape(C, S)  # ∂/∂P[j, v] = s_{c_j^v}
            d[:, np.arange(C)[:, None], cols] += peek.reshape(B, C, S)
        return d

    def step(self, trace, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(RT2) at step t: dz (B, n, D) and dy (B, K, D)."""
        cell, lay, blk = self.cell, self.layout, self.block
        g_kind, h_kind, k_kind = self.kinds
        u = _f64(trace.u[t])  # (B, U)
        B = u.shape[0]
        s_prev = _f64(trace.initial_state.s if t == 0 else trace.s[t - 1])  # (B, N)
        s = _f64(trace.s[t])
        d_sp = np.broadcast_to(self.ds_prev, (B,) + self.ds_prev.shape)
        net_c = _f64(trace.net_c[t])
        dg = activations.derivative_np(g_kind, net_c)[:, :, None] * self._net(B, "c", u, None, None)  # (RB1)
        yi = _f64(trace.y_in[t])
        dyi = (yi * (1.0 - yi))[:, :, None] * self._net(B, "in", u, s_prev, d_sp)  # (RB2)
        g = _f64(trace.g[t])
        ds = yi[:, blk, None] * dg + g[:, :, None] * dyi[:, blk]  # (RB4)
        rows = [None, dyi, None, None, None]
        if cell.forget_gate:
            yf = _f64(trace.y_phi[t])
            dyf = (yf * (1.0 - yf))[:, :, None] * self._net(B, "phi", u, s_prev, d_sp)  # (RB3)
            ds += yf[:, blk, None] * d_sp + s_prev[:, :, None] * dyf[:, blk]  # (RB4)
            rows[2] = dyf
        else:
            ds += d_sp  # (RB4) the CEC: ∂s(t)/∂s(t−1) = 1
        h_p = activations.derivative_np(h_kind, s)[:, :, None]
        if cell.output_gate:
            yo = _f64(trace.y_out[t])
            dyo = (yo * (1.0 - yo))[:, :, None] * self._net(B, "out", u, s, ds)  # (RB5)
            dyc = yo[:, blk, None] * h_p * ds + _f64(trace.h_s[t])[:, :, None] * dyo[:, blk]  # (RB6)
            rows[3] = dyo
        else:
            dyc = h_p * ds  # (RB6)
        rows[0], rows[4] = dyc, ds
        dz = np.concatenate([r for r in rows if r is not None], axis=1)
        w_k = _f64(cell.params["W_k"])
        v = _f64(trace.v[t])
        I = cell.input_size if cell.shortcut else 0
        d_net_k = np.matmul(w_k[:, I:], dyc)  # (RB7) W_k dv, dv = [0; dy^c]
        add_weight(lay, d_net_k, w_k, v, "W_k")
        if "b_k" in cell.params:
            add_bias(lay, d_net_k, "b_k")
        f_p = activations.derivative_np(k_kind, _f64(trace.net_k[t]))
        return dz, f_p[:, :, None] * d_net_k  # (RB7)

    def unflatten_state(self, grad_z0: np.ndarray, trace, dtype: np.dtype):
        """(B, n) → the cell's state NamedTuple."""
        bounds = np.cumsum((0,) + self.sizes)
        parts = [
            np.ascontiguousarray(grad_z0[:, a:b].astype(dtype)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        if not self.cell.forget_gate:
            del parts[2]
        return type(trace.initial_state)(*parts)
