"""Zoneout / recurrent-dropout LSTM: finite differences on every parameter with expectation masks and with
fixed binary masks, equal to the LSTM with all probabilities 0, mask statistics and seeding, zoned units
keep their previous values exactly, batched = per-example."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from cellchecks import assert_batched_equals_per_example
from yetztml.cells import lstm_zoneout
from yetztml.cells.gradcheck import check_cell
from yetztml.cells.lstm import LSTM, LSTMState
from yetztml.cells.lstm_zoneout import LSTMZoneout
from yetztml.core.gradcheck import relative_error

P = dict(zoneout_h=0.3, zoneout_c=0.2, recurrent_dropout=0.25)


def _state(cell, B: int, rng: np.random.Generator) -> LSTMState:
    shape = (cell.num_layers * cell.num_directions, B, cell.hidden_size)
    return LSTMState(0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape))


def _errors(cell, seed=9):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 2, cell.input_size))
    with np.errstate(all="raise"):
        errors = check_cell(cell, x, rng, state=_state(cell, 2, rng))
    assert set(errors) == set(cell.params) | {"inputs", "initial_state"}
    return errors


@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_gradients_match_finite_differences_with_expectation_masks(num_layers, bidirectional):
    cell = LSTMZoneout(3, 3, num_layers, bidirectional=bidirectional, training=False, seed=4, **P)
    assert max(_errors(cell).values()) <= 1e-6


def test_gradients_match_finite_differences_with_fixed_training_masks():
    """Binary zoneout masks and scaled dropout masks, drawn once and held fixed while differencing."""
    cell = LSTMZoneout(3, 3, 2, bidirectional=True, mask_seed=1, seed=4, **P)
    drawn = [cell.masks(4, 2) for _ in range(4)]  # one set per layer and direction, in the driver's order
    calls = iter(drawn * 10_000)
    cell.masks = lambda T, B: next(calls)
    assert set(np.unique(drawn[0][0])) == {0.0, 1.0} and set(np.unique(drawn[0][2])) == {0.0, 4 / 3}

    def fixed():  # every forward of the check restarts at the first set
        nonlocal calls
        calls = iter(drawn * 10_000)

    original = cell.forward

    def forward(x, state=None):
        fixed()
        return original(x, state)

    cell.forward = forward
    assert max(_errors(cell).values()) <= 1e-6


def test_zero_probabilities_are_the_lstm():
    rng = np.random.default_rng(0)
    zo = LSTMZoneout(3, 4, 2, bidirectional=True, seed=3)
    lstm = LSTM(3, 4, 2, bidirectional=True, seed=3)
    x, s = rng.standard_normal((5, 2, 3)), _state(lstm, 2, rng)
    t1, t2 = zo.forward(x, s), lstm.forward(x, s)
    assert np.array_equal(t1.outputs, t2.outputs) and np.array_equal(t1.final_state.c, t2.final_state.c)
    d = rng.standard_normal(t1.outputs.shape)
    g1, g2 = zo.backward(t1, d), lstm.backward(t2, d)
    for k in g2:
        assert relative_error(g1[k], g2[k]) <= 1e-15, k


def test_zoned_units_keep_their_values_and_masks_are_seeded():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 8, 3))
    cell = LSTMZoneout(3, 6, zoneout_h=0.3, zoneout_c=0.2, mask_seed=5, seed=0)
    sweep = cell.forward(x).layers[0][0]
    kept_h = sweep.d_h == 1.0
    assert np.array_equal(sweep.h[1:][kept_h], sweep.h[:-1][kept_h])  # (ZF5) with d_h = 1
    assert np.array_equal(sweep.c[1:][sweep.d_c == 1.0], sweep.c[:-1][sweep.d_c == 1.0])  # (ZF4)
    assert abs(kept_h.mean() - 0.3) <= 0.03 and abs(sweep.d_c.mean() - 0.2) <= 0.03
    # the masks themselves: mask_seed's generator, uniforms below p_h then below p_c, one (T, B, H) draw each
    # (catches a mask drawn with another probability, from the weights' generator, or the two masks swapped)
    draws = np.random.default_rng(5)
    np.testing.assert_array_equal(kept_h, draws.random((50, 8, 6)) < 0.3)
    np.testing.assert_array_equal(sweep.d_c == 1.0, draws.random((50, 8, 6)) < 0.2)
    assert (int(kept_h.sum()), int(sweep.d_c.sum())) == (731, 517)  # of 2,400
    again = LSTMZoneout(3, 6, zoneout_h=0.3, zoneout_c=0.2, mask_seed=5, seed=0).forward(x).layers[0][0]
    assert np.array_equal(again.d_h, sweep.d_h)
    other = LSTMZoneout(3, 6, zoneout_h=0.3, zoneout_c=0.2, mask_seed=6, seed=0).forward(x).layers[0][0]
    assert not np.array_equal(other.d_h, sweep.d_h)


def test_eval_mode_uses_the_expectations():
    """training=False: h(t) = p h(t−1) + (1 − p) h̃(t) with the LSTM's h̃ when g is not dropped."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 3))
    zo = LSTMZoneout(3, 4, zoneout_h=0.4, recurrent_dropout=0.5, training=False, seed=1)
    lstm = LSTM(3, 4, seed=1)
    s = _state(lstm, 2, rng)
    h_tilde = lstm.forward(x, s).outputs[0]
    assert relative_error(zo.forward(x, s).outputs[0], 0.4 * s.h[0] + 0.6 * h_tilde) <= 1e-15


def test_batched_equals_per_example():
    cell = LSTMZoneout(2, 3, 2, bidirectional=True, batch_first=True, training=False, seed=0, **P)
    assert_batched_equals_per_example(cell, np.random.default_rng(0), B=3, T=4, make_state=_state)


def test_docstring_examples_run():
    result = doctest.testmod(lstm_zoneout)
    assert result.attempted > 0 and result.failed == 0
