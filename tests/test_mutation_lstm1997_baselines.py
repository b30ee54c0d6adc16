"""yetztml.experiments.lstm1997.baselines: a short seeded RTRL and BPTT trial pinned to its record, and the
loop's two exits (success, non-finite error) driven by a stand-in for the error check."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from yetztml.experiments.lstm1997 import ROWS, baselines
from yetztml.experiments.lstm1997.baselines import _pool, run_baseline_trial


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
