"""RNN (PyTorch layout): finite differences, batched = per-example, initialisation, validation, float32.

The validation tests of the shared stacking driver (:mod:`yetztml.cells.stack`) live here too; the
LSTM's and GRU's own files add what is particular to them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cellchecks import (
    assert_batched_equals_per_example,
    assert_gradcheck,
    compare_float32_with_float64,
    raises,
    stack_configs,
)
from yetztml.cells.base import Grads
from yetztml.cells.rnn import NONLINEARITIES, RNN
from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.core.gradcheck import relative_error

TOL = 1e-6


# Without biases a ReLU stack can feed a layer an all-zero input and an all-zero state at once; its
# preactivation is then exactly 0, the kink where ReLU has no derivative, so that combination is left
# out of the finite-difference checks (it is exercised against PyTorch in test_interop_torch.py).
GRID = [
    (nl, layers, bi, bias)
    for nl in NONLINEARITIES
    for layers in (1, 2)
    for bi in (False, True)
    for bias in (True, False)
    if not (nl == "relu" and layers == 2 and not bias)
]


@pytest.mark.parametrize(("nonlinearity", "num_layers", "bidirectional", "bias"), GRID)
def test_gradients_match_finite_differences_on_every_option(nonlinearity, num_layers, bidirectional, bias):
    cell = RNN(
        3, 2, num_layers, nonlinearity=nonlinearity, bias=bias, bidirectional=bidirectional,
        batch_first=bias != bidirectional, seed=7,
    )
    assert_gradcheck(cell, T=4, B=2, seed=11, random_state=True, tol=TOL, all_keys=True)


@settings(max_examples=10, deadline=None)
@given(**stack_configs(nonlinearity=st.sampled_from(NONLINEARITIES)))
def test_gradients_match_finite_differences_on_random_configs(
    seed, nonlinearity, num_layers, bidirectional, bias, batch_first, random_state, T, B, I, H
):
    assume(not (nonlinearity == "relu" and num_layers == 2 and not bias))  # the kink, see GRID
    cell = RNN(
        I, H, num_layers, nonlinearity=nonlinearity, bias=bias, bidirectional=bidirectional,
        batch_first=batch_first, seed=seed,
    )
    assert_gradcheck(cell, T, B, seed + 1, random_state, tol=TOL)


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_batched_equals_per_example_loop(nonlinearity):
    cell = RNN(3, 4, 2, nonlinearity=nonlinearity, bidirectional=True, batch_first=True, seed=1)
    assert_batched_equals_per_example(cell, np.random.default_rng(3), B=3, T=5)


def test_outputs_are_the_top_layer_and_final_state_the_last_step_of_each_direction():
    rng = np.random.default_rng(0)
    cell = RNN(2, 3, 2, bidirectional=True, seed=0)
    trace = cell.forward(rng.standard_normal((5, 2, 2)))
    top_fwd, top_bwd = trace.layers[1]
    assert np.array_equal(trace.outputs[..., :3], top_fwd.outputs)
    assert np.array_equal(trace.outputs[..., 3:], top_bwd.outputs)
    assert np.array_equal(trace.final_state[2], trace.outputs[-1, :, :3])  # → ends at t = T−1
    assert np.array_equal(trace.final_state[3], trace.outputs[0, :, 3:])  # ← ends at t = 0
    assert np.array_equal(trace.layers[1][0].x, np.concatenate([s.outputs for s in trace.layers[0]], axis=2))
    assert not trace.outputs.flags.writeable


def test_one_step_is_the_equation_by_hand():
    rng = np.random.default_rng(4)
    cell = RNN(2, 3, nonlinearity="logistic", seed=4)
    x = rng.standard_normal((1, 2, 2))
    h0 = rng.standard_normal((1, 2, 3))
    p = cell.params
    a = x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h0[0] @ p["weight_hh_l0"].T + p["bias_hh_l0"]  # (RNF1)
    h = 1.0 / (1.0 + np.exp(-a))  # (RNF2)
    assert relative_error(cell.forward(x, h0).outputs[0], h) <= 1e-14


def test_parameters_are_named_shaped_and_initialised_like_pytorch():
    cell = RNN(3, 5, 2, bidirectional=True, seed=0)
    names = [
        f"{kind}_{part}_l{layer}{sfx}"
        for layer in (0, 1)
        for sfx in ("", "_reverse")
        for kind, part in (("weight", "ih"), ("weight", "hh"), ("bias", "ih"), ("bias", "hh"))
    ]
    assert list(cell.params) == names
    assert cell.params["weight_ih_l0"].shape == (5, 3)
    assert cell.params["weight_ih_l1_reverse"].shape == (5, 10)  # layer 1 reads both directions
    # layer 0: 2·(5·3 + 5·5 + 5 + 5) = 100; layer 1: 2·(5·10 + 5·5 + 5 + 5) = 170
    assert cell.num_weights == 270
    bound = 1.0 / math.sqrt(5)
    assert all(np.abs(v).max() <= bound for v in cell.params.values())
    assert np.abs(np.concatenate([v.ravel() for v in cell.params.values()])).max() > 0.9 * bound
    # the values: U(−1/√H, 1/√H) drawn from the seed's generator in PyTorch's parameter order (catches another
    # distribution, bound or order)
    rng = np.random.default_rng(0)
    for name, value in cell.params.items():
        np.testing.assert_array_equal(value, rng.uniform(-bound, bound, value.shape), err_msg=name)
    assert RNN(3, 5, 2, bias=False, seed=0).num_weights == 5 * 3 + 25 + 5 * 5 + 25


def test_seed_and_generator_make_the_initialisation_reproducible():
    a = RNN(2, 3, seed=1).params["weight_hh_l0"]
    assert np.array_equal(a, RNN(2, 3, seed=1).params["weight_hh_l0"])
    assert not np.array_equal(a, RNN(2, 3, seed=2).params["weight_hh_l0"])
    assert np.array_equal(a, RNN(2, 3, seed=np.random.default_rng(1)).params["weight_hh_l0"])


def test_sigmoid_is_an_alias_of_logistic():
    assert RNN(2, 3, nonlinearity="sigmoid").nonlinearity == "logistic"


def test_float32_matches_float64():
    t32, _, g32, g64 = compare_float32_with_float64(RNN(3, 4, 2, bidirectional=True, seed=3))
    assert t32.final_state.dtype == np.float32
    assert relative_error(g32.inputs, g64.inputs) <= 1e-4


def test_backward_returns_grads_keyed_like_params():
    cell = RNN(2, 3, 2, bidirectional=True, batch_first=True)
    x = np.ones((4, 5, 2))
    trace = cell.forward(x)
    grads = cell.backward(trace, np.ones(trace.outputs.shape))
    assert isinstance(grads, Grads)
    assert list(grads) == list(cell.params)
    assert all(grads[k].shape == v.shape for k, v in cell.params.items())
    assert grads.inputs.shape == x.shape and grads.initial_state.shape == (4, 4, 3)


# -- validation: every bad input is refused before compiled code runs, with a message that teaches --


@pytest.mark.parametrize(
    ("kwargs", "error", "fragments"),
    [
        ({"nonlinearity": "softsign"}, OptionError, ["nonlinearity", "'tanh', 'relu', 'logistic'", "'softsign'"]),
        ({"hidden_size": 0}, OptionError, ["hidden_size", ">= 1", "got 0"]),
        ({"hidden_size": 2.5}, DTypeError, ["hidden_size", "an integer"]),
        ({"num_layers": 0}, OptionError, ["num_layers", ">= 1"]),
        ({"input_size": 0}, OptionError, ["input_size", ">= 1"]),
        ({"bias": "yes"}, DTypeError, ["bias", "True or False"]),
        ({"bidirectional": 1}, DTypeError, ["bidirectional", "True or False"]),
        ({"batch_first": None}, DTypeError, ["batch_first", "True or False"]),
        ({"dtype": np.float16}, DTypeError, ["dtype", "float32 or float64"]),
        ({"seed": None}, DTypeError, ["seed", "an int or a numpy.random.Generator"]),
    ],
)
def test_bad_construction_is_refused(kwargs, error, fragments):
    args = {"input_size": 2, "hidden_size": 3, **kwargs}
    with raises(error, *fragments):
        RNN(**args)


def test_bad_inputs_are_refused():
    cell = RNN(3, 4, 2, bidirectional=True)
    with raises(ShapeError, "RNN.forward(x)", "3 dimensions (T, B, I)"):
        cell.forward(np.zeros((5, 3)))
    with raises(ShapeError, "RNN.forward(x)", "(T, B, I) = (*, *, 3)", "(5, 2, 4)"):
        cell.forward(np.zeros((5, 2, 4)))
    with raises(ShapeError, "size >= 1 on axis 0 of (T, B, I)"):  # T = 0
        cell.forward(np.zeros((0, 2, 3)))
    with raises(DTypeError, "dtype float64 (the cell's dtype)", "float32"):
        cell.forward(np.zeros((5, 2, 3), dtype=np.float32))
    with raises(DTypeError, "float32 or float64", "int64"):
        cell.forward(np.zeros((5, 2, 3), dtype=np.int64))
    with raises(DTypeError, "a numpy.ndarray"):
        cell.forward([[[0.0, 0.0, 0.0]]])
    x = np.zeros((5, 2, 3))
    x[1, 1, 1] = np.nan
    with raises(NonFiniteError, "RNN.forward(x)", "finite values", "1 NaN/inf"):
        cell.forward(x)


def test_batch_first_names_its_layout():
    with raises(ShapeError, "(B, T, I)"):
        RNN(3, 4, batch_first=True).forward(np.zeros((2, 5, 4)))


def test_bad_states_are_refused():
    cell = RNN(3, 4, 2, bidirectional=True)
    x = np.zeros((5, 2, 3))
    with raises(ShapeError, "RNN.forward(state)", "(num_layers·D, B, H) = (4, 2, 4)", "(2, 2, 4)"):
        cell.forward(x, np.zeros((2, 2, 4)))
    state = np.zeros((4, 2, 4))
    state[0, 0, 0] = np.inf
    with raises(NonFiniteError, "RNN.forward(state)", "finite values"):
        cell.forward(x, state)
    with raises(DTypeError, "RNN.forward(state)", "float64"):
        cell.forward(x, np.zeros((4, 2, 4), dtype=np.float32))


def test_bad_parameters_are_refused():
    cell = RNN(3, 4)
    x = np.zeros((5, 2, 3))
    cell.params["weight_hh_l0"][1, 2] = np.nan
    with raises(NonFiniteError, "RNN.params['weight_hh_l0']", "finite values"):
        cell.forward(x)
    cell = RNN(3, 4)
    cell.params["bias_ih_l0"] = np.zeros(5)
    with raises(ShapeError, "RNN.params['bias_ih_l0']", "(4,)", "(5,)"):
        cell.forward(x)
    cell = RNN(3, 4)
    cell.params["weight_ih_l0"] = cell.params["weight_ih_l0"].astype(np.float32)
    with raises(DTypeError, "RNN.params['weight_ih_l0']", "float64"):
        cell.forward(x)
    with raises(ShapeError, "RNN.load_params['weight_ih_l0']", "(4, 3)"):
        RNN(3, 4).load_params({**RNN(3, 4).params, "weight_ih_l0": np.zeros((3, 4))})


def test_bad_backward_arguments_are_refused():
    cell = RNN(3, 4, 2)
    trace = cell.forward(np.zeros((5, 2, 3)))
    with raises(ShapeError, "RNN.backward(d_outputs)", "like trace.outputs"):
        cell.backward(trace, np.zeros((5, 2, 3)))
    d = np.zeros((5, 2, 4))
    d[0, 0, 0] = np.inf
    with raises(NonFiniteError, "RNN.backward(d_outputs)"):
        cell.backward(trace, d)
    with raises(ShapeError, "RNN.backward(d_final_state)", "(2, 2, 4)"):
        cell.backward(trace, np.zeros((5, 2, 4)), np.zeros((1, 2, 4)))
    with raises(DTypeError, "RNN.backward(trace)", "the trace returned by RNN.forward"):
        cell.backward("trace", np.zeros((5, 2, 4)))
    with raises(ShapeError, "RNN.backward(trace)", "a trace of this RNN"):
        RNN(3, 4, 1).backward(trace, np.zeros((5, 2, 4)))
    with raises(DTypeError, "RNN.backward(trace)", "float32"):
        cell.astype(np.float32).backward(trace, np.zeros((5, 2, 4), dtype=np.float32))
