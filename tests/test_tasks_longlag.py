"""Experiment 2a/2b/2c: sequence layouts, 2c length distribution and distractors, criteria, baselines."""

import doctest

import numpy as np
import pytest
from scipy import stats

from yetztml.core.errors import DTypeError, OptionError
from yetztml.tasks import LongLag, constant_errors, longlag


def test_doctests():
    assert doctest.testmod(longlag).failed == 0


def test_2a_is_exactly_two_sequences():
    p = 6
    task = LongLag("2a", p=p, seed=1)
    assert task.input_size == task.output_size == p + 1
    seen = {}
    for _ in range(400):
        s = task.sample()
        sym_in, sym_out = s.x.argmax(1), s.targets.argmax(1)
        assert s.length == p and s.mask.all()
        np.testing.assert_array_equal(sym_in[1:], sym_out[:-1])  # targets are the next inputs
        assert sym_in[1:].tolist() == list(range(p - 1))
        assert sym_in[0] == sym_out[-1] == p - 1 + s.info["class"]
        seen[tuple(sym_in.tolist() + [sym_out[-1]])] = seen.get(tuple(sym_in.tolist() + [sym_out[-1]]), 0) + 1
    assert len(seen) == 2
    assert abs(min(seen.values()) / 400 - 0.5) < 5 * np.sqrt(0.25 / 400)


def test_2b_random_middle_and_end_criterion():
    p = 6
    task = LongLag("2b", p=p, seed=2)
    middles = []
    for _ in range(500):
        s = task.sample()
        sym_in = s.x.argmax(1)
        assert s.mask.all() and s.length == p
        assert sym_in[0] == s.targets[-1].argmax() == p - 1 + s.info["class"]
        middles.extend(sym_in[1:].tolist())
    assert stats.chisquare(np.bincount(middles, minlength=p - 1)).pvalue > 1e-6
    assert len(np.bincount(middles)) == p - 1
    out = s.targets.copy()
    out[0] += 0.9  # unpredictable middle symbols do not count
    assert task.correct(out, s)
    out[-1, s.targets[-1].argmax()] -= 0.251
    assert not task.correct(out, s)


def test_2a_criterion_every_step():
    task = LongLag("2a", p=4, seed=3)
    s = task.sample()
    out = s.targets.copy()
    out[1, 0] += 0.249
    assert task.correct(out, s)
    out[1, 0] += 0.002
    assert not task.correct(out, s)


def test_2c_layout_and_distractors():
    p, q = 7, 5
    task = LongLag("2c", p=p, q=q, seed=4)
    assert (task.input_size, task.output_size, task.minimal_lag) == (p + 4, 2, q + 1)
    distractors = []
    for _ in range(3000):
        s = task.sample()
        sym = s.x.argmax(1)
        assert np.all(s.x.sum(1) == 1.0)
        label = s.info["class"]
        assert sym[0] == p + 1 and sym[1] == p + 2 + label and sym[-1] == p
        middle = sym[2:-1]
        assert len(middle) == q + s.info["extra"] and np.all(middle < p)
        distractors.extend(middle.tolist())
        assert s.mask.tolist() == [False] * (s.length - 1) + [True]
        assert s.targets[-1].tolist() == [1.0 - label, float(label)] and not s.targets[:-1].any()
        assert s.info["sequence_length"] == s.length + 1
    counts = np.bincount(distractors, minlength=p)
    assert len(counts) == p and counts.min() > 0  # all of a_1 … a_p, none beyond
    assert stats.chisquare(counts).pvalue > 1e-6


