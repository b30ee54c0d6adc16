"""Adding problem (1997 Exp 4): marker rules, target, minimal lag, lengths, baseline, errors."""

import doctest
import json

import numpy as np
import pytest
from scipy import stats

from yetztml.core.errors import DTypeError, OptionError
from yetztml.tasks import Adding, adding, constant_errors


def draw(task, n):
    return [task.sample() for _ in range(n)]


def test_doctests():
    assert doctest.testmod(adding).failed == 0


@pytest.mark.parametrize("T", [20, 21, 100])
def test_marker_rules_and_target(T):
    half = T // 2
    for s in draw(Adding(T=T, seed=1), 3000):
        values, markers = s.x[:, 0], s.x[:, 1]
        p1, p2 = s.info["positions"]
        assert 0 <= p1 <= 9 and 0 <= p2 <= half - 1 and p1 != p2
        assert np.flatnonzero(markers == 1.0).tolist() == sorted([p1, p2])
        assert markers[-1] == -1.0
        assert markers[0] == (1.0 if 0 in (p1, p2) else -1.0)
        assert np.all(markers[1:-1][~np.isin(np.arange(1, s.length - 1), [p1, p2])] == 0.0)
        assert np.all((values >= -1.0) & (values <= 1.0))
        assert s.info["X1"] == values[p1] and s.info["X2"] == values[p2]
        if p1 == 0:
            assert s.info["X1"] == 0.0
        assert s.targets[-1, 0] == 0.5 + (s.info["X1"] + s.info["X2"]) / 4.0
        assert s.mask.tolist() == [False] * (s.length - 1) + [True]


def test_first_pair_rule_occurs_and_x2_keeps_its_value_on_the_first_pair():
    samples = draw(Adding(T=20, seed=2), 3000)
    x1_first = [s for s in samples if s.info["positions"][0] == 0]
    x2_first = [s for s in samples if s.info["positions"][1] == 0]
    assert x1_first and x2_first
    assert (len(x1_first), len(x2_first)) == (281, 307)  # seed 2's draw (another seed or rule gives others)
    assert all(s.x[0, 0] == 0.0 for s in x1_first)
    assert all(s.x[0, 0] == s.info["X2"] != 0.0 for s in x2_first)


@pytest.mark.parametrize("T", [20, 30])
def test_minimal_lag_is_T_over_2_and_attained(T):
    task = Adding(T=T, seed=3)
    lags = [s.length - 1 - max(s.info["positions"]) for s in draw(task, 4000)]
    assert task.minimal_lag == T // 2
    assert min(lags) == T // 2


def test_mark_positions_are_uniform():
    T = 40
    samples = draw(Adding(T=T, seed=4), 8000)
    p1 = np.array([s.info["positions"][0] for s in samples])
    p2 = np.array([s.info["positions"][1] for s in samples])
    counts = np.bincount(p1, minlength=10)
    assert len(counts) == 10
    assert stats.chisquare(counts).pvalue > 1e-6
    # X2: uniform over the first T/2 positions without X1's; the last candidate is position T/2 − 1.
    assert set(p2.tolist()) == set(range(T // 2))


def test_x2_uniform_over_candidates_given_x1():
    T = 40
    samples = draw(Adding(T=T, seed=5), 8000)
    p1 = np.array([s.info["positions"][0] for s in samples])
    p2 = np.array([s.info["positions"][1] for s in samples])
    sel = p2[p1 == 3]
    counts = np.bincount(sel, minlength=T // 2)
    assert counts[3] == 0
    assert stats.chisquare(np.delete(counts, 3)).pvalue > 1e-6


@pytest.mark.parametrize("T", [20, 100])
def test_length_range(T):
    lengths = np.array([s.length for s in draw(Adding(T=T, seed=6), 3000)])
    assert set(lengths.tolist()) == set(range(T, T + T // 10 + 1))
    assert stats.chisquare(np.bincount(lengths - T)).pvalue > 1e-6


def test_baseline_by_simulation():
    task = Adding(T=20, seed=7)
    base = task.baseline()
    assert base.mean_abs_error == pytest.approx(0.9 / 6 + 0.1 / 8)
    assert base.mean_squared_error == pytest.approx(19 / 480)
    n = 20000
    sim = constant_errors(task, np.array(base.mae_constant), n)
    assert abs(sim["mean_abs_error"] - base.mean_abs_error) < 5 * sim["mean_abs_error_se"]
    assert abs(sim["mean_squared_error"] - base.mean_squared_error) < 5 * sim["mean_squared_error_se"]
    p = base.fraction_correct
    assert abs(sim["fraction_correct"] - p) < 5 * np.sqrt(p * (1 - p) / n)
    # The uncorrected 1/6 is rejected by the same simulation.
    assert abs(sim["mean_abs_error"] - 1 / 6) > 5 * sim["mean_abs_error_se"]


def test_state_save_restore_reproduces_samples():
    task = Adding(T=20, seed=8)
    draw(task, 3)
    state = json.loads(json.dumps(task.get_state()))
    first = draw(task, 4)
    task.set_state(state)
    again = draw(task, 4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.targets, b.targets)
    other = Adding(T=20, seed=99)
    other.set_state(state)
    np.testing.assert_array_equal(other.sample().x, first[0].x)


def test_bad_input():
    with pytest.raises(OptionError, match=r"Adding\(T\): expected an integer >= 20"):
        Adding(T=19, seed=0)
    with pytest.raises(DTypeError, match=r"Adding\(T\)"):
        Adding(T=100.0, seed=0)
    with pytest.raises(DTypeError, match="seed"):
        Adding(T=100, seed=None)
