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


@numba.njit(cache=True)
def _both_logistics(x):
    a = np.empty_like(x)
    b = np.empty_like(x)
    for i in range(x.size):
        a[i] = squash.logistic(x[i], False)
        b[i] = squash.logistic_exp(x[i])
    return a, b


def test_the_two_exact_logistics_differ_by_rounding_only():
    """(A2) through tanh and (A3) through exp: ≤ 2.3e-16 apart (the module docstring), and not identical."""
    x = np.linspace(-40.0, 40.0, 400_001)
    a, b = _both_logistics(x)
    assert np.abs(a - b).max() <= 2.3e-16
    assert np.any(a != b)  # two roundings: a path moved from one to the other would change its bits


def test_fine_rational_tanh_error_is_within_its_stated_bounds():
    """(A4): 3.7e-9 in float64, 3.8e-7 in float32 arithmetic, constant beyond the clamp."""
    x = np.linspace(-20.0, 20.0, 400_001)
    exact = np.tanh(x)
    assert np.abs(squash.tanh_fine(x) - exact).max() <= 3.7e-9
    v = x.astype(np.float32)
    squash.squash_inplace(v, False, True)
    assert v.dtype == np.float32
    assert np.abs(v.astype(np.float64) - np.tanh(x.astype(np.float32).astype(np.float64))).max() <= 3.8e-7
    assert squash.tanh_fine(np.array([squash.TANH_CLAMP, 50.0]))[1] == squash.tanh_fine(np.array([50.0]))[0]
    w = x.astype(np.float32)
    squash.squash_inplace(w, True, False)  # exact σ = ½ + ½ tanh(x/2) in float32
    assert np.abs(w.astype(np.float64) - 0.5 * (1.0 + np.tanh(0.5 * x.astype(np.float32)))).max() <= 1.2e-7


@numba.njit(cache=True, error_model="numpy")
def _gates(a, r, b, blocks, tanh_block, fast):
    H = a.shape[1] // blocks
    scale, shift = squash.gate_scales(H, blocks, tanh_block, a)
    out = a.copy()
    for n in range(a.shape[0]):
        squash.squash_gates(out[n], r[n], b, scale, shift, fast)
    return out, scale, shift


@pytest.mark.parametrize("dtype, fast", [(np.float32, True), (np.float64, False), (np.float32, False)])
@pytest.mark.parametrize("blocks, tanh_block", [(4, 2), (3, 1), (2, -1)])
def test_squash_gates_equals_logistic_and_tanh_bit_for_bit(dtype, fast, blocks, tanh_block):
    """One loop over all gate rows (shift + scale·tanh(scale·x)) rounds exactly as σ and tanh do one by one."""
    rng = np.random.default_rng(7)
    H = 33
    a = (rng.standard_normal((5, blocks * H)) * 6).astype(dtype)
    a[0, :4] = [0.0, 40.0, -40.0, 1e-30]
    r = (rng.standard_normal((5, blocks * H)) * 3).astype(dtype)
    b = rng.standard_normal(blocks * H).astype(dtype)
    out, scale, shift = _gates(a, r, b, blocks, tanh_block, fast)
    assert scale.dtype == dtype and shift.dtype == dtype
    v = (a + r) + b
    want = _apply_logistic(v.ravel(), fast).reshape(v.shape)
    if tanh_block >= 0:
        rows = slice(tanh_block * H, (tanh_block + 1) * H)
        want[:, rows] = _apply(np.ascontiguousarray(v[:, rows]).ravel(), fast).reshape(5, H)
        assert np.array_equal(scale[rows], np.ones(H)) and np.array_equal(shift[rows], np.zeros(H))
    assert np.count_nonzero(scale == 0.5) == (blocks - (tanh_block >= 0)) * H
    assert out.tobytes() == want.tobytes()
