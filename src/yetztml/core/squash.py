"""tanh and the logistic for compiled kernels, exact or fast (a rational form with no libm call).

    (A1)  tanh(x) ≈ x·P(x²) / Q(x²)   with x first clamped to ±8.927
    (A2)  σ(x) = ½(1 + tanh(x/2))

P has degree 6 and Q degree 3 in u = x²; the coefficients are a minimax fit of tanh(x)/x on [0, 9]
(weighted least squares on a dense grid, reweighted by the error until it levels out). The clamp sits
where x·P/Q has its maximum, so the fast form is odd and saturates; the result is clamped to [−1, 1]
so that float32 rounding cannot push it past ±1 (σ stays in [0, 1], 1 − tanh² ≥ 0).

The fast form is plain float32 arithmetic (its constants are float32, so a float32 argument is never
widened): the compiler vectorises loops around it eight lanes wide, where libm's tanh is a call per
element (about 30x slower). Its maximum absolute error is 3.4e-7 evaluated in float32 (the fit itself,
in exact arithmetic, is within 3.5e-8) — float32 rounding of the polynomials, a few float32 ulps of tanh
near ±1, the size of the architecture's "~3e-7" budget and far below what float32 training notices.

Cells use the fast form for float32 only. float64 cells, and therefore every finite-difference gradient
check, use the exact ``math.tanh``.
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