def test_2c_expected_length_is_q_plus_13():
    """The generation procedure gives q + 13; the paper's printed q + 14 is an arithmetic slip."""
    p, q, n = 3, 10, 20000
    task = LongLag("2c", p=p, q=q, seed=5)
    lengths = np.array([task.sample().info["sequence_length"] for _ in range(n)])
    se = np.sqrt(90.0 / n)  # Var of Geometric(1/10) on {0, 1, …} is 0.9 / 0.01
    assert lengths.min() == q + 4
    assert abs(lengths.mean() - (q + 13)) < 5 * se
    assert abs(lengths.mean() - (q + 14)) > 5 * se
    assert task.expected_length == q + 13
    assert abs(np.mean(lengths == q + 4) - 0.1) < 5 * np.sqrt(0.09 / n)


def test_2c_criterion_at_end():
    task = LongLag("2c", p=3, q=2, seed=6)
    s = task.sample()
    out = np.full_like(s.targets, 0.5)
    out[-1] = s.targets[-1] + np.array([0.19, -0.19])
    assert task.correct(out, s)
    out[-1, 1] = s.targets[-1, 1] + 0.201
    assert not task.correct(out, s)


@pytest.mark.parametrize(
    ("variant", "kwargs"), [("2a", {"p": 5}), ("2b", {"p": 5}), ("2c", {"p": 4, "q": 3})]
)
def test_baseline_by_simulation(variant, kwargs):
    task = LongLag(variant, **kwargs, seed=7)
    base = task.baseline()
    if variant != "2c":
        p = kwargs["p"]
        assert base.mean_abs_error == pytest.approx(1 / (p + 1))
        assert base.mean_squared_error == pytest.approx((1 - (p - 1) / p**2 - 1 / (2 * p**2)) / (p + 1))
    for constant, key in ((base.mae_constant, "mean_abs_error"), (base.mse_constant, "mean_squared_error")):
        sim = constant_errors(task, np.array(constant), 4000)
        assert abs(sim[key] - getattr(base, key)) <= 5 * sim[key + "_se"] + 1e-12
        assert sim["fraction_correct"] == base.fraction_correct == 0.0


def test_state_save_restore():
    task = LongLag("2c", p=5, q=5, seed=8)
    state = task.get_state()
    a = [task.sample().x for _ in range(3)]
    task.set_state(state)
    for x in a:
        np.testing.assert_array_equal(task.sample().x, x)


def test_2b_end_error_only_keeps_the_sequences_and_masks_all_but_the_last_step():
    every, end = LongLag("2b", p=6, seed=4), LongLag("2b", p=6, seed=4, end_error_only=True)
    for _ in range(20):
        a, b = every.sample(), end.sample()
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.targets, b.targets)
        assert b.mask.tolist() == [False] * 5 + [True]
    assert end.options() == {"variant": "2b", "p": 6, "end_error_only": True}
    assert "end_error_only" not in every.options()
    for variant, kwargs in (("2a", {}), ("2c", {"q": 2})):
        with pytest.raises(OptionError, match=r"LongLag\(end_error_only\): expected False for variant"):
            LongLag(variant, p=5, seed=0, end_error_only=True, **kwargs)


def test_bad_input():
    with pytest.raises(OptionError, match=r"LongLag\(variant\): expected one of '2a', '2b', '2c', got '2d'"):
        LongLag("2d", seed=0)
    with pytest.raises(OptionError, match=r"LongLag\(p\): expected an integer >= 1"):
        LongLag("2c", p=0, q=1, seed=0)
    with pytest.raises(OptionError, match=r"LongLag\(p\): expected an integer >= 2"):
        LongLag("2a", p=1, seed=0)
    with pytest.raises(OptionError, match=r"LongLag\(q\): expected an integer >= 0 for variant '2c'"):
        LongLag("2c", p=5, seed=0)
    with pytest.raises(OptionError, match=r"LongLag\(q\): expected None"):
        LongLag("2b", p=5, q=3, seed=0)
    with pytest.raises(OptionError, match=r"LongLag\(q\)"):
        LongLag("2c", p=5, q=-1, seed=0)
    with pytest.raises(DTypeError, match=r"LongLag\(p\)"):
        LongLag("2c", p="5", q=1, seed=0)
