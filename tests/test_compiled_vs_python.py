"""The compiled kernels of RNN, LSTM and GRU compute what their Python source computes.

The same script runs here (compiled) and in a subprocess with ``NUMBA_DISABLE_JIT=1`` (every kernel a
plain Python function); forward and backward results must agree to 1e-12 in float64.
"""

from __future__ import annotations

from uncompiled import assert_uncompiled_equal

SCRIPT = r'''
import sys
import types

import numba
import numpy as np

from yetztml.cells import gru, lstm, rnn


def cells():
    yield "rnn_tanh", rnn.RNN(3, 4, 2, bidirectional=True, seed=1)
    yield "rnn_relu", rnn.RNN(3, 4, 2, nonlinearity="relu", batch_first=True, seed=2)
    yield "rnn_logistic", rnn.RNN(3, 4, 1, nonlinearity="logistic", bias=False, bidirectional=True, seed=3)
    yield "lstm", lstm.LSTM(3, 4, 2, bidirectional=True, batch_first=True, seed=4)
    yield "lstm_nobias", lstm.LSTM(3, 4, 1, bias=False, seed=5)
    yield "gru", gru.GRU(3, 4, 2, bidirectional=True, seed=6)
    yield "gru_nobias", gru.GRU(3, 4, 1, bias=False, batch_first=True, seed=7)


def leaves(state):
    return [state] if isinstance(state, np.ndarray) else list(state)


def run():
    out = {"jit_disabled": np.array(bool(numba.config.DISABLE_JIT)),
           "kernel_is_python": np.array(isinstance(lstm.lstm_forward, types.FunctionType))}
    for name, cell in cells():
        rng = np.random.default_rng(0)
        T, B = 5, 2
        x = rng.standard_normal((B, T, 3) if cell.batch_first else (T, B, 3))
        shape = (cell.num_layers * cell.num_directions, B, cell.hidden_size)
        state = [rng.standard_normal(shape) for _ in cell.state_names]
        trace = cell.forward(x, state[0] if len(state) == 1 else tuple(state))
        d_out = rng.standard_normal(trace.outputs.shape)
        d_fin = [rng.standard_normal(shape) for _ in cell.state_names]
        grads = cell.backward(trace, d_out, d_fin[0] if len(d_fin) == 1 else tuple(d_fin))
        out[f"{name}/outputs"] = np.asarray(trace.outputs)
        for i, leaf in enumerate(leaves(trace.final_state)):
            out[f"{name}/final{i}"] = leaf
        for key, value in grads.items():
            out[f"{name}/d_{key}"] = value
        out[f"{name}/d_inputs"] = grads.inputs
        for i, leaf in enumerate(leaves(grads.initial_state)):
            out[f"{name}/d_initial{i}"] = leaf
    return out


if __name__ == "__main__":
    np.savez(sys.argv[1], **run())
'''


def test_compiled_kernels_equal_their_python_source(tmp_path):
    assert_uncompiled_equal(SCRIPT, tmp_path, min_keys=50)
