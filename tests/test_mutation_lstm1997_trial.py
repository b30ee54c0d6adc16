"""yetztml.experiments.lstm1997.trial, protocol by protocol: tiny seeded trials pinned to their records.

Each protocol runs on a row shrunk to seconds (a smaller window, test set or check interval, a 2a net with
p = 10, a 2c task with p = q = 5) from a fixed seed; the record is pinned field by field: success, the
sequences and steps to the stop, the checks and tests counted on the way, the test scores. A change to the
stop rules, the counters, the seeding or the test scoring moves at least one of them.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from yetztml.experiments.lstm1997 import ROWS, resolve_row
from yetztml.experiments.lstm1997 import trial as trial_module
from yetztml.experiments.lstm1997.trial import (
    CURVE_POINTS,
    PROTOCOLS,
    STEPS_PER_CALL,
    Curve,
    _abs_check,
    _Run,
    _seeds,
    mean_length,
    run_trial,
)


def _record(record: dict) -> dict:
    """The record without its clock fields (wall time and its ratio) and its curve."""
    return {k: v for k, v in record.items() if k not in ("wall_s", "us_per_step", "curve")}


def _stop(row_id: str, **stop) -> object:
    row = ROWS[row_id]
    return replace(row, stop={**row.stop, **stop})


def _two_a(p: int):
    """Exp 2a's row on a p-symbol chain (the paper's p = 100 takes seconds per thousand sequences)."""
    row = ROWS["2a"]
    return replace(row, task={"p": p}, net=replace(row.net, inputs=p + 1, outputs=p + 1))


def _two_c(alpha: float):
    """Exp 2c with p = q = 5, a 50-sequence test after 20 correct sequences, at most every 100."""
    row = resolve_row("2c", p=5, q=5)
    return replace(row, alpha=alpha, stop={**row.stop, "test_size": 50, "precheck": 20, "check_every": 100})


# ---------------------------------------------------------------------------------------------- sizing


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (ROWS["3a-1"], 105.0),  # 1.05 T, T = 100
        (replace(ROWS["3b-1"], task={"T": 40, "N": 3}), 42.0),
        (replace(ROWS["3c-1"], task={"T": 60, "N": 3}), 63.0),
        (ROWS["4-2"], 525.0),  # T = 500
        (replace(ROWS["5-1"], task={"T": 200}), 210.0),
        (ROWS["2c-6"], 1012.0),  # q + 12 with q = 1000 (p = 500)
        (ROWS["2a"], 100.0),  # p
        (replace(ROWS["2b"], task={"p": 30}), 30.0),
        (ROWS["1-5"], 12.0),
        (ROWS["6a"], 105.0),
    ],
)
def test_mean_length_of_each_experiment(row, expected):
    assert mean_length(row) == expected
    assert type(mean_length(row)) is float


@pytest.mark.parametrize(
    ("row", "chunk"),
    [
        (ROWS["4-1"], 1904),  # 200,000 // 105
        (ROWS["1-5"], 16666),  # 200,000 // 12
        (ROWS["2c-1"], 3225),  # 200,000 // 62
        (ROWS["3a-3"], 190),  # 200,000 // 1050
        (_two_a(5), 20000),  # 200,000 // 5 = 40,000, capped at 20,000
        (replace(ROWS["4-1"], task={"T": 20000}), 10),  # 200,000 // 21,000 = 9, at least 10
    ],
)
def test_kernel_calls_are_sized_by_the_mean_length(row, chunk):
    assert STEPS_PER_CALL == 200_000
    run = _Run(row, 0, 0, 5)
    assert run.chunk == chunk
    assert (run.cap, run.seen, run.steps, run.trial) == (5, 0, 0, 0)


def test_the_cap_is_the_rows_unless_given():
    assert _Run(ROWS["4-1"], 0, 0, None).cap == 2_000_000
    assert _Run(ROWS["4-1"], 0, 0, 0).cap == 0
    assert _Run(ROWS["4-1"], 0, 0, 7.0).cap == 7 and type(_Run(ROWS["4-1"], 0, 0, 7.0).cap) is int


# ---------------------------------------------------------------------------------------------- seeds


def _state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def test_seeds_are_the_children_of_seed_and_trial():
    rngs = _seeds(ROWS["4-1"], 3, 11)
    init, train, test = np.random.SeedSequence(entropy=11, spawn_key=(3,)).spawn(3)
    assert _state(rngs["init"]) == _state(np.random.default_rng(init))
    assert _state(rngs["train"]) == _state(np.random.default_rng(train))
    assert _state(rngs["test"]) == _state(np.random.default_rng(test))
    pool = np.random.default_rng(np.random.SeedSequence(entropy=11, spawn_key=(20_003,)))
    assert _state(rngs["pool"]) == _state(pool)


def test_exp_1_shares_its_string_sets_by_groups_of_ten_trials():
    """Exp 1: trials 10–19 draw their sets from key 10,001; other experiments from 20,000 + trial."""
    for trial in (10, 15, 19):
        pool = np.random.default_rng(np.random.SeedSequence(entropy=4, spawn_key=(10_001,)))
        assert _state(_seeds(ROWS["1-5"], trial, 4)["pool"]) == _state(pool)
    assert _state(_seeds(ROWS["1-5"], 9, 4)["pool"]) != _state(_seeds(ROWS["1-5"], 10, 4)["pool"])
    assert _state(_seeds(ROWS["2a"], 10, 4)["pool"]) != _state(_seeds(ROWS["2a"], 11, 4)["pool"])


# ---------------------------------------------------------------------------------------------- curve


def _records(*rows):
    """Kernel records: (sse, largest criterion error, mean criterion error, steps)."""
    return np.array(rows, dtype=float).reshape(-1, 4)


def test_curve_adds_one_point_per_call_and_counts_wrong_from_the_tolerance_on():
    curve = Curve()
    curve.add(5, _records(), 0.5)
    assert curve.points == []
    curve.add(3, _records((1.0, 0.5, 0.25, 4), (3.0, 0.49, 0.75, 6)), 0.5)
    assert curve.points == [(3, 2, 1.0, 1.0, 4.0)]  # 0.5 >= 0.5 is wrong; 0.49 is not
    assert curve.to_dict() == {"sequences": [3], "mae": [0.5], "wrong_fraction": [0.5], "sse": [2.0]}


def test_curve_is_thinned_by_merging_neighbouring_calls():
    curve = Curve()
    for i in range(5):  # calls of 1, 2, 3, 4, 5 sequences, every error 1, 2, ...
        n = i + 1
        curve.add(10 * n, _records(*[(float(n), float(i % 2), float(n), 1)] * n), 1.0)
    assert curve.to_dict(limit=5)["sequences"] == [10, 20, 30, 40, 50]
    thinned = curve.to_dict(limit=2)  # groups of ceil(5 / 2) = 3 calls: (1, 2, 3), (4, 5)
    assert thinned["sequences"] == [30, 50]
    assert thinned["mae"] == [(1 + 4 + 9) / 6, (16 + 25) / 9]
    assert thinned["sse"] == thinned["mae"]
    assert thinned["wrong_fraction"] == [2 / 6, 4 / 9]
    assert curve.to_dict(limit=4)["sequences"] == [20, 40, 50]  # groups of 2


def test_curve_keeps_at_most_its_limit_of_points():
    assert CURVE_POINTS == 250
    curve = Curve()
    for i in range(CURVE_POINTS + 1):
        curve.add(i + 1, _records((0.0, 0.0, 0.0, 1)), 1.0)
    out = curve.to_dict()
    assert len(out["sequences"]) == 126 and out["sequences"][:2] == [2, 4] and out["sequences"][-1] == 251
    curve.points.pop()
    assert curve.to_dict()["sequences"] == list(range(1, 251))


# ---------------------------------------------------------------------------------------------- training


def test_training_counts_sequences_steps_and_reports_progress(reports):
    run = _Run(ROWS["4-1"], 1, 3, 40)
    out = run.train(25)
    assert (out.done, run.seen, run.steps) == (25, 25, int(out.records[:, 3].sum()))
    assert run.steps == 2643
    assert run.curve.points[0][:2] == (25, 25)
    assert reports == [{"trial": 1, "done": 25, "total": 40, "unit": "sequences",
                        "detail": f"training error {out.records[:, 2].mean():.3g}"}]
    assert reports[0]["detail"] == "training error 0.168"


def test_a_call_with_nothing_to_train_reports_nothing(reports):
    run = _Run(ROWS["4-1"], 0, 0, 40)
    run.train(0)
    assert (run.seen, run.steps, run.curve.points, reports) == (0, 0, [], [])


# ---------------------------------------------------------------------------------------------- window


def test_window_protocol_stops_when_the_window_holds_few_enough_wrong(reports):
    """Exp 5 with a 20-sequence window that may hold 19 wrong: stops after exactly 20 sequences."""
    row = _stop("5-1", window=20, max_wrong=20, test_size=30)
    record = run_trial(row, 0, 0, 200)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": True, "sequences": 20, "reason": "criterion",
        "test": {"size": 30, "wrong": 29, "mae": pytest.approx(0.22455262331856568, rel=1e-9),
                 "mse": pytest.approx(0.06386832408385491, rel=1e-9)},
        "window": {"wrong": 19, "mae": pytest.approx(0.3251293154244518, rel=1e-9)},
        "steps": 2109,
    }
    assert record["curve"] == {"sequences": [20], "mae": [pytest.approx(0.3251293154244518, rel=1e-9)],
                               "wrong_fraction": [0.95], "sse": [pytest.approx(0.12532455365047063, rel=1e-9)]}
    assert record["us_per_step"] == pytest.approx(1e6 * record["wall_s"] / 2109, rel=1e-12)
    assert reports[-1]["done"] == 20 and reports[-1]["total"] == 200


def test_window_protocol_runs_to_the_cap_in_chunks():
    """Exp 4 (T = 100): kernel calls of 200,000 // 105 = 1,904 sequences, the last one cut at the cap."""
    row = _stop("4-1", window=20, max_wrong=5, beta=0.3, test_size=30)
    record = run_trial(row, 0, 0, 2000)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 2000, "reason": "cap",
        "test": {"size": 30, "wrong": 28, "mae": pytest.approx(0.15553553784146795, rel=1e-9),
                 "mse": pytest.approx(0.03646701117630791, rel=1e-9)},
        "window": {"wrong": 16, "mae": pytest.approx(0.14815373341156074, rel=1e-9)},
        "steps": 210118,
    }
    assert record["curve"]["sequences"] == [1904, 2000]


