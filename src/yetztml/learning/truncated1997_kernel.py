"""The 1997 truncated-gradient algorithm's compiled kernel: one forward step, one error step, the driver.

The equations (TP1)–(TP4), (TE1)–(TE4), (TU1)–(TU6) and the two uses (per sequence, online) are in the
docstring of :mod:`yetztml.learning.truncated1997`, the Python side (packing, validation, the gradient
method, the per-step interface). Here: :func:`forward_step` runs (BF1)–(BF9) through the memory-block step
:func:`~yetztml.cells.block_step.gate`, ``cec`` and ``cell_output`` (the local derivatives (BD1)–(BD3) feed
the partials),
:func:`error_step` the errors and weight changes, :func:`run` the sequences; ``run`` is the only compiled
entry point (the step functions are inlined into it).
"""

from __future__ import annotations

import numba
import numpy as np

from ..cells.block_step import REC_CELLS, REC_FULL, cec, cell_output, gate
from ..core.activations import apply, derivative

#: Bits of the kernels' ``bias`` flag: which bias vectors exist (absent ones are zeros, never updated).
BIAS_CELLS = 1
BIAS_GATES = 2
BIAS_OUTPUTS = 4


@numba.njit(cache=True, inline="always")
def _net(W, b, r, u, U):
    """Row r of W u(t) + b (u's first U entries, summed in order)."""
    acc = 0.0
    for m in range(U):
        acc += W[r, m] * u[m]
    return acc + b[r]


@numba.njit(cache=True, inline="always")
def _gate_net(W, b, P, j, u, U, s, S, has_peep):
    """net of gate j: W u(t) + b, then the peephole terms P s of block j (s(t−1) for the input and forget gates,
    s(t) for the output gate [Gers 2002 §3])."""
    a = _net(W, b, j, u, U)
    if has_peep:
        for q in range(S):
            a += P[j, q] * s[j * S + q]
    return a


@numba.njit(cache=True, inline="always")
def forward_step(x_t, prm, car, buf, fl):
    """(BF1)–(BF9) for one sequence and one step, and the partials (TP1)–(TP4). x_t (I,).

    ``car`` (carried between steps): y^c, y^in, y^φ, y^out, s of step t−1 and the partials;
    ``buf`` (this step's values, read by :func:`error_step`). Ends by moving this step's state into ``car``.
    """
    W_c, b_c, W_in, b_in, W_phi, b_phi, W_out, b_out, P_in, P_phi, P_out, W_k, b_k = prm
    yc_p, yin_p, yphi_p, yout_p, s_p, dS_c, dS_in, dS_phi, dP_in, dP_phi, ds0 = car
    u, g_c, y_in, y_phi, s, y_out, dy_out, h_s, dh_s, y_c, v, net_k, y_k = buf[:13]
    C, S, g_kind, h_kind, k_kind, recurrent, shortcut, has_forget, has_out, has_peep, _ = fl
    I = x_t.shape[0]
    N = C * S
    Cf = y_phi.shape[0]
    Co = y_out.shape[0]
    U = u.shape[0] - 1  # u[U] = 1: the bias "source", so bias partials are column U
    u[U] = 1.0
    for i in range(I):  # (BF1) u(t) = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]
        u[i] = x_t[i]
    if recurrent >= REC_CELLS:
        for n in range(N):
            u[I + n] = yc_p[n]
    if recurrent == REC_FULL:
        o = I + N
        for j in range(C):
            u[o + j] = yin_p[j]
        o += C
        for j in range(Cf):
            u[o + j] = yphi_p[j]
        o += Cf
        for j in range(Co):
            u[o + j] = yout_p[j]
    for j in range(C):
        yi = gate(_gate_net(W_in, b_in, P_in, j, u, U, s_p, S, has_peep), False)  # (BF3) [1997 eq. 7]
        y_in[j] = yi
        fi = yi * (1.0 - yi)  # f'_in
        yf = 1.0
        ff = 0.0
        if has_forget:
            yf = gate(_gate_net(W_phi, b_phi, P_phi, j, u, U, s_p, S, has_peep), False)  # (BF4) [Gers 2000]
            y_phi[j] = yf
            ff = yf * (1.0 - yf)  # f'_φ
        for q in range(S):
            n = j * S + q
            a = _net(W_c, b_c, n, u, U)
            sp = s_p[n]
            gc, sn = cec(yf, sp, yi, a, g_kind, False)  # (BF2), (BF5) [1997 eq. 9; Gers 2000]
            g_c[n] = gc
            s[n] = sn
            kc = derivative(g_kind, a, gc) * yi  # (BD1)
            ki = gc * fi  # (BD2)
            kf = sp * ff  # (BD3)
            for m in range(U + 1):
                um = u[m]
                dS_c[n, m] = yf * dS_c[n, m] + kc * um  # (TP1) [1997 eq. 27]
                dS_in[n, m] = yf * dS_in[n, m] + ki * um  # (TP2) [1997 eq. 25]
                if has_forget:
                    dS_phi[n, m] = yf * dS_phi[n, m] + kf * um  # (TP3) [Gers 2000 eqs. 3.10–3.12]
            if has_peep:
                for r in range(S):
                    dP_in[n, r] = yf * dP_in[n, r] + ki * s_p[j * S + r]  # (TP2), u_m = s(t−1)
                    if has_forget:
                        dP_phi[n, r] = yf * dP_phi[n, r] + kf * s_p[j * S + r]  # (TP3), u_m = s(t−1)
            ds0[n] *= yf  # (TP4)
        yo = 1.0
        if has_out:
            yo = gate(_gate_net(W_out, b_out, P_out, j, u, U, s, S, has_peep), False)  # (BF6) [1997 eq. 8]
            y_out[j] = yo
            dy_out[j] = yo * (1.0 - yo)
        for q in range(S):
            n = j * S + q
            sn = s[n]  # as stored
            hs, yc = cell_output(yo, sn, h_kind, False)  # (BF7) [1997 eq. 9]
            h_s[n] = hs
            dh_s[n] = derivative(h_kind, sn, hs)
            y_c[n] = yc
    o = 0
    if shortcut:  # (BF8) v(t) = [x(t); y^c(t)]
        for i in range(I):
            v[i] = x_t[i]
        o = I
    for n in range(N):
        v[o + n] = y_c[n]
    V = v.shape[0]
    for k in range(y_k.shape[0]):
        acc = 0.0
        for m in range(V):
            acc += W_k[k, m] * v[m]
        a_k = acc + b_k[k]
        net_k[k] = a_k  # (BF9) same-step output [1997 §5 intro]
        y_k[k] = apply(k_kind, a_k)
    for n in range(N):  # step t's state is step t+1's "t−1"
        yc_p[n] = y_c[n]
        s_p[n] = s[n]
    for j in range(C):
        yin_p[j] = y_in[j]
    for j in range(Cf):
        yphi_p[j] = y_phi[j]
    for j in range(Co):
        yout_p[j] = y_out[j]


