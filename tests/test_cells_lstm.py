"""LSTM (PyTorch layout): finite differences, the single-matrix identity (LSE1), batched = per-example,
the (h, c) state, validation particular to the LSTM, float32."""

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
from yetztml.cells.lstm import LSTM, LSTMState, stacked_forward, stacked_weights
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.core.gradcheck import relative_error

TOL = 1e-6


def _state(cell: LSTM, B: int, rng: np.random.Generator) -> LSTMState:
    shape = (cell.num_layers * cell.num_directions, B, cell.hidden_size)
    return LSTMState(0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape))


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_finite_differences_on_every_option(num_layers, bidirectional, bias):
    cell = LSTM(3, 2, num_layers, bias=bias, bidirectional=bidirectional, batch_first=bias != bidirectional, seed=3)
    assert_gradcheck(cell, T=4, B=2, seed=5, random_state=True, tol=TOL, make_state=_state, all_keys=True)


@settings(max_examples=10, deadline=None)
@given(**stack_configs())
def test_gradients_match_finite_differences_on_random_configs(
    seed, num_layers, bidirectional, bias, batch_first, random_state, T, B, I, H
):
    cell = LSTM(I, H, num_layers, bias=bias, bidirectional=bidirectional, batch_first=batch_first, seed=seed)
    assert_gradcheck(cell, T, B, seed + 1, random_state, tol=TOL, make_state=_state)


def test_gradient_reaches_far_back_through_the_cell_state():
    """With W_hh = 0 the only path from c(T−1) back to c(−1) is (LSB7): δc(−1) = δc(T−1) ⊙ Π_t f(t)."""
    rng = np.random.default_rng(8)
    cell = LSTM(2, 3, seed=8)
    cell.params["weight_hh_l0"][:] = 0.0
    x = rng.standard_normal((60, 1, 2))
    trace = cell.forward(x)
    zeros = np.zeros((1, 1, 3))
    grads = cell.backward(trace, np.zeros(trace.outputs.shape), LSTMState(zeros, np.ones((1, 1, 3))))
    forget = trace.layers[0][0].gates[:, 0, 3:6]  # (T, H) f(t)
    assert np.allclose(grads.initial_state.c[0, 0], np.prod(forget, axis=0), rtol=1e-12, atol=0)
    assert not grads.initial_state.h.any()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_single_matrix_form_equals_split_form(bidirectional):
    """(LSE1): W X(t) with W = [W_ih | W_hh], X(t) = [x(t) | h(t−1)] gives the kernel's trajectories."""
    rng = np.random.default_rng(6)
    cell = LSTM(3, 4, 2, bidirectional=bidirectional, seed=6)
    state = _state(cell, 2, rng)
    trace = cell.forward(rng.standard_normal((5, 2, 3)), state)
    D = cell.num_directions
    for layer in range(2):
        for d in range(D):
            sweep = trace.layers[layer][d]
            w, b = stacked_weights(cell, layer, reverse=bool(d))
            width = 3 if layer == 0 else 4 * D
            assert w.shape == (16, width + 4) and b.shape == (16,)
            p = {k: v for k, v in cell.params.items() if k.endswith(f"_l{layer}" + ("_reverse" if d else ""))}
            xv, hv = rng.standard_normal(width), rng.standard_normal(4)
            split = [v for k, v in p.items() if k.startswith("weight_ih")][0] @ xv + [
                v for k, v in p.items() if k.startswith("weight_hh")
            ][0] @ hv
            assert relative_error(w @ np.concatenate([xv, hv]), split) <= 1e-14  # (LSE1)
            xs = sweep.x[::-1] if d else sweep.x  # ← reads time backwards
            k = layer * D + d
            h, c = stacked_forward(w, b, xs, state.h[k], state.c[k])
            if d:
                h, c = h[::-1], c[::-1]
            assert relative_error(h, sweep.outputs) <= 1e-13
            assert relative_error(c, sweep.c[:-1] if d else sweep.c[1:]) <= 1e-13


def test_stacked_weights_refuses_a_missing_layer_or_direction():
    cell = LSTM(3, 4, 2)
    with raises(OptionError, "stacked_weights(layer=...)", "<= 1", "got 2"):
        stacked_weights(cell, 2)
    with raises(OptionError, "stacked_weights(reverse=...)", "one-directional"):
        stacked_weights(cell, 0, reverse=True)
    w, b = stacked_weights(LSTM(3, 4, bias=False))
    assert not b.any()


