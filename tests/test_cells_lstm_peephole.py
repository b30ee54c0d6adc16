"""LSTMPeephole: peephole timing, Gers 2002 weight count, exact and truncated gradients, kernels."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings

from blocks_reference import JIT_CASES, configs, flat_grads, loss_gradients, make_case
from cellchecks import (
    assert_block_batched_equals_loop,
    assert_block_gradcheck,
    assert_compiled_matches_uncompiled,
    assert_forward_matches_reference,
    assert_truncated_matches_frozen,
)
from yetztml.cells import lstm_peephole
from yetztml.cells.block_cell import BlockState, ForgetBlockState
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.core.errors import OptionError
from yetztml.core.gradcheck import relative_error


def test_peephole_parameters_per_gate():
    cell = LSTMPeephole(2, 3, 2, 1)
    for name in ("P_in", "P_phi", "P_out"):
        assert cell.params[name].shape == (3, 2)  # (C, S)
    no_forget = LSTMPeephole(2, 3, 2, 1, forget_gate=False, output_gate=False)
    assert {k for k in no_forget.params if k.startswith("P_")} == {"P_in"}
    assert isinstance(no_forget.zero_state(1), BlockState)
    assert isinstance(cell.zero_state(1), ForgetBlockState)
    # the leaves (y^c, y^in, [y^φ,] y^out, s): zeros of (B, cells) for y^c and s, (B, blocks) for each gate,
    # width 0 for the output gate the first cell lacks
    for state, widths in ((no_forget.zero_state(1), [6, 3, 0, 6]), (cell.zero_state(1), [6, 3, 3, 3, 6])):
        assert [a.shape for a in state] == [(1, w) for w in widths] and all(np.all(a == 0.0) for a in state)
    with pytest.raises(OptionError, match="forget_gate_bias"):
        LSTMPeephole(2, 1, 1, 1, forget_gate=False, forget_gate_bias=[1.0])


def test_gers_2002_timing_net_has_17_weights():
    cell = LSTMPeephole(1, 1, 1, 1, recurrent="cells", bias="all", g="identity",
                        forget_gate_bias=[-2.0], input_gate_bias=[0.0], output_gate_bias=[2.0])
    assert cell.num_weights == 17
    assert cell.h == "identity"  # Gers 2002 drops h


def test_gates_peek_at_old_state_and_output_gate_at_new_state():
    cell = LSTMPeephole(2, 2, 2, 1, bias="none", init_range=0.5, seed=15)
    x = np.random.default_rng(5).standard_normal((6, 2, 2))
    tr = cell.forward(x)
    p = cell.params
    s_prev = np.concatenate([tr.initial_state.s[None], tr.s[:-1]])  # (T, B, N)
    peek = lambda s, P: np.einsum("tbjv,jv->tbj", s.reshape(6, 2, 2, 2), P)
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    close(tr.net_in - tr.u @ p["W_in"].T, peek(s_prev, p["P_in"]))
    close(tr.net_phi - tr.u @ p["W_phi"].T, peek(s_prev, p["P_phi"]))
    close(tr.net_out - tr.u @ p["W_out"].T, peek(tr.s, p["P_out"]))
    np.testing.assert_array_equal(tr.y_c, np.repeat(tr.y_out, 2, axis=2) * tr.s)  # h = identity


def test_zero_peepholes_give_lstm_forget():
    opts = {"h": "h1997", "init_range": 0.5, "seed": 16}
    peep = LSTMPeephole(2, 2, 2, 2, **opts)
    plain = LSTMForget(2, 2, 2, 2, **opts)
    params = {k: v for k, v in plain.params.items()}
    params.update({k: np.zeros_like(peep.params[k]) for k in ("P_in", "P_phi", "P_out")})
    peep.load_params(params)
    x, state, d_out, d_fin = make_case(plain, 5, 2, seed=16)
    tp, tf = peep.forward(x, state), plain.forward(x, state)
    np.testing.assert_array_equal(tp.outputs, tf.outputs)
    gp, gf = flat_grads(peep.backward(tp, d_out, d_fin)), flat_grads(plain.backward(tf, d_out, d_fin))
    for k in gf:
        np.testing.assert_allclose(gp[k], gf[k], rtol=1e-13, atol=1e-15)


@settings(max_examples=12, deadline=None)
@given(configs("LSTMPeephole"))
def test_forward_matches_reference(case):
    assert_forward_matches_reference(LSTMPeephole, case)


@settings(max_examples=15, deadline=None)
@given(configs("LSTMPeephole"))
def test_full_bptt_matches_finite_differences(case):
    assert_block_gradcheck(LSTMPeephole, case)


@settings(max_examples=12, deadline=None)
@given(configs("LSTMPeephole"))
def test_truncated_gradient_matches_frozen_recurrent_inputs_and_peepholes(case):
    assert_truncated_matches_frozen(LSTMPeephole, case)


def test_truncation_cuts_the_peepholes_even_without_recurrence():
    """recurrent="none": the only cut edges are the peepholes, so truncated ≠ full, and each is right."""
    cell = LSTMPeephole(2, 2, 2, 1, recurrent="none", init_range=0.5, seed=17)
    x, state, d_out, d_fin = make_case(cell, 5, 2, seed=17)
    frozen = cell.forward(x, type(state)(*[a.copy() for a in state]))
    full = flat_grads(cell.backward(frozen, d_out, d_fin))
    cut = flat_grads(cell.backward(frozen, d_out, d_fin, truncate=True))
    live = loss_gradients(cell, x, state, d_out, d_fin)
    held = loss_gradients(cell, x, state, d_out, d_fin, frozen=frozen)
    for k in live:
        assert relative_error(full[k], live[k]) <= 1e-6, k
        assert relative_error(cut[k], held[k]) <= 1e-6, k
    assert relative_error(full["state.s"], cut["state.s"]) > 1e-3
    assert relative_error(full["W_c"], cut["W_c"]) > 1e-3


def test_compiled_kernel_matches_uncompiled_python(tmp_path):
    sizes = {"input_size": 2, "num_blocks": 2, "block_size": 2, "output_size": 2}
    cases = JIT_CASES + [({"recurrent": "full", "forget_gate": False, "h": "h1997"}, 4, 2)]
    assert_compiled_matches_uncompiled("LSTMPeephole", sizes, cases, tmp_path)


@pytest.mark.parametrize("truncate", [False, True])
def test_batched_equals_loop_over_examples(truncate):
    cell = LSTMPeephole(2, 2, 2, 2, init_range=0.5, seed=18)
    assert_block_batched_equals_loop(cell, 5, 3, 18, ("state.s",), truncate=truncate)


def test_float32_runs_and_agrees():
    cell = LSTMPeephole(2, 2, 1, 1, init_range=0.5, seed=19)
    x, state, d_out, _ = make_case(cell, 6, 1, seed=19)
    g64 = cell.backward(cell.forward(x, state), d_out, truncate=True)
    c32 = cell.astype("float32")
    t32 = c32.forward(x.astype(np.float32), type(state)(*[a.astype(np.float32) for a in state]))
    g32 = c32.backward(t32, d_out.astype(np.float32), truncate=True)
    for k in g64:
        assert g32[k].dtype == np.float32 and relative_error(g32[k], g64[k]) < 1e-4


def test_docstring_examples_run():
    result = doctest.testmod(lstm_peephole)
    assert result.attempted > 0 and result.failed == 0
