"""A trace changed after forward never gives silent gradients: its arrays are read-only, one made writable
again is refused by backward naming the cell and the array, and the caller's own arrays are copied."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from cellchecks import raises
from yetztml.cells.closed_loop import Workspace
from yetztml.cells.lstm import LSTM
from yetztml.cells.modulation import ModulationNet
from yetztml.cells.sealing import release
from yetztml.core.errors import OptionError
from yetztml.layers import Dropout, Embedding, Linear
from yetztml.models import Sequential

RNG = np.random.default_rng(0)
X = RNG.standard_normal((5, 3, 2))
D = RNG.standard_normal((5, 3, 4))


def test_cell_trace_is_read_only_and_a_reopened_array_is_refused_naming_the_cell():
    cell = LSTM(2, 4, seed=0)
    trace = cell.forward(X)
    gates = trace.layers[0][0].gates
    with pytest.raises(ValueError, match="read-only"):
        gates[0, 0, 0] = 0.5  # NumPy's own error, at the write
    first = cell.backward(trace, D)
    again = cell.backward(trace, D)  # backward opens the arrays for its kernels and seals them again
    assert not gates.flags.writeable
    assert all(np.array_equal(first[k], again[k]) for k in first)
    gates.flags.writeable = True
    gates[0, 0, 0] = 0.5
    with raises(OptionError, "LSTM.backward(trace)", "trace.layers[0][0].gates made writable again"):
        cell.backward(trace, D)


def test_the_callers_arrays_are_copied_so_changing_them_changes_no_gradient():
    cell = LSTM(2, 4, seed=0)
    x, h0, c0 = X.copy(), RNG.standard_normal((1, 3, 4)), RNG.standard_normal((1, 3, 4))
    want = cell.backward(cell.forward(X, (h0.copy(), c0.copy())), D)
    trace = cell.forward(x, (h0, c0))
    x[...], h0[...], c0[...] = 7.0, 7.0, 7.0  # the caller reuses its buffers before backward
    got = cell.backward(trace, D)
    assert x.flags.writeable and h0.flags.writeable  # the caller's arrays are left as they were
    assert all(np.array_equal(got[k], want[k]) for k in want)
    assert np.array_equal(got.inputs, want.inputs)
    assert trace.final_state.h.flags.writeable  # handed on as the next chunk's state; backward does not read it
    assert all(p.flags.writeable for p in cell.params.values())  # the optimiser updates them in place


def test_release_hands_the_arrays_over_and_ends_the_checks():
    cell = LSTM(2, 4, seed=0)
    trace = release(cell.forward(X))
    trace.layers[0][0].c[1, 0, 0] += 1.0  # allowed now, and backward computes with it
    assert trace.layers[0][0].c.flags.writeable
    cell.backward(trace, D)


def test_layer_trace_change_is_refused_naming_the_layer():
    layer = Dropout(2, 0.5, seed=1)
    trace = layer.forward(X)
    scale = trace.extras["scale"]
    with pytest.raises(ValueError, match="read-only"):
        scale[...] = 1.0
    scale.flags.writeable = True
    scale[...] = 1.0
    with raises(OptionError, "Dropout.backward(trace)", "trace.extras['scale'] made writable again"):
        layer.backward(trace, X)


def test_model_trace_change_is_refused_naming_the_model_and_the_part():
    model = Sequential(Embedding(6, 3, seed=1), LSTM(3, 4, seed=2), Linear(4, 2, seed=3))
    ids = np.array([[1, 2, 3], [4, 5, 0]])
    trace = model.forward(ids)
    d = np.ones(trace.outputs.shape)
    model.backward(trace, d)
    c = trace.parts[1].layers[0][0].c
    assert not c.flags.writeable and not trace.parts[0].outputs.flags.writeable
    c.flags.writeable = True
    with raises(OptionError, "Sequential.backward(trace)", "trace.parts[1].layers[0][0].c made writable again"):
        model.backward(trace, d)


def test_a_newer_forward_in_the_same_workspace_makes_the_older_trace_refused():
    net = ModulationNet(n_sources=2, hidden_size=3, seed=0)
    ws = Workspace()
    x = RNG.standard_normal((4, 2, 2))
    old = net.forward(x, workspace=ws)
    net.backward(old, np.ones(old.outputs.shape))  # still the workspace's latest trace
    net.forward(x + 1.0, workspace=ws)  # reuses (and overwrites) the arrays the old trace holds
    with raises(OptionError, "ModulationNet.backward(trace)", "the trace of forward 1 of 2 with that workspace"):
        net.backward(old, np.ones(old.outputs.shape))


def test_a_deep_copy_of_a_trace_is_the_copiers():
    cell = LSTM(2, 4, seed=0)
    trace = cell.forward(X)
    other = copy.deepcopy(trace)
    other.layers[0][0].gates[...] = trace.layers[0][0].gates  # writable copies
    got, want = cell.backward(other, D), cell.backward(trace, D)
    assert all(np.array_equal(got[k], want[k]) for k in want)