def test_window_protocol_stops_only_below_its_mean_error_bound():
    """The Exp 5 window above with β = 0.3: its mean error 0.325 at 20 sequences is too high; 0.297 at 24."""
    record = run_trial(_stop("5-1", window=20, max_wrong=20, beta=0.3, test_size=30), 0, 0, 200)
    assert (record["success"], record["sequences"], record["steps"]) == (True, 24, 2531)
    assert record["window"] == {"wrong": 18, "mae": pytest.approx(0.2972178495533873, rel=1e-9)}
    assert record["test"]["mae"] == pytest.approx(0.22391629249432696, rel=1e-9)


def test_a_trial_capped_at_zero_sequences_is_tested_untrained():
    record = run_trial(_stop("4-1", test_size=30), 2, 1, 0)
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (False, "cap", 0, 0)
    assert record["window"] == {"wrong": 0, "mae": 0.0}
    assert record["test"]["size"] == 30
    assert record["us_per_step"] == pytest.approx(1e6 * record["wall_s"], rel=1e-12)  # no steps: divided by 1
    assert record["curve"] == {"sequences": [], "mae": [], "wrong_fraction": [], "sse": []}


# ---------------------------------------------------------------------------------------------- st12


def test_st12_protocol_passes_st1_then_st2():
    """Exp 3a, trial 2 of seed 0, checked every 500 on 256 sequences: wrong 3, 2, 2, 2 at 3,500–5,000.

    ST1 needs fewer than 3 wrong: 4,000 (not 3,500); ST2 needs the mean error below 0.03 as well: 5,000
    (0.0266; 0.0353 at 4,000, 0.0309 at 4,500). ST1 keeps its first value.
    """
    row = _stop("3a-1", max_wrong_st1=3, st2=0.03, test_size=100)
    record = run_trial(row, 2, 0, 6000)
    assert _record(record) == {
        "trial": 2, "seed": 0, "success": True, "sequences": 5000, "reason": "criterion",
        "st1": 4000, "st2": 5000, "last_check": {"wrong": 2, "mae": pytest.approx(0.026579700249137417, rel=1e-9)},
        "test": {"size": 100, "wrong": 0, "mae": pytest.approx(0.019392952090553188, rel=1e-9),
                 "mse": pytest.approx(0.0003763850467011055, rel=1e-9)},
        "fraction_misclassified": 0.0, "mean_difference": pytest.approx(0.019392952090553188, rel=1e-9),
        "steps": 524865,
    }
    assert record["curve"]["sequences"] == list(range(500, 5001, 500))


