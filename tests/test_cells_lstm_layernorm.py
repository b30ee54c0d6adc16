"""Layer-normalised LSTM: finite differences on every parameter (1 and 2 layers, both directions, with and
without biases, non-trivial gains), one step by hand, the normalised pre-activations have zero mean and unit
variance per gate block, batched = per-example, float32 against float64."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from cellchecks import assert_batched_equals_per_example, compare_float32_with_float64
from yetztml.cells import lstm_layernorm
from yetztml.cells.gradcheck import check_cell
from yetztml.cells.lstm import LSTMState
from yetztml.cells.lstm_layernorm import EPS, LSTMLayerNorm
from yetztml.core.gradcheck import relative_error


def _state(cell, B: int, rng: np.random.Generator) -> LSTMState:
    shape = (cell.num_layers * cell.num_directions, B, cell.hidden_size)
    return LSTMState(0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape))


def _random_ln(cell, seed: int) -> LSTMLayerNorm:
    """Gains around 1 and biases around 0 drawn from ``seed``, so no LN parameter sits at a special value."""
    rng = np.random.default_rng(seed)
    for name, value in cell.params.items():
        if name.startswith("ln_"):
            cell.params[name] = value + 0.3 * rng.standard_normal(value.shape)
    return cell


@pytest.mark.parametrize("num_layers, bidirectional, bias", [(1, False, True), (2, True, True), (1, True, False)])
def test_gradients_match_finite_differences_on_every_option(num_layers, bidirectional, bias):
    cell = _random_ln(LSTMLayerNorm(3, 3, num_layers, bias=bias, bidirectional=bidirectional, batch_first=bias,
                                    seed=4), 1)
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 3) if cell.batch_first else (4, 2, 3))
    state = _state(cell, 2, rng)
    with np.errstate(all="raise"):  # ε = 1e-7: the normalisations curve strongly (error ∝ ε², 2e-6 at 1e-6)
        errors = check_cell(cell, x, rng, state=state, eps=1e-7)
    assert set(errors) == set(cell.params) | {"inputs", "initial_state"}
    assert max(errors.values()) <= 1e-7, errors


def _ln(z, g, b):
    mu, var = z.mean(-1, keepdims=True), z.var(-1, keepdims=True)
    return g * (z - mu) / np.sqrt(var + EPS) + b


def test_one_step_is_the_equations_by_hand():
    rng = np.random.default_rng(2)
    cell = _random_ln(LSTMLayerNorm(2, 3, seed=2), 3)
    x, h0, c0 = rng.standard_normal((1, 2, 2)), rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 2, 3))
    p = {k.removesuffix("_l0"): v for k, v in cell.params.items()}
    H = 3
    p_x = (x[0] @ p["weight_ih"].T).reshape(2, 4, H)  # (LN1), blocks i, f, g, o
    q_h = (h0[0] @ p["weight_hh"].T).reshape(2, 4, H)
    a = (_ln(p_x, p["ln_ih_weight"].reshape(4, H), p["ln_ih_bias"].reshape(4, H))  # (LN2), (LN3)
         + _ln(q_h, p["ln_hh_weight"].reshape(4, H), p["ln_hh_bias"].reshape(4, H))
         + (p["bias_ih"] + p["bias_hh"]).reshape(4, H))
    sig = 1 / (1 + np.exp(-a))
    c = sig[:, 1] * c0[0] + sig[:, 0] * np.tanh(a[:, 2])  # (LN4), (LN5)
    h = sig[:, 3] * np.tanh(_ln(c, p["ln_c_weight"], p["ln_c_bias"]))  # (LN6)–(LN8)
    trace = cell.forward(x, LSTMState(h0, c0))
    assert relative_error(trace.final_state.c[0], c) <= 1e-14
    assert relative_error(trace.outputs[0], h) <= 1e-14


def test_normalised_blocks_have_zero_mean_and_unit_variance():
    """Mean 0 and variance v / (v + ε) exactly, v the raw block's variance (LN2), (LN6)."""
    rng = np.random.default_rng(0)
    cell = LSTMLayerNorm(3, 5, seed=0)
    x = rng.standard_normal((4, 2, 3))
    sweep = cell.forward(x).layers[0][0]
    raw = (x @ cell.params["weight_ih_l0"].T).reshape(4, 2, 4, 5)
    blocks = sweep.p_hat.reshape(4, 2, 4, 5)
    assert np.abs(blocks.mean(-1)).max() <= 1e-15
    v = raw.var(-1)
    assert relative_error(blocks.var(-1), v / (v + EPS)) <= 1e-14
    vc = sweep.c[1:].var(-1)
    assert np.abs(sweep.c_hat.mean(-1)).max() <= 1e-15
    assert relative_error(sweep.c_hat.var(-1), vc / (vc + EPS)) <= 1e-14


def test_batched_equals_per_example():
    cell = _random_ln(LSTMLayerNorm(2, 3, 2, bidirectional=True, batch_first=True, seed=0), 0)
    assert_batched_equals_per_example(cell, np.random.default_rng(0), B=3, T=4, make_state=_state)


def test_float32_close_to_float64():
    compare_float32_with_float64(_random_ln(LSTMLayerNorm(3, 4, seed=0), 2))


def test_docstring_examples_run():
    result = doctest.testmod(lstm_layernorm)
    assert result.attempted > 0 and result.failed == 0
