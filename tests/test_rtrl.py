"""RTRL: forward sensitivities give BPTT's gradient; refusals; the online one-step interface."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.cells.base import Cell, state_leaves
from yetztml.cells.gru import GRU
from yetztml.cells.lstm import LSTM
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.cells.rnn import RNN
from yetztml.core.errors import OptionError, UnsupportedError
from yetztml.core.gradcheck import numerical_gradient, relative_error
from yetztml.learning import gradients
from yetztml.learning.losses import squared_error
from yetztml.learning.rtrl import Stepper, model_for

TOL = 1e-8
LOSSES = [("squared_error", {}), ("mse", {}), ("smooth_l1", {"beta": 0.5})]


def _random_state(cell, batch, rng):
    """A random initial state shaped like the cell's final state."""
    x = np.zeros((batch, 1, cell.input_size) if getattr(cell, "batch_first", False) else (1, batch, cell.input_size))
    final = cell.forward(x).final_state
    if isinstance(final, np.ndarray):
        return 0.5 * rng.standard_normal(final.shape)
    return type(final)(*[0.5 * rng.standard_normal(a.shape) for a in final])


def _check_rtrl_equals_bptt(cell, T, B, loss, seed, end_only=False):
    rng = np.random.default_rng(seed)
    batch_first = getattr(cell, "batch_first", False)
    x = rng.standard_normal((B, T, cell.input_size) if batch_first else (T, B, cell.input_size))
    lead = (B, T) if batch_first else (T, B)
    targets = rng.standard_normal(lead + (cell.output_size,))
    mask = rng.random(lead) < 0.6
    if end_only:
        mask[...] = False
        mask[(slice(None), -1) if batch_first else -1] = True
    state = _random_state(cell, B, rng)
    name, options = loss
    v_b, g_b = gradients(cell, x, targets, loss=name, mask=mask, state=state, **options)
    v_r, g_r = gradients(cell, x, targets, loss=name, mask=mask, state=state, method="rtrl", **options)
    assert v_r == v_b
    assert set(g_r) == set(cell.params)
    for key in g_b:
        assert g_r[key].dtype == cell.dtype and g_r[key].shape == cell.params[key].shape
        assert relative_error(g_r[key], g_b[key]) <= TOL, key
    assert g_r.inputs is None
    for a, b in zip(state_leaves(g_r.initial_state), state_leaves(g_b.initial_state), strict=True):
        assert a.shape == b.shape
        assert relative_error(a, b) <= TOL


@settings(max_examples=10, deadline=None)
@given(
    hidden=st.integers(1, 3), layers=st.integers(1, 2), bias=st.booleans(), batch_first=st.booleans(),
    nonlinearity=st.sampled_from(["tanh", "relu", "logistic"]), T=st.integers(1, 5), B=st.integers(1, 2),
    loss=st.sampled_from(LOSSES), seed=st.integers(0, 2**16),
)
def test_rtrl_equals_bptt_rnn(hidden, layers, bias, batch_first, nonlinearity, T, B, loss, seed):
    cell = RNN(2, hidden, layers, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first, seed=seed)
    _check_rtrl_equals_bptt(cell, T, B, loss, seed)


@settings(max_examples=10, deadline=None)
@given(
    kind=st.sampled_from([LSTM, GRU]), hidden=st.integers(1, 3), layers=st.integers(1, 2), bias=st.booleans(),
    batch_first=st.booleans(), T=st.integers(1, 5), B=st.integers(1, 2), loss=st.sampled_from(LOSSES),
    seed=st.integers(0, 2**16),
)
def test_rtrl_equals_bptt_lstm_and_gru(kind, hidden, layers, bias, batch_first, T, B, loss, seed):
    cell = kind(2, hidden, layers, bias=bias, batch_first=batch_first, seed=seed)
    _check_rtrl_equals_bptt(cell, T, B, loss, seed)


BLOCK_OPTIONS = st.fixed_dictionaries(
    {
        "recurrent": st.sampled_from(["none", "cells", "full"]),
        "shortcut": st.booleans(),
        "bias": st.sampled_from(["none", "gates", "hidden", "all", ("gates", "outputs"), ("cells",)]),
        "output_gate": st.booleans(),
        "g": st.sampled_from(["g1997", "logistic", "tanh", "identity"]),
        "h": st.sampled_from(["h1997", "logistic", "tanh", "identity"]),
        "output": st.sampled_from(["logistic", "identity", "tanh"]),
    }
)


