"""Losses: values and gradients against PyTorch autograd and float64 finite differences; validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.core.errors import DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.core.gradcheck import numerical_gradient, relative_error
from yetztml.learning.losses import LOSSES, mse, resolve_loss, smooth_l1, softmax_cross_entropy, squared_error

torch.set_num_threads(1)

T, B, K = 5, 3, 4


@pytest.fixture(autouse=True)
def strict_floats():
    with np.errstate(all="raise"):
        yield


def _data(rng, shape=(T, B, K)):
    y = rng.standard_normal(shape)
    t = rng.standard_normal(shape)
    mask = rng.random(shape[:-1]) < 0.6
    mask.flat[0] = True
    return y, t, mask


def _torch_regression(kind, y, t, mask, **kw):
    """Value and autograd gradient of the torch loss over the selected positions."""
    yt = torch.tensor(y, requires_grad=True)
    sel = torch.tensor(mask)
    a, b = yt[sel], torch.tensor(t)[sel]
    if kind == "squared_error":
        value = torch.nn.functional.mse_loss(a, b, reduction="sum")
    elif kind == "mse":
        value = torch.nn.functional.mse_loss(a, b, reduction="mean")
    else:
        value = torch.nn.functional.smooth_l1_loss(a, b, **kw)
    value.backward()
    return value.item(), yt.grad.numpy()


@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize(
    "fn, kind, kw",
    [
        (squared_error, "squared_error", {}),
        (mse, "mse", {}),
        (smooth_l1, "smooth_l1", {"beta": 1.0, "reduction": "sum"}),
        (smooth_l1, "smooth_l1", {"beta": 0.5, "reduction": "mean"}),
        (smooth_l1, "smooth_l1", {"beta": 0.0, "reduction": "sum"}),
    ],
)
def test_regression_losses_match_torch(rng, fn, kind, kw, use_mask):
    y, t, mask = _data(rng)
    if not use_mask:
        mask = np.ones((T, B), dtype=bool)
    value, grad = fn(y, t, mask=mask if use_mask else None, **kw)
    ref_value, ref_grad = _torch_regression(kind, y, t, mask, **kw)
    assert value == pytest.approx(ref_value, rel=1e-12, abs=1e-12)
    assert relative_error(grad, ref_grad) <= 1e-12


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("use_mask", [False, True])
def test_cross_entropy_matches_torch(rng, reduction, use_mask):
    logits = 3.0 * rng.standard_normal((T, B, K))
    labels = rng.integers(0, K, size=(T, B))
    mask = rng.random((T, B)) < 0.5 if use_mask else np.ones((T, B), dtype=bool)
    mask[0, 0] = True
    if use_mask:
        labels[~mask] = -1  # placeholders at unselected positions are ignored
    value, grad = softmax_cross_entropy(logits, labels, mask=mask if use_mask else None, reduction=reduction)
    z = torch.tensor(logits, requires_grad=True)
    target = torch.tensor(np.where(mask, labels, -100))
    ref = torch.nn.functional.cross_entropy(
        z.reshape(-1, K), target.reshape(-1), reduction=reduction, ignore_index=-100
    )
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    assert relative_error(grad, z.grad.numpy()) <= 1e-12


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradients_match_finite_differences(rng, name):
    y, t, mask = _data(rng)
    if resolve_loss(name) is softmax_cross_entropy:
        t = rng.integers(0, K, size=(T, B))
    fn = resolve_loss(name)
    y = y + 0.05  # keep smooth_l1 away from its kink at |y − t| = β
    _, grad = fn(y, t, mask=mask)
    numeric = numerical_gradient(lambda: fn(y, t, mask=mask)[0], y)
    assert relative_error(grad, numeric) <= 1e-7


def test_end_of_sequence_targets_with_batch_mask(rng):
    y, t, _ = _data(rng, (B, K))
    mask = np.array([True, False, True])
    value, grad = squared_error(y, t, mask=mask)
    assert value == pytest.approx(np.sum((y[mask] - t[mask]) ** 2), rel=1e-13)
    assert np.all(grad[1] == 0.0)
    labels = np.array([0, 3, 1])
    v_ce, _ = softmax_cross_entropy(y, labels, mask=mask, reduction="sum")
    z = y - y.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert v_ce == pytest.approx(-(logp[0, 0] + logp[2, 1]), rel=1e-13)


def test_mask_broadcasts_over_batch(rng):
    y, t, _ = _data(rng)
    last = np.zeros((T, 1), dtype=bool)
    last[-1] = True
    value, grad = mse(y, t, mask=last)
    assert value == pytest.approx(np.mean((y[-1] - t[-1]) ** 2), rel=1e-13)
    assert np.all(grad[:-1] == 0.0)


def test_squared_error_has_no_half(rng):
    y = np.zeros((1, 1, 1))
    t = np.ones((1, 1, 1))
    value, grad = squared_error(y, t)
    assert value == 1.0
    assert grad[0, 0, 0] == -2.0  # −2 (t − y): the 1997 eq. 16 convention


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_squared_error_is_count_times_mse(t_len, batch, k, seed):
    gen = np.random.default_rng(seed)
    y, t = gen.standard_normal((t_len, batch, k)), gen.standard_normal((t_len, batch, k))
    mask = gen.random((t_len, batch)) < 0.7
    n = int(mask.sum()) * k
    v_se, g_se = squared_error(y, t, mask=mask)
    v_m, g_m = mse(y, t, mask=mask)
    assert v_se == pytest.approx(n * v_m, rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(g_se, n * g_m, rtol=1e-12, atol=0)


def test_empty_selection_gives_zero(rng):
    y, t, _ = _data(rng)
    none = np.zeros((T, B), dtype=bool)
    for fn in (squared_error, mse, smooth_l1):
        value, grad = fn(y, t, mask=none)
        assert value == 0.0 and not np.any(grad)
    value, grad = softmax_cross_entropy(y, np.zeros((T, B), dtype=int), mask=none)
    assert value == 0.0 and not np.any(grad)


def test_float32_gradients_keep_dtype(rng):
    y, t, mask = _data(rng)
    y32, t32 = y.astype(np.float32), t.astype(np.float32)
    value, grad = squared_error(y32, t32, mask=mask)
    assert grad.dtype == np.float32
    ref, _ = squared_error(y32.astype(np.float64), t32.astype(np.float64), mask=mask)
    assert value == pytest.approx(ref, rel=1e-12)
    _, g_ce = softmax_cross_entropy(y32, np.zeros((T, B), dtype=np.int32))
    assert g_ce.dtype == np.float32


def test_unselected_targets_may_be_placeholders(rng):
    y, t, mask = _data(rng)
    t[~mask] = np.nan
    value, _ = squared_error(y, t, mask=mask)
    assert np.isfinite(value)
    # the placeholders do not enter the value at all: it equals the loss with them set to anything else
    assert value == squared_error(y, np.where(mask[..., None], t, 7.0), mask=mask)[0]
    t[mask.nonzero()[0][0], mask.nonzero()[1][0], 0] = np.nan
    with pytest.raises(NonFiniteError, match=r"squared_error\(targets\)"):
        squared_error(y, t, mask=mask)


def test_validation_errors(rng):
    y, t, mask = _data(rng)
    with pytest.raises(ShapeError, match=r"mse\(targets\): expected the shape of the outputs"):
        mse(y, t[:, :, :2])
    with pytest.raises(ShapeError, match=r"squared_error\(mask\)"):
        squared_error(y, t, mask=np.ones((T, B, K), dtype=bool))
    with pytest.raises(DTypeError, match=r"mask.astype\(bool\)"):
        squared_error(y, t, mask=mask.astype(int))
    bad = y.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(NonFiniteError, match=r"smooth_l1\(outputs\)"):
        smooth_l1(bad, t)
    with pytest.raises(OptionError, match=r"smooth_l1\(beta\)"):
        smooth_l1(y, t, beta=-1.0)
    with pytest.raises(OptionError, match=r"reduction"):
        smooth_l1(y, t, reduction="none")
    labels = rng.integers(0, K, size=(T, B))
    labels[2, 1] = K
    with pytest.raises(OptionError, match=rf"class indices in \[0, {K}\), got {K} at position \(2, 1\)"):
        softmax_cross_entropy(y, labels)
    with pytest.raises(DTypeError, match=r"integer class indices"):
        softmax_cross_entropy(y, labels.astype(float))
    with pytest.raises(ShapeError, match=r"leading shape of the logits"):
        softmax_cross_entropy(y, labels[:, :2])
    names = r"'squared_error', 'mse', 'cross_entropy', 'softmax_cross_entropy', 'smooth_l1'"
    with pytest.raises(OptionError, match=names):
        resolve_loss("hinge")
