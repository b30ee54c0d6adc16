"""Gradient clipping against torch.nn.utils.clip_grad_value_ / clip_grad_norm_."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from yetztml.core.errors import DTypeError, NonFiniteError, OptionError
from yetztml.layers import Embedding
from yetztml.learning import Adam, Trainer
from yetztml.learning.clipping import clip_by_global_norm, clip_by_value, global_norm, sum_of_squares
from yetztml.models import Sequential

torch.set_num_threads(1)


def _grads(rng, scale=1.0):
    return {"W": scale * rng.standard_normal((4, 3)), "b": scale * rng.standard_normal(4)}


def _torch_params(grads):
    params = []
    for g in grads.values():
        p = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(g.copy())
        params.append(p)
    return params


def test_clip_by_value_matches_torch(rng):
    grads = _grads(rng, 2.0)
    params = _torch_params(grads)
    torch.nn.utils.clip_grad_value_(params, 0.7)
    out = clip_by_value(grads, 0.7)
    assert out is grads
    for g, p in zip(grads.values(), params, strict=True):
        np.testing.assert_array_equal(g, p.grad.numpy())
    assert max(float(np.max(np.abs(g))) for g in grads.values()) == 0.7


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_by_global_norm_matches_torch(rng, max_norm):
    grads = _grads(rng, 2.0)
    before = {k: v.copy() for k, v in grads.items()}
    params = _torch_params(grads)
    ref_norm = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    norm = clip_by_global_norm(grads, max_norm)
    assert norm == pytest.approx(ref_norm, rel=1e-14)
    assert norm == pytest.approx(np.sqrt(sum(np.sum(v * v) for v in before.values())), rel=1e-14)
    for g, p in zip(grads.values(), params, strict=True):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-14, atol=0)
    if max_norm < norm:
        assert global_norm(grads) == pytest.approx(max_norm, rel=1e-5)
    else:
        for k in grads:
            np.testing.assert_array_equal(grads[k], before[k])


def test_float32_gradients_stay_float32(rng):
    grads = {k: v.astype(np.float32) for k, v in _grads(rng, 5.0).items()}
    clip_by_global_norm(grads, 1.0)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert global_norm(grads) == pytest.approx(1.0, rel=1e-5)


def test_validation(rng):
    grads = _grads(rng)
    with pytest.raises(OptionError, match=r"clip_by_value\(limit\): expected a number > 0"):
        clip_by_value(grads, 0.0)
    with pytest.raises(OptionError, match=r"max_norm"):
        clip_by_global_norm(grads, -1.0)
    grads["b"][0] = np.nan
    with pytest.raises(NonFiniteError, match=r"clip_by_global_norm\(grads\)\['b'\]"):
        clip_by_global_norm(grads, 1.0)
    with pytest.raises(DTypeError, match=r"a float ndarray"):
        clip_by_value({"W": [1.0, 2.0]}, 1.0)


@pytest.mark.parametrize("size", [1, 7, 8, 1003])
def test_float32_global_norm_is_the_float64_sum_of_squares(rng, size):
    """(C2) for float32 tensors: accumulated in float64, so it equals the exactly rounded sum to 1e-15."""
    import math

    grads = {"a": rng.standard_normal(size).astype(np.float32), "b": rng.standard_normal((3, 5)).astype(np.float32)}
    exact = math.sqrt(math.fsum(float(v) ** 2 for g in grads.values() for v in g.ravel().astype(np.float64)))
    assert global_norm(grads) == pytest.approx(exact, rel=1e-15)


@pytest.mark.parametrize("shape", [(50, 128), (13, 7), (9, 3), (1, 5), (40, 33)])
def test_sum_over_known_rows_is_the_whole_sum_to_the_bit(rng, shape):
    """(C2) read only in an embedding gradient's rows (``Grads.rows``): the same float64 value as the whole
    tensor's sum, bit for bit, also when the row length is no multiple of the eight partial sums (an entry
    summed into another partial sum than its flat index's, or a tail entry read twice, changes the last bits);
    a NaN in a listed row still makes it NaN."""
    n, d = shape
    g = np.zeros(shape, dtype=np.float32)
    rows = np.unique(rng.integers(0, n, max(1, n // 3)))
    g[rows] = (rng.standard_normal((rows.size, d)) * np.exp(rng.uniform(-5, 5, (rows.size, d)))).astype(np.float32)
    whole = sum_of_squares(g)
    assert sum_of_squares(g, rows) == whole
    g[rows[-1], d - 1] = np.nan
    assert np.isnan(sum_of_squares(g, rows))


def test_a_bare_embedding_trains_like_the_same_embedding_inside_a_model():
    """``Grads.rows`` is an array for a bare ``Embedding`` and a dict by key for a model: the training loop
    reads both, and clipping by the norm over those rows gives the same weights either way."""
    rng = np.random.default_rng(3)
    data = [(rng.integers(0, 12, (5, 3)), rng.standard_normal((5, 3, 4))) for _ in range(4)]
    bare = Embedding(12, 4, seed=1, dtype=np.float32)
    inner = Embedding(12, 4, seed=1, dtype=np.float32)
    model = Sequential(inner)
    for net in (bare, model):
        Trainer(net, data, optimiser=Adam(net.params, lr=0.1), loss="mse", clip_norm=0.5, progress=False).run(4)
    assert bare.params["weight"].tobytes() == inner.params["weight"].tobytes()
    assert not np.array_equal(bare.params["weight"], Embedding(12, 4, seed=1, dtype=np.float32).params["weight"])