@numba.njit(cache=True, inline="always")
def _gate_change(o_W, o_b, o_P, dS, dP, e_s, j, S, U, coef, gate_bias, has_peep):
    """coef × the change of gate j's weights (TU4) or (TU5): Σ over the block's cells of e_s times the partials
    dS (W: columns < U, b: column U, when ``gate_bias``) and dP (the peepholes)."""
    for m in range(U + 1):
        acc = 0.0
        for q in range(S):
            acc += e_s[j * S + q] * dS[j * S + q, m]
        if m < U:
            o_W[j, m] += coef * acc
        elif gate_bias:
            o_b[j] += coef * acc
    if has_peep:
        for r in range(S):
            acc = 0.0
            for q in range(S):
                acc += e_s[j * S + q] * dP[j * S + q, r]
            o_P[j, r] += coef * acc


@numba.njit(cache=True, inline="always")
def error_step(d_y, prm, car, buf, fl, out, coef, g_s0):
    """(TE1)–(TE4) from d_y (K,) = ∂L/∂y^k(t); adds ``coef`` × (TU1)–(TU5) to ``out`` and (TU6) to g_s0 (N,).

    ``out`` has the layout of ``prm``: gradient arrays (coef = 1), or ``prm`` itself with coef = −α for an
    online update. Every weight is read before any is written, so ``out is prm`` is safe.
    """
    W_c, b_c, W_in, b_in, W_phi, b_phi, W_out, b_out, P_in, P_phi, P_out, W_k, b_k = prm
    o_Wc, o_bc, o_Win, o_bin, o_Wphi, o_bphi, o_Wout, o_bout, o_Pin, o_Pphi, o_Pout, o_Wk, o_bk = out
    yc_p, yin_p, yphi_p, yout_p, s_p, dS_c, dS_in, dS_phi, dP_in, dP_phi, ds0 = car
    u, g_c, y_in, y_phi, s, y_out, dy_out, h_s, dh_s, y_c, v, net_k, y_k, e_k, e_yc, e_s, e_out = buf
    C, S, g_kind, h_kind, k_kind, recurrent, shortcut, has_forget, has_out, has_peep, bias = fl
    N = C * S
    U = u.shape[0] - 1
    K, V = W_k.shape
    Co = y_out.shape[0]
    for k in range(K):
        e_k[k] = derivative(k_kind, net_k[k], y_k[k]) * d_y[k]  # (TE1) [1997 eq. 19]
    o = V - N  # first y^c column of v
    for n in range(N):
        acc = 0.0
        for k in range(K):
            acc += W_k[k, o + n] * e_k[k]
        e_yc[n] = acc  # (TE2)
    for j in range(C):
        yo = 1.0
        if has_out:
            yo = y_out[j]
            acc = 0.0
            for q in range(S):
                acc += h_s[j * S + q] * e_yc[j * S + q]
            e_out[j] = dy_out[j] * acc  # (TE3) [1997 eq. 21]
        for q in range(S):
            n = j * S + q
            e_s[n] = yo * dh_s[n] * e_yc[n]  # (TE4) [1997 eq. 23]
    for k in range(K):  # (TU1) [1997 eq. 22]
        for m in range(V):
            o_Wk[k, m] += coef * (e_k[k] * v[m])
        if bias & BIAS_OUTPUTS:
            o_bk[k] += coef * e_k[k]
    for j in range(Co):  # (TU2) [1997 eq. 22]
        for m in range(U):
            o_Wout[j, m] += coef * (e_out[j] * u[m])
        if bias & BIAS_GATES:
            o_bout[j] += coef * e_out[j]
        if has_peep:
            for q in range(S):
                o_Pout[j, q] += coef * (e_out[j] * s[j * S + q])
    gate_bias = bias & BIAS_GATES
    for j in range(C):  # [1997 eqs. 24, 26; Gers 2000]
        _gate_change(o_Win, o_bin, o_Pin, dS_in, dP_in, e_s, j, S, U, coef, gate_bias, has_peep)  # (TU4)
        if has_forget:
            _gate_change(o_Wphi, o_bphi, o_Pphi, dS_phi, dP_phi, e_s, j, S, U, coef, gate_bias, has_peep)  # (TU5)
    for n in range(N):  # (TU3) [1997 eq. 28]
        es = e_s[n]
        for m in range(U):
            o_Wc[n, m] += coef * (es * dS_c[n, m])
        if bias & BIAS_CELLS:
            o_bc[n] += coef * (es * dS_c[n, U])
        g_s0[n] += es * ds0[n]  # (TU6)