def test_one_step_is_the_equations_by_hand():
    rng = np.random.default_rng(2)
    cell = LSTM(2, 3, seed=2)
    x = rng.standard_normal((1, 2, 2))
    s = _state(cell, 2, rng)
    p = cell.params
    a = x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + s.h[0] @ p["weight_hh_l0"].T + p["bias_hh_l0"]  # (LSF1)
    sig = 1.0 / (1.0 + np.exp(-a))
    i, f, g, o = sig[:, 0:3], sig[:, 3:6], np.tanh(a[:, 6:9]), sig[:, 9:12]  # (LSF2)–(LSF5)
    c = f * s.c[0] + i * g  # (LSF6)
    h = o * np.tanh(c)  # (LSF7)
    trace = cell.forward(x, s)
    assert relative_error(trace.final_state.c[0], c) <= 1e-14
    assert relative_error(trace.outputs[0], h) <= 1e-14


def test_state_is_an_lstm_state_and_a_plain_pair_is_accepted():
    rng = np.random.default_rng(1)
    cell = LSTM(2, 3, 2, bidirectional=True, seed=1)
    x = rng.standard_normal((4, 2, 2))
    s = _state(cell, 2, rng)
    named = cell.forward(x, s)
    plain = cell.forward(x, (s.h, s.c))
    listed = cell.forward(x, [s.h, s.c])
    assert isinstance(plain.final_state, LSTMState) and isinstance(plain.initial_state, LSTMState)
    assert plain.final_state.h.shape == (4, 2, 3)
    for a, b in zip(plain.final_state, named.final_state, strict=True):  # the pair's state is the named one's
        assert np.array_equal(a, b)
    assert np.array_equal(named.outputs, plain.outputs) and np.array_equal(named.outputs, listed.outputs)
    d = rng.standard_normal(named.outputs.shape)
    d_fin = _state(cell, 2, rng)
    g1 = cell.backward(named, d, d_fin)
    g2 = cell.backward(plain, d, (d_fin.h, d_fin.c))
    assert isinstance(g2.initial_state, LSTMState)
    assert np.array_equal(g1.initial_state.c, g2.initial_state.c)
    zero = cell.forward(x)
    assert not zero.initial_state.h.any() and not zero.initial_state.c.any()


def test_batched_equals_per_example_loop():
    cell = LSTM(3, 4, 2, bidirectional=True, batch_first=True, seed=1)
    assert_batched_equals_per_example(cell, np.random.default_rng(3), B=3, T=5, make_state=_state)


def test_float32_matches_float64():
    t32, t64, g32, g64 = compare_float32_with_float64(LSTM(3, 4, 2, bidirectional=True, seed=3))
    assert t32.final_state.c.dtype == np.float32
    assert relative_error(t32.final_state.c, t64.final_state.c) <= 1e-5
    assert relative_error(g32.initial_state.h, g64.initial_state.h) <= 1e-4


def test_parameter_count_and_init_range():
    cell = LSTM(2, 4, seed=0)
    assert cell.num_weights == 4 * 4 * 2 + 4 * 4 * 4 + 2 * 4 * 4  # 4H·I + 4H·H + 2·4H = 128
    assert max(np.abs(v).max() for v in cell.params.values()) <= 0.5  # 1/√H
    assert [v.shape for v in cell.params.values()] == [(16, 2), (16, 4), (16,), (16,)]
    rng = np.random.default_rng(0)  # the values: U(−1/√H, 1/√H) from seed 0, in PyTorch's order
    for name, value in cell.params.items():
        np.testing.assert_array_equal(value, rng.uniform(-0.5, 0.5, value.shape), err_msg=name)


def test_bad_lstm_states_are_refused():
    cell = LSTM(3, 4, 2)
    x = np.zeros((5, 2, 3))
    h = np.zeros((2, 2, 4))
    with raises(DTypeError, "LSTM.forward(state)", "a tuple (h, c) of arrays (num_layers·D, B, H)", "ndarray"):
        cell.forward(x, h)
    with raises(DTypeError, "LSTM.forward(state)", "tuple of 3"):
        cell.forward(x, (h, h, h))
    with raises(ShapeError, "LSTM.forward(state).c", "(2, 2, 4)", "(2, 3, 4)"):
        cell.forward(x, (h, np.zeros((2, 3, 4))))
    bad = h.copy()
    bad[1, 1, 1] = np.nan
    with raises(NonFiniteError, "LSTM.forward(state).h"):
        cell.forward(x, (bad, h))
    trace = cell.forward(x)
    with raises(DTypeError, "LSTM.backward(d_final_state)", "a tuple (h, c)"):
        cell.backward(trace, np.zeros((5, 2, 4)), h)
    with raises(ShapeError, "LSTM.backward(trace)", "a trace of this LSTM"):
        LSTM(3, 5, 2).backward(trace, np.zeros((5, 2, 5)))
