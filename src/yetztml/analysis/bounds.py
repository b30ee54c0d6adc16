"""Bounds on error flow and the logistic one-step scaling |f'(net) w| (1997 §3.1, Hochreiter 1991).

For a fully connected net of n units with weights W (w_ij from unit j to unit i) and squashing functions
whose derivative never exceeds f'_max::

    (EB1)  ‖W‖_A = max_r Σ_s |w_rs|                        (max row sum; compatible with ‖x‖ = max_r |x_r|)
    (EB2)  |∂ϑ_v(t−q)/∂ϑ_u(t)| ≤ n (f'_max ‖W‖_A)^q       the weak upper bound          [1997 §3.1]
    (EB3)  |w_ij| ≤ w_max  ⇒  ‖W‖_A ≤ n w_max;   τ = n w_max f'_max  (= n w_max / 4.0 for the logistic)
    (EB4)  |∂ϑ_v(t−q)/∂ϑ_u(t)| ≤ n τ^q                     exponential decay when τ < 1  [1997 §3.1]

(EB2) holds for any product of q factors diag(f'(·)) W, so also for the state flow ∂h(t)/∂h(t−q) of an
Elman net. The logistic σ has σ'(net) = σ(1 − σ) ≤ 1/4 with equality only at net = 0::

    (SC1)  φ(w, net) = |σ'(net) w|                         the one-step scaling of one connection
    (SC2)  max_net φ(w, net) = |w| / 4                     < 1.0 exactly when |w| < 4.0
    (SC3)  net = w y + r (y: the source unit's activation, r: the rest of the net input). Then
          dφ/dw = 0  ⇔  w y tanh(net/2) = 1  ⇔  w = coth(net/2) / y      (the coth formula) [1997 §3.1]
          and φ → 0 as |w| → ∞: the derivative falls faster than the weight grows.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import activations
from ..core.errors import OptionError, message
from ..core.validation import check_array, check_choice, check_float

#: the largest derivative of each squashing function (identity and relu: 1; h1997 = tanh(x/2): 1/2)
FPRIME_MAX = {"identity": 1.0, "logistic": 0.25, "tanh": 1.0, "relu": 1.0, "g1997": 1.0, "h1997": 0.5}


def fprime_max(activation: str) -> float:
    """max_x f'(x) of a squashing function (aliases sigmoid, linear accepted)."""
    name = activations.ALIASES.get(activation, activation)
    return FPRIME_MAX[check_choice("fprime_max(activation)", name, tuple(FPRIME_MAX))]


def row_sum_norm(W: np.ndarray) -> float:
    """(EB1) ‖W‖_A = max_r Σ_s |w_rs|."""
    W = check_array("row_sum_norm(W)", W, shape=(None, None), names="(n, n)")
    return float(np.max(np.sum(np.abs(W), axis=1)))


def _lags(lags: object) -> np.ndarray:
    q = np.atleast_1d(np.asarray(lags))
    if q.ndim != 1 or q.size == 0 or q.dtype.kind not in "iu" or np.any(q < 1):
        raise OptionError(message("lags", "integers >= 1 (a list or 1-D array)", repr(lags)))
    return q.astype(np.int64)


def weak_upper_bound(W: np.ndarray, lags: object, fprime: float = 0.25, log10: bool = False) -> np.ndarray:
    """(EB2) n (f'_max ‖W‖_A)^q for each q in ``lags`` (log10 of it when ``log10=True``)."""
    norm = row_sum_norm(W)
    n = W.shape[0]
    fprime = check_float("weak_upper_bound(fprime)", fprime, minimum=0.0)
    q = _lags(lags)
    return _power_bound(n, fprime * norm, q, log10)


def tau(W: np.ndarray, fprime: float = 0.25) -> float:
    """(EB3) τ = n w_max f'_max with w_max = max |w_ij| (n w_max / 4.0 for the logistic)."""
    W = check_array("tau(W)", W, shape=(None, None), names="(n, n)")
    fprime = check_float("tau(fprime)", fprime, minimum=0.0)
    return float(W.shape[0] * np.max(np.abs(W)) * fprime)


def tau_bound(n: int, tau_value: float, lags: object, log10: bool = False) -> np.ndarray:
    """(EB4) n τ^q for each q in ``lags`` (log10 of it when ``log10=True``)."""
    tau_value = check_float("tau_bound(tau)", tau_value, minimum=0.0)
    return _power_bound(int(n), tau_value, _lags(lags), log10)


def _power_bound(n: int, base: float, q: np.ndarray, log10: bool) -> np.ndarray:
    if log10:
        with np.errstate(divide="ignore"):
            return math.log10(n) + q * (math.log10(base) if base > 0 else -np.inf)
    with np.errstate(over="ignore", under="ignore"):
        return n * np.power(base, q.astype(np.float64))


# -- the logistic one-step scaling --------------------------------------------------------------------
def logistic_scaling(w: object, net: object) -> np.ndarray:
    """(SC1) φ(w, net) = |σ'(net) w| (broadcasting)."""
    net = np.asarray(net, dtype=np.float64)
    return np.abs(activations.derivative_np(activations.LOGISTIC, net) * np.asarray(w, dtype=np.float64))


def max_logistic_scaling(w: object) -> np.ndarray:
    """(SC2) max over net of |σ'(net) w| = |w| / 4 (attained at net = 0)."""
    return np.abs(np.asarray(w, dtype=np.float64)) / 4.0


def coth_weight(net: object, y: float) -> np.ndarray:
    """(SC3) the weight at which |σ'(net) w| is stationary in w, given the source activation y: coth(net/2)/y."""
    y = check_float("coth_weight(y)", y)
    if y == 0.0:
        raise OptionError(message("coth_weight(y)", "a non-zero source activation y", y))
    net = np.asarray(net, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return 1.0 / (np.tanh(0.5 * net) * y)


def stationary_weights(y: float, rest: float = 0.0, limit: float = 100.0) -> np.ndarray:
    """(SC3) every w in [−limit, limit] with w y tanh((w y + rest)/2) = 1: the stationary points of
    φ(w) = |σ'(w y + rest) w| (the maxima of its two lobes), found by bracketing and bisection."""
    from scipy.optimize import brentq

    y = check_float("stationary_weights(y)", y)
    rest = check_float("stationary_weights(rest)", rest)
    limit = check_float("stationary_weights(limit)", limit, minimum=0.0, strict_minimum=True)
    if y == 0.0:
        raise OptionError(message("stationary_weights(y)", "a non-zero source activation y", y))

    def residual(w: float) -> float:
        return w * y * math.tanh(0.5 * (w * y + rest)) - 1.0

    grid = np.linspace(-limit, limit, 20001)
    values = np.array([residual(w) for w in grid])
    roots = []
    for k in np.nonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)[0]:
        roots.append(brentq(residual, grid[k], grid[k + 1], xtol=1e-14, rtol=1e-14))
    return np.array(roots)
