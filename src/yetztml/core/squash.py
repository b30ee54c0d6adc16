"""tanh and the logistic for compiled kernels: the library's one implementation of both, exact or fast.

    (A1)  tanh(x) ≈ x·P(x²) / Q(x²)   with x first clamped to ±8.927                  (fast, float32)
    (A2)  σ(x) = ½(1 + tanh(x/2))                                                      (exact; fast with (A1))
    (A3)  σ(x) = 1 / (1 + e^−x)                                                        (exact, one exp call)
    (A4)  tanh(x) ≈ x·P₅(x²) / Q₅(x²) with x first clamped to ±10                     (fast, finer fit)

Error bounds (absolute, against tanh and σ in exact arithmetic): libm's ``math.tanh`` and ``math.exp`` are
within 1 ulp, so (A2) and (A3) with them are within a few ulps (they differ by ≤ 2.3e-16 in float64,
a test); (A1) 3.4e-7 (below);
(A4) 3.7e-9 in float64 arithmetic and 3.8e-7 in float32 arithmetic (its rounding) — all measured by tests.
(A2) and (A3) are the same function rounded differently: the memory-block cells and their gradient
checks use (A2); the fused 1997 online kernel and the 2a baseline net use (A3) (one libm call per unit,
and the reproductions' recorded numbers are bit for bit theirs). :mod:`yetztml.core.activations` builds
every squashing function of the cells (g, h, output units) from these.

P has degree 6 and Q degree 3 in u = x²; the coefficients are a minimax fit of tanh(x)/x on [0, 9]
(weighted least squares on a dense grid, reweighted by the error until it levels out). The clamp sits
where x·P/Q has its maximum, so the fast form is odd and saturates; the result is clamped to [−1, 1]
so that float32 rounding cannot push it past ±1 (σ stays in [0, 1], 1 − tanh² ≥ 0).

The fast form is plain float32 arithmetic (its constants are float32, so a float32 argument is never
widened): the compiler vectorises loops around it eight lanes wide, where libm's tanh is a call per
element (about 30x slower). Its maximum absolute error is 3.4e-7 evaluated in float32 (the fit itself,
in exact arithmetic, is within 3.5e-8) — float32 rounding of the polynomials, a few float32 ulps of tanh
near ±1, the size of the architecture's "~3e-7" budget and far below what float32 training notices.

(A4) is the closed-loop models' fast form (``fast_tanh=True``, their default in float32 training): a
degree-5/5 minimax fit of tanh(x)/x on |x| ≤ 10 (Lawson-weighted least squares in float64), within 3.7e-9
everywhere, the clamp included (1 − tanh 10 = 4.1e-9). :func:`squash_inplace` applies it, or the exact
form, to a whole array in the array's own dtype so that the loop vectorises. Two fits remain because each
path's recorded results (the float32 cells' tests, the BSS demo's runs) are bit for bit theirs.

Cells other than the closed-loop models use (A1) for float32 only. float64 cells, and therefore every
finite-difference gradient check, use the exact ``math.tanh``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_F = np.float32
#: |x| beyond which the fast tanh is constant: the maximum of x·P(x²)/Q(x²).
CLAMP = _F(8.927)
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = (
    _F(9.9999996906450139e-01),
    _F(1.3079180262890483e-01),
    _F(3.0986716959770545e-03),
    _F(1.1101972731355822e-05),
    _F(-2.0029981649127069e-08),
    _F(5.1928021007465160e-11),
    _F(-8.2913806992850862e-14),
)
_Q0, _Q1, _Q2, _Q3 = _F(1.0), _F(4.6412500559103470e-01), _F(2.4473833950986578e-02), _F(2.5386245630300535e-04)
_HALF = _F(0.5)
_ONE = _F(1.0)


@numba.njit(cache=True, inline="always")
def tanh_fast(x):
    """(A1) rational tanh in float32 arithmetic (for a float32 ``x``), max abs error 3.4e-7."""
    x = min(max(x, -CLAMP), CLAMP)
    u = x * x
    p = _P6 * u + _P5
    p = p * u + _P4
    p = p * u + _P3
    p = p * u + _P2
    p = p * u + _P1
    p = p * u + _P0
    q = _Q3 * u + _Q2
    q = q * u + _Q1
    q = q * u + _Q0
    return min(max(x * p / q, -_ONE), _ONE)


@numba.njit(cache=True, inline="always")
def tanh(x, fast):
    """tanh(x): the fast form (A1) when ``fast`` is true, else libm's."""
    if fast:
        return tanh_fast(x)
    return math.tanh(x)


@numba.njit(cache=True, inline="always")
def logistic(x, fast):
    """(A2) σ(x) = ½(1 + tanh(x/2)), stable for every finite x; fast as in :func:`tanh`."""
    if fast:
        return _HALF * (_ONE + tanh_fast(_HALF * x))
    return 0.5 * (1.0 + math.tanh(0.5 * x))


