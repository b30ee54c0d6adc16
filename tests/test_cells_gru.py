"""GRU (PyTorch layout): finite differences, the equations by hand, batched = per-example, float32."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.cells.gradcheck import check_cell
from yetztml.cells.gru import GRU
from yetztml.core.errors import DTypeError, ShapeError
from yetztml.core.gradcheck import relative_error

TOL = 1e-6


@contextlib.contextmanager
def _raises(error, *fragments):
    with pytest.raises(error) as info:
        yield info
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


def _gradcheck(cell: GRU, T: int, B: int, seed: int, random_state: bool) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    shape = (B, T, cell.input_size) if cell.batch_first else (T, B, cell.input_size)
    x = rng.standard_normal(shape)
    state = None
    if random_state:
        state = 0.5 * rng.standard_normal((cell.num_layers * cell.num_directions, B, cell.hidden_size))
    with np.errstate(all="raise"):
        return check_cell(cell, x, rng, state=state)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradients_match_finite_differences_on_every_option(num_layers, bidirectional, bias):
    cell = GRU(3, 2, num_layers, bias=bias, bidirectional=bidirectional, batch_first=bias != bidirectional, seed=4)
    errors = _gradcheck(cell, T=4, B=2, seed=9, random_state=True)
    assert set(errors) == set(cell.params) | {"inputs", "initial_state"}
    assert max(errors.values()) <= TOL, errors


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    bias=st.booleans(),
    batch_first=st.booleans(),
    random_state=st.booleans(),
    T=st.integers(1, 4),
    B=st.integers(1, 3),
    I=st.integers(1, 3),
    H=st.integers(1, 3),
)
def test_gradients_match_finite_differences_on_random_configs(
    seed, num_layers, bidirectional, bias, batch_first, random_state, T, B, I, H
):
    cell = GRU(I, H, num_layers, bias=bias, bidirectional=bidirectional, batch_first=batch_first, seed=seed)
    errors = _gradcheck(cell, T, B, seed + 1, random_state)
    assert max(errors.values()) <= TOL, errors


def test_one_step_is_the_equations_by_hand():
    """The reset gate multiplies W_hn h + b_hn, bias included (PyTorch's form, (F5))."""
    rng = np.random.default_rng(2)
    cell = GRU(2, 3, seed=2)
    x = rng.standard_normal((1, 2, 2))
    h0 = rng.standard_normal((1, 2, 3))
    p = cell.params
    pre_x = x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"]  # (F1)
    pre_h = h0[0] @ p["weight_hh_l0"].T + p["bias_hh_l0"]  # (F2)
    r = 1.0 / (1.0 + np.exp(-(pre_x[:, 0:3] + pre_h[:, 0:3])))  # (F3)
    z = 1.0 / (1.0 + np.exp(-(pre_x[:, 3:6] + pre_h[:, 3:6])))  # (F4)
    n = np.tanh(pre_x[:, 6:9] + r * pre_h[:, 6:9])  # (F5)
    h = (1.0 - z) * n + z * h0[0]  # (F6)
    trace = cell.forward(x, h0)
    assert relative_error(trace.outputs[0], h) <= 1e-14
    sweep = trace.layers[0][0]
    assert relative_error(sweep.gates[0], np.concatenate([r, z, n], axis=1)) <= 1e-14
    assert relative_error(sweep.q_n[0], pre_h[:, 6:9]) <= 1e-14


def test_update_gate_at_one_copies_the_state():
    """z = 1 (a large b_hz) makes (F6) h(t) = h(t−1): the state passes through unchanged, and so does
    its gradient (B6)."""
    rng = np.random.default_rng(0)
    cell = GRU(2, 3, seed=0)
    cell.params["bias_hh_l0"][3:6] = 60.0  # σ(60) = 1 in float64
    h0 = rng.standard_normal((1, 1, 3))
    trace = cell.forward(rng.standard_normal((7, 1, 2)), h0)
    assert np.array_equal(trace.final_state, h0)
    d_fin = rng.standard_normal((1, 1, 3))
    grads = cell.backward(trace, np.zeros(trace.outputs.shape), d_fin)
    assert np.array_equal(grads.initial_state, d_fin)


def test_batched_equals_per_example_loop():
    rng = np.random.default_rng(3)
    cell = GRU(3, 4, 2, bidirectional=True, batch_first=True, seed=1)
    B, T = 3, 5
    x = rng.standard_normal((B, T, 3))
    h0 = rng.standard_normal((4, B, 4))
    trace = cell.forward(x, h0)
    d_out = rng.standard_normal(trace.outputs.shape)
    d_fin = rng.standard_normal(h0.shape)
    grads = cell.backward(trace, d_out, d_fin)
    total = {k: np.zeros_like(v) for k, v in grads.items()}
    for b in range(B):
        one = cell.forward(x[b : b + 1], h0[:, b : b + 1])
        assert relative_error(one.outputs[0], trace.outputs[b]) <= 1e-12
        assert relative_error(one.final_state[:, 0], trace.final_state[:, b]) <= 1e-12
        g = cell.backward(one, d_out[b : b + 1], d_fin[:, b : b + 1])
        for k in total:
            total[k] += g[k]
        assert relative_error(g.inputs[0], grads.inputs[b]) <= 1e-12
        assert relative_error(g.initial_state[:, 0], grads.initial_state[:, b]) <= 1e-12
    for k in total:
        assert relative_error(total[k], grads[k]) <= 1e-12, k


def test_float32_matches_float64():
    rng = np.random.default_rng(5)
    cell64 = GRU(3, 4, 2, bidirectional=True, seed=3)
    cell32 = cell64.astype(np.float32)
    x = rng.standard_normal((6, 2, 3))
    t64 = cell64.forward(x)
    t32 = cell32.forward(x.astype(np.float32))
    assert t32.outputs.dtype == np.float32
    assert relative_error(t32.outputs, t64.outputs) <= 1e-5
    d = rng.standard_normal(t64.outputs.shape)
    g64 = cell64.backward(t64, d)
    g32 = cell32.backward(t32, d.astype(np.float32))
    for k in g64:
        assert g32[k].dtype == np.float32
        assert relative_error(g32[k], g64[k]) <= 1e-4, k
    assert relative_error(g32.inputs, g64.inputs) <= 1e-4


def test_parameters_are_three_blocks_per_unit():
    cell = GRU(2, 4, bidirectional=True, seed=0)
    assert cell.params["weight_ih_l0_reverse"].shape == (12, 2)
    assert cell.num_weights == 2 * (12 * 2 + 12 * 4 + 2 * 12)  # D·(3H·I + 3H·H + 2·3H) = 192


def test_gru_state_is_one_array():
    cell = GRU(3, 4)
    x = np.zeros((5, 2, 3))
    with _raises(DTypeError, "GRU.forward(state)", "a numpy.ndarray"):
        cell.forward(x, (np.zeros((1, 2, 4)), np.zeros((1, 2, 4))))
    with _raises(ShapeError, "GRU.forward(state)", "(1, 2, 4)"):
        cell.forward(x, np.zeros((1, 3, 4)))