def test_st12_needs_the_mean_error_strictly_below_its_bound():
    """The run above with the ST2 bound set to the mean error of its check at 5,000: ST2 comes at 5,500."""
    row = _stop("3a-1", max_wrong_st1=3, st2=0.03, test_size=10)
    at_5000 = run_trial(row, 2, 0, 5000)["last_check"]["mae"]
    record = run_trial(replace(row, stop={**row.stop, "st2": at_5000}), 2, 0, 6000)
    assert (record["success"], record["st1"], record["st2"], record["sequences"]) == (True, 4000, 5500, 5500)


def test_st12_protocol_that_never_passes_runs_to_the_cap():
    row = _stop("3a-1", st1_size=32, test_size=20)
    record = run_trial(row, 2, 0, 1200)
    assert _record(record) == {
        "trial": 2, "seed": 0, "success": False, "sequences": 1200, "reason": "cap",
        "st1": None, "st2": None, "last_check": {"wrong": 32, "mae": pytest.approx(0.49950334789691075, rel=1e-9)},
        "test": {"size": 20, "wrong": 20, "mae": pytest.approx(0.4971905149256255, rel=1e-9),
                 "mse": pytest.approx(0.2473805713072193, rel=1e-9)},
        "fraction_misclassified": 1.0, "mean_difference": pytest.approx(0.4971905149256255, rel=1e-9),
        "steps": 126052,
    }
    assert record["curve"]["sequences"] == [500, 1000, 1200]  # the last check comes at the cap


