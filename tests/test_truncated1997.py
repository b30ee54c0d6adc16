"""The 1997 forward algorithm: equal to the truncated BPTT, different from the full gradient, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.cells.base import state_leaves
from yetztml.cells.gru import GRU
from yetztml.cells.lstm import LSTM
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.cells.rnn import RNN
from yetztml.core.errors import OptionError, ShapeError, UnsupportedError
from yetztml.core.gradcheck import relative_error
from yetztml.learning import gradients, online_sgd
from yetztml.learning.losses import squared_error
from yetztml.learning.truncated1997 import Stepper, workspace

TOL = 1e-8
LOSSES = [("squared_error", {}), ("mse", {}), ("smooth_l1", {"beta": 0.5})]
BIAS = ["none", "gates", "hidden", "all", ("gates", "outputs"), ("cells",), ("outputs",)]


def _data(cell, T, B, seed, end_only):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, cell.input_size))
    targets = rng.standard_normal((T, B, cell.output_size))
    mask = rng.random((T, B)) < 0.6
    if end_only:  # one target per sequence, at its last step
        mask[...] = False
        mask[-1] = True
    state = type(cell.zero_state(B))(*[0.5 * rng.standard_normal(a.shape) for a in cell.zero_state(B)])
    return x, targets, mask, state


def _check_equals_truncated_bptt(cell, T, B, loss, seed, end_only):
    x, targets, mask, state = _data(cell, T, B, seed, end_only)
    name, options = loss
    v_b, g_b = gradients(cell, x, targets, loss=name, mask=mask, state=state, truncate_recurrent=True, **options)
    v_a, g_a = gradients(cell, x, targets, loss=name, mask=mask, state=state, method="truncated1997", **options)
    assert v_a == v_b
    assert set(g_a) == set(cell.params)
    for key in g_b:
        assert g_a[key].shape == cell.params[key].shape and g_a[key].dtype == cell.dtype
        assert relative_error(g_a[key], g_b[key]) <= TOL, key
    assert g_a.inputs is None
    assert type(g_a.initial_state) is type(g_b.initial_state)
    for a, b in zip(state_leaves(g_a.initial_state), state_leaves(g_b.initial_state), strict=True):
        assert relative_error(a, b) <= TOL


@settings(max_examples=20, deadline=None)
@given(
    blocks=st.integers(1, 3), size=st.integers(1, 3), outputs=st.integers(1, 2),
    recurrent=st.sampled_from(["none", "cells", "full"]), shortcut=st.booleans(), bias=st.sampled_from(BIAS),
    output_gate=st.booleans(), g=st.sampled_from(["g1997", "logistic", "tanh", "identity"]),
    h=st.sampled_from(["h1997", "logistic", "tanh", "identity"]), output=st.sampled_from(["logistic", "identity"]),
    T=st.integers(1, 8), B=st.integers(1, 3), loss=st.sampled_from(LOSSES), end_only=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_lstm1997_equals_truncated_bptt(
    blocks, size, outputs, recurrent, shortcut, bias, output_gate, g, h, output, T, B, loss, end_only, seed
):
    cell = LSTM1997(
        2, blocks, size, outputs, recurrent=recurrent, shortcut=shortcut, bias=bias, output_gate=output_gate,
        g=g, h=h, output=output, init_range=0.6, seed=seed,
    )
    _check_equals_truncated_bptt(cell, T, B, loss, seed, end_only)


@settings(max_examples=15, deadline=None)
@given(
    peephole=st.booleans(), forget=st.booleans(), blocks=st.integers(1, 2), size=st.integers(1, 3),
    recurrent=st.sampled_from(["none", "cells", "full"]), shortcut=st.booleans(), bias=st.sampled_from(BIAS),
    output_gate=st.booleans(), h=st.sampled_from(["h1997", "identity"]), T=st.integers(1, 8), B=st.integers(1, 2),
    loss=st.sampled_from(LOSSES), end_only=st.booleans(), seed=st.integers(0, 2**16),
)
def test_forget_and_peephole_cells_equal_truncated_bptt(
    peephole, forget, blocks, size, recurrent, shortcut, bias, output_gate, h, T, B, loss, end_only, seed
):
    options = dict(recurrent=recurrent, shortcut=shortcut, bias=bias, output_gate=output_gate, h=h,
                   init_range=0.6, seed=seed)
    if peephole:
        cell = LSTMPeephole(2, blocks, size, 2, forget_gate=forget, **options)
    else:
        cell = LSTMForget(2, blocks, size, 2, **options)
    _check_equals_truncated_bptt(cell, T, B, loss, seed, end_only)


#: How far the truncated gradient of W_c, W_in, W_out is from the exact one (relative error), per cell, seed 7's
#: weights and the data below (float64: 1e-9 relative); a cut of other sources, or of none, gives other gaps.
TRUNCATION_GAPS = [(0.21601120095032797, 0.8705875069107005, 0.3621107700233434),
                   (0.08614829481876199, 0.5602999968241053, 0.10884591802213062),
                   (0.12961705075720614, 0.9617202695903765, 0.4325543817633981)]


@pytest.mark.parametrize(
    ("make", "gaps"),
    [
        (lambda **kw: LSTM1997(2, 2, 2, 2, init_range=0.6, seed=7, **kw), TRUNCATION_GAPS[0]),
        (lambda **kw: LSTMForget(2, 2, 2, 2, init_range=0.6, seed=7, **kw), TRUNCATION_GAPS[1]),
        (lambda **kw: LSTMPeephole(2, 2, 2, 2, h="h1997", init_range=0.6, seed=7, **kw), TRUNCATION_GAPS[2]),
    ],
)
def test_truncation_is_applied(make, gaps):
    """Recurrent sources cut: the gradient differs from the exact one. Nothing to cut: it is the exact one."""
    cell = make(recurrent="full")
    x, targets, mask, _ = _data(cell, 8, 2, 11, False)
    _, cut = gradients(cell, x, targets, mask=mask, method="truncated1997")
    _, full = gradients(cell, x, targets, mask=mask, method="bptt")
    for key in ("W_c", "W_in", "W_out"):
        assert relative_error(cut[key], full[key]) > 1e-3, key
    assert [relative_error(cut[key], full[key]) for key in ("W_c", "W_in", "W_out")] == pytest.approx(gaps, rel=1e-9)
    for key in ("W_k", "b_k"):  # the output layer's gradient has no recurrent path to cut
        assert relative_error(cut[key], full[key]) <= TOL, key
    plain = make(recurrent="none")
    _, cut = gradients(plain, x, targets, mask=mask, method="truncated1997")
    _, full = gradients(plain, x, targets, mask=mask, method="bptt")
    if isinstance(plain, LSTMPeephole):  # peepholes keep a recurrent path, s(t−1) → gates, and it is cut
        assert relative_error(cut["W_in"], full["W_in"]) > 1e-3
        assert relative_error(cut["W_in"], full["W_in"]) == pytest.approx(0.1499291739521434, rel=1e-9)
    else:  # u(t) = x(t): only the CEC carries error back in time, and it is kept
        for key in full:
            assert relative_error(cut[key], full[key]) <= TOL, key


def test_partials_storage_does_not_grow_with_the_sequence():
    cell = LSTM1997(2, 2, 2, 1, bias="all")  # the 93-weight net of Exp 4
    assert cell.num_weights == 93
    car, _ = workspace(cell)
    N, S, U = 4, 2, cell.num_sources
    # y^c, y^in, y^φ, y^out, s; ∂s/∂w for cell inputs, input gates, forget gates; two peephole sets; ∂s/∂s(−1)
    assert [a.size for a in car] == [N, 2, 0, 2, N, N * (U + 1), N * (U + 1), 0, N * S, N * S, N]


def test_float32_cells_work():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, 2, 3))
    targets = rng.standard_normal((7, 2, 2))
    _, g64 = gradients(LSTMForget(3, 2, 2, 2, seed=3), x, targets, method="truncated1997")
    cell = LSTMForget(3, 2, 2, 2, seed=3, dtype=np.float32)
    _, g32 = gradients(cell, x.astype(np.float32), targets.astype(np.float32), method="truncated1997")
    for key in g64:
        assert g32[key].dtype == np.float32
        assert relative_error(g32[key], g64[key]) <= 1e-4, key


def test_float32_online_updates_follow_float64():
    """The same compiled kernel in float32: online updates stay close to the float64 ones."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((12, 3, 2))
    targets = rng.random((12, 3, 1))
    weights = []
    for dtype in (np.float64, np.float32):
        cell = LSTMForget(2, 2, 2, 1, init_range=0.5, seed=9, dtype=dtype)
        online_sgd(cell, x.astype(dtype), targets.astype(dtype), lr=0.2, decay=0.95)
        assert all(v.dtype == dtype for v in cell.params.values())
        weights.append(cell.params)
    for key in weights[0]:
        np.testing.assert_allclose(weights[1][key], weights[0][key], rtol=1e-4, atol=1e-5)


