"""Experiment 5 of Hochreiter & Schmidhuber (1997), §5.5: the multiplication problem.

Exactly the adding problem's sequences (:mod:`yetztml.tasks.adding`: length, marker rules, 0-based
positions) with three changes:

* values are uniform in [0, 1];
* if X1's pair is the first pair, X1 is set to 1.0 (its value in the input too);
* the target at the sequence end is X1 · X2.

Success: |target − output| < 0.04 at the last step (Table 11, ABS(0.04)).

Trivial baseline (best constant output). Let Z = X1 X2. With probability 9/10, Z is a product of two
independent U[0, 1] with CDF z − z ln z; with probability 1/10, X1 = 1 and Z = X2 ~ U[0, 1]. So

    G(z) = P(Z ≤ z) = z − (9/10) z ln z,        ∫₀^z G = z²/2 − (9/10)(z²/2 · ln z − z²/4).

* Squared error: the best constant is E[Z] = (9/10)(1/4) + (1/10)(1/2) = 0.275, with
  MSE = Var Z = (9/10)(1/9) + (1/10)(1/3) − 0.275² ≈ 0.05771.
* Absolute error: the best constant is the median m, G(m) = ½, m ≈ 0.20672 (solved by bisection), with
  MAE = ∫₀^m G + ∫_m^1 (1 − G) = 2∫₀^m G + 1 − m − ∫₀^1 G ≈ 0.19087, where ∫₀^1 G = 0.725.
* The constant m is accepted on a fraction G(m + 0.04) − G(m − 0.04) ≈ 0.12196 of sequences.

Worked example:

>>> task = Multiplication(T=20, seed=0)
>>> s = task.sample()
>>> s.info["positions"], s.x[:, 1].astype(int).tolist()
((6, 4), [-1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1])
>>> round(s.info["X1"], 4), round(s.info["X2"], 4), round(float(s.targets[-1, 0]), 4)
(0.7295, 0.9128, 0.6659)
"""

from __future__ import annotations

import math

import numpy as np

from .adding import FIRST_MARK_RANGE, Adding
from .base import Baseline

_P0 = 1.0 / FIRST_MARK_RANGE  # P(X1's pair is the first pair, X1 = 1)


def target_cdf(z: float) -> float:
    """G(z) = P(X1 · X2 ≤ z) = z − (1 − P0) z ln z on [0, 1]."""
    if z <= 0.0:
        return 0.0
    if z >= 1.0:
        return 1.0
    return z - (1.0 - _P0) * z * math.log(z)


def _cdf_integral(z: float) -> float:
    """∫₀^z G(u) du."""
    if z <= 0.0:
        return 0.0
    return z * z / 2.0 - (1.0 - _P0) * (z * z / 2.0 * math.log(z) - z * z / 4.0)


def target_median() -> float:
    """The median m of X1 · X2, G(m) = ½, by bisection to machine precision."""
    lo, hi = 0.0, 1.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if target_cdf(mid) < 0.5 else (lo, mid)
    return 0.5 * (lo + hi)


class Multiplication(Adding):
    """The multiplication problem (1997 Exp 5): the adding problem's sequences, target X1 · X2."""

    name = "5"
    section = "Hochreiter & Schmidhuber 1997, §5.5 (Experiment 5: multiplication problem)"
    first_value = 1.0

    def _values(self, n: int) -> np.ndarray:
        return self.rng.uniform(0.0, 1.0, size=n)

    def _target(self, x1: float, x2: float) -> float:
        return x1 * x2

    def baseline(self) -> Baseline:
        m = target_median()
        mean = (1 - _P0) / 4 + _P0 / 2
        second_moment = (1 - _P0) / 9 + _P0 / 3
        tol = self.tolerance
        return Baseline(
            mae_constant=(m,),
            mean_abs_error=2 * _cdf_integral(m) + 1 - m - _cdf_integral(1.0),
            mse_constant=(mean,),
            mean_squared_error=second_moment - mean * mean,
            fraction_correct=target_cdf(m + tol) - target_cdf(m - tol),
            formula=(
                "Z = X1*X2, G(z) = z - (9/10) z ln z; MAE at the median m (G(m) = 1/2) = "
                "2*int_0^m G + 1 - m - int_0^1 G; MSE at E[Z] = 0.275 is Var Z; "
                "P(correct) = G(m + 0.04) - G(m - 0.04)"
            ),
        )