# ---------------------------------------------------------------------------------------------- abs-test


def test_abs_test_2a_adds_the_cell_when_the_error_stops_falling_then_succeeds():
    """Exp 2a, p = 10, seed 1: the cell joins at 700 sequences; the 41st test passes at 1,789."""
    record = run_trial(_two_a(10), 0, 1, 3000)
    assert _record(record) == {
        "trial": 0, "seed": 1, "success": True, "sequences": 1789, "reason": "criterion", "tests_run": 41,
        "phase1_sequences": 700, "test": {"size": 2, "wrong": 0, "max_error": pytest.approx(0.24941288783110827,
                                                                                           rel=1e-9)},
        "steps": 17890,
    }
    assert record["curve"]["sequences"][:10] == [100, 200, 300, 400, 500, 600, 700, 710, 715, 725]


def test_abs_test_2a_that_fails_ends_with_a_test_of_both_sequences():
    record = run_trial(_two_a(20), 0, 0, 3000)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 3000, "reason": "cap", "tests_run": 49,
        "phase1_sequences": 1200, "test": {"size": 2, "wrong": 1, "max_error": pytest.approx(0.3018733304346047,
                                                                                            rel=1e-9)},
        "steps": 60000,
    }


def test_abs_test_2a_phase_one_restores_the_cell_and_its_gate():
    """After the first phase, the cell's output weights are back and every unit trains again."""
    run = _Run(_two_a(10), 0, 1, 650)
    cells = slice(run.cell.input_size, run.cell.input_size + run.cell.num_cells)
    saved = run.net.Wk[:, cells].copy()
    trainable = run.net.MW.copy()
    result = PROTOCOLS["abs-test"](run)
    assert (result["phase1_sequences"], result["tests_run"], run.seen) == (650, 0, 650)  # the last call: 50
    assert result["test"] == {"size": 2, "wrong": 2, "max_error": pytest.approx(0.6200590334335058, rel=1e-9)}
    np.testing.assert_array_equal(run.net.Wk[:, cells], saved)  # untouched while the cell was out
    np.testing.assert_array_equal(run.net.MW, trainable)
    assert run.net.MWk[:, :-1].all()


def test_abs_test_2a_first_phase_ends_early_when_a_sequence_is_right():
    """Seed 2: a sequence is right at 614 (the one-sequence window stops the call), the cell joins at 714."""
    record = run_trial(_two_a(10), 0, 2, 3000)
    assert (record["success"], record["sequences"], record["tests_run"], record["phase1_sequences"]) == (
        True, 1661, 30, 714)
    assert record["curve"]["sequences"][:8] == [100, 200, 300, 400, 500, 600, 614, 714]


