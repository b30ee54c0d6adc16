"""The 1997 Exp 2a baseline net as a cell: gradients, the paper's training kernels, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.cells.baseline_rnn import BaselineRNN
from yetztml.cells.gradcheck import check_cell
from yetztml.core.errors import ShapeError
from yetztml.learning.tiny_rnn import TinyRNN, bptt_sequence, rtrl_sequence


def _onehot(xi, I):
    x = np.zeros((xi.shape[0], 1, I))
    x[np.arange(xi.shape[0]), 0, xi] = 1.0
    return x


def test_weight_count_is_the_papers():
    """(I + 1)² weights: 36 for p = 4 (I = K = 5), 144 for p = 10 (Table 2)."""
    assert BaselineRNN(5, 5).num_weights == 36
    assert BaselineRNN(11, 11).num_weights == 144


@pytest.mark.parametrize("seed", [0, 1])
def test_backward_agrees_with_finite_differences(seed):
    """Every parameter, the inputs and the initial state, float64 central differences, dense inputs."""
    cell = BaselineRNN(3, 2, init_range=1.5, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((7, 3, 3))
    state = 0.5 * rng.standard_normal((3, 1))
    with np.errstate(all="raise"):
        errors = check_cell(cell, x, rng, state=state)
    assert set(errors) == {"w_h", "w_hh", "W_o", "inputs", "initial_state"}
    assert max(errors.values()) <= 1e-8, errors


def test_forward_on_onehot_rows_is_the_training_kernels_bit_for_bit():
    """The cell's step on one-hot rows gives the RTRL and BPTT kernels' outputs exactly."""
    rng = np.random.default_rng(4)
    cell = BaselineRNN(6, 6, init_range=0.2, seed=rng)
    xi = rng.integers(0, 6, 12).astype(np.int64)
    tgt = rng.random((12, 6))
    trace = cell.forward(_onehot(xi, 6))
    p = cell.params
    for kernel in (rtrl_sequence, bptt_sequence):
        y = np.zeros((12, 6))
        g = (np.zeros(6), np.zeros(1), np.zeros((6, 7)))
        kernel(p["w_h"].copy(), p["w_hh"].copy(), p["W_o"].copy(), xi, tgt, 0.1, False, *g, y)
        np.testing.assert_array_equal(trace.outputs[:, 0], y)


def test_backward_is_minus_the_bptt_kernels_gradient():
    """With ∂L/∂y = y − t (L = ½ Σ (t − y)²) the cell's gradient is −(the BPTT kernel's (TRB2) sums)."""
    rng = np.random.default_rng(5)
    cell = BaselineRNN(6, 6, init_range=0.5, seed=rng)
    xi = rng.integers(0, 6, 15).astype(np.int64)
    tgt = rng.random((15, 6))
    trace = cell.forward(_onehot(xi, 6))
    grads = cell.backward(trace, trace.outputs - tgt[:, None, :])
    p = cell.params
    g_h, g_hh, g_o, y = np.zeros(6), np.zeros(1), np.zeros((6, 7)), np.zeros((15, 6))
    bptt_sequence(p["w_h"].copy(), p["w_hh"].copy(), p["W_o"].copy(), xi, tgt, 0.1, False, g_h, g_hh, g_o, y)
    np.testing.assert_allclose(grads["w_h"], -g_h, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(grads["w_hh"], -g_hh, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(grads["W_o"], -g_o, rtol=1e-13, atol=1e-16)


def test_same_seed_draws_the_same_weights_as_the_experiments_net():
    """BaselineRNN(I, K, r, seed=rng) and TinyRNN(I, K, r, rng) draw w_h, w_hh, W_o in the same order."""
    a = BaselineRNN(5, 5, init_range=0.2, seed=np.random.default_rng(9))
    b = TinyRNN(5, 5, 0.2, np.random.default_rng(9))
    np.testing.assert_array_equal(a.params["w_h"], b.w_h)
    np.testing.assert_array_equal(a.params["w_hh"], b.w_hh)
    np.testing.assert_array_equal(a.params["W_o"], b.W_o)


def test_wrong_input_width_is_refused_with_the_expected_shape():
    cell = BaselineRNN(4, 2)
    with pytest.raises(ShapeError, match=r"\(T, B, I\)"):
        cell.forward(np.zeros((3, 1, 5)))
