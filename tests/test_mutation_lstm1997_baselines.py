"""yetztml.experiments.lstm1997.baselines: a short seeded RTRL and BPTT trial pinned to its record, and the
loop's two exits (success, non-finite error) driven by a stand-in for the error check."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from yetztml.experiments import progress
from yetztml.experiments.lstm1997 import ROWS, baselines
from yetztml.experiments.lstm1997.baselines import _pool, run_baseline_trial
from yetztml.learning.tiny_rnn import TinyRNN


def _record(record):
    return {k: v for k, v in record.items() if k not in ("wall_s", "us_per_step")}


def _approx(values):
    return pytest.approx(values, rel=1e-9)


def test_the_two_sequences_of_exp_2a():
    xi, tgt = _pool(4)
    assert xi.tolist() == [[3, 0, 1, 2], [4, 0, 1, 2]]
    assert tgt.argmax(2).tolist() == [[0, 1, 2, 3], [0, 1, 2, 4]] and tgt.sum() == 8


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("rtrl", {"max_error": 0.7149529585984332, "mae": [0.16926961319657108, 0.1752769136304162, 0.167333699968328],
                  "sse": [0.7421672336022234, 0.7304784961899319, 0.6910573954149247]}),
        ("bptt", {"max_error": 0.7150597138738074,
                  "mae": [0.1691862948118491, 0.17526358652233026, 0.16732597868190235],
                  "sse": [0.7396830050229171, 0.7302837797914945, 0.6909987264580056]}),
    ],
)
def test_a_short_trial_is_pinned(method, expected):
    """p = 4, α = 10, seed 0, 250 presentations checked every 100: checks at 100, 200 and the cap."""
    record = run_baseline_trial(replace(ROWS["2a-rtrl-3"], method=method), 0, 0, 250)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 250, "reason": "cap",
        "max_error": _approx(expected["max_error"]), "weights": 36, "steps": 1000,
        "curve": {"sequences": [100, 200, 250], "mae": _approx(expected["mae"]), "wrong_fraction": [0.0] * 3,
                  "sse": _approx(expected["sse"])},
    }
    assert record["us_per_step"] == pytest.approx(1e6 * record["wall_s"] / 1000)


def test_the_rows_cap_applies_when_none_is_given(monkeypatch):
    errors = iter([0.9, 0.2])
    monkeypatch.setattr(baselines, "_max_error", lambda net, xi, tgt: next(errors))
    row = replace(ROWS["2a-rtrl-3"], stop={"check_every": 100, "max_sequences": 150})
    record = run_baseline_trial(row, 1, 2)
    assert (record["sequences"], record["success"], record["reason"], record["max_error"]) == (150, True, "criterion",
                                                                                               0.2)


@pytest.mark.parametrize(
    ("errors", "sequences", "success", "reason"),
    [
        ([0.9, 0.25, 0.2499], 300, True, "criterion"),  # below 0.25, not at it
        ([0.9, np.nan, 0.1], 200, False, "cap"),  # a non-finite error ends the trial, failed
        ([0.9, np.inf, 0.1], 200, False, "cap"),
    ],
)
def test_the_trial_ends_at_the_first_check_below_a_quarter_or_at_a_non_finite_error(monkeypatch, errors, sequences,
                                                                                    success, reason):
    checks = iter(errors)
    monkeypatch.setattr(baselines, "_max_error", lambda net, xi, tgt: next(checks))
    record = run_baseline_trial(ROWS["2a-rtrl-3"], 0, 0, 1000)
    assert (record["sequences"], record["success"], record["reason"], record["steps"]) == (sequences, success, reason,
                                                                                           4 * sequences)
    assert record["curve"]["sequences"] == list(range(100, sequences + 1, 100))


def test_the_pool_is_the_one_hot_targets_and_nothing_more():
    xi, tgt = _pool(3)
    assert tgt.shape == (2, 3, 4)
    assert np.array_equal(tgt, np.eye(4)[[[0, 1, 2], [0, 1, 3]]])
    assert np.array_equal(xi, [[2, 0, 1], [3, 0, 1]]) and xi.dtype == np.int64


def _net(p, **weights):
    net = TinyRNN(p + 1, p + 1, 0.2, np.random.default_rng(0))
    for name, value in weights.items():
        getattr(net, name)[:] = value
    return net


def test_a_net_with_nan_weights_has_a_nan_error_and_its_trial_fails_at_the_first_check():
    """Python's max(0.0, nan) is 0.0: the error check must not read a NaN net as perfect (a success)."""
    xi, tgt = _pool(4)
    assert np.isnan(baselines._max_error(_net(4, w_hh=np.nan), xi, tgt))
    record = run_baseline_trial(replace(ROWS["2a-rtrl-3"], alpha=np.inf), 0, 0, 300)
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (False, "cap", 100, 400)
    assert np.isnan(record["max_error"])


def test_the_error_check_only_runs_the_net_forward():
    """h stays at σ(0) = ½ (w_h = −½ w_hh on the later symbols), outputs at ½ (W_o = 0), while the RTRL
    sensitivities overflow (w_hh = 1e200): the check's weight copies are never updated, so no NaN appears."""
    p = 6
    net = _net(p, w_h=-5e199, w_hh=1e200, W_o=0.0)
    net.w_h[p - 1:] = 0.0
    xi, tgt = _pool(p)
    assert baselines._max_error(net, xi, tgt) == 0.5
    assert net.w_hh.tolist() == [1e200] and not net.W_o.any()


def test_progress_reports_each_check_with_its_largest_error(reports, monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    record = run_baseline_trial(ROWS["2a-rtrl-3"], 1, 0, 250)
    assert reports == [
        {"trial": 1, "done": done, "total": 250, "detail": f"largest output error {error}", "unit": "sequences"}
        for done, error in ((100, "0.719"), (200, "0.579"), (250, "0.787"))]
    assert record["max_error"] == pytest.approx(0.7871174082135322, rel=1e-9)


def test_a_trial_without_presentations_and_its_times():
    started = time.perf_counter()
    record = run_baseline_trial(ROWS["2a-rtrl-3"], 1, 0, 0)
    elapsed = time.perf_counter() - started
    assert _record(record) == {
        "trial": 1, "seed": 0, "success": False, "sequences": 0, "reason": "cap", "max_error": None, "weights": 36,
        "steps": 0, "curve": {"sequences": [], "mae": [], "wrong_fraction": [], "sse": []}}
    assert 0 < record["wall_s"] <= elapsed  # measured from the trial's start, not added to it
    assert record["us_per_step"] == 1e6 * record["wall_s"]  # no step: divided by 1