def test_abs_test_2a_first_phase_freezes_only_the_cells_output_weights():
    """A 2a net with output biases: they train during the first phase (only the cell's column is held)."""
    row = _two_a(10)
    run = _Run(replace(row, net=replace(row.net, bias="all")), 0, 1, 650)
    result = PROTOCOLS["abs-test"](run)
    assert (result["phase1_sequences"], result["tests_run"]) == (578, 2)
    assert result["test"] == {"size": 2, "wrong": 2, "max_error": pytest.approx(0.5481813675909264, rel=1e-9)}


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        ({"error_scale": 2.0}, (957, 26, 554, 0.24014227700182011)),
        ({"output_derivative": False}, (326, 15, 125, 0.21347495711286857)),
        ({"per_sequence": True}, (1819, 44, 700, 0.2330617859030415)),
    ],
)
def test_the_rows_learning_rule_reaches_the_training(reading, expected):
    """The 2a run above (1,789 sequences, 41 tests, the cell at 700) under each learning-rule reading."""
    record = run_trial(replace(_two_a(10), **reading), 0, 1, 3000)
    sequences, tests, phase1, max_error = expected
    assert (record["success"], record["sequences"], record["tests_run"], record["phase1_sequences"]) == (
        True, sequences, tests, phase1)
    assert record["test"] == {"size": 2, "wrong": 0, "max_error": pytest.approx(max_error, rel=1e-9)}


def test_abs_test_2c_passes_its_first_test():
    record = run_trial(_two_c(1.0), 0, 0, 5000)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": True, "sequences": 736, "reason": "criterion", "tests_run": 1,
        "phase1_sequences": None, "test": {"size": 50, "wrong": 0, "scored": 50}, "steps": 12505,
    }


def test_abs_test_2c_after_a_failed_test_waits_and_scores_the_final_net_in_full():
    """α = 0.2: the test at 1,881 fails; the window then waits a whole kernel call (to the cap)."""
    record = run_trial(_two_c(0.2), 0, 0, 5000)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 5000, "reason": "cap", "tests_run": 1,
        "phase1_sequences": None, "test": {"size": 50, "wrong": 0, "mae": pytest.approx(0.020005581304372435,
                                                                                         rel=1e-9),
                                           "mse": pytest.approx(0.0004023450591030084, rel=1e-9)},
        "steps": 84733,
    }
    assert record["curve"]["sequences"] == [1881, 5000]


def test_the_test_scores_mean_squared_error_per_output():
    """Exp 6a has 4 outputs: the record's MSE is the mean sum of squares over sequences divided by 4."""
    run = _Run(ROWS["6a"], 0, 0, None)
    assert trial_module._test(run.net, run.source, np.random.default_rng(1), 10) == {
        "size": 10, "wrong": 10, "mae": pytest.approx(0.4989421085384417, rel=1e-9),
        "mse": pytest.approx(0.2489594830610588, rel=1e-9)}


def test_abs_check_of_2a_scores_its_two_sequences():
    run = _Run(_two_a(10), 0, 1, None)
    state = _state(run.rngs["test"])
    result = _abs_check(run, 10_000)
    assert result == {"size": 2, "wrong": 2, "max_error": pytest.approx(result["max_error"])}
    assert result["max_error"] == pytest.approx(0.6176224888730665, rel=1e-9)
    assert _state(run.rngs["test"]) == state  # no test sequences drawn


# ---------------------------------------------------------------------------------------------- run_trial


def test_a_trial_whose_weights_blow_up_is_recorded_as_diverged():
    row = ROWS["4-1"]
    row = replace(row, alpha=1e10, net=replace(row.net, output="identity"), stop={**row.stop, "test_size": 10})
    record = run_trial(row, 0, 0, 50)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 0, "reason": "diverged",
        "diverged": "weights after online training: expected finite values, got NaN/inf. Lower the learning rate.",
        "test": None, "steps": 0,
    }


def test_baseline_rows_run_the_baseline_trial():
    record = run_trial(ROWS["2a-rtrl-1"], 0, 0, 200)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 200, "reason": "cap",
        "max_error": pytest.approx(0.5056425862626448, rel=1e-9), "weights": 36, "steps": 800,
    }