@numba.njit(cache=True)
def gate_scales(H, blocks, tanh_block, like):
    """Per-row scale and shift for :func:`squash_gates`: ``blocks`` blocks of H rows, all logistic except
    block ``tanh_block`` (−1: none), in ``like``'s dtype. σ(x) = ½ + ½ tanh(x/2) (A2) is scale ½, shift ½;
    tanh is scale 1, shift 0."""
    scale = np.full(blocks * H, 0.5, dtype=like.dtype)
    shift = np.full(blocks * H, 0.5, dtype=like.dtype)
    if tanh_block >= 0:
        scale[tanh_block * H : (tanh_block + 1) * H] = 1.0
        shift[tanh_block * H : (tanh_block + 1) * H] = 0.0
    return scale, shift


@numba.njit(cache=True, inline="always")
def gate(v, scale, shift, fast):
    """One gate row's squashing function of :func:`gate_scales`: σ(v) or tanh(v).

    Fast: shift + scale·tanh(scale·v) with (A1) — equal bit for bit to :func:`logistic` and :func:`tanh`
    (½ + ½t and ½(1 + t) round alike: halving is exact) and the same arithmetic for every row, so one
    loop over all gate rows vectorises where one loop per gate block does not. Exact: libm, as
    :func:`logistic` (``fast`` false) and ``math.tanh``.
    """
    if fast:
        return shift + scale * tanh_fast(scale * v)  # (A1), (A2)
    return math.tanh(v) if scale == 1.0 else logistic(v, False)  # (A2)


@numba.njit(cache=True, inline="always")
def squash_gates(a, r, b, scale, shift, fast):
    """In place on one row of gate preactivations: a[k] ← f_k(a[k] + r[k] + b[k]) (:func:`gate`)."""
    for k in range(a.shape[0]):
        a[k] = gate(a[k] + r[k] + b[k], scale[k], shift[k], fast)


@numba.njit(cache=True, inline="always")
def squash_rows(a, scale, shift, fast):
    """In place on one row of gate preactivations: a[k] ← f_k(a[k]) (:func:`gate`)."""
    for k in range(a.shape[0]):
        a[k] = gate(a[k], scale[k], shift[k], fast)


@numba.njit(cache=True, inline="always")
def logistic_exp(x):
    """(A3) σ(x) = 1/(1 + e^−x) through one ``exp`` (0 for x < −709: exp overflows to inf)."""
    return 1.0 / (1.0 + math.exp(-x))


#: |x| beyond which (A4) is constant.
TANH_CLAMP = 10.0
_R0 = 9.9999999992120525e-01
_R1 = 1.4085529527121451e-01
_R2 = 4.4076315950350720e-03
_R3 = 4.1794157964388640e-05
_R4 = 1.0833655998240447e-07
_R5 = 3.4894728438826227e-11
_S1 = 4.7418862810331563e-01
_S2 = 2.9137175101610433e-02
_S3 = 4.9728878018804202e-04
_S4 = 2.5586917751099314e-06
_S5 = 2.8437499767404643e-09


@numba.njit(cache=True, error_model="numpy")
def tanh_fine(x):
    """(A4) tanh(x) as a clamped rational function, elementwise on arrays: branch-free, so loops vectorise."""
    x = np.minimum(np.maximum(x, -TANH_CLAMP), TANH_CLAMP)
    u = x * x
    p = x * (_R0 + u * (_R1 + u * (_R2 + u * (_R3 + u * (_R4 + u * _R5)))))
    q = 1.0 + u * (_S1 + u * (_S2 + u * (_S3 + u * (_S4 + u * _S5))))
    return p / q


@numba.njit(cache=True, error_model="numpy")
def squash_inplace(v, logistic, fast):
    """In place on a 1-D array v: σ(v) = ½ + ½ tanh(v/2) if ``logistic``, else tanh(v), in v's own dtype.

    tanh is (A4) when ``fast``, else libm's. Every constant is cast to v's dtype first, so float32 arrays are
    computed in float32 (8 lanes per AVX instruction) rather than promoted to float64 by Python float literals.
    """
    typ = v.dtype.type
    s = typ(0.5) if logistic else typ(1.0)
    shift = typ(0.5) if logistic else typ(0.0)
    if fast:
        clamp = typ(TANH_CLAMP)
        p0, p1, p2, p3, p4, p5 = typ(_R0), typ(_R1), typ(_R2), typ(_R3), typ(_R4), typ(_R5)
        one, q1, q2, q3, q4, q5 = typ(1.0), typ(_S1), typ(_S2), typ(_S3), typ(_S4), typ(_S5)
        for k in range(v.shape[0]):
            x = min(max(s * v[k], -clamp), clamp)
            u = x * x
            p = x * (p0 + u * (p1 + u * (p2 + u * (p3 + u * (p4 + u * p5)))))
            q = one + u * (q1 + u * (q2 + u * (q3 + u * (q4 + u * q5))))
            v[k] = shift + s * (p / q)  # (A4), (A2)
    else:
        for k in range(v.shape[0]):
            v[k] = shift + s * math.tanh(s * v[k])  # (A2)
