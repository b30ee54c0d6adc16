"""The memory-block family's compiled kernels: one forward, one backward for 1997, forget and peephole LSTM.

Forward: the equations (BF1)–(BF9) of :mod:`yetztml.cells.block_step`, whose compiled functions (``gate``,
``cec``, ``cell_output``) this batched kernel runs for every example after one product W_h u(t) for the
whole batch. All rows of W_c, W_in,
W_φ, W_out are stacked into one matrix W_h (H, U) so each step needs one product.

Backward (full BPTT), with δ = ∂L/∂net and ε(t) the error reaching the recurrent sources of u(t+1)::

    (BB1) δ_k(t)      = ∂L/∂y^k(t) · f_k'(net_k(t))
    (BB2) ∂L/∂v(t)    = W_kᵀ δ_k(t);   ∂L/∂y^c(t) = [∂L/∂v(t)]_c + ε_c(t)
    (BB3) δ_out(t)    = σ'(net_out) (Σ_v ∂L/∂y^c(t) h(s(t)) + ε_out(t))
    (BB4) ∂L/∂s(t)    = ∂L/∂y^c(t) y^out(t) h'(s(t)) + ε_s(t) + P_out δ_out(t)
    (BB5) δ_in(t)     = σ'(net_in) (Σ_v ∂L/∂s(t) g_c(t) + ε_in(t))
    (BB6) δ_c(t)      = ∂L/∂s(t) y^in(t) g'(net_c(t))
    (BB7) δ_φ(t)      = σ'(net_φ) (Σ_v ∂L/∂s(t) s(t−1) + ε_φ(t))
    (BB8) ε_s(t−1)    = y^φ(t) ∂L/∂s(t) + P_in δ_in(t) + P_φ δ_φ(t)
    (BB9) ∂L/∂u(t)    = W_hᵀ δ_h(t) → ∂L/∂x(t) (input columns), ε(t−1) (recurrent columns)
    (BB10) ∂L/∂W_h = Σ_t δ_h(t) u(t)ᵀ, ∂L/∂b_h = Σ_t δ_h(t), ∂L/∂W_k = Σ_t δ_k(t) v(t)ᵀ, ∂L/∂b_k = Σ_t δ_k(t),
          ∂L/∂P_in = Σ_t δ_in(t) s(t−1), ∂L/∂P_φ = Σ_t δ_φ(t) s(t−1), ∂L/∂P_out = Σ_t δ_out(t) s(t)

ε at the last step is the error given on the final state; ε(−1) and ε_s(−1) are the gradient of the initial
state. ``truncate=True`` is the 1997 truncated gradient in backward form [1997 App. A.1, eqs. 12–15]: the
recurrent part of (BB9) is dropped (ε(t−1) = 0: no error through y^u(t−1) into net_c, net_in, net_φ, net_out)
and so are the peephole terms of (BB4) and (BB8) (no error from gates to the CEC [Gers 2002 §3]); the CEC edge
ε_s(t−1) = y^φ(t) ∂L/∂s(t) stays.

Shapes: T time, B batch, I inputs, C blocks, S cells per block, N = C·S cells, K outputs, U = I + recurrent
sources, V = (I if shortcut) + N, H = N + C (+ C forget) (+ C output gate); arrays are time-major (T, B, ·).
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.activations import apply, derivative
from ..core.linalg import gemm_nn, gemm_nt, gemm_tn
from .block_step import REC_CELLS, REC_FULL, cec, cell_output, gate


@numba.njit(cache=True, inline="always")
def _gate_net(net_h, b_h, P, s_p, b, o, r, j, S, has_peep):
    """net of the input (r = 0) or forget (r = 1) gate j of example b: row o + j of W_h u(t) plus its bias, then
    the peephole terms P[r] of block j from s(t−1) [Gers 2002 §3]."""
    a = net_h[b, o + j] + b_h[o + j]
    if has_peep:
        for q in range(S):
            a += P[r, j, q] * s_p[b, j * S + q]
    return a


@numba.njit(cache=True)
def block_forward(
    x, W_h, b_h, P, W_k, b_k, y_c0, y_in0, y_phi0, y_out0, s0,
    C, S, g_kind, h_kind, k_kind, recurrent, shortcut, has_forget, has_out, has_peep,
):
    """Run (BF1)–(BF9) over a sequence; returns every trajectory (see the module docstring for shapes).

    u(t) and the products are batched; the equations are the compiled functions of
    :mod:`yetztml.cells.block_step` (``gate``, ``cec``, ``cell_output``).
    """
    T, B, I = x.shape
    N = C * S
    H, U = W_h.shape
    K, V = W_k.shape
    Cf = C if has_forget else 0
    Co = C if has_out else 0
    o_in = N  # row offsets of the gates inside W_h
    o_phi = N + C
    o_out = N + C + Cf
    dt = x.dtype
    u = np.zeros((T, B, U), dt)  # (T, B, U)
    v = np.zeros((T, B, V), dt)  # (T, B, V)
    net_c = np.empty((T, B, N), dt)
    g_c = np.empty((T, B, N), dt)
    net_in = np.empty((T, B, C), dt)
    y_in = np.empty((T, B, C), dt)
    net_phi = np.empty((T, B, Cf), dt)
    y_phi = np.empty((T, B, Cf), dt)
    s = np.empty((T, B, N), dt)
    net_out = np.empty((T, B, Co), dt)
    y_out = np.empty((T, B, Co), dt)
    h_s = np.empty((T, B, N), dt)
    y_c = np.empty((T, B, N), dt)
    net_k = np.zeros((T, B, K), dt)  # zeros: gemm_nt reads out[i, j] even when it overwrites
    y_k = np.empty((T, B, K), dt)
    net_h = np.zeros((B, H), dt)  # W_h u(t), all hidden rows at once
    for t in range(T):
        if t == 0:
            yc_p, yin_p, yphi_p, yout_p, s_p = y_c0, y_in0, y_phi0, y_out0, s0
        else:
            yc_p, yin_p, yphi_p, yout_p, s_p = y_c[t - 1], y_in[t - 1], y_phi[t - 1], y_out[t - 1], s[t - 1]
        for b in range(B):  # (BF1) u(t) = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]
            for i in range(I):
                u[t, b, i] = x[t, b, i]
            if recurrent >= REC_CELLS:
                for n in range(N):
                    u[t, b, I + n] = yc_p[b, n]
            if recurrent == REC_FULL:
                o = I + N
                for j in range(C):
                    u[t, b, o + j] = yin_p[b, j]
                o += C
                for j in range(Cf):
                    u[t, b, o + j] = yphi_p[b, j]
                o += Cf
                for j in range(Co):
                    u[t, b, o + j] = yout_p[b, j]
        gemm_nt(u[t], W_h, net_h, False)  # (B, H) = (B, U)·(H, U)ᵀ
        for b in range(B):
            for j in range(C):
                a = _gate_net(net_h, b_h, P, s_p, b, o_in, 0, j, S, has_peep)
                net_in[t, b, j] = a
                yi = gate(a, False)  # (BF3) [1997 eq. 7]
                y_in[t, b, j] = yi
                yf = 1.0
                if has_forget:
                    a = _gate_net(net_h, b_h, P, s_p, b, o_phi, 1, j, S, has_peep)
                    net_phi[t, b, j] = a
                    yf = gate(a, False)  # (BF4) [Gers 2000]
                    y_phi[t, b, j] = yf
                for q in range(S):
                    n = j * S + q
                    nc = net_h[b, n] + b_h[n]
                    net_c[t, b, n] = nc
                    gc, sn = cec(yf, s_p[b, n], yi, nc, g_kind, False)  # (BF2), (BF5) [1997 eq. 9; Gers 2000]
                    g_c[t, b, n] = gc
                    s[t, b, n] = sn
                yo = 1.0
                if has_out:
                    a = net_h[b, o_out + j] + b_h[o_out + j]
                    if has_peep:
                        for q in range(S):
                            a += P[2, j, q] * s[t, b, j * S + q]
                    net_out[t, b, j] = a  # peephole sees s(t) [Gers 2002 §3]
                    yo = gate(a, False)  # (BF6) [1997 eq. 8]
                    y_out[t, b, j] = yo
                for q in range(S):
                    n = j * S + q
                    hs, yc = cell_output(yo, s[t, b, n], h_kind, False)  # (BF7) [1997 eq. 9], s(t) as stored
                    h_s[t, b, n] = hs
                    y_c[t, b, n] = yc
            o = 0
            if shortcut:  # (BF8) v(t) = [x(t); y^c(t)]
                for i in range(I):
                    v[t, b, i] = x[t, b, i]
                o = I
            for n in range(N):
                v[t, b, o + n] = y_c[t, b, n]
        gemm_nt(v[t], W_k, net_k[t], False)  # (B, K) = (B, V)·(K, V)ᵀ
        for b in range(B):
            for k in range(K):
                a_k = net_k[t, b, k] + b_k[k]
                net_k[t, b, k] = a_k  # (BF9) same-step output [1997 §5 intro]
                y_k[t, b, k] = apply(k_kind, a_k)
    return u, v, net_c, g_c, net_in, y_in, net_phi, y_phi, s, net_out, y_out, h_s, y_c, net_k, y_k


@numba.njit(cache=True)
def block_backward(
    u, v, net_c, g_c, y_in, y_phi, s, y_out, h_s, net_k, y_k, s0,
    W_h, P, W_k, d_y_k, e_c0, e_in0, e_phi0, e_out0, e_s0,
    C, S, I, g_kind, h_kind, k_kind, recurrent, shortcut, has_forget, has_out, has_peep, truncate,
):
    """Run (BB1)–(BB10) backwards over the sequence; ``e_*0`` are the errors on the final state.

    Returns dW_h (H, U), db_h (H,), dP (3, C, S), dW_k (K, V), db_k (K,), dx (T, B, I) and the errors on
    the initial state (e_c, e_in, e_φ, e_out, e_s), each (B, ·).
    """
    T, B, U = u.shape
    N = C * S
    H = W_h.shape[0]
    K, V = W_k.shape
    Cf = C if has_forget else 0
    Co = C if has_out else 0
    o_in = N
    o_phi = N + C
    o_out = N + C + Cf
    dt = u.dtype
    d_net_h = np.zeros((T, B, H), dt)  # δ_h(t) = [δ_c; δ_in; δ_φ; δ_out]
    d_net_k = np.empty((T, B, K), dt)
    dx = np.zeros((T, B, I), dt)
    dP = np.zeros((3, C, S), dt)
    e_c = e_c0.copy()  # ε(t): error reaching the t activations through u(t+1) (or the final state)
    e_in = e_in0.copy()
    e_phi = e_phi0.copy()
    e_out = e_out0.copy()
    e_s = e_s0.copy()  # ε_s(t): error reaching s(t) from step t+1 (or the final state)
    dv = np.empty((B, V), dt)
    du = np.empty((B, U), dt)
    ds = np.empty(S, dt)
    d_yc = np.empty(S, dt)
    full = not truncate
    for t in range(T - 1, -1, -1):
        s_p = s0 if t == 0 else s[t - 1]
        for b in range(B):
            for k in range(K):
                d_net_k[t, b, k] = d_y_k[t, b, k] * derivative(k_kind, net_k[t, b, k], y_k[t, b, k])  # (BB1)
        gemm_nn(d_net_k[t], W_k, dv, False)  # (BB2) (B, V) = (B, K)·(K, V)
        for b in range(B):
            o = 0
            if shortcut:
                for i in range(I):
                    dx[t, b, i] += dv[b, i]
                o = I
            for j in range(C):
                for q in range(S):
                    n = j * S + q
                    d_yc[q] = dv[b, o + n] + e_c[b, n]  # (BB2)
                yo = 1.0
                d_out = 0.0
                if has_out:
                    yo = y_out[t, b, j]
                    acc = e_out[b, j]
                    for q in range(S):
                        acc += d_yc[q] * h_s[t, b, j * S + q]
                    d_out = acc * yo * (1.0 - yo)  # (BB3) [1997 eq. 21]
                    d_net_h[t, b, o_out + j] = d_out
                for q in range(S):
                    n = j * S + q
                    d = d_yc[q] * yo * derivative(h_kind, s[t, b, n], h_s[t, b, n]) + e_s[b, n]
                    if has_out and has_peep and full:
                        d += P[2, j, q] * d_out
                    ds[q] = d  # (BB4) [1997 eq. 23] + CEC carry
                yi = y_in[t, b, j]
                acc = e_in[b, j]
                for q in range(S):
                    acc += ds[q] * g_c[t, b, j * S + q]
                d_in = acc * yi * (1.0 - yi)  # (BB5) [1997 eqs. 24–26]
                d_net_h[t, b, o_in + j] = d_in
                for q in range(S):
                    n = j * S + q
                    g_prime = derivative(g_kind, net_c[t, b, n], g_c[t, b, n])
                    d_net_h[t, b, n] = ds[q] * yi * g_prime  # (BB6) [1997 eqs. 27–28]
                yf = 1.0
                d_phi = 0.0
                if has_forget:
                    yf = y_phi[t, b, j]
                    acc = e_phi[b, j]
                    for q in range(S):
                        acc += ds[q] * s_p[b, j * S + q]
                    d_phi = acc * yf * (1.0 - yf)  # (BB7) [Gers 2000 eqs. 3.10–3.12]
                    d_net_h[t, b, o_phi + j] = d_phi
                for q in range(S):
                    n = j * S + q
                    d = yf * ds[q]
                    if has_peep and full:
                        d += P[0, j, q] * d_in
                        if has_forget:
                            d += P[1, j, q] * d_phi
                    e_s[b, n] = d  # (BB8) CEC: ∂s(t)/∂s(t−1) = y^φ(t) (= 1 without forget gate) [1997 eq. 30]
                if has_peep:  # (BB10) peephole weights
                    for q in range(S):
                        n = j * S + q
                        dP[0, j, q] += d_in * s_p[b, n]
                        if has_forget:
                            dP[1, j, q] += d_phi * s_p[b, n]
                        if has_out:
                            dP[2, j, q] += d_out * s[t, b, n]
        gemm_nn(d_net_h[t], W_h, du, False)  # (BB9) (B, U) = (B, H)·(H, U)
        for b in range(B):
            for i in range(I):
                dx[t, b, i] += du[b, i]
            rec_cells = full and recurrent >= REC_CELLS
            rec_full = full and recurrent == REC_FULL
            for n in range(N):
                e_c[b, n] = du[b, I + n] if rec_cells else 0.0
            o = I + N
            for j in range(C):
                e_in[b, j] = du[b, o + j] if rec_full else 0.0
            o += C
            for j in range(Cf):
                e_phi[b, j] = du[b, o + j] if rec_full else 0.0
            o += Cf
            for j in range(Co):
                e_out[b, j] = du[b, o + j] if rec_full else 0.0
    dW_h = np.empty((H, U), dt)  # (BB10) one product over all T·B rows
    gemm_tn(d_net_h.reshape(T * B, H), u.reshape(T * B, U), dW_h, False)
    dW_k = np.empty((K, V), dt)
    gemm_tn(d_net_k.reshape(T * B, K), v.reshape(T * B, V), dW_k, False)
    db_h = np.zeros(H, dt)
    db_k = np.zeros(K, dt)
    for t in range(T):
        for b in range(B):
            for r in range(H):
                db_h[r] += d_net_h[t, b, r]
            for k in range(K):
                db_k[k] += d_net_k[t, b, k]
    return dW_h, db_h, dP, dW_k, db_k, dx, e_c, e_in, e_phi, e_out, e_s
