"""The fast paths of the feedback-modulation training step give the numbers of the plain ones.

1. ``squash`` (the activations of (L2) on a flat block, in the array's own dtype) against NumPy's tanh and
   logistic, fast and exact, float32 and float64;
2. the one-pass loss ``smooth_l1_sum`` of (BT3) against ``learning.losses.smooth_l1`` (same gradient bit for
   bit, same value to rounding), compiled and as plain Python;
3. a float32 ModulationNet with the batch split over threads gives the one-thread numbers (to rounding),
   with the paper's hidden size (the feature-major step loops run over H·B numbers, B not a multiple of 8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from yetztml.cells.closed_loop import Workspace, squash
from yetztml.cells.modulation import ModulationNet
from yetztml.core.gradcheck import relative_error
from yetztml.experiments.bss_train import batch_loss, smooth_l1_sum
from yetztml.learning.losses import smooth_l1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fast", [True, False])
def test_squash_is_tanh_and_logistic_in_the_arrays_dtype(dtype, fast, rng):
    x = np.concatenate([rng.standard_normal(997) * 4.0, [0.0, -30.0, 30.0, 9.99, -10.5]]).astype(dtype)
    tol = 4e-9 if dtype == np.float64 else 4e-7
    t = x.copy()
    squash(t, False, fast)
    assert t.dtype == dtype
    assert np.max(np.abs(t - np.tanh(x.astype(np.float64)))) < tol
    s = x.copy()
    squash(s, True, fast)
    logistic = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    assert np.max(np.abs(s - logistic)) < tol
    if not fast and dtype == np.float64:
        np.testing.assert_array_equal(t, [math.tanh(v) for v in x])
    half = x[: x.size // 2].copy()
    squash(half, True, fast)
    np.testing.assert_array_equal(half, s[: x.size // 2])  # a block's numbers do not depend on its length


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_pass_loss_equals_smooth_l1(dtype, rng):
    y = (rng.standard_normal((40, 5, 2)) * 1.5).astype(dtype)
    s = rng.standard_normal((40, 5, 2)).astype(dtype)
    y[3, 1] = s[3, 1]  # d = 0 exactly
    y[4, 2, 0] = s[4, 2, 0] + 1.0  # |d| = 1: the linear branch, as in PyTorch
    value, grad = smooth_l1(y, s, reduction="sum")
    scale = 1.0 / 10
    expected_value, expected_grad = value * scale, grad * grad.dtype.type(scale)
    for kernel in (smooth_l1_sum, smooth_l1_sum.py_func):
        dy = np.empty_like(y)
        got = kernel(y.reshape(-1), s.reshape(-1), scale, dy.reshape(-1))
        assert abs(got - expected_value) <= 1e-13 * abs(expected_value)
        assert dy.dtype == dtype
        np.testing.assert_array_equal(dy, expected_grad)


def test_batch_loss_uses_the_one_pass_loss(rng):
    net = ModulationNet(hidden_size=6, seed=0, dtype=np.float32)
    x = rng.standard_normal((30, 4, 2)).astype(np.float32)
    s = rng.standard_normal((30, 4, 2)).astype(np.float32)
    trace = net.forward(x)
    value, dy, d_u = batch_loss(net, trace, s, 0.0)
    ref_value, ref_grad = smooth_l1(trace.outputs, s, reduction="sum")
    assert d_u is None
    assert abs(value - ref_value / 8) <= 1e-12 * abs(value)
    np.testing.assert_array_equal(dy, ref_grad * np.float32(1 / 8))


def test_float32_threads_match_one_thread_at_paper_hidden_size(rng):
    """float32 at H = 100, B = 11 split 6 + 5: the same numbers to rounding.

    Not bit for bit: OpenBLAS's sgemm sums a column in an order that depends on how many columns the
    product has (dgemm does not, for these shapes), so the per-step products of a half batch round
    differently from those of the whole batch. The float64 identity is in test_bss_models.py.
    """
    net = ModulationNet(hidden_size=100, seed=0, dtype=np.float32, fast_tanh=True)
    x = rng.standard_normal((25, 11, 2)).astype(np.float32)
    d_y = rng.standard_normal((25, 11, 2)).astype(np.float32)
    state = net.zero_state(11)
    one = net.forward(x, state, workspace=Workspace())
    two = net.forward(x, state, workspace=Workspace(), threads=2)
    assert two.outputs.dtype == np.float32
    np.testing.assert_allclose(two.outputs, one.outputs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two.extras["u"], one.extras["u"], rtol=1e-5, atol=1e-6)
    for a, b in zip(one.final_state, two.final_state, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    g1, g2 = net.backward(one, d_y), net.backward(two, d_y)
    for k in net.params:
        assert g1[k].dtype == g2[k].dtype == np.float32
        assert relative_error(g1[k], g2[k]) < 1e-5, k
    assert relative_error(g1.inputs, g2.inputs) < 1e-5
    for a, b in zip(g1.initial_state, g2.initial_state, strict=True):
        assert relative_error(a, b) < 1e-5


def test_a_forked_child_runs_a_threaded_forward_pass(rng):
    """The pool's threads do not survive ``fork``: a child forked after a two-thread forward pass (a
    worker of a fork-started process pool, a test runner's fork) must make its own pool and give the
    parent's numbers, not wait forever for workers that do not exist there."""
    import os
    import time

    net = ModulationNet(hidden_size=8, seed=0)
    x = rng.standard_normal((5, 4, 2))
    parent = net.forward(x, net.zero_state(4), threads=2).outputs  # the parent now holds a two-thread pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one forward pass on two threads, its outputs through the pipe
        os.close(read)
        try:
            out = net.forward(x, net.zero_state(4), threads=2).outputs
            os.write(write, out.tobytes())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 60.0
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's two-thread forward pass did not finish in 60 s")
        time.sleep(0.05)
    with os.fdopen(read, "rb") as pipe:
        child = np.frombuffer(pipe.read(), dtype=parent.dtype).reshape(parent.shape)
    np.testing.assert_array_equal(child, parent)
