"""Peephole LSTM in PyTorch's layout: finite differences on every option, equal to the memory-block
LSTMPeephole with one cell per block (g = h = tanh, u = [x; y^c]) on outputs, states and every gradient,
zero peepholes are the LSTM, batched = per-example, float32 against float64."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from cellchecks import assert_batched_equals_per_example, assert_gradcheck, compare_float32_with_float64
from yetztml.cells import lstm_peephole_stacked
from yetztml.cells.block_cell import ForgetBlockState
from yetztml.cells.lstm import LSTM, LSTMState
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.cells.lstm_peephole_stacked import LSTMPeepholeStacked
from yetztml.core.gradcheck import relative_error


def _state(cell, B: int, rng: np.random.Generator) -> LSTMState:
    shape = (cell.num_layers * cell.num_directions, B, cell.hidden_size)
    return LSTMState(0.5 * rng.standard_normal(shape), 0.5 * rng.standard_normal(shape))


@pytest.mark.parametrize("num_layers, bidirectional, bias", [(1, False, True), (2, True, True), (1, True, False)])
def test_gradients_match_finite_differences_on_every_option(num_layers, bidirectional, bias):
    cell = LSTMPeepholeStacked(3, 3, num_layers, bias=bias, bidirectional=bidirectional, batch_first=bias, seed=4)
    assert_gradcheck(cell, T=4, B=2, seed=9, random_state=True, tol=1e-6, make_state=_state, all_keys=True)


def test_equals_the_memory_block_peephole_cell():
    """The block cell with C = H blocks of one cell: W_h rows (c | in | phi | out) = rows (g | i | f | o) of
    [W_ih | W_hh], P_in, P_phi, P_out = the peephole rows, W_k = I with identity outputs."""
    rng = np.random.default_rng(0)
    I, H = 3, 4
    ours = LSTMPeepholeStacked(I, H, seed=1)
    block = LSTMPeephole(I, H, 1, H, g="tanh", h="tanh", output="identity", recurrent="cells", bias="hidden")
    p = {k.removesuffix("_l0"): v for k, v in ours.params.items()}
    w = np.concatenate([p["weight_ih"], p["weight_hh"]], axis=1)
    b = p["bias_ih"] + p["bias_hh"]
    rows = {"in": slice(0, H), "phi": slice(H, 2 * H), "c": slice(2 * H, 3 * H), "out": slice(3 * H, 4 * H)}
    params = {f"W_{u}": w[r] for u, r in rows.items()} | {f"b_{u}": b[r] for u, r in rows.items()}
    for k, gate in enumerate(("in", "phi", "out")):
        params[f"P_{gate}"] = p["weight_peephole"][k * H : (k + 1) * H, None]
    block.load_params(params | {"W_k": np.eye(H)})
    x = rng.standard_normal((6, 2, I))
    h0, c0 = rng.standard_normal((2, H)), rng.standard_normal((2, H))
    zero = np.zeros((2, H))
    t1 = ours.forward(x, LSTMState(h0[None], c0[None]))
    t2 = block.forward(x, ForgetBlockState(h0, zero, zero, zero, c0))
    assert relative_error(t1.outputs, t2.outputs) <= 1e-14
    assert relative_error(t1.final_state.c[0], t2.final_state.s) <= 1e-14
    d = rng.standard_normal(t1.outputs.shape)
    d_c = rng.standard_normal((2, H))
    g1 = ours.backward(t1, d, LSTMState(np.zeros((1, 2, H)), d_c[None]))
    g2 = block.backward(t2, d, ForgetBlockState(zero, zero, zero, zero, d_c))
    for u, r in rows.items():
        assert relative_error(g1["weight_ih_l0"][r], g2[f"W_{u}"][:, :I]) <= 1e-12, u
        assert relative_error(g1["weight_hh_l0"][r], g2[f"W_{u}"][:, I:]) <= 1e-12, u
        assert relative_error(g1["bias_ih_l0"][r], g2[f"b_{u}"]) <= 1e-12, u
    for k, gate in enumerate(("in", "phi", "out")):
        assert relative_error(g1["weight_peephole_l0"][k * H : (k + 1) * H], g2[f"P_{gate}"][:, 0]) <= 1e-12
    assert relative_error(g1.inputs, g2.inputs) <= 1e-12
    assert relative_error(g1.initial_state.c[0], g2.initial_state.s) <= 1e-12
    assert relative_error(g1.initial_state.h[0], g2.initial_state.y_c) <= 1e-12


def test_zero_peepholes_are_the_lstm():
    rng = np.random.default_rng(1)
    ours = LSTMPeepholeStacked(3, 4, 2, bidirectional=True, seed=2)
    lstm = LSTM(3, 4, 2, bidirectional=True, seed=0)
    lstm.load_params({k: v for k, v in ours.params.items() if "peephole" not in k})
    for k in ours.params:
        if "peephole" in k:
            ours.params[k] = np.zeros_like(ours.params[k])
    x = rng.standard_normal((5, 2, 3))
    assert np.array_equal(ours.forward(x).outputs, lstm.forward(x).outputs)


def test_batched_equals_per_example():
    cell = LSTMPeepholeStacked(2, 3, 2, bidirectional=True, batch_first=True, seed=0)
    assert_batched_equals_per_example(cell, np.random.default_rng(0), B=3, T=4, make_state=_state)


def test_float32_close_to_float64():
    compare_float32_with_float64(LSTMPeepholeStacked(3, 4, seed=0))


def test_docstring_examples_run():
    result = doctest.testmod(lstm_peephole_stacked)
    assert result.attempted > 0 and result.failed == 0