def test_stepper_with_fixed_weights_sums_to_the_sequence_gradient():
    cell = LSTMPeephole(2, 2, 2, 2, init_range=0.5, seed=5)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((7, 1, 2))
    targets = rng.standard_normal((7, 1, 2))
    _, want = gradients(cell, x, targets, truncate_recurrent=True)
    stepper = Stepper(cell, "test")
    stepper.start()
    total = {k: np.zeros_like(v) for k, v in cell.params.items()}
    for t in range(7):
        y = stepper.forward(x[t : t + 1])
        _, d_y = squared_error(y, targets[t : t + 1])
        for key, g in stepper.backward(d_y).items():
            total[key] += g
    for key in want:
        assert relative_error(total[key], want[key]) <= TOL, key


# -- refusals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: GRU(2, 3, seed=0), lambda: LSTM(2, 3, seed=0), lambda: RNN(2, 3, seed=0)])
def test_other_cells_are_refused_naming_the_supported_ones(make):
    cell = make()
    with pytest.raises(UnsupportedError, match="truncated1997") as err:
        gradients(cell, np.zeros((3, 1, 2)), np.zeros((3, 1, 3)), method="truncated1997")
    text = str(err.value)
    assert "LSTM1997, LSTMForget and LSTMPeephole" in text and type(cell).__name__ in text


