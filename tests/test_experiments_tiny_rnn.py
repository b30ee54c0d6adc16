"""The Exp 2a baseline net: RTRL's summed gradient = BPTT's = finite differences; online training runs."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.experiments.lstm1997.baselines import _pool
from yetztml.learning.tiny_rnn import TinyRNN, bptt_sequence, rtrl_sequence, train_presentations


def _half_sse(net, xi, tgt):
    y = np.zeros(tgt.shape)
    g = net.zero_grads()
    return 0.5 * rtrl_sequence(net.w_h, net.w_hh, net.W_o, xi, tgt, 0.0, False, *g, y)


def test_rtrl_equals_bptt_equals_finite_differences():
    rng = np.random.default_rng(0)
    net = TinyRNN(6, 6, 1.0, rng)
    xi, tgt = _pool(5)
    xi, tgt = xi[1], tgt[1]
    g_r = net.zero_grads()
    rtrl_sequence(net.w_h, net.w_hh, net.W_o, xi, tgt, 0.0, False, *g_r, np.zeros(tgt.shape))
    g_b = net.zero_grads()
    bptt_sequence(net.w_h, net.w_hh, net.W_o, xi, tgt, 0.0, False, *g_b, np.zeros(tgt.shape))
    for a, b in zip(g_r, g_b, strict=True):
        assert np.max(np.abs(a - b)) < 1e-14
    eps = 1e-6
    for array, grad in zip((net.w_h, net.w_hh, net.W_o), g_r, strict=True):
        flat, gflat = array.reshape(-1), grad.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = _half_sse(net, xi, tgt)
            flat[i] = old - eps
            down = _half_sse(net, xi, tgt)
            flat[i] = old
            numeric = -(up - down) / (2 * eps)  # the update direction: −∂E½/∂w
            assert abs(numeric - gflat[i]) < 1e-8 * max(1.0, abs(numeric))


def test_online_rtrl_and_bptt_learn_p4():
    xi, tgt = _pool(4)
    order = np.random.default_rng(1).integers(0, 2, 3000).astype(np.int64)
    # seeded: the mean error of the last 200 of 3,000 presentations and of the first 20 (1e-9 relative,
    # room for a compiled loop's summation order)
    expected = {False: (0.5191438853626084, 2.3344870223015457), True: (0.5191328437670593, 2.330988205859872)}
    for bptt in (False, True):
        net = TinyRNN(5, 5, 0.2, np.random.default_rng(2))
        sse = train_presentations(net.w_h, net.w_hh, net.W_o, xi, tgt, order, 1.0, bptt)
        assert sse[-200:].mean() < 0.5 * sse[:20].mean()
        assert (sse[-200:].mean(), sse[:20].mean()) == pytest.approx(expected[bptt], rel=1e-9)
