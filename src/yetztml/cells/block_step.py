"""One time step of a layer of memory blocks, compiled once and inlined into every kernel of the family.

Forward, per time step t, for block j (j = 1..C) and its cells c_j^v (v = 1..S), with u the source vector::

    (BF1) u(t)        = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1)]     (recurrent part set by the cell)
    (BF2) net_c(t)    = W_c u(t) + b_c;            g_c(t) = g(net_c(t))
    (BF3) net_in(t)   = W_in u(t) + b_in [+ P_in s(t−1)];    y^in(t) = σ(net_in(t))
    (BF4) net_φ(t)    = W_φ u(t) + b_φ  [+ P_φ s(t−1)];      y^φ(t)  = σ(net_φ(t))     (forget gate only)
    (BF5) s(t)        = y^φ(t) s(t−1) + y^in(t) g_c(t)           (no forget gate: y^φ ≡ 1, the CEC)
    (BF6) net_out(t)  = W_out u(t) + b_out [+ P_out s(t)];   y^out(t) = σ(net_out(t))  (no output gate: ≡ 1)
    (BF7) y^c(t)      = y^out(t) h(s(t))
    (BF8) v(t)        = [x(t) (shortcut only); y^c(t)]
    (BF9) net_k(t)    = W_k v(t) + b_k;             y^k(t) = f_k(net_k(t))

Gates are shared by the S cells of their block; a peephole term ``P_in s`` means Σ_v P_in[j, v] s_{c_j^v}.
[1997 eqs. 7–9; Gers 2000; Gers 2002 §3.]

The three kernels of the family — the batched forward (:mod:`yetztml.cells.blocks`), the truncated-gradient
forward (:mod:`yetztml.learning.truncated1997_kernel`) and the fused online kernel
(:mod:`yetztml.learning.online1997_kernel`) — evaluate (BF2)–(BF7) through the compiled functions here, which
Numba inlines: :func:`gate` (BF3), (BF4), (BF6); :func:`cec` (BF2), (BF5) — the one line of the CEC update;
:func:`cell_output` (BF7). Each kernel keeps its own loops, (BF1) and products: one GEMM over the batch, a
dot product per row, a sum that skips the zero inputs of one-hot data. The functions take and return
scalars only: a step function (and helpers) that took the kernels' arrays cost reference counting worth
1.3–1.9x the time per step of the batch-1 kernels (measured side by side, ``benchmarks/compare_commits.py``),
where a step takes ~0.4 µs.

The forward-mode algorithms also need the local derivatives of (BF5), computed beside the step in their
kernels (the partials ∂s/∂w of the 1997 algorithm are in :mod:`yetztml.learning`)::

    (BD1) ∂s(t)/∂net_c  = g'(net_c(t)) y^in(t)
    (BD2) ∂s(t)/∂net_in = g_c(t) σ'(net_in(t))
    (BD3) ∂s(t)/∂net_φ  = s(t−1) σ'(net_φ(t))

σ, g, h are evaluated by :mod:`yetztml.core.activations` through tanh ((A2) of :mod:`yetztml.core.squash`),
or with ``exp_form`` through one exp ((A3): the fused online kernel's form, the same functions rounded
differently). Every product and sum keeps the order the three kernels had when each held its own copy, so
their results are unchanged bit for bit (``tests/test_kernel_pins.py``); the kernels read s(t) back from
storage for h(s(t)) and the output-gate peephole, as they did (it matters in float32).
"""

from __future__ import annotations

import numba

from ..core.activations import apply, apply_exp, logistic
from ..core.squash import logistic_exp

#: ``recurrent`` option codes: which t−1 activations enter u(t) (BF1).
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
def gate(a, exp_form):
    """y = σ(net) of an input, forget or output gate: (BF3), (BF4), (BF6)."""
    return _sigma(a, exp_form)


@numba.njit(cache=True, inline="always")
def cec(yf, sp, yi, nc, g_kind, exp_form):
    """(BF2) and (BF5) for one cell: returns g_c(t) = g(net_c(t)) and s(t) = y^φ(t) s(t−1) + y^in(t) g_c(t)."""
    gc = _f(g_kind, nc, exp_form)  # (BF2) [1997 eq. 9]
    return gc, yf * sp + yi * gc  # (BF5) [1997 eq. 9; Gers 2000]: the CEC, self-weight y^φ (1.0 without)


@numba.njit(cache=True, inline="always")
def cell_output(yo, sn, h_kind, exp_form):
    """(BF7) for one cell: returns h(s(t)) and y^c(t) = y^out(t) h(s(t))."""
    hs = _f(h_kind, sn, exp_form)
    return hs, yo * hs  # (BF7) [1997 eq. 9]


__all__ = ["REC_CELLS", "REC_FULL", "REC_NONE", "cec", "cell_output", "gate"]
