"""Experiment 3a/3b/3c (2-sequence problem): lengths, information elements, noise, targets, criteria."""

import doctest

import numpy as np
import pytest
from scipy import stats

from yetztml.core.errors import OptionError
from yetztml.tasks import TwoSequence, constant_errors, two_sequence


def draw(task, n):
    return [task.sample() for _ in range(n)]


def test_doctests():
    assert doctest.testmod(two_sequence).failed == 0


@pytest.mark.parametrize("variant", ["3a", "3b", "3c"])
def test_invariants(variant):
    T, N, n = 30, 3, 3000
    samples = draw(TwoSequence(variant, T=T, N=N, seed=1), n)
    lengths = np.array([s.length for s in samples])
    assert set(lengths.tolist()) == set(range(T, T + T // 10 + 1))
    classes = np.array([s.info["class"] for s in samples])
    assert abs(np.mean(classes == 1) - 0.5) < 5 * np.sqrt(0.25 / n)
    info_elems, noise = [], []
    for s in samples:
        sign = 1.0 if s.info["class"] == 1 else -1.0
        info_elems.append(sign * s.x[:N, 0])
        noise.append(s.x[N:, 0])
        assert s.mask.tolist() == [False] * (s.length - 1) + [True]
        assert s.info["clean_target"] == two_sequence.TARGETS[variant][s.info["class"] - 1]
        if variant != "3c":
            assert s.targets[-1, 0] == s.info["clean_target"]
    info_elems, noise = np.concatenate(info_elems), np.concatenate(noise)
    # noise elements: mean 0, variance 0.2 (5 standard errors of the sample mean and variance)
    assert abs(noise.mean()) < 5 * np.sqrt(0.2 / noise.size)
    assert abs(noise.var() - 0.2) < 5 * 0.2 * np.sqrt(2 / noise.size)
    if variant == "3b":
        assert abs(info_elems.mean() - 1.0) < 5 * np.sqrt(0.2 / info_elems.size)
        assert abs(info_elems.var() - 0.2) < 5 * 0.2 * np.sqrt(2 / info_elems.size)
    else:
        assert np.all(info_elems == 1.0)


def test_3c_target_noise():
    n = 4000
    samples = draw(TwoSequence("3c", T=10, N=1, seed=2), n)
    eps = np.array([s.targets[-1, 0] - s.info["clean_target"] for s in samples])
    assert abs(eps.mean()) < 5 * np.sqrt(0.1 / n)
    assert abs(eps.var() - 0.1) < 5 * 0.1 * np.sqrt(2 / n)
    assert stats.normaltest(eps).pvalue > 1e-6
    assert {s.info["clean_target"] for s in samples} == {0.2, 0.8}


def test_criteria():
    s = TwoSequence("3a", T=10, N=1, seed=3).sample()
    task = TwoSequence("3a", T=10, N=1, seed=3)
    out = np.zeros_like(s.targets)
    out[-1, 0] = s.targets[-1, 0] + 0.19
    assert task.correct(out, s)
    out[-1, 0] = s.targets[-1, 0] - 0.201
    assert not task.correct(out, s)
    task = TwoSequence("3c", T=10, N=1, seed=4)
    s = task.sample()
    out = np.zeros_like(s.targets)
    out[-1, 0] = s.info["clean_target"] + 0.09  # judged against the noise-free target
    assert task.correct(out, s)
    out[-1, 0] = s.info["clean_target"] - 0.11
    assert not task.correct(out, s)


@pytest.mark.parametrize("variant", ["3a", "3c"])
def test_baseline_by_simulation(variant):
    task = TwoSequence(variant, T=10, N=1, seed=5)
    base = task.baseline()
    sim = constant_errors(task, np.array(base.mae_constant), 20000)
    for key in ("mean_abs_error", "mean_squared_error"):
        assert abs(sim[key] - getattr(base, key)) <= 5 * sim[key + "_se"] + 1e-12
    assert sim["fraction_correct"] == base.fraction_correct == 0.0
    if variant == "3c":
        assert base.mean_squared_error == pytest.approx(0.19)
        assert base.mean_abs_error == pytest.approx(0.35805, abs=1e-5)


def test_state_save_restore():
    task = TwoSequence("3b", T=20, N=3, seed=6)
    state = task.get_state()
    a = [task.sample().x for _ in range(3)]
    task.set_state(state)
    for x in a:
        np.testing.assert_array_equal(task.sample().x, x)


def test_bad_input():
    with pytest.raises(OptionError, match=r"TwoSequence\(variant\): expected one of '3a', '3b', '3c'"):
        TwoSequence("3d", seed=0)
    with pytest.raises(OptionError, match=r"TwoSequence\(N\): expected at most T = 5"):
        TwoSequence("3a", T=5, N=6, seed=0)
    with pytest.raises(OptionError, match=r"TwoSequence\(T\)"):
        TwoSequence("3a", T=0, N=1, seed=0)
    with pytest.raises(OptionError, match=r"TwoSequence\(N\)"):
        TwoSequence("3a", T=10, N=0, seed=0)
