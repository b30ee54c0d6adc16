"""CIFG LSTM (f = 1 − i): finite differences on every option, one step by hand, equality with an LSTM whose
forget rows are the negated input rows, batched = per-example, float32 against float64."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from cellchecks import assert_batched_equals_per_example, assert_gradcheck, compare_float32_with_float64
from yetztml.cells import lstm_cifg
from yetztml.cells.lstm import LSTM, LSTMState
from yetztml.cells.lstm_cifg import LSTMCIFG
from yetztml.core.gradcheck import relative_error


def _state(cell, B: int, rng: np.random.Generator) -> LSTMState:
    """A random (h, c) pair, each (num_layers·D, B, H), scale 0.5."""
    shape = (cell.num_layers * cell.num_directions, B, cell.hidden_size)
    return LSTMState(0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape))


@pytest.mark.parametrize("num_layers, bidirectional, bias", [(1, False, True), (2, True, True), (1, True, False)])
def test_gradients_match_finite_differences_on_every_option(num_layers, bidirectional, bias):
    cell = LSTMCIFG(3, 2, num_layers, bias=bias, bidirectional=bidirectional, batch_first=bias, seed=4)
    assert_gradcheck(cell, T=4, B=2, seed=9, random_state=True, tol=1e-6, make_state=_state, all_keys=True)


def test_one_step_is_the_equations_by_hand():
    rng = np.random.default_rng(2)
    cell = LSTMCIFG(2, 3, seed=2)
    x, h0, c0 = rng.standard_normal((1, 2, 2)), rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 2, 3))
    p = cell.params
    a = x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h0[0] @ p["weight_hh_l0"].T + p["bias_hh_l0"]  # (CF1)
    i = 1 / (1 + np.exp(-a[:, :3]))  # (CF2)
    g = np.tanh(a[:, 3:6])  # (CF3)
    o = 1 / (1 + np.exp(-a[:, 6:]))  # (CF4)
    c = (1 - i) * c0[0] + i * g  # (CF5), (CF6)
    trace = cell.forward(x, LSTMState(h0, c0))
    assert relative_error(trace.final_state.c[0], c) <= 1e-14
    assert relative_error(trace.outputs[0], o * np.tanh(c)) <= 1e-14  # (CF7)


def test_equals_lstm_with_forget_rows_minus_input_rows():
    """σ(−a) = 1 − σ(a): an LSTM with rows (i, −i, g, o) is the CIFG cell — outputs, state and gradients
    (the forget rows' gradients enter the input rows with a minus sign)."""
    rng = np.random.default_rng(3)
    cifg = LSTMCIFG(3, 4, 2, bidirectional=True, seed=1)
    lstm = LSTM(3, 4, 2, bidirectional=True, seed=0)
    H = 4
    lstm.load_params({k: np.concatenate([v[:H], -v[:H], v[H:]]) for k, v in cifg.params.items()})
    x = rng.standard_normal((5, 2, 3))
    state = LSTMState(rng.standard_normal((4, 2, H)), rng.standard_normal((4, 2, H)))
    t1, t2 = cifg.forward(x, state), lstm.forward(x, state)
    assert relative_error(t1.outputs, t2.outputs) <= 1e-14
    assert relative_error(t1.final_state.c, t2.final_state.c) <= 1e-14
    d = rng.standard_normal(t1.outputs.shape)
    d_fin = LSTMState(rng.standard_normal((4, 2, H)), rng.standard_normal((4, 2, H)))
    g1, g2 = cifg.backward(t1, d, d_fin), lstm.backward(t2, d, d_fin)
    for k, v in g1.items():
        want = np.concatenate([g2[k][:H] - g2[k][H : 2 * H], g2[k][2 * H :]])
        assert relative_error(v, want) <= 1e-13, k
    assert relative_error(g1.inputs, g2.inputs) <= 1e-13
    assert relative_error(g1.initial_state.h, g2.initial_state.h) <= 1e-13


def test_batched_equals_per_example():
    assert_batched_equals_per_example(LSTMCIFG(2, 3, 2, bidirectional=True, batch_first=True, seed=0),
                                      np.random.default_rng(0), B=3, T=4, make_state=_state)


def test_float32_close_to_float64():
    t32, t64, _, _ = compare_float32_with_float64(LSTMCIFG(3, 4, seed=0))
    assert relative_error(t32.final_state.c, t64.final_state.c) <= 1e-5


def test_docstring_examples_run():
    result = doctest.testmod(lstm_cifg)
    assert result.attempted > 0 and result.failed == 0