@settings(max_examples=12, deadline=None)
@given(
    kind=st.sampled_from([LSTM1997, LSTMForget, LSTMPeephole]), blocks=st.integers(1, 2), size=st.integers(1, 2),
    outputs=st.integers(1, 2), options=BLOCK_OPTIONS, forget=st.booleans(), T=st.integers(1, 5),
    B=st.integers(1, 2), loss=st.sampled_from(LOSSES), end_only=st.booleans(), seed=st.integers(0, 2**16),
)
def test_rtrl_equals_bptt_memory_blocks(kind, blocks, size, outputs, options, forget, T, B, loss, end_only, seed):
    if kind is LSTMPeephole:
        options = dict(options, forget_gate=forget)
    cell = kind(2, blocks, size, outputs, init_range=0.6, seed=seed, **options)
    _check_rtrl_equals_bptt(cell, T, B, loss, seed, end_only)


def test_rtrl_equals_finite_differences():
    """An independent check besides BPTT: central differences of the whole loss, every parameter."""
    rng = np.random.default_rng(3)
    cell = LSTMForget(2, 2, 1, 2, init_range=0.6, seed=4)
    x = rng.standard_normal((5, 2, 2))
    targets = rng.standard_normal((5, 2, 2))
    _, grads = gradients(cell, x, targets, method="rtrl")
    for name, param in cell.params.items():
        numeric = numerical_gradient(lambda: gradients(cell, x, targets)[0], param)
        assert relative_error(grads[name], numeric) <= 1e-6, name


def test_sensitivity_sizes_are_n_by_w():
    """The cost model of docs/learning.md: n state units, W weights, a derivative row of n + W."""
    rnn = model_for(RNN(3, 5, seed=0), "test")
    assert (rnn.layout.n, rnn.layout.W) == (5, 5 * 3 + 5 * 5 + 2 * 5)
    lstm = model_for(LSTM(3, 4, 2, seed=0), "test")
    assert lstm.layout.n == 2 * 2 * 4  # h and c of two layers
    block = model_for(LSTMForget(2, 2, 3, 1, seed=0), "test")
    assert block.layout.n == 6 + 2 + 2 + 2 + 6  # y^c, y^in, y^φ, y^out, s
    assert block.layout.D == block.layout.n + block.layout.W


def test_float32_cells_work():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 2, 3))
    targets = rng.standard_normal((6, 2, 4))
    for make in (lambda dt: LSTM(3, 4, seed=1, dtype=dt), lambda dt: LSTM1997(3, 2, 2, 4, seed=1, dtype=dt)):
        _, g64 = gradients(make(np.float64), x, targets, method="rtrl")
        cell32 = make(np.float32)
        _, g32 = gradients(cell32, x.astype(np.float32), targets.astype(np.float32), method="rtrl")
        for key in g64:
            assert g32[key].dtype == np.float32
            assert relative_error(g32[key], g64[key]) <= 1e-4, key


# -- refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [RNN, LSTM, GRU])
def test_bidirectional_cells_are_refused(kind):
    cell = kind(2, 3, bidirectional=True, seed=0)
    with pytest.raises(UnsupportedError, match="causal") as err:
        gradients(cell, np.zeros((4, 1, 2)), np.zeros((4, 1, 6)), method="rtrl")
    assert "bidirectional" in str(err.value) and "method='bptt'" in str(err.value)


def test_cells_without_a_step_model_are_refused():
    class Other(Cell):
        def __init__(self):
            super().__init__(2, 1, np.float64)
            self.params = {"w": np.zeros(1)}

    with pytest.raises(UnsupportedError, match="LSTM1997") as err:
        gradients(Other(), np.zeros((3, 1, 2)), np.zeros((3, 1, 1)), method="rtrl")
    assert "got a Other" in str(err.value)


def test_method_options_are_refused():
    cell = RNN(2, 2, seed=0)
    with pytest.raises(OptionError, match="k1"):
        gradients(cell, np.zeros((3, 1, 2)), np.zeros((3, 1, 2)), method="rtrl", k1=2)


# -- the one-step interface used by update="step" --------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [lambda: RNN(2, 3, 2, seed=1), lambda: GRU(2, 3, seed=1), lambda: LSTMPeephole(2, 2, 1, 3, init_range=0.5, seed=1)],
)
def test_stepper_with_fixed_weights_sums_to_the_sequence_gradient(make):
    """Per-step gradients of ℓ_t, accumulated over a sequence with unchanged weights = BPTT of Σ ℓ_t."""
    cell = make()
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 1, 2))
    targets = rng.standard_normal((6, 1, 3))
    _, want = gradients(cell, x, targets)
    stepper = Stepper(cell, "test")
    stepper.start()
    total = {k: np.zeros_like(v) for k, v in cell.params.items()}
    for t in range(6):
        y = stepper.forward(x[t : t + 1])
        _, d_y = squared_error(y, targets[t : t + 1])
        for k, g in stepper.backward(d_y).items():
            total[k] += g
    for key in want:
        assert relative_error(total[key], want[key]) <= TOL, key
