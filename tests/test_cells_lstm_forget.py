"""LSTMForget: Gers 2000 weight count, reduction to LSTM1997, exact and truncated gradients, kernels."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings

from blocks_reference import JIT_CASES, configs, make_case
from cellchecks import (
    assert_block_batched_equals_loop,
    assert_block_gradcheck,
    assert_compiled_matches_uncompiled,
    assert_forward_matches_reference,
    assert_truncated_matches_frozen,
    truncation_changes,
)
from yetztml.cells import lstm_forget
from yetztml.cells.block_cell import ForgetBlockState
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.core.errors import OptionError, ShapeError


def test_num_weights_cerg_is_424():
    cell = LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True, bias={"gates", "outputs"}, init_range=0.2)
    assert cell.num_weights == 424  # 8·15 + 12·16 + 7·16 (spec §5)
    assert cell.params["W_phi"].shape == (4, 15) and cell.params["b_phi"].shape == (4,)
    assert cell.params["W_k"].shape == (7, 15)


def test_full_recurrence_includes_forget_gate_activations():
    cell = LSTMForget(2, 3, 2, 1, recurrent="full")
    assert cell.num_sources == 2 + 6 + 3 + 3 + 3  # x, y^c, y^in, y^φ, y^out at t−1
    assert cell.params["W_phi"].shape == (3, cell.num_sources)


def test_forget_gate_bias_override():
    cell = LSTMForget(7, 4, 2, 7, bias="gates", forget_gate_bias=[0.5, 1.0, 1.5, 2.0],
                      input_gate_bias=[-0.5, -1.0, -1.5, -2.0], output_gate_bias=(-0.5, -1.0, -1.5, -2.0))
    np.testing.assert_array_equal(cell.params["b_phi"], [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(cell.params["b_in"], [-0.5, -1.0, -1.5, -2.0])
    with pytest.raises(ShapeError, match="forget_gate_bias"):
        LSTMForget(7, 4, 2, 7, forget_gate_bias=[1.0, 2.0])
    with pytest.raises(OptionError, match="forget_gate_bias"):
        LSTMForget(7, 2, 2, 7, bias="none", forget_gate_bias=[1.0, 2.0])
    with pytest.raises(OptionError, match=r"LSTM1997\(forget_gate_bias=...\): expected None \(the cell has no such"):
        LSTM1997(7, 2, 2, 7, forget_gate_bias=[1.0, 2.0])  # the 1997 cell has no forget gate
    with pytest.raises(OptionError, match=r"LSTM1997\(forget_gate=...\): expected False"):
        LSTM1997(7, 2, 2, 7, forget_gate=True)
    with pytest.raises(OptionError, match=r"LSTMForget\(peepholes=...\): expected False"):
        LSTMForget(7, 2, 2, 7, peepholes=True)
    assert LSTM1997(7, 2, 2, 7, forget_gate=False).params.keys() == LSTM1997(7, 2, 2, 7).params.keys()


def test_state_has_forget_gate_activations():
    cell = LSTMForget(2, 3, 2, 1)
    zero = cell.zero_state(2)
    assert isinstance(zero, ForgetBlockState)
    assert [a.shape for a in zero] == [(2, 6), (2, 3), (2, 3), (2, 3), (2, 6)]
    assert all(np.all(a == 0.0) for a in zero)
    trace = cell.forward(np.ones((4, 2, 2)))
    np.testing.assert_array_equal(trace.final_state.y_phi, trace.y_phi[-1])


def as_forget_params(cell97: LSTM1997, cellf: LSTMForget) -> dict[str, np.ndarray]:
    """LSTM1997's parameters in LSTMForget's layout, forget gate held open: W_phi = 0, b_phi = 1000."""
    p = {k: v.copy() for k, v in cell97.params.items()}
    if cell97.recurrent == "full":  # u gains the y^φ(t−1) columns, after y^in(t−1); they get zero weights
        at = cell97.input_size + cell97.num_cells + cell97.num_blocks
        for name in ("W_c", "W_in", "W_out"):
            if name in p:
                p[name] = np.insert(p[name], [at] * cell97.num_blocks, 0.0, axis=1)
    p["W_phi"] = np.zeros_like(cellf.params["W_phi"])
    p["b_phi"] = np.full(cellf.num_blocks, 1000.0)  # σ(1000) == 1.0 in float64
    return p


@pytest.mark.parametrize("recurrent", ["full", "cells", "none"])
@pytest.mark.parametrize("output_gate", [True, False])
def test_open_forget_gate_reduces_to_lstm1997(recurrent, output_gate):
    opts = {"recurrent": recurrent, "output_gate": output_gate, "bias": "all", "init_range": 0.5, "seed": 11}
    cell97 = LSTM1997(2, 2, 2, 2, **opts)
    cellf = LSTMForget(2, 2, 2, 2, **opts)
    cellf.load_params(as_forget_params(cell97, cellf))
    x, state, d_out, d_fin = make_case(cell97, 6, 2, seed=11)
    state_f = ForgetBlockState(state.y_c, state.y_in, np.zeros((2, 2)), state.y_out, state.s)
    d_fin_f = ForgetBlockState(d_fin.y_c, d_fin.y_in, np.zeros((2, 2)), d_fin.y_out, d_fin.s)
    t97 = cell97.forward(x, state)
    tf = cellf.forward(x, state_f)
    assert np.all(tf.y_phi == 1.0)
    np.testing.assert_array_equal(tf.outputs, t97.outputs)
    np.testing.assert_array_equal(tf.s, t97.s)
    for truncate in (False, True):
        g97 = cell97.backward(t97, d_out, d_fin, truncate=truncate)
        gf = cellf.backward(tf, d_out, d_fin_f, truncate=truncate)
        mapped = as_forget_params(cell97, cellf)
        for name in cell97.params:
            got = gf[name]
            if name in ("W_c", "W_in", "W_out") and recurrent == "full":
                at = 2 + 4 + 2  # I + N + C: the y^φ(t−1) columns
                keep = [i for i in range(mapped[name].shape[1]) if not (at <= i < at + 2)]
                got = got[:, keep]
            np.testing.assert_allclose(got, g97[name], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(gf.inputs, g97.inputs, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(gf.initial_state.s, g97.initial_state.s, rtol=1e-13, atol=1e-15)


def test_truncated_state_error_decays_by_the_forget_gates():
    """Along the CEC, ∂s(T−1)/∂s(−1) = Π_t y^φ(t) of the cell's block [Gers 2000 eqs. 3.10–3.12]."""
    cell = LSTMForget(2, 2, 2, 1, init_range=0.5, forget_gate_bias=[2.0, 3.0], bias="gates", seed=12)
    x = np.random.default_rng(4).standard_normal((25, 3, 2))
    trace = cell.forward(x)
    unit = np.ones((3, 4))
    d_fin = cell.zero_state(3)._replace(s=unit)
    grads = cell.backward(trace, np.zeros_like(trace.outputs), d_fin, truncate=True)
    product = np.repeat(np.prod(trace.y_phi, axis=0), 2, axis=1)  # (B, C) -> (B, N)
    np.testing.assert_allclose(grads.initial_state.s, product, rtol=1e-13)


