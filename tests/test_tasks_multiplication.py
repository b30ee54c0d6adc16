"""Multiplication problem (1997 Exp 5): values in [0, 1], X1 = 1 on the first pair, target X1·X2."""

import doctest

import numpy as np
import pytest

from yetztml.core.errors import OptionError
from yetztml.tasks import Multiplication, constant_errors, multiplication


def test_doctests():
    assert doctest.testmod(multiplication).failed == 0


def test_invariants():
    T = 20
    task = Multiplication(T=T, seed=1)
    samples = [task.sample() for _ in range(3000)]
    first_marked = 0
    for s in samples:
        values, markers = s.x[:, 0], s.x[:, 1]
        p1, p2 = s.info["positions"]
        assert 0 <= p1 <= 9 and 0 <= p2 <= T // 2 - 1 and p1 != p2
        assert np.flatnonzero(markers == 1.0).tolist() == sorted([p1, p2])
        assert markers[-1] == -1.0 and markers[0] == (1.0 if 0 in (p1, p2) else -1.0)
        assert np.all((values >= 0.0) & (values <= 1.0))
        assert T <= s.length <= T + T // 10
        if p1 == 0:
            first_marked += 1
            assert s.info["X1"] == 1.0 == values[0]
        assert s.info["X1"] == values[p1] and s.info["X2"] == values[p2]
        assert s.targets[-1, 0] == s.info["X1"] * s.info["X2"]
        assert s.mask.sum() == 1 and s.mask[-1]
    assert abs(first_marked / len(samples) - 0.1) < 5 * np.sqrt(0.09 / len(samples))
    assert first_marked == 298  # seed 1's draw (a task that ignored its seed would give another count)


def test_median_solves_cdf():
    m = multiplication.target_median()
    assert multiplication.target_cdf(m) == pytest.approx(0.5, abs=1e-12)
    assert 0.2 < m < 0.21
    # independently: P(X1·X2 ≤ z) = z − 0.9 z ln z (X1 = 1 when the first marker is at step 0, P = 0.1;
    # otherwise X1, X2 ~ U[0, 1]), solved here with SciPy; catches a CDF with another P0 or a wrong root
    from scipy.optimize import brentq

    assert m == pytest.approx(brentq(lambda z: z - 0.9 * z * np.log(z) - 0.5, 0.01, 0.99, xtol=1e-15), rel=1e-12)
    assert m == pytest.approx(0.20671722300362683, rel=1e-12)


def test_baseline_by_simulation():
    task = Multiplication(T=20, seed=2)
    base = task.baseline()
    assert base.mse_constant == (pytest.approx(0.275),)
    assert base.mean_squared_error == pytest.approx(0.9 / 9 + 0.1 / 3 - 0.275**2)
    n = 20000
    sim = constant_errors(task, np.array(base.mae_constant), n)
    assert abs(sim["mean_abs_error"] - base.mean_abs_error) < 5 * sim["mean_abs_error_se"]
    p = base.fraction_correct
    assert abs(sim["fraction_correct"] - p) < 5 * np.sqrt(p * (1 - p) / n)
    sim = constant_errors(task, np.array(base.mse_constant), n // 2)
    assert abs(sim["mean_squared_error"] - base.mean_squared_error) < 5 * sim["mean_squared_error_se"]


def test_bad_input():
    with pytest.raises(OptionError, match=r"Multiplication\(T\)"):
        Multiplication(T=4, seed=0)
