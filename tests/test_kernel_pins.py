"""Seeded results of every compiled memory-block path and of the 2a baseline net, pinned bit for bit.

The batched kernel (``cells.blocks``), the truncated-gradient forward (``learning.truncated1997``), the fused
online kernel (``learning.online1997_fast``, dense and one-hot inputs) and the baseline net's RTRL and BPTT
all run the one step of :mod:`yetztml.cells.block_step` (or the baseline cell's own); a change of the order
of any floating-point operation in them changes a digest below. Each pin is the first number in full and a
SHA-256 prefix of every array of the result. The values were recorded before the paths shared one step.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.cells.lstm_peephole import LSTMPeephole
from yetztml.learning import gradients
from yetztml.learning.online1997_fast import FastNet, pack, train_online
from yetztml.learning.tiny_rnn import TinyRNN, train_presentations
from yetztml.tasks import make_task


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


CELLS = {
    "peephole": lambda: LSTMPeephole(3, 2, 2, 2, recurrent="full", shortcut=True, bias="all", init_range=0.7,
                                     seed=11),
    "forget": lambda: LSTMForget(3, 2, 2, 2, recurrent="full", bias="all", init_range=0.7, seed=12),
    "lstm1997": lambda: LSTM1997(3, 2, 2, 2, recurrent="full", bias="all", init_range=0.7, seed=13),
}


def _batch():
    rng = np.random.default_rng(5)
    return rng.standard_normal((7, 3, 3)), rng.standard_normal((7, 3, 2))


FORWARD = {
    "peephole": (0.5250582824071417, "81ee6b06ce699791"),
    "forget": (0.6374917268369198, "5e0843bfeb33ecc5"),
    "lstm1997": (0.5706490637306338, "f47f64c1e52110ac"),
}


@pytest.mark.parametrize("name", list(CELLS))
def test_batched_block_forward_is_pinned(name):
    x, _ = _batch()
    trace = CELLS[name]().forward(x)
    first, digest = FORWARD[name]
    assert float(trace.outputs[-1, 0, 0]) == first
    assert _digest([trace.outputs, trace.s, trace.y_c]) == digest


TRUNCATED = {
    "peephole": (48.120625448375996, 0.10623209063134774, "d6994d3edcd2d45a"),
    "forget": (53.2405132123356, -0.044640996067471066, "abde8198d724d366"),
    "lstm1997": (50.080579122601016, 0.3252473043284914, "cdfed674085a3931"),
}


@pytest.mark.parametrize("name", list(CELLS))
def test_truncated1997_gradient_is_pinned(name):
    x, targets = _batch()
    value, g = gradients(CELLS[name](), x, targets, loss="squared_error", method="truncated1997")
    loss, first, digest = TRUNCATED[name]
    assert value == loss
    assert float(g["W_in"][0, 0]) == first
    assert _digest([g[k] for k in sorted(g)] + [g.initial_state.s]) == digest


ONLINE = {
    "exp4": (lambda: LSTM1997(2, 2, 2, 1, bias="all", init_range=0.1, input_gate_bias=[-3.0, -6.0], seed=1),
             ("4", {"T": 20}), False, 0.0021503200518414992, "50582d9981438c92"),
    "cerg": (lambda: LSTMForget(7, 4, 2, 7, recurrent="cells", shortcut=True, bias={"gates", "outputs"},
                                forget_gate_bias=[0.5, 1.0, 1.5, 2.0], init_range=0.2, seed=3),
             ("1", {}), True, -0.1475616353162822, "cf4c9c52f7107de1"),
    "exp2a": (lambda: LSTM1997(11, 1, 1, 11, recurrent="none", shortcut=True, bias="none", output_gate=False,
                               g="logistic", h="identity", init_range=0.2, seed=4),
              ("2a", {"p": 10}), True, 0.6858748302887255, "7a4f963f87990d35"),
    "exp1-dense": (lambda: LSTM1997(7, 3, 2, 7, bias="gates", init_range=0.2, seed=2), ("1", {}), False,
                   0.48076682511947805, "e38b4e25d1e105cc"),
}


@pytest.mark.parametrize("name", list(ONLINE))
def test_fused_online_kernel_is_pinned(name):
    build, (task, options), onehot, first, digest = ONLINE[name]
    samples = [make_task(task, seed=7, **options).sample() for _ in range(12)]
    net = FastNet(build())
    outcome = train_online(net, pack(samples, onehot=onehot), lr=0.4)
    assert float(net.W[0, 0]) == first
    assert _digest([net.W, net.Wk, outcome.records]) == digest


@pytest.mark.parametrize(("bptt", "last", "digest"), [
    (False, 3.760267887389347, "05c3aa61b2b78797"),
    (True, 3.7212757872952964, "e08a181e34d309d8"),
])
def test_baseline_net_training_is_pinned(bptt, last, digest):
    rng = np.random.default_rng(3)
    net = TinyRNN(6, 6, 0.2, rng)
    xi = rng.integers(0, 6, (5, 9)).astype(np.int64)
    targets = rng.random((5, 9, 6))
    order = np.array([0, 3, 1, 4, 2, 0, 1], np.int64)
    sse = train_presentations(net.w_h, net.w_hh, net.W_o, xi, targets, order, 0.5, bptt)
    assert float(sse[-1]) == last
    assert _digest([net.w_h, net.w_hh, net.W_o, sse]) == digest
