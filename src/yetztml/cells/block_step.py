"""One time step of a layer of memory blocks, compiled once and inlined into every kernel of the family.

Forward, per time step t, for block j (j = 1..C) and its cells c_j^v (v = 1..S), with u the source vector::

    (F1) u(t)        = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]     (recurrent part set by the cell)
    (F2) net_c(t)    = W_c u(t) + b_c;            g_c(t) = g(net_c(t))
    (F3) net_in(t)   = W_in u(t) + b_in [+ P_in s(t−1)];    y^in(t) = σ(net_in(t))
    (F4) net_φ(t)    = W_φ u(t) + b_φ  [+ P_φ s(t−1)];      y^φ(t)  = σ(net_φ(t))     (forget gate only)
    (F5) s(t)        = y^φ(t) s(t−1) + y^in(t) g_c(t)           (no forget gate: y^φ ≡ 1, the CEC)
    (F6) net_out(t)  = W_out u(t) + b_out [+ P_out s(t)];   y^out(t) = σ(net_out(t))  (no output gate: ≡ 1)
    (F7) y^c(t)      = y^out(t) h(s(t))
    (F8) v(t)        = [x(t) (shortcut only); y^c(t)]
    (F9) net_k(t)    = W_k v(t) + b_k;             y^k(t) = f_k(net_k(t))

Gates are shared by the S cells of their block; a peephole term ``P_in s`` means Σ_v P_in[j, v] s_{c_j^v}.
[1997 eqs. 7–9; Gers 2000; Gers 2002 §3.]

Which kernel runs which part:

* (F1) :func:`gather_sources` (the batched kernel and the truncated-gradient forward; the fused online
  kernel keeps u(t) in place between steps, :mod:`yetztml.learning.online1997_kernel`);
* the products W u(t) + b of (F2)–(F6): each kernel its own — one GEMM over the batch
  (:mod:`yetztml.cells.blocks`), a dot product per row (:mod:`yetztml.learning.truncated1997`), a sum
  that skips the zero inputs of one-hot data (the fused online kernel);
* the rest of (F2)–(F7), the nonlinear step: :func:`block_step`, here, for all three;
* (F8)–(F9): each kernel its own (a GEMM, a dot product per output, a one-hot sum).

With ``local=True`` the step also returns the local derivatives of (F5)–(F7) that the forward-mode
algorithms need (the partials ∂s/∂w of the 1997 algorithm are in :mod:`yetztml.learning`)::

    (D1) ∂s(t)/∂net_c  = g'(net_c(t)) y^in(t)        (D2) ∂s(t)/∂net_in = g_c(t) σ'(net_in(t))
    (D3) ∂s(t)/∂net_φ  = s(t−1) σ'(net_φ(t))          (D4) σ'(net_in), σ'(net_out), h'(s(t))

σ, g, h are evaluated by :mod:`yetztml.core.activations` through tanh ((A2) of :mod:`yetztml.core.squash`),
or with ``exp_form`` through one exp ((A3): the fused online kernel's form, the same functions rounded
differently). Every product and sum keeps the order the three kernels had when each held its own copy, so
their results are unchanged bit for bit (``tests/test_kernel_pins.py``); values the caller stores in a
narrower dtype are read back from storage where the kernels did (s(t) for h(s(t)) and the output-gate
peephole), and kept at full precision where they did (y^in, y^φ, g_c, y^out within the step).
"""

from __future__ import annotations

import numba

from ..core.activations import apply, apply_exp, derivative, logistic
from ..core.squash import logistic_exp

#: ``recurrent`` option codes: which t−1 activations enter u(t) (F1).
REC_NONE = 0
REC_CELLS = 1
REC_FULL = 2


@numba.njit(cache=True, inline="always")
def _sigma(x, exp_form):
    return logistic_exp(x) if exp_form else logistic(x)


@numba.njit(cache=True, inline="always")
def _f(kind, x, exp_form):
    return apply_exp(kind, x) if exp_form else apply(kind, x)