@settings(max_examples=12, deadline=None)
@given(configs("LSTMForget"))
def test_forward_matches_reference(case):
    assert_forward_matches_reference(LSTMForget, case)


@settings(max_examples=15, deadline=None)
@given(configs("LSTMForget"))
def test_full_bptt_matches_finite_differences(case):
    assert_block_gradcheck(LSTMForget, case)


@settings(max_examples=12, deadline=None)
@given(configs("LSTMForget"))
def test_truncated_gradient_matches_frozen_recurrent_inputs(case):
    assert_truncated_matches_frozen(LSTMForget, case)


def test_truncated_gradient_differs_from_full_gradient():
    cell = LSTMForget(2, 2, 2, 2, recurrent="full", init_range=0.5, seed=13)
    full, cut = truncation_changes(cell, 13, ("W_c", "W_in", "W_phi", "W_out"))
    assert np.all(cut.initial_state.y_phi == 0.0) and np.any(full.initial_state.y_phi != 0.0)


def test_compiled_kernel_matches_uncompiled_python(tmp_path):
    sizes = {"input_size": 2, "num_blocks": 2, "block_size": 2, "output_size": 3}
    assert_compiled_matches_uncompiled("LSTMForget", sizes, JIT_CASES, tmp_path)


def test_batched_equals_loop_over_examples():
    cell = LSTMForget(2, 2, 2, 2, init_range=0.5, seed=14)
    assert_block_batched_equals_loop(cell, 5, 3, 14, ("inputs", "state.y_phi"))


def test_docstring_examples_run():
    result = doctest.testmod(lstm_forget)
    assert result.attempted > 0 and result.failed == 0
