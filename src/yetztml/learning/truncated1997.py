"""The 1997 truncated-gradient algorithm, forward in time: stored partials ∂s/∂w, no backward pass.

For the memory-block cells (LSTM1997, LSTMForget, LSTMPeephole). Errors arriving at the net inputs of
cells and gates are not propagated to earlier steps [1997 App. A.1, eqs. 12–15]; inside a cell the error
flows back through the CEC, and that flow is carried forward as the partials of s with respect to the
weights feeding the cell and its gates. Block j(n) is the block of cell n, u_m(t) an entry of u(t) (1 for
a bias, s_{c_j^v}(t−1) for a peephole weight of the input or forget gate), y^φ ≡ 1 without forget gate
and y^out ≡ 1 without output gate. Step t, after the forward pass (F1)–(F9) of the cells:

Partials, updated during the forward pass (the only quantities kept between steps besides the state)::

    (P1) ∂s_n(t)/∂w_{c_n m}  = y^φ_j(t) ∂s_n(t−1)/∂w_{c_n m}  + g'(net_c_n(t)) y^in_j(t) u_m(t)     [1997 eq. 27]
    (P2) ∂s_n(t)/∂w_{in_j m} = y^φ_j(t) ∂s_n(t−1)/∂w_{in_j m} + g(net_c_n(t)) f'_in(net_in_j(t)) u_m(t)
                                                                                             [1997 eq. 25]
    (P3) ∂s_n(t)/∂w_{φ_j m}  = y^φ_j(t) ∂s_n(t−1)/∂w_{φ_j m}  + s_n(t−1) f'_φ(net_φ_j(t)) u_m(t)
                                                                               [Gers 2000 eqs. 3.10–3.12]
    (P4) ∂s_n(t)/∂s_n(−1)    = y^φ_j(t) ∂s_n(t−1)/∂s_n(−1),  ∂s_n(−1)/∂s_n(−1) = 1
    (P1)–(P4) start from 0 (1 for P4) at the first step of every sequence.

Errors, with δ_k(t) = ∂L/∂y^k(t) given by the loss (for squared_error, −2 × the paper's t^k − y^k)::

    (E1) e_k(t)     = f_k'(net_k(t)) δ_k(t)                                                   [1997 eq. 19]
    (E2) e_{y^c_n}(t) = Σ_k w_{k c_n} e_k(t)                    (no error from step t+1: truncated)
    (E3) e_out_j(t) = f'_out(net_out_j(t)) Σ_{v} h(s_{c_j^v}(t)) e_{y^c_{c_j^v}}(t)           [1997 eq. 21]
    (E4) e_s_n(t)   = y^out_j(t) h'(s_n(t)) e_{y^c_n}(t)                                      [1997 eq. 23]

Per-step contributions to ∂L/∂w (the paper's −Δw/α, eq. 17)::

    (U1) output units:   e_k(t) v_m(t)                   (v: x(t) with shortcut, y^c(t))    [1997 eq. 22]
    (U2) output gates:   e_out_j(t) u_m(t);  peephole P_out[j, v]: e_out_j(t) s_{c_j^v}(t)  [1997 eq. 22; Gers 2002]
    (U3) cell inputs:    e_s_n(t) ∂s_n(t)/∂w_{c_n m}                                         [1997 eq. 28]
    (U4) input gates:    Σ_v e_s_{c_j^v}(t) ∂s_{c_j^v}(t)/∂w_{in_j m}                        [1997 eqs. 24, 26]
    (U5) forget gates:   Σ_v e_s_{c_j^v}(t) ∂s_{c_j^v}(t)/∂w_{φ_j m}                         [Gers 2000]
    (U6) initial state:  e_s_n(t) ∂s_n(t)/∂s_n(−1)   (the truncated ∂L/∂s(−1); other state parts get 0)

Peephole weights of the input and forget gates are ordinary sources with u_m = s(t−1) in (P2), (P3); the
output gate's see s(t) in (U2) [Gers 2002 §3]. No error flows from a gate through a peephole into the
CEC: s(t−1) in (P2), (P3) and s(t) in (U2) are constants.

Two uses, one compiled kernel :func:`run`:

* per sequence (``gradients(method="truncated1997")``): weights fixed, Σ_t (U1)–(U6) accumulated. This
  equals the cell's ``backward(..., truncate=True)`` (the same truncated gradient in backward form);
* online (``Trainer(update="step")``): after every step w ← w − α(t) (U1)–(U5) for plain SGD, the paper's
  rule Δw(t) = α e ∂/∂w (weights change within the sequence; the partials keep accumulating across the
  changes, as in the paper).

Storage per sequence: the partials (P1)–(P4), 3 (N·(U+1)) + 2 N·S + N numbers — O(W), independent of the
sequence length. Work per step: O(W).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from ..cells.base import Cell, Grads
from ..cells.block_cell import MemoryBlockCell
from ..cells.blocks import REC_CELLS, REC_FULL, REC_NONE
from ..core import activations
from ..core.activations import apply, derivative, logistic
from ..core.errors import UnsupportedError, message
from ..core.validation import check_array

if TYPE_CHECKING:
    from .gradients import Problem

#: The cells the 1997 algorithm supports (named in error messages).
TRUNCATED1997_CELLS = "LSTM1997, LSTMForget and LSTMPeephole (the memory-block cells)"

#: Parameter order of the kernels' ``prm`` tuple.
NAMES = ("W_c", "b_c", "W_in", "b_in", "W_phi", "b_phi", "W_out", "b_out", "P_in", "P_phi", "P_out", "W_k", "b_k")

#: Bits of the kernels' ``bias`` flag: which bias vectors exist (absent ones are zeros, never updated).
BIAS_CELLS = 1
BIAS_GATES = 2
BIAS_OUTPUTS = 4

_RECURRENT = {"none": REC_NONE, "cells": REC_CELLS, "full": REC_FULL}


@numba.njit(cache=True, inline="always")
def forward_step(x_t, prm, car, buf, fl):
    """(F1)–(F9) for one sequence and one step, and the partials (P1)–(P4). x_t (I,).

    ``car`` (carried between steps): y^c, y^in, y^φ, y^out, s of step t−1 and the partials;
    ``buf`` (this step's values, read by :func:`error_step`). Ends by moving this step's state into ``car``.
    """
    W_c, b_c, W_in, b_in, W_phi, b_phi, W_out, b_out, P_in, P_phi, P_out, W_k, b_k = prm
    yc_p, yin_p, yphi_p, yout_p, s_p, dS_c, dS_in, dS_phi, dP_in, dP_phi, ds0 = car
    u, g_c, y_in, y_phi, s, y_out, dy_out, h_s, dh_s, y_c, v, net_k, y_k = buf[:13]
    C, S, g_kind, h_kind, k_kind, recurrent, shortcut, has_forget, has_out, has_peep, _ = fl
    I = x_t.shape[0]
    N = C * S
    U = u.shape[0] - 1  # u[U] = 1: the bias "source", so bias partials are column U
    u[U] = 1.0
    for i in range(I):  # (F1) u(t) = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]
        u[i] = x_t[i]
    if recurrent >= REC_CELLS:
        for n in range(N):
            u[I + n] = yc_p[n]
    if recurrent == REC_FULL:
        o = I + N
        for j in range(C):
            u[o + j] = yin_p[j]
        o += C
        for j in range(y_phi.shape[0]):
            u[o + j] = yphi_p[j]
        o += y_phi.shape[0]
        for j in range(y_out.shape[0]):
            u[o + j] = yout_p[j]
    for j in range(C):
        acc = 0.0
        for m in range(U):
            acc += W_in[j, m] * u[m]
        a = acc + b_in[j]
        if has_peep:
            for q in range(S):
                a += P_in[j, q] * s_p[j * S + q]
        yi = logistic(a)  # (F3) [1997 eq. 7]
        y_in[j] = yi
        fi = yi * (1.0 - yi)  # f'_in
        yf = 1.0
        ff = 0.0
        if has_forget:
            acc = 0.0
            for m in range(U):
                acc += W_phi[j, m] * u[m]
            a = acc + b_phi[j]
            if has_peep:
                for q in range(S):
                    a += P_phi[j, q] * s_p[j * S + q]
            yf = logistic(a)  # (F4) [Gers 2000]
            y_phi[j] = yf
            ff = yf * (1.0 - yf)  # f'_φ
        for q in range(S):
            n = j * S + q
            acc = 0.0
            for m in range(U):
                acc += W_c[n, m] * u[m]
            a = acc + b_c[n]
            gc = apply(g_kind, a)  # (F2) [1997 eq. 9]
            g_c[n] = gc
            sp = s_p[n]
            s[n] = yf * sp + yi * gc  # (F5) [1997 eq. 9; Gers 2000]
            kc = derivative(g_kind, a, gc) * yi
            ki = gc * fi
            for m in range(U + 1):
                um = u[m]
                dS_c[n, m] = yf * dS_c[n, m] + kc * um  # (P1) [1997 eq. 27]
                dS_in[n, m] = yf * dS_in[n, m] + ki * um  # (P2) [1997 eq. 25]
            if has_peep:
                for r in range(S):
                    dP_in[n, r] = yf * dP_in[n, r] + ki * s_p[j * S + r]  # (P2), u_m = s(t−1)
            if has_forget:
                kf = sp * ff
                for m in range(U + 1):
                    dS_phi[n, m] = yf * dS_phi[n, m] + kf * u[m]  # (P3) [Gers 2000 eqs. 3.10–3.12]
                if has_peep:
                    for r in range(S):
                        dP_phi[n, r] = yf * dP_phi[n, r] + kf * s_p[j * S + r]  # (P3), u_m = s(t−1)
            ds0[n] *= yf  # (P4)
        yo = 1.0
        if has_out:
            acc = 0.0
            for m in range(U):
                acc += W_out[j, m] * u[m]
            a = acc + b_out[j]
            if has_peep:
                for q in range(S):
                    a += P_out[j, q] * s[j * S + q]
            yo = logistic(a)  # (F6) [1997 eq. 8], peephole sees s(t) [Gers 2002 §3]
            y_out[j] = yo
            dy_out[j] = yo * (1.0 - yo)
        for q in range(S):
            n = j * S + q
            hs = apply(h_kind, s[n])
            h_s[n] = hs
            dh_s[n] = derivative(h_kind, s[n], hs)
            y_c[n] = yo * hs  # (F7) [1997 eq. 9]
    o = 0
    if shortcut:  # (F8) v(t) = [x(t); y^c(t)]
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
        a = acc + b_k[k]
        net_k[k] = a  # (F9) same-step output [1997 §5 intro]
        y_k[k] = apply(k_kind, a)
    for n in range(N):  # step t's state is step t+1's "t−1"
        yc_p[n] = y_c[n]
        s_p[n] = s[n]
    for j in range(C):
        yin_p[j] = y_in[j]
    for j in range(y_phi.shape[0]):
        yphi_p[j] = y_phi[j]
    for j in range(y_out.shape[0]):
        yout_p[j] = y_out[j]


@numba.njit(cache=True, inline="always")
def error_step(d_y, prm, car, buf, fl, out, coef, g_s0):
    """(E1)–(E4) from d_y (K,) = ∂L/∂y^k(t); adds ``coef`` × (U1)–(U5) to ``out`` and (U6) to g_s0 (N,).

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
        e_k[k] = derivative(k_kind, net_k[k], y_k[k]) * d_y[k]  # (E1) [1997 eq. 19]
    o = V - N  # first y^c column of v
    for n in range(N):
        acc = 0.0
        for k in range(K):
            acc += W_k[k, o + n] * e_k[k]
        e_yc[n] = acc  # (E2)
    for j in range(C):
        yo = 1.0
        if has_out:
            yo = y_out[j]
            acc = 0.0
            for q in range(S):
                acc += h_s[j * S + q] * e_yc[j * S + q]
            e_out[j] = dy_out[j] * acc  # (E3) [1997 eq. 21]
        for q in range(S):
            n = j * S + q
            e_s[n] = yo * dh_s[n] * e_yc[n]  # (E4) [1997 eq. 23]
    for k in range(K):  # (U1) [1997 eq. 22]
        for m in range(V):
            o_Wk[k, m] += coef * (e_k[k] * v[m])
        if bias & BIAS_OUTPUTS:
            o_bk[k] += coef * e_k[k]
    for j in range(Co):  # (U2) [1997 eq. 22]
        for m in range(U):
            o_Wout[j, m] += coef * (e_out[j] * u[m])
        if bias & BIAS_GATES:
            o_bout[j] += coef * e_out[j]
        if has_peep:
            for q in range(S):
                o_Pout[j, q] += coef * (e_out[j] * s[j * S + q])
    for j in range(C):
        for m in range(U + 1):  # (U4) [1997 eqs. 24, 26]
            acc = 0.0
            for q in range(S):
                acc += e_s[j * S + q] * dS_in[j * S + q, m]
            if m < U:
                o_Win[j, m] += coef * acc
            elif bias & BIAS_GATES:
                o_bin[j] += coef * acc
        if has_forget:
            for m in range(U + 1):  # (U5) [Gers 2000]
                acc = 0.0
                for q in range(S):
                    acc += e_s[j * S + q] * dS_phi[j * S + q, m]
                if m < U:
                    o_Wphi[j, m] += coef * acc
                elif bias & BIAS_GATES:
                    o_bphi[j] += coef * acc
        if has_peep:
            for r in range(S):
                acc = 0.0
                for q in range(S):
                    acc += e_s[j * S + q] * dP_in[j * S + q, r]
                o_Pin[j, r] += coef * acc  # (U4), peephole
                if has_forget:
                    acc = 0.0
                    for q in range(S):
                        acc += e_s[j * S + q] * dP_phi[j * S + q, r]
                    o_Pphi[j, r] += coef * acc  # (U5), peephole
    for n in range(N):  # (U3) [1997 eq. 28]
        es = e_s[n]
        for m in range(U):
            o_Wc[n, m] += coef * (es * dS_c[n, m])
        if bias & BIAS_CELLS:
            o_bc[n] += coef * (es * dS_c[n, U])
        g_s0[n] += es * ds0[n]  # (U6)


@numba.njit(cache=True, inline="always")
def reset(car, init, b):
    """Start sequence b: the state from ``init`` (each (B, ·)), partials 0, ∂s/∂s(−1) = 1 (P1)–(P4)."""
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
    w ← w − α (U1)–(U5) with α = lr0 · factor^count (count = count0, +1 per step, back to 0 at a new
    sequence when ``reset_count``); else (U1)–(U6) are summed into ``out`` and g_s0 (B, N).
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


# -- Python side: packing, validation, the gradient method, the per-step interface -------------------
def require(cell: Cell, thing: str) -> MemoryBlockCell:
    """``cell`` if the 1997 algorithm supports it; UnsupportedError naming the cells that do otherwise."""
    if not isinstance(cell, MemoryBlockCell) or not cell.supports("truncated1997"):
        raise UnsupportedError(
            message(
                thing,
                f"one of the cells {TRUNCATED1997_CELLS}",
                f"a {type(cell).__name__}",
                "The 1997 algorithm is defined for memory blocks; use method='bptt' or 'rtrl'.",
            )
        )
    return cell


def _sizes(cell: MemoryBlockCell) -> tuple[int, int, int, int, int, int]:
    C, S, N = cell.num_blocks, cell.block_size, cell.num_cells
    return C, S, N, (C if cell.forget_gate else 0), (C if cell.output_gate else 0), cell.num_sources


def flags(cell: MemoryBlockCell) -> tuple:
    """The kernels' ``fl`` tuple."""
    bias = (
        (BIAS_CELLS if "cells" in cell.bias else 0)
        | (BIAS_GATES if "gates" in cell.bias else 0)
        | (BIAS_OUTPUTS if "outputs" in cell.bias else 0)
    )
    return (
        cell.num_blocks, cell.block_size, activations.CODES[cell.g], activations.CODES[cell.h],
        activations.CODES[cell.output], _RECURRENT[cell.recurrent], cell.shortcut, cell.forget_gate,
        cell.output_gate, cell.peepholes, bias,
    )


def _shapes(cell: MemoryBlockCell) -> dict[str, tuple[int, ...]]:
    C, S, N, Cf, Co, U = _sizes(cell)
    K, V = cell.output_size, cell.num_output_sources
    return {
        "W_c": (N, U), "b_c": (N,), "W_in": (C, U), "b_in": (C,), "W_phi": (Cf, U), "b_phi": (Cf,),
        "W_out": (Co, U), "b_out": (Co,), "P_in": (C, S), "P_phi": (C, S), "P_out": (C, S),
        "W_k": (K, V), "b_k": (K,),
    }


def parameters(cell: MemoryBlockCell) -> tuple[np.ndarray, ...]:
    """The kernels' ``prm`` tuple: the cell's own arrays (updated in place online), zeros where absent."""
    shapes = _shapes(cell)
    return tuple(
        cell.params[name] if name in cell.params else np.zeros(shapes[name], cell.dtype) for name in NAMES
    )


def zeros_like_parameters(cell: MemoryBlockCell) -> tuple[np.ndarray, ...]:
    shapes = _shapes(cell)
    return tuple(np.zeros(shapes[name], cell.dtype) for name in NAMES)


def workspace(cell: MemoryBlockCell) -> tuple[tuple, tuple]:
    """Fresh ``car`` (partials and the previous step's state) and ``buf`` (one step's values)."""
    C, S, N, Cf, Co, U = _sizes(cell)
    K, V, dt = cell.output_size, cell.num_output_sources, cell.dtype
    z = lambda *shape: np.zeros(shape, dt)
    # y^c (N), y^in (C), y^φ (Cf), y^out (Co), s (N) of step t−1; ∂s/∂w_c, ∂s/∂w_in, ∂s/∂w_φ (N, U+1);
    # ∂s/∂P_in, ∂s/∂P_φ (N, S); ∂s/∂s(−1) (N)
    car = (z(N), z(C), z(Cf), z(Co), z(N), z(N, U + 1), z(N, U + 1), z(N if Cf else 0, U + 1), z(N, S), z(N, S),
           np.ones(N, dt))
    # u (U+1, last entry 1), g_c (N), y^in (C), y^φ (Cf), s (N), y^out, f'_out (Co), h(s), h'(s), y^c (N),
    # v (V), net_k, y^k (K); errors e_k (K), e_{y^c}, e_s (N), e_out (Co)
    buf = (z(U + 1), z(N), z(C), z(Cf), z(N), z(Co), z(Co), z(N), z(N), z(N), z(V), z(K), z(K),
           z(K), z(N), z(N), z(Co))
    return car, buf


def initial_leaves(cell: MemoryBlockCell, state: Any) -> tuple[np.ndarray, ...]:
    """(y^c, y^in, y^φ, y^out, s), each (B, ·) and C-contiguous, from a validated state NamedTuple."""
    y_phi = getattr(state, "y_phi", None)
    if y_phi is None:
        y_phi = np.zeros((state.s.shape[0], 0), cell.dtype)
    return tuple(np.ascontiguousarray(a) for a in (state.y_c, state.y_in, y_phi, state.y_out, state.s))


def truncated1997(problem: Problem) -> tuple[float, Grads]:
    """Σ_t (U1)–(U6) with weights fixed over the sequence: the 1997 truncated gradient, forward in time."""
    cell = require(problem.cell, "gradients(method='truncated1997')")
    trace = cell.forward(problem.x, problem.state)  # validates x and the state
    value, d_outputs = problem.loss(trace.outputs)
    d_y = check_array(
        "gradients(method='truncated1997'): d_outputs returned by the loss",
        np.ascontiguousarray(d_outputs, dtype=cell.dtype), shape=trace.outputs.shape, names="like the outputs",
    )  # (T, B, K)
    x = trace.x
    B = x.shape[1]
    init = initial_leaves(cell, trace.initial_state)
    out = zeros_like_parameters(cell)
    g_s0 = np.zeros((B, cell.num_cells), cell.dtype)
    car, buf = workspace(cell)
    empty_t = np.zeros((0, 0, 0))  # targets are float64 in every call: one compiled signature per dtype
    empty_m = np.zeros((0, 0), np.bool_)
    run(x, d_y, empty_t, empty_m, True, parameters(cell), out, g_s0, car, buf, init, flags(cell),
        False, 0.0, 1.0, 0, False, 0, 0, True, FORWARD | ERROR)
    grads = {name: out[NAMES.index(name)] for name in cell.params}
    zero = cell.zero_state(B)
    return value, Grads(grads, inputs=None, initial_state=zero._replace(s=g_s0))


class Stepper:
    """The 1997 algorithm one step at a time, for the trainer's per-step update mode.

    ``start(state)`` begins a sequence (batch 1, None = zero state); ``forward(x_t)`` runs (F1)–(F9) and
    (P1)–(P4) for x_t (1, 1, I) with the cell's current weights and returns y(t) (1, 1, K);
    ``backward(d_y)`` returns (U1)–(U5) for d_y = ∂L_t/∂y(t) (1, 1, K), keyed like ``cell.params``.
    Each is one call of :func:`run` with the matching ``phases``.
    """

    def __init__(self, cell: Cell, thing: str) -> None:
        self.cell = require(cell, thing)
        self.fl = flags(self.cell)
        self.car, self.buf = workspace(self.cell)
        dt = self.cell.dtype
        self._g_s0 = np.zeros((1, self.cell.num_cells), dt)
        self._empty_t = np.zeros((0, 0, 0))
        self._empty_m = np.zeros((0, 0), np.bool_)
        self._x = np.zeros((1, 1, self.cell.input_size), dt)
        self._d_y = np.zeros((1, 1, self.cell.output_size), dt)
        self._zero = initial_leaves(self.cell, self.cell.zero_state(1))

    def _run(self, out, init, fresh: bool, phases: int) -> None:
        run(self._x, self._d_y, self._empty_t, self._empty_m, True, parameters(self.cell), out, self._g_s0,
            self.car, self.buf, init, self.fl, False, 0.0, 1.0, 0, False, 0, 0, fresh, phases)

    def start(self, state: Any = None) -> None:
        init = self._zero if state is None else initial_leaves(self.cell, state)
        self._run(parameters(self.cell), init, True, 0)

    def forward(self, x_t: np.ndarray) -> np.ndarray:
        self._x[...] = np.reshape(x_t, self._x.shape)
        self._run(parameters(self.cell), self._zero, False, FORWARD)
        return self.buf[12].copy().reshape(1, 1, -1)

    def backward(self, d_y: np.ndarray) -> dict[str, np.ndarray]:
        out = zeros_like_parameters(self.cell)
        self._d_y[...] = np.reshape(d_y, self._d_y.shape)
        self._run(out, self._zero, False, ERROR)
        return {name: out[NAMES.index(name)] for name in self.cell.params}


__all__ = ["ERROR", "FORWARD", "NAMES", "TRUNCATED1997_CELLS", "Stepper", "require", "run", "truncated1997"]
