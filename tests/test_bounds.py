"""Bounds of 1997 §3.1: the weak upper bound, τ, and the logistic |f'(net) w| (the coth formula)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.analysis import bounds
from yetztml.analysis.errorflow import error_flow
from yetztml.analysis.linearise import linearise
from yetztml.analysis.unitnet import UnitNet
from yetztml.cells.rnn import RNN
from yetztml.core import activations
from yetztml.core.errors import NonFiniteError, OptionError

NETS = np.linspace(-30.0, 30.0, 60001)  # includes net = 0 (step 0.001)


def test_logistic_maximum_is_below_one_exactly_when_w_below_four():
    """max over net of |σ'(net) w| on a grid of w: < 1.0 for |w| < 4.0 and ≥ 1.0 for |w| ≥ 4.0."""
    ws = np.round(np.arange(-10.0, 10.0001, 0.01), 10)
    numeric = np.array([bounds.logistic_scaling(w, NETS).max() for w in ws])
    inside = np.abs(ws) < 4.0
    assert np.all(numeric[inside] < 1.0)
    assert np.all(numeric[~inside] >= 1.0)
    assert np.max(np.abs(numeric - bounds.max_logistic_scaling(ws))) <= 1e-15
    assert bounds.logistic_scaling(4.0, 0.0) == 1.0


def test_scaling_with_the_weight_inside_the_net_stays_below_one():
    """φ(w) = |σ'(w y + r) w| < 1 for every |w| < 4.0, whatever the source activation y and the rest r."""
    ws = np.linspace(-3.999, 3.999, 8001)
    for y in np.linspace(-1.0, 1.0, 21):
        for r in np.linspace(-6.0, 6.0, 25):
            assert np.all(bounds.logistic_scaling(ws, ws * y + r) < 1.0)


@pytest.mark.parametrize(("y", "rest"), [(1.0, 0.0), (0.5, 0.0), (0.25, 1.0), (-0.7, -0.5), (0.1, 0.0)])
def test_coth_formula_gives_the_maxima_of_the_scaling(y, rest):
    roots = bounds.stationary_weights(y, rest, limit=60.0)
    assert len(roots) == 2  # one maximum per sign of the weight (the two lobes of φ)
    grid = np.linspace(-60.0, 60.0, 1_200_001)
    phi = bounds.logistic_scaling(grid, grid * y + rest)
    for w in roots:
        net = w * y + rest
        assert w == pytest.approx(bounds.coth_weight(net, y), rel=1e-10)  # w = coth(net/2) / y
        side = grid > 0 if w > 0 else grid < 0
        best = grid[side][np.argmax(phi[side])]
        assert abs(best - w) <= 2e-4  # the numerical argmax on the grid
    assert bounds.logistic_scaling(1000.0, 1000.0 * y + rest) < 1e-100  # φ → 0 as |w| → ∞


def test_stationary_value_for_unit_source():
    """With y = 1, r = 0 the stationary weight solves a·tanh(a/2) = 1 and the maximum is ≈ 0.2239 < 1."""
    w = bounds.stationary_weights(1.0)[1]
    assert w * np.tanh(w / 2) == pytest.approx(1.0, abs=1e-13)
    assert bounds.logistic_scaling(w, w) == pytest.approx(0.2238716, abs=1e-7)


@pytest.mark.parametrize("name", list(bounds.FPRIME_MAX))
def test_fprime_max_matches_the_derivatives(name):
    values = activations.derivative_np(activations.CODES[name], np.linspace(-20, 20, 400001))
    assert values.max() == pytest.approx(bounds.fprime_max(name), abs=1e-9)


def test_norms_and_tau():
    W = np.array([[0.1, -0.3], [0.25, 0.05]])
    assert bounds.row_sum_norm(W) == pytest.approx(0.4)
    assert bounds.tau(W) == pytest.approx(2 * 0.3 / 4.0)
    q = np.arange(1, 6)
    assert np.allclose(bounds.weak_upper_bound(W, q), 2 * (0.25 * 0.4) ** q, rtol=1e-14)
    assert np.allclose(bounds.tau_bound(2, 0.15, q, log10=True), np.log10(2) + q * np.log10(0.15), rtol=1e-14)
    assert bounds.tau(W) >= 0.25 * bounds.row_sum_norm(W)  # (EB3): f'_max ‖W‖_A ≤ n w_max / 4


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6), fraction=st.floats(0.1, 0.99))
def test_measured_flow_is_under_both_bounds(seed, n, fraction):
    """|w| < 4/n logistic nets: every entry of Φ_q is under n(¼‖W‖_A)^q ≤ n τ^q, at every lag."""
    rng = np.random.default_rng(seed)
    w_max = fraction * 4.0 / n
    net = UnitNet(rng.uniform(-w_max, w_max, (n, n)), "logistic", V=rng.standard_normal((n, 2)))
    trace = net.forward(rng.standard_normal((60, 1, 2)))
    lin = linearise(net, trace)
    W = net.params["W"]
    for source, target in (("net", "net"), ("y", "y")):
        flow = error_flow(lin, source=source, targets=(target,))
        measured = flow.curves[target].log10_max
        weak = bounds.weak_upper_bound(W, flow.lags, 0.25, log10=True)
        tau = bounds.tau_bound(n, bounds.tau(W), flow.lags, log10=True)
        assert np.all(measured <= weak + 1e-12)
        assert np.all(weak <= tau + 1e-12)
        assert bounds.tau(W) < 1.0


def test_bound_holds_for_the_rnn_cell(rng):
    n = 5
    cell = RNN(2, n, nonlinearity="logistic", seed=3)
    cell.params["weight_hh_l0"][:] = rng.uniform(-0.7, 0.7, (n, n))
    flow = error_flow(linearise(cell, cell.forward(rng.standard_normal((80, 1, 2)))))
    weak = bounds.weak_upper_bound(cell.params["weight_hh_l0"], flow.lags, 0.25, log10=True)
    assert np.all(flow.curves["net"].log10_max <= weak)
    # the flow itself (a flow of zeros, or one lag off, would be under the bound too): the rng fixture's weights
    # and inputs, float64 products of 5 × 5 matrices pinned to 1e-9 relative (another BLAS's summation order)
    log_flow = flow.curves["net"].log10_max
    assert (len(log_flow), log_flow[0], log_flow[-1]) == pytest.approx(
        (79, -0.8042784755333676, -57.710440483396766), rel=1e-9)
    assert np.max(log_flow - weak) == pytest.approx(-1.1712123396824163, rel=1e-9)  # the closest approach


def test_bad_input():
    with pytest.raises(OptionError, match="integers >= 1"):
        bounds.weak_upper_bound(np.eye(2), [0, 1])
    with pytest.raises(OptionError, match="'logistic'"):
        bounds.fprime_max("softsign")
    with pytest.raises(OptionError, match="non-zero"):
        bounds.coth_weight(1.0, 0.0)
    with pytest.raises(NonFiniteError):
        bounds.row_sum_norm(np.array([[np.nan]]))
    with pytest.raises(OptionError, match=">= 0"):
        bounds.tau_bound(2, -0.5, [1])