@pytest.mark.parametrize("method", ["truncated1997", "rtrl"])
def test_a_loss_returning_a_misshapen_gradient_is_refused(method):
    """Compiled code indexes d_outputs without bounds checks: its shape is checked first."""
    cell = LSTM1997(2, 1, 1, 2)
    bad_loss = lambda outputs, targets: (0.0, np.zeros(outputs.shape[:-1] + (1,)))
    with pytest.raises(ShapeError, match="d_outputs"):
        gradients(cell, np.zeros((3, 1, 2)), np.zeros((3, 1, 2)), loss=bad_loss, method=method)


def test_method_options_are_refused():
    cell = LSTM1997(2, 1, 1, 1)
    with pytest.raises(OptionError, match="truncate_recurrent"):
        gradients(cell, np.zeros((3, 1, 2)), np.zeros((3, 1, 1)), method="truncated1997", truncate_recurrent=True)


# -- the same kernels, uncompiled -------------------------------------------------------------------
_UNCOMPILED = """
import json, sys
import numpy as np
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.learning import gradients, online_sgd
rng = np.random.default_rng(0)
cell = LSTMPeephole(2, 2, 2, 1, h="h1997", init_range=0.5, seed=1)
x = rng.standard_normal((4, 2, 2))
targets = rng.standard_normal((4, 2, 1))
_, g = gradients(cell, x, targets, method="truncated1997")
loss, _ = online_sgd(cell, x, targets, lr=0.1, decay=0.9)
json.dump({"grads": {k: v.tolist() for k, v in g.items()}, "loss": loss,
           "params": {k: v.tolist() for k, v in cell.params.items()}}, sys.stdout)
"""


def _run(disable_jit: bool) -> dict:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0")
    done = subprocess.run([sys.executable, "-c", _UNCOMPILED], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_uncompiled_kernels_agree_with_compiled():
    plain, compiled = _run(True), _run(False)
    for part in ("grads", "params"):
        for key, value in compiled[part].items():
            np.testing.assert_allclose(plain[part][key], value, rtol=1e-12, atol=1e-14)
    assert plain["loss"] == pytest.approx(compiled["loss"], rel=1e-12)