def test_record_fields_are_plain_python_values():
    record = run_trial(_stop("4-1", test_size=10), np.int64(1), np.int64(3), np.int64(5))
    assert [type(record[k]) for k in ("trial", "seed", "success", "sequences", "steps")] == [int, int, bool, int,
                                                                                            int]
    assert (record["trial"], record["seed"], record["sequences"]) == (1, 3, 5)
    assert list(record) == ["trial", "seed", "success", "sequences", "reason", "test", "window", "steps", "wall_s",
                            "us_per_step", "curve"]


# ---------------------------------------------------------------------------------------------- reber


@pytest.fixture
def reber_checks(monkeypatch):
    """Every string-set check of Exp 1's protocol: (sequences seen, which set, the legal symbols, strings right)."""
    original = trial_module._reber_check
    calls: list = []

    def spy(run, data, legal):
        correct, ok = original(run, data, legal)
        calls.append((run.seen, "train" if data is run.source.pool else "test", legal, correct))
        return correct, ok

    monkeypatch.setattr(trial_module, "_reber_check", spy)
    return calls


def _legal(samples) -> np.ndarray:
    return np.concatenate([s.info["legal"] for s in samples])


def test_reber_protocol_checks_the_test_strings_once_the_training_strings_are_right(reber_checks):
    """Exp 1 row 5, seed 6: 219 and 241 training strings right at 4,800 and 4,900; all 256 of both at 5,000."""
    record = run_trial(ROWS["1-5"], 0, 6, 6000)
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (True, "criterion", 5000,
                                                                                            78124)
    assert [(seen, part, correct) for seen, part, _, correct in reber_checks[-6:]] == [
        (4800, "train", 219), (4900, "train", 241), (5000, "train", 256), (5000, "test", 256),
        (5000, "train", 256), (5000, "test", 256)]
    assert len(reber_checks) == 53  # 50 checks of the training strings, then the test strings, then the record's
    assert (record["train_correct"], record["test_correct"], record["test"]) == (256, 256, {"size": 256, "wrong": 0})
    run = _Run(ROWS["1-5"], 0, 6, None)
    train, test = _legal(run.source.samples), _legal(run.source.pool_task.test_samples())
    for _, part, legal, _ in reber_checks:
        np.testing.assert_array_equal(legal, train if part == "train" else test)


def test_reber_protocol_that_fails_checks_every_interval_up_to_the_cap(reber_checks):
    record = run_trial(ROWS["1-5"], 0, 0, 250)
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (False, "cap", 250, 3796)
    assert [(seen, part, correct) for seen, part, _, correct in reber_checks] == [
        (100, "train", 0), (200, "train", 0), (250, "train", 0), (250, "train", 0), (250, "test", 0)]
    assert (record["train_correct"], record["test_correct"], record["test"]) == (0, 0, {"size": 256, "wrong": 256})
    assert record["wrong_steps"] == {"train": {"second": 256, "inner": 2492, "long_lag": 113, "final": 0},
                                     "test": {"second": 256, "inner": 3201, "long_lag": 123, "final": 0}}


@pytest.mark.parametrize("row", [_stop("4-1", test_size=5), _stop("3a-1", st1_size=5, test_size=5), _two_a(10),
                                 _two_c(1.0), ROWS["1-5"]], ids=["window", "st12", "abs-test 2a", "abs-test 2c",
                                                                 "reber"])
def test_every_protocol_capped_at_zero_returns_a_failure(row):
    result = PROTOCOLS[row.protocol](_Run(row, 0, 0, 0))
    assert result["success"] is False
    if row.protocol == "st12":
        assert (result["st1"], result["st2"], result["last_check"]) == (None, None, None)


# ---------------------------------------------------------------------------------------------- constructed nets


def _flat(row, tolerance, output=None):
    """The row's net with every weight 0 (cell states stay 0) and, if given, every output at ``output``."""
    run = _Run(row, 0, 0, 10)
    run.net.W[:] = 0.0
    run.net.Wk[:] = 0.0
    if output is not None:
        run.net.Wk[:, -1] = math.log(output / (1.0 - output))  # the output units' biases
    run.source.tolerance = tolerance
    return run


def _st12_row(row):
    """``row`` judged by ST1/ST2 on 5 sequences, untrained (α = 0)."""
    return replace(row, protocol="st12", alpha=0.0, sequential=False,
                   stop={"st1_size": 5, "max_wrong_st1": 1, "st2": 0.9, "check_every": 10, "test_size": 5})