@numba.njit(cache=True, inline="always")
def gather_sources(u, x_t, yc_p, yin_p, yphi_p, yout_p, I, N, C, Cf, Co, recurrent):
    """(F1) u(t) = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)] into u (U,) (its first I + sources)."""
    for i in range(I):
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


@numba.njit(cache=True, inline="always")
def block_step(a, s_p, P_in, P_phi, P_out, C, S, g_kind, h_kind, has_forget, has_out, has_peep, exp_form,
               act, local, der):
    """(F2)–(F7) of one example at one step, from a (H,) = W_h u(t) + b_h (rows c, in, φ, out).

    The peephole terms are added to ``a`` in place, so it leaves holding net(t). ``s_p`` (N,) is s(t−1);
    ``act`` = (y^in (C), y^φ (C or 0), g_c (N), s (N), y^out (C or 0), h(s) (N), y^c (N)) receives the
    step's values; ``s`` may be ``s_p`` itself when there are no peepholes (each s_n(t−1) is read just
    before s_n(t) is written). With ``local``, ``der`` = (∂s/∂net_c (N), ∂s/∂net_in (N), ∂s/∂net_φ (N),
    y^φ or 1 (C), σ'(net_in) (C), σ'(net_out) (C or 0), h'(s) (N)) receives (D1)–(D4); the first five are
    float64 scratch, the last two may have the trajectory's dtype.
    """
    y_in, y_phi, g_c, s, y_out, h_s, y_c = act
    k_c, k_in, k_phi, f_phi, d_in, d_out, dh_s = der
    N = C * S
    o_in = N
    o_phi = N + C
    o_out = N + C + (C if has_forget else 0)
    for j in range(C):
        if has_peep:
            for q in range(S):
                a[o_in + j] += P_in[j, q] * s_p[j * S + q]  # peephole [Gers 2002 §3]
        yi = _sigma(a[o_in + j], exp_form)  # (F3) [1997 eq. 7]
        y_in[j] = yi
        fi = yi * (1.0 - yi)
        yf = 1.0
        ff = 0.0
        if has_forget:
            if has_peep:
                for q in range(S):
                    a[o_phi + j] += P_phi[j, q] * s_p[j * S + q]
            yf = _sigma(a[o_phi + j], exp_form)  # (F4) [Gers 2000]
            y_phi[j] = yf
            ff = yf * (1.0 - yf)
        if local:
            f_phi[j] = yf
            d_in[j] = fi  # (D4)
        for q in range(S):
            n = j * S + q
            nc = a[n]
            gc = _f(g_kind, nc, exp_form)  # (F2) [1997 eq. 9]
            g_c[n] = gc
            sp = s_p[n]
            s[n] = yf * sp + yi * gc  # (F5) [1997 eq. 9; Gers 2000]: the CEC, self-weight y^φ (1.0 without)
            if local:
                k_c[n] = derivative(g_kind, nc, gc) * yi  # (D1)
                k_in[n] = gc * fi  # (D2)
                k_phi[n] = sp * ff  # (D3)
        yo = 1.0
        if has_out:
            if has_peep:
                for q in range(S):
                    a[o_out + j] += P_out[j, q] * s[j * S + q]  # the output gate's peephole sees s(t)
            yo = _sigma(a[o_out + j], exp_form)  # (F6) [1997 eq. 8]
            y_out[j] = yo
            if local:
                d_out[j] = yo * (1.0 - yo)  # (D4)
        for q in range(S):
            n = j * S + q
            sn = s[n]
            hs = _f(h_kind, sn, exp_form)
            h_s[n] = hs
            if local:
                dh_s[n] = derivative(h_kind, sn, hs)  # (D4)
            y_c[n] = yo * hs  # (F7) [1997 eq. 9]


__all__ = ["REC_CELLS", "REC_FULL", "REC_NONE", "block_step", "gather_sources"]
