"""LSTM1997: the paper's weight counts, the CEC, exact and truncated gradients, validation, kernels."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given, settings

from blocks_reference import JIT_CASES, configs, flat_grads, make_case
from cellchecks import (
    assert_block_batched_equals_loop,
    assert_block_gradcheck,
    assert_compiled_matches_uncompiled,
    assert_forward_matches_reference,
    assert_truncated_matches_frozen,
    truncation_changes,
)
from yetztml.cells import lstm1997
from yetztml.cells.block_cell import BlockState
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.core.gradcheck import relative_error

# (input_size, num_blocks, block_size, output_size, options) -> the paper's "# weights" (spec §2.3, Table 10).
PAPER_COUNTS = [
    ((7, 4, 1, 7, {"bias": "gates"}), 264),  # Exp 1, 4 blocks of 1
    ((7, 3, 2, 7, {"bias": "gates"}), 276),  # Exp 1, 3 blocks of 2
    ((2, 2, 2, 1, {"bias": "all"}), 93),  # Exp 4 / 5
    ((8, 2, 2, 4, {"bias": "all"}), 156),  # Exp 6a
    ((8, 3, 2, 8, {"bias": "all"}), 308),  # Exp 6b
    ((1, 3, 1, 1, {"bias": "hidden"}), 102),  # Exp 3
    (
        (101, 1, 1, 101, {"bias": "none", "output_gate": False, "recurrent": "none", "shortcut": True,
                          "g": "logistic", "h": "identity"}),
        10504,
    ),  # Exp 2a / 2b
]


@pytest.mark.parametrize(("args", "count"), PAPER_COUNTS)
def test_num_weights_match_the_paper(args, count):
    *sizes, options = args
    assert LSTM1997(*sizes, **options).num_weights == count


@pytest.mark.parametrize("p", [50, 100, 200, 500, 1000])
def test_num_weights_exp_2c_is_6p_plus_64(p):
    cell = LSTM1997(p + 4, 2, 1, 2, bias="none", init_range=0.2)
    assert cell.num_weights == 6 * p + 64


def test_parameter_names_and_shapes_follow_the_math():
    cell = LSTM1997(3, 2, 2, 4, bias="all")
    U = 3 + 4 + 2 + 2  # x, y^c(t−1), y^in(t−1), y^out(t−1)
    assert {k: v.shape for k, v in cell.params.items()} == {
        "W_c": (4, U), "b_c": (4,), "W_in": (2, U), "b_in": (2,), "W_out": (2, U), "b_out": (2,),
        "W_k": (4, 4), "b_k": (4,),
    }


@pytest.mark.parametrize(
    ("bias", "present"),
    [
        ("none", set()),
        ("gates", {"b_in", "b_out"}),
        ("hidden", {"b_c", "b_in", "b_out"}),
        ("all", {"b_c", "b_in", "b_out", "b_k"}),
        ({"gates", "outputs"}, {"b_in", "b_out", "b_k"}),
        (("cells",), {"b_c"}),
    ],
)
def test_biases_exist_only_for_the_bias_mode(bias, present):
    cell = LSTM1997(2, 2, 1, 1, bias=bias)
    assert {k for k in cell.params if k.startswith("b_")} == present


def test_initialisation_range_and_gate_bias_overrides():
    cell = LSTM1997(1, 3, 1, 1, bias="hidden", init_range=0.1, input_gate_bias=[-1, -3, -5],
                    output_gate_bias=[-2, -4, -6], seed=3)
    np.testing.assert_array_equal(cell.params["b_in"], [-1.0, -3.0, -5.0])
    np.testing.assert_array_equal(cell.params["b_out"], [-2.0, -4.0, -6.0])
    for name in ("W_c", "b_c", "W_in", "W_out", "W_k"):
        assert np.all(np.abs(cell.params[name]) <= 0.1)
    wide = LSTM1997(1, 3, 1, 1, init_range=0.2, seed=3)
    assert 0.1 < np.max(np.abs(wide.params["W_c"])) <= 0.2
    # the values themselves: U[−r, r] drawn from the seed's generator in the parameters' order, the overridden
    # gate biases drawn too (so the weights after them do not shift). Catches another distribution, scale,
    # draw order, or overrides that skip their draw.
    for net, r in ((cell, 0.1), (wide, 0.2)):
        rng = np.random.default_rng(3)
        for name, value in net.params.items():
            drawn = rng.uniform(-r, r, value.shape)
            if net is wide or name not in ("b_in", "b_out"):
                np.testing.assert_array_equal(value, drawn, err_msg=name)


def test_same_seed_same_params_and_generator_accepted():
    a = LSTM1997(2, 2, 2, 1, seed=7)
    b = LSTM1997(2, 2, 2, 1, seed=np.random.default_rng(7))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_without_output_gate_the_cell_output_is_h_of_the_state():
    cell = LSTM1997(2, 2, 1, 1, output_gate=False, g="logistic", h="identity", seed=1)
    assert "W_out" not in cell.params
    trace = cell.forward(np.random.default_rng(0).standard_normal((6, 1, 2)))
    assert trace.y_out is None
    np.testing.assert_array_equal(trace.y_c, trace.s)
    assert np.all(trace.g >= 0.0) and np.all(trace.g <= 1.0)
    # g is the logistic of net_c, and the CEC sums g·y^in (one cell per block): catches another squash for g
    np.testing.assert_allclose(trace.g, 1.0 / (1.0 + np.exp(-trace.net_c)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(trace.s, np.cumsum(trace.g * trace.y_in, axis=0), rtol=1e-14, atol=1e-15)


def test_output_uses_the_cell_outputs_of_the_same_step():
    cell = LSTM1997(1, 1, 1, 1, output="identity", bias="none", recurrent="none", seed=2)
    trace = cell.forward(np.ones((3, 1, 1)))
    want = cell.params["W_k"][0, 0] * trace.y_c[:, 0, 0]  # y^k(t) from y^c(t), not y^c(t−1)
    np.testing.assert_allclose(trace.outputs[:, 0, 0], want, rtol=1e-15)


# -- forward against the independent NumPy reference ------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(configs("LSTM1997"))
def test_forward_matches_reference(case):
    assert_forward_matches_reference(LSTM1997, case)


# -- the constant error carousel ------------------------------------------------------------------------
@pytest.mark.parametrize("recurrent", ["full", "cells", "none"])
def test_cec_passes_error_back_with_factor_exactly_one(recurrent):
    """∂s(T−1)/∂s(−1) = Π_t ∂s(t)/∂s(t−1) = 1 along the truncated path, after 40 steps, bit for bit."""
    cell = LSTM1997(2, 2, 2, 1, recurrent=recurrent, init_range=0.5, seed=4)
    x = np.random.default_rng(1).standard_normal((40, 3, 2))
    trace = cell.forward(x)
    unit = np.random.default_rng(2).standard_normal((3, 4))
    zero = cell.zero_state(3)
    grads = cell.backward(trace, np.zeros_like(trace.outputs), zero._replace(s=unit), truncate=True)
    np.testing.assert_array_equal(grads.initial_state.s, unit)


def test_cec_carries_a_state_perturbation_unchanged_forward():
    """With gates that do not see the state, s(t) − s'(t) = s(−1) − s'(−1) at every step."""
    cell = LSTM1997(2, 2, 1, 1, recurrent="none", init_range=0.5, seed=5)
    x = np.random.default_rng(3).standard_normal((30, 1, 2))
    delta = np.array([[0.75, -0.5]])
    base = cell.forward(x)
    shifted = cell.forward(x, cell.zero_state(1)._replace(s=delta))
    np.testing.assert_allclose(shifted.s - base.s, np.broadcast_to(delta, base.s.shape), rtol=0, atol=1e-14)


# -- exact gradients -----------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(configs("LSTM1997"))
def test_full_bptt_matches_finite_differences(case):
    assert_block_gradcheck(LSTM1997, case)


# -- the 1997 truncated gradient -----------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(configs("LSTM1997"))
def test_truncated_gradient_matches_frozen_recurrent_inputs(case):
    assert_truncated_matches_frozen(LSTM1997, case)


def test_truncated_gradient_differs_from_full_gradient():
    cell = LSTM1997(2, 2, 2, 2, recurrent="full", init_range=0.5, seed=6)
    full, cut = truncation_changes(cell, 6, ("W_c", "W_in", "W_out"))
    np.testing.assert_array_equal(full["W_k"], cut["W_k"])  # the output layer is not recurrent
    assert np.all(cut.initial_state.y_c == 0.0) and np.any(full.initial_state.y_c != 0.0)


def test_truncation_changes_nothing_without_recurrence():
    cell = LSTM1997(3, 2, 2, 2, recurrent="none", init_range=0.5, seed=8)
    x, state, d_out, d_fin = make_case(cell, 5, 2, seed=8)
    trace = cell.forward(x, state)
    full = flat_grads(cell.backward(trace, d_out, d_fin))
    cut = flat_grads(cell.backward(trace, d_out, d_fin, truncate=True))
    for key in full:
        np.testing.assert_array_equal(full[key], cut[key])


# -- kernels: compiled = uncompiled, batched = per example, float32 ----------------------------------------
def test_compiled_kernel_matches_uncompiled_python(tmp_path):
    sizes = {"input_size": 3, "num_blocks": 2, "block_size": 2, "output_size": 2}
    assert_compiled_matches_uncompiled("LSTM1997", sizes, JIT_CASES, tmp_path)


@pytest.mark.parametrize("truncate", [False, True])
def test_batched_equals_loop_over_examples(truncate):
    cell = LSTM1997(2, 2, 2, 3, init_range=0.5, seed=9)
    every = ("inputs", *(f"state.{field}" for field in BlockState._fields))
    assert_block_batched_equals_loop(cell, 7, 4, 9, every, truncate=truncate, outputs=True)


def test_float32_matches_float64():
    cell = LSTM1997(2, 2, 2, 1, init_range=0.5, seed=10)
    cell32 = cell.astype(np.float32)
    x, state, d_out, d_fin = make_case(cell, 8, 2, seed=10)
    t64 = cell.forward(x, state)
    t32 = cell32.forward(x.astype(np.float32), type(state)(*[a.astype(np.float32) for a in state]))
    assert t32.outputs.dtype == np.float32
    np.testing.assert_allclose(t32.outputs, t64.outputs, rtol=1e-5, atol=1e-6)
    g64 = cell.backward(t64, d_out)
    g32 = cell32.backward(t32, d_out.astype(np.float32))
    for k in g64:
        assert g32[k].dtype == np.float32
        assert relative_error(g32[k], g64[k]) < 1e-4


def test_state_is_a_namedtuple_of_the_previous_step():
    cell = LSTM1997(2, 3, 2, 1)
    zero = cell.zero_state(4)
    assert isinstance(zero, BlockState)
    assert [a.shape for a in zero] == [(4, 6), (4, 3), (4, 3), (4, 6)]
    assert all(np.all(a == 0.0) for a in zero)
    trace = cell.forward(np.ones((5, 4, 2)))
    np.testing.assert_array_equal(trace.final_state.s, trace.s[-1])
    np.testing.assert_array_equal(trace.final_state.y_out, trace.y_out[-1])
    second = cell.forward(np.ones((3, 4, 2)), trace.final_state)
    whole = cell.forward(np.ones((8, 4, 2)))
    np.testing.assert_allclose(second.outputs, whole.outputs[5:], rtol=1e-14)


# -- validation ----------------------------------------------------------------------------------------------
BAD_OPTIONS = [
    ({"g": "relu"}, OptionError, "g="),
    ({"h": "softsign"}, OptionError, "h="),
    ({"output": "relu"}, OptionError, "output="),
    ({"recurrent": "all"}, OptionError, "recurrent="),
    ({"bias": "ga"}, OptionError, "bias="),
    ({"bias": {"gates", "forget"}}, OptionError, "unknown"),
    ({"bias": 1}, OptionError, "bias="),
    ({"shortcut": 1}, DTypeError, "shortcut="),
    ({"output_gate": "no"}, DTypeError, "output_gate="),
    ({"init_range": -0.1}, OptionError, "init_range="),
    ({"init_range": float("nan")}, NonFiniteError, "init_range="),
    ({"input_gate_bias": [-1.0]}, ShapeError, "2 values (one per block)"),
    ({"output_gate_bias": [-1.0, -2.0, -3.0]}, ShapeError, "one per block"),
    ({"input_gate_bias": -1.0}, DTypeError, "one per block"),
    ({"input_gate_bias": [-1.0, float("inf")]}, NonFiniteError, "input_gate_bias=...)[1]"),
    ({"input_gate_bias": [-1.0, -2.0], "bias": "none"}, OptionError, "gate biases"),
    ({"output_gate_bias": [-1.0, -2.0], "output_gate": False}, OptionError, "no such gate"),
    ({"dtype": np.float16}, DTypeError, "float32 or float64"),
]


@pytest.mark.parametrize(("options", "error", "text"), BAD_OPTIONS)
def test_bad_options_are_refused(options, error, text):
    with pytest.raises(error, match="LSTM1997") as info:
        LSTM1997(2, 2, 1, 1, **options)
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("sizes", "text"),
    [((0, 1, 1, 1), "input_size"), ((2, 0, 1, 1), "num_blocks"), ((2, 1, 0, 1), "block_size"),
     ((2, 1, 1, 0), "output_size")],
)
def test_sizes_below_one_are_refused(sizes, text):
    with pytest.raises(OptionError, match=text):
        LSTM1997(*sizes)


def test_bad_inputs_are_refused_before_compiled_code():
    cell = LSTM1997(2, 2, 1, 1)
    good = np.zeros((3, 1, 2))
    with pytest.raises(ShapeError, match=r"\(T, B, I\)"):
        cell.forward(np.zeros((3, 2)))
    with pytest.raises(ShapeError, match="shape"):
        cell.forward(np.zeros((3, 1, 3)))
    with pytest.raises(ShapeError, match="axis 0"):
        cell.forward(np.zeros((0, 1, 2)))
    with pytest.raises(DTypeError, match="float32 or float64"):
        cell.forward(np.zeros((3, 1, 2), dtype=np.int64))
    with pytest.raises(DTypeError, match="cell's dtype"):
        cell.forward(np.zeros((3, 1, 2), dtype=np.float32))
    with pytest.raises(DTypeError, match="ndarray"):
        cell.forward([[[0.0, 0.0]]])
    with pytest.raises(NonFiniteError, match="NaN"):
        cell.forward(np.full((3, 1, 2), np.nan))
    with pytest.raises(ShapeError, match="state"):
        cell.forward(good, cell.zero_state(2))
    with pytest.raises(ShapeError, match="state"):
        cell.forward(good, cell.zero_state(1)[:3])
    bad = cell.zero_state(1)._replace(s=np.array([[np.inf, 0.0]]))
    with pytest.raises(NonFiniteError, match="state"):
        cell.forward(good, bad)
    cell.params["W_c"][0, 0] = np.nan
    with pytest.raises(NonFiniteError, match="W_c"):
        cell.forward(good)


def test_bad_backward_arguments_are_refused():
    cell = LSTM1997(2, 2, 1, 1)
    trace = cell.forward(np.zeros((3, 1, 2)))
    with pytest.raises(ShapeError, match="d_outputs"):
        cell.backward(trace, np.zeros((3, 1, 2)))
    with pytest.raises(NonFiniteError, match="d_outputs"):
        cell.backward(trace, np.full((3, 1, 1), np.nan))
    with pytest.raises(ShapeError, match="d_final_state"):
        cell.backward(trace, np.zeros((3, 1, 1)), cell.zero_state(2))
    with pytest.raises(DTypeError, match="truncate"):
        cell.backward(trace, np.zeros((3, 1, 1)), truncate="yes")
    with pytest.raises(DTypeError, match="BlockTrace"):
        cell.backward(object(), np.zeros((3, 1, 1)))
    other = LSTM1997(2, 2, 2, 1)
    with pytest.raises(ShapeError, match="trace"):
        other.backward(trace, np.zeros((3, 1, 1)))


def test_docstring_examples_run():
    result = doctest.testmod(lstm1997)
    assert result.attempted > 0 and result.failed == 0
    assert "(HF5)" in LSTM1997(1, 1, 1, 1).describe()