@numba.njit(cache=True, inline="always")
def reset(car, init, b):
    """Start sequence b: the state from ``init`` (each (B, ·)), partials 0, ∂s/∂s(−1) = 1 (TP1)–(TP4)."""
    yc_p, yin_p, yphi_p, yout_p, s_p, dS_c, dS_in, dS_phi, dP_in, dP_phi, ds0 = car
    y_c0, y_in0, y_phi0, y_out0, s0 = init
    yc_p[:] = y_c0[b]
    yin_p[:] = y_in0[b]
    yphi_p[:] = y_phi0[b]
    yout_p[:] = y_out0[b]
    s_p[:] = s0[b]
    dS_c[:, :] = 0.0
    dS_in[:, :] = 0.0
    dS_phi[:, :] = 0.0
    dP_in[:, :] = 0.0
    dP_phi[:, :] = 0.0
    ds0[:] = 1.0


#: ``phases`` bits of :func:`run`.
FORWARD = 1
ERROR = 2


@numba.njit(cache=True)
def run(x, d_y, targets, mask, given, prm, out, g_s0, car, buf, init, fl,
        online, lr0, factor, count0, reset_count, b0, t0, fresh, phases):
    """Sequences b0…B−1 of x (T, B, I), one after another, each from its own initial state.

    Errors: ``given`` → δ = d_y (T, B, K); else squared error 2 m (y − target) with m = mask (T, B),
    whose value Σ m (y − target)² is returned. Weights: ``online`` → after each step
    w ← w − α (TU1)–(TU5) with α = lr0 · factor^count (count = count0, +1 per step, back to 0 at a new
    sequence when ``reset_count``); else (TU1)–(TU6) are summed into ``out`` and g_s0 (B, N).
    Sequence b0 starts at step t0, from ``init`` when ``fresh``, else continuing ``car``; later sequences
    start at step 0 from ``init``. ``phases`` selects the forward pass (FORWARD) and the error pass (ERROR)
    of each step, so one step can be split around a loss computed outside.
    Returns (loss, number of online updates, final count).

    The step functions are inlined here: this is the only compiled entry point of the algorithm.
    """
    T, B, _ = x.shape
    K = buf[12].shape[0]
    dy = np.zeros(K, x.dtype)
    total = 0.0
    count = count0
    updates = 0
    for b in range(b0, B):
        start = t0 if b == b0 else 0
        if b != b0 or fresh:
            reset(car, init, b)
            if b != b0 and reset_count:
                count = 0
        for t in range(start, T):
            if phases & FORWARD:
                forward_step(x[t, b], prm, car, buf, fl)
            if not phases & ERROR:
                continue
            err = False
            y_k = buf[12]
            if given:
                for k in range(K):
                    dy[k] = d_y[t, b, k]
                    if dy[k] != 0.0:
                        err = True
            elif mask[t, b]:
                err = True
                for k in range(K):
                    d = float(y_k[k]) - float(targets[t, b, k])
                    total += d * d
                    dy[k] = 2.0 * d
            coef = 1.0
            dst = out
            if online:
                coef = -(lr0 if factor == 1.0 else lr0 * factor ** float(count))  # −α(t)
                dst = prm
                count += 1
                updates += 1
            if err:
                error_step(dy, prm, car, buf, fl, dst, coef, g_s0[b])
    return total, updates, count


__all__ = ["BIAS_CELLS", "BIAS_GATES", "BIAS_OUTPUTS", "ERROR", "FORWARD", "error_step", "forward_step", "reset",
           "run"]
