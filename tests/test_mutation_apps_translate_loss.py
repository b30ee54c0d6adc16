"""yetztml.apps.translate.loss: (TL1)–(TL3) against the formulas written out here, the gradient against
finite differences in float64, the default mask (padding id 0), one selected position, none, float32, and
the stability of ``word_log_probs`` at large logits."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.apps.translate.loss import smoothed_cross_entropy, word_log_probs

RNG = np.random.default_rng(3)
LOGITS = RNG.standard_normal((3, 2, 5))
TARGETS = np.array([[1, 4], [2, 0], [0, 3]])  # three padding positions (id 0)


def expected_value(logits, targets, mask, eps):
    V = logits.shape[-1]
    total, n = 0.0, 0
    for t, b in zip(*np.nonzero(mask), strict=True):
        log_p = logits[t, b] - np.log(np.exp(logits[t, b]).sum())
        q = np.full(V, eps / V)
        q[targets[t, b]] += 1.0 - eps
        total -= float(q @ log_p)
        n += 1
    return total / max(n, 1)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_value_and_gradient_with_the_default_mask(eps):
    value, grad = smoothed_cross_entropy(LOGITS, TARGETS, smoothing=eps)
    assert value == pytest.approx(expected_value(LOGITS, TARGETS, TARGETS != 0, eps), abs=1e-14)
    assert grad.dtype == np.float64 and grad.shape == LOGITS.shape
    np.testing.assert_array_equal(grad[TARGETS == 0], 0.0)
    h = 1e-6
    numeric = np.zeros_like(LOGITS)
    for i in np.ndindex(LOGITS.shape):
        up, down = LOGITS.copy(), LOGITS.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (smoothed_cross_entropy(up, TARGETS, smoothing=eps)[0]
                      - smoothed_cross_entropy(down, TARGETS, smoothing=eps)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=0, atol=1e-9)


def test_the_gradient_is_p_minus_q_over_n():
    eps = 0.2
    mask = np.array([[True, False], [True, True], [False, False]])
    value, grad = smoothed_cross_entropy(LOGITS, TARGETS, mask, smoothing=eps)
    assert value == pytest.approx(expected_value(LOGITS, TARGETS, mask, eps), abs=1e-14)
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=-1, keepdims=True)
    for t, b in zip(*np.nonzero(mask), strict=True):
        q = np.full(5, eps / 5)
        q[TARGETS[t, b]] += 1 - eps
        np.testing.assert_allclose(grad[t, b], (p[t, b] - q) / 3, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(grad[~mask], 0.0)


def test_one_selected_position_is_not_halved():
    mask = np.zeros((3, 2), bool)
    mask[0, 1] = True
    value, grad = smoothed_cross_entropy(LOGITS, TARGETS, mask)
    log_p = LOGITS[0, 1] - np.log(np.exp(LOGITS[0, 1]).sum())
    assert value == pytest.approx(-log_p[4], abs=1e-14)
    q = np.zeros(5)
    q[4] = 1.0
    np.testing.assert_allclose(grad[0, 1], np.exp(log_p) - q, rtol=0, atol=1e-15)


def test_a_mask_of_nonzero_numbers_selects_like_true():
    mask = np.array([[3, 0], [1, 7], [0, 0]])
    value, grad = smoothed_cross_entropy(LOGITS, TARGETS, mask, smoothing=0.2)
    ref_value, ref_grad = smoothed_cross_entropy(LOGITS, TARGETS, mask != 0, smoothing=0.2)
    assert value == ref_value
    np.testing.assert_array_equal(grad, ref_grad)
    assert value == pytest.approx(expected_value(LOGITS, TARGETS, mask != 0, 0.2), abs=1e-14)


def test_float32_losses_are_summed_in_float64():
    logits = np.zeros((11, 1, 5), np.float32)
    logits[0, 0, 4] = -3.3e7  # one loss of 3.3e7: float32 would lose the ten small ones added to it
    targets = np.full((11, 1), 4)
    value, _ = smoothed_cross_entropy(logits, targets)
    per = -word_log_probs(logits)[:, 0, 4].astype(np.float64)
    assert per[1] == pytest.approx(np.log(5), abs=1e-6)
    assert value == pytest.approx(per.sum() / 11, abs=1e-6)
    assert value == pytest.approx((3.3e7 + 10 * np.log(5)) / 11, abs=0.25)


def test_no_selected_position_gives_zero():
    value, grad = smoothed_cross_entropy(LOGITS, TARGETS, np.zeros((3, 2)), smoothing=0.1)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_float32_logits_give_a_float32_gradient_and_a_float_value():
    value, grad = smoothed_cross_entropy(LOGITS.astype(np.float32), TARGETS, smoothing=0.1)
    assert grad.dtype == np.float32 and type(value) is float
    ref_value, ref_grad = smoothed_cross_entropy(LOGITS, TARGETS, smoothing=0.1)
    assert value == pytest.approx(ref_value, abs=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-7)


def test_word_log_probs_is_a_stable_log_softmax_over_the_last_axis():
    z = np.array([[1000.0, 1001.0, 999.0], [-5.0, 0.0, 5.0]])
    got = word_log_probs(z)
    shifted = z - z.max(axis=1, keepdims=True)
    np.testing.assert_allclose(got, shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)), rtol=0,
                               atol=1e-15)
    np.testing.assert_allclose(got[0], [-1.4076059644443804, -0.4076059644443803, -2.4076059644443806],
                               rtol=0, atol=1e-14)
    np.testing.assert_array_equal(z[0], [1000.0, 1001.0, 999.0])  # the input is left as it was
    three = word_log_probs(LOGITS)
    np.testing.assert_allclose(np.exp(three).sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(three[1, 0], LOGITS[1, 0] - np.log(np.exp(LOGITS[1, 0]).sum()), rtol=0, atol=1e-15)
    assert word_log_probs(LOGITS.astype(np.float32)).dtype == np.float32
