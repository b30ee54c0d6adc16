"""GRU (PyTorch layout): finite differences, the equations by hand, batched = per-example, float32."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from cellchecks import (
    assert_batched_equals_per_example,
    assert_gradcheck,
    compare_float32_with_float64,
    raises,
    stack_configs,
)
from yetztml.cells.gru import GRU
from yetztml.core.errors import DTypeError, ShapeError
from yetztml.core.gradcheck import relative_error

TOL = 1e-6


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_finite_differences_on_every_option(num_layers, bidirectional, bias):
    cell = GRU(3, 2, num_layers, bias=bias, bidirectional=bidirectional, batch_first=bias != bidirectional, seed=4)
    assert_gradcheck(cell, T=4, B=2, seed=9, random_state=True, tol=TOL, all_keys=True)


@settings(max_examples=10, deadline=None)
@given(**stack_configs())
def test_gradients_match_finite_differences_on_random_configs(
    seed, num_layers, bidirectional, bias, batch_first, random_state, T, B, I, H
):
    cell = GRU(I, H, num_layers, bias=bias, bidirectional=bidirectional, batch_first=batch_first, seed=seed)
    assert_gradcheck(cell, T, B, seed + 1, random_state, tol=TOL)


def test_one_step_is_the_equations_by_hand():
    """The reset gate multiplies W_hn h + b_hn, bias included (PyTorch's form, (GF5))."""
    rng = np.random.default_rng(2)
    cell = GRU(2, 3, seed=2)
    x = rng.standard_normal((1, 2, 2))
    h0 = rng.standard_normal((1, 2, 3))
    p = cell.params
    pre_x = x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"]  # (GF1)
    pre_h = h0[0] @ p["weight_hh_l0"].T + p["bias_hh_l0"]  # (GF2)
    r = 1.0 / (1.0 + np.exp(-(pre_x[:, 0:3] + pre_h[:, 0:3])))  # (GF3)
    z = 1.0 / (1.0 + np.exp(-(pre_x[:, 3:6] + pre_h[:, 3:6])))  # (GF4)
    n = np.tanh(pre_x[:, 6:9] + r * pre_h[:, 6:9])  # (GF5)
    h = (1.0 - z) * n + z * h0[0]  # (GF6)
    trace = cell.forward(x, h0)
    assert relative_error(trace.outputs[0], h) <= 1e-14
    sweep = trace.layers[0][0]
    assert relative_error(sweep.gates[0], np.concatenate([r, z, n], axis=1)) <= 1e-14
    assert relative_error(sweep.q_n[0], pre_h[:, 6:9]) <= 1e-14


def test_update_gate_at_one_copies_the_state():
    """z = 1 (a large b_hz) makes (GF6) h(t) = h(t−1): the state passes through unchanged, and so does
    its gradient (GB6)."""
    rng = np.random.default_rng(0)
    cell = GRU(2, 3, seed=0)
    cell.params["bias_hh_l0"][3:6] = 60.0  # σ(60) = 1 in float64
    h0 = rng.standard_normal((1, 1, 3))
    trace = cell.forward(rng.standard_normal((7, 1, 2)), h0)
    assert np.array_equal(trace.final_state, h0)
    d_fin = rng.standard_normal((1, 1, 3))
    grads = cell.backward(trace, np.zeros(trace.outputs.shape), d_fin)
    assert np.array_equal(grads.initial_state, d_fin)


def test_batched_equals_per_example_loop():
    cell = GRU(3, 4, 2, bidirectional=True, batch_first=True, seed=1)
    assert_batched_equals_per_example(cell, np.random.default_rng(3), B=3, T=5)


def test_float32_matches_float64():
    _, _, g32, g64 = compare_float32_with_float64(GRU(3, 4, 2, bidirectional=True, seed=3))
    assert relative_error(g32.inputs, g64.inputs) <= 1e-4


def test_parameters_are_three_blocks_per_unit():
    cell = GRU(2, 4, bidirectional=True, seed=0)
    assert cell.params["weight_ih_l0_reverse"].shape == (12, 2)
    assert cell.num_weights == 2 * (12 * 2 + 12 * 4 + 2 * 12)  # D·(3H·I + 3H·H + 2·3H) = 192


def test_gru_state_is_one_array():
    cell = GRU(3, 4)
    x = np.zeros((5, 2, 3))
    with raises(DTypeError, "GRU.forward(state)", "a numpy.ndarray"):
        cell.forward(x, (np.zeros((1, 2, 4)), np.zeros((1, 2, 4))))
    with raises(ShapeError, "GRU.forward(state)", "(1, 2, 4)"):
        cell.forward(x, np.zeros((1, 3, 4)))
