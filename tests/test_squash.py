"""The fast rational tanh of core.squash: its stated error bound, range and symmetry, compiled and not."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from yetztml.core import squash


@numba.njit(cache=True, error_model="numpy")
def _apply(x, fast):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = squash.tanh(x[i], fast)
    return out


@numba.njit(cache=True, error_model="numpy")
def _apply_logistic(x, fast):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = squash.logistic(x[i], fast)
    return out


GRID = np.concatenate([np.linspace(-40.0, 40.0, 400_001), [0.0, 1e-30, -1e-30, 8.926, 8.927, 8.928]]).astype(
    np.float32
)
EXACT = np.tanh(GRID.astype(np.float64))


def test_fast_tanh_error_is_within_its_stated_bound():
    y = _apply(GRID, True)
    assert y.dtype == np.float32
    assert np.abs(y.astype(np.float64) - EXACT).max() <= 3.5e-7  # the module docstring's bound


def test_fast_tanh_is_odd_bounded_saturating_and_exact_at_zero():
    y = _apply(GRID, True)
    assert np.abs(y).max() <= 1.0
    assert np.array_equal(_apply(-GRID, True), -y)
    assert _apply(np.zeros(1, np.float32), True)[0] == 0.0
    assert np.all(y[GRID >= squash.CLAMP] == y[GRID >= squash.CLAMP][0])


def test_exact_branch_is_libm_tanh_and_logistic_follows():
    x = np.linspace(-20, 20, 1001)
    assert np.array_equal(_apply(x, False), np.array([math.tanh(v) for v in x]))
    assert np.abs(_apply_logistic(x, False) - 1.0 / (1.0 + np.exp(-x))).max() <= 1e-15
    x32 = x.astype(np.float32)
    fast = _apply_logistic(x32, True)
    assert fast.min() >= 0.0 and fast.max() <= 1.0
    assert np.abs(fast - 1.0 / (1.0 + np.exp(-x32.astype(np.float64)))).max() <= 2.5e-7


@pytest.mark.parametrize("value", [-30.0, -3.3, -0.2, 0.0, 0.7, 5.5, 8.927, 12.0])
def test_uncompiled_fast_tanh_equals_compiled_in_float32(value):
    v = np.float32(value)
    assert squash.tanh_fast.py_func(v) == _apply(np.array([v]), True)[0]