def test_a_sequence_is_wrong_by_its_largest_output_error():
    """Exp 6a (4 outputs, one of them the target): every output at 0.7 gives errors 0.3, 0.7, 0.7, 0.7, mean
    0.6. With the tolerance at 0.65 each sequence is wrong (largest error), though its mean error is not."""
    run = _flat(ROWS["6a"], 0.65, output=0.7)
    assert trial_module._test(run.net, run.source, np.random.default_rng(0), 5) == {
        "size": 5, "wrong": 5, "mae": pytest.approx(0.6, rel=1e-12), "mse": pytest.approx(0.39, rel=1e-12)}
    result = PROTOCOLS["st12"](_flat(_st12_row(ROWS["6a"]), 0.65, output=0.7))
    assert (result["success"], result["st1"], result["last_check"]["wrong"]) == (False, None, 5)


def test_an_error_equal_to_the_tolerance_is_wrong():
    """Every weight 0: every output is exactly 0.5, every error exactly 0.5, the tolerance here."""
    run = _flat(ROWS["6a"], 0.5)
    assert trial_module._test(run.net, run.source, np.random.default_rng(0), 5) == {
        "size": 5, "wrong": 5, "mae": 0.5, "mse": 0.25}
    result = PROTOCOLS["st12"](_flat(_st12_row(ROWS["6a"]), 0.5))
    assert (result["success"], result["st1"], result["last_check"]) == (False, None, {"wrong": 5, "mae": 0.5})


def test_success_tests_count_an_error_at_the_tolerance_and_the_largest_output_error():
    """Exp 2a's test of its two sequences, and a stopped test of 6a sequences (as an abs-test row), on the
    constructed nets above: every error exactly at the tolerance, or only the largest one above it."""
    assert _abs_check(_flat(_two_a(10), 0.5), 5) == {"size": 2, "wrong": 2, "max_error": 0.5}
    six = replace(ROWS["6a"], protocol="abs-test")
    assert _abs_check(_flat(six, 0.5), 5, until_wrong=True) == {"size": 5, "wrong": 1, "scored": 1}
    assert _abs_check(_flat(six, 0.65, output=0.7), 5, until_wrong=True) == {"size": 5, "wrong": 1, "scored": 1}


def test_a_stopped_test_of_a_pool_scores_the_drawn_presentations():
    """Exp 1's pool (256 strings) under a stopped success test of 5 presentations, no output able to fail."""
    run = _Run(replace(ROWS["1-5"], protocol="abs-test"), 0, 0, 10)
    run.source.tolerance = 2.0
    assert _abs_check(run, 5, until_wrong=True) == {"size": 5, "wrong": 0, "scored": 5}


def test_the_record_times_the_trial(monkeypatch):
    """A clock reading 10 s at the start and 12.5 s at the end: 2.5 s, 1e6 × 2.5 / 2,109 µs per step."""
    import types

    clock = iter([10.0, 12.5])
    monkeypatch.setattr(trial_module, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    record = run_trial(_stop("5-1", window=20, max_wrong=20, test_size=30), 0, 0, 200)
    assert (record["steps"], record["wall_s"], record["us_per_step"]) == (2109, 2.5, 1e6 * 2.5 / 2109)


def test_tests_of_a_pool_score_the_drawn_presentations():
    """Exp 2a's pool (p = 10) judged by ST1/ST2 and tested: 5 presentations drawn from its 2 sequences."""
    run = _Run(_two_a(10), 0, 1, None)
    assert trial_module._test(run.net, run.source, np.random.default_rng(0), 5) == {
        "size": 5, "wrong": 5, "mae": pytest.approx(0.5015106983270852, rel=1e-9),
        "mse": pytest.approx(2.537207293026616, rel=1e-9)}
    row = replace(_two_a(10), protocol="st12", sequential=False,
                  stop={"st1_size": 5, "max_wrong_st1": 1, "st2": 0.01, "check_every": 50, "test_size": 5})
    result = PROTOCOLS["st12"](_Run(row, 0, 1, 100))
    assert result["last_check"] == {"wrong": 5, "mae": pytest.approx(0.05094947063242512, rel=1e-9)}
    assert result["test"]["mae"] == pytest.approx(0.05125943377680723, rel=1e-9)
