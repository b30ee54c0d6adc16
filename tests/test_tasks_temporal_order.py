"""Experiment 6a/6b (temporal order): symbols, positions, lengths, class balance, criterion, baseline."""

import doctest

import numpy as np
import pytest
from scipy import stats

from yetztml.core.errors import OptionError
from yetztml.tasks import TemporalOrder, constant_errors, temporal_order

SYM = temporal_order.SYMBOLS


@pytest.fixture(scope="module", params=["6a", "6b"])
def drawn(request):
    task = TemporalOrder(request.param, seed=1)
    return task, [task.sample() for _ in range(3000)]


def test_doctests():
    assert doctest.testmod(temporal_order).failed == 0


def test_layout_and_positions(drawn):
    task, samples = drawn
    windows = temporal_order.WINDOWS[task.variant]
    seen_positions = [set() for _ in windows]
    for s in samples:
        text = "".join(SYM[i] for i in s.x.argmax(1))
        assert np.all(s.x.sum(1) == 1.0)
        assert 100 <= s.length <= 110
        assert text[0] == "E" and text[-1] == "B"
        positions = s.info["positions"]
        for k, ((lo, hi), t) in enumerate(zip(windows, positions, strict=True)):
            assert lo <= t <= hi
            seen_positions[k].add(t)
        assert "".join(text[t - 1] for t in positions) == s.info["relevant"]
        others = set(range(1, s.length - 1)) - {t - 1 for t in positions}  # 0-based indices
        assert set(text[i] for i in others) <= set("abcd")
        assert s.mask.tolist() == [False] * (s.length - 1) + [True]
        assert s.targets[-1].argmax() == s.info["class"] and s.targets.sum() == 1.0
        assert s.info["class_name"] == temporal_order.CLASS_NAMES[task.variant][s.info["class"]]
    assert seen_positions == [set(range(lo, hi + 1)) for lo, hi in windows]
    assert {s.length for s in samples} == set(range(100, 111))


def test_classes(drawn):
    task, samples = drawn
    mapping = {
        2: {"XX": "Q", "XY": "R", "YX": "S", "YY": "U"},
        3: {"XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U", "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"},
    }[len(task.windows)]
    assert all(mapping[s.info["relevant"]] == s.info["class_name"] for s in samples)
    counts = np.bincount([s.info["class"] for s in samples], minlength=task.output_size)
    assert len(counts) == task.output_size
    assert stats.chisquare(counts).pvalue > 1e-6


def test_minimal_lag(drawn):
    task, samples = drawn
    assert task.minimal_lag == {"6a": 40, "6b": 24}[task.variant]
    assert min(s.length - s.info["positions"][-1] for s in samples) == task.minimal_lag


def test_criterion():
    task = TemporalOrder("6b", seed=2)
    s = task.sample()
    out = s.targets + 0.29
    assert task.correct(out, s)
    out[-1, 0] = s.targets[-1, 0] - 0.301
    assert not task.correct(out, s)


@pytest.mark.parametrize("variant", ["6a", "6b"])
def test_baseline_by_simulation(variant):
    task = TemporalOrder(variant, seed=3)
    base = task.baseline()
    c = task.output_size
    assert base.mean_abs_error == pytest.approx(1 / c)
    assert base.mean_squared_error == pytest.approx((1 / c) * (1 - 1 / c))
    for constant, key in ((base.mae_constant, "mean_abs_error"), (base.mse_constant, "mean_squared_error")):
        sim = constant_errors(task, np.array(constant), 3000)
        assert abs(sim[key] - getattr(base, key)) <= 5 * sim[key + "_se"] + 1e-12
        assert sim["fraction_correct"] == 0.0


def test_state_save_restore():
    task = TemporalOrder("6a", seed=4)
    task.sample()
    state = task.get_state()
    a = [task.sample().x for _ in range(3)]
    task.set_state(state)
    for x in a:
        np.testing.assert_array_equal(task.sample().x, x)


def test_bad_input():
    with pytest.raises(OptionError, match=r"TemporalOrder\(variant\): expected one of '6a', '6b', got '6c'"):
        TemporalOrder("6c", seed=0)
