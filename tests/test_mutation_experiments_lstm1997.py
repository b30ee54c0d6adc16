"""yetztml.experiments.lstm1997's entry points pinned: row selection and every refusal's text, rows outside
the tables, the resume key, the trial plan, the summary of hand-made records, what ``reproduce`` hands the
runner and writes, and ``quick_trial``'s call. The trial itself is replaced by a recorder (the trials are
tested in tests/test_experiments_smoke.py and tests/test_learning_check.py): nothing here trains.
"""

from __future__ import annotations

import json
import math

import pytest

from yetztml.core.errors import OptionError
from yetztml.core.results import versions
from yetztml.experiments import lstm1997
from yetztml.experiments.lstm1997 import ROWS, experiments, resolve_row, summarize, trial_plan
from yetztml.experiments.lstm1997.variants import get_variant


# -- selection -----------------------------------------------------------------------------------------------
def test_experiments_in_paper_order():
    assert experiments() == ["1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "5", "6a", "6b"]


@pytest.mark.parametrize(
    ("exp", "params", "row_id"),
    [
        ("4", {}, "4-1"), (4, {}, "4-1"), ("4", {"T": None}, "4-1"), ("2a", {}, "2a"), ("4-2", {"T": None}, "4-2"),
        ("4", {"T": 100}, "4-1"),  # the one paper row of its parameters, not a custom copy
        ("1", {"alpha": 0.1}, "1-1"),  # two rows match (1-1, 1-2): the first
        ("2a", {"p": 100}, "2a"),  # method lstm by default
        ("6a", {}, "6a"),
    ],
)
def test_a_selection_returns_the_paper_row_itself(exp, params, row_id):
    assert resolve_row(exp, **params) is ROWS[row_id]


ROWS_1 = ("1-1: blocks=4, block_size=1, alpha=0.1; 1-2: blocks=3, block_size=2, alpha=0.1; 1-3: blocks=3, "
          "block_size=2, alpha=0.2; 1-4: blocks=4, block_size=1, alpha=0.5; 1-5: blocks=3, block_size=2, alpha=0.5")
ROWS_2A = ("2a: p=100, method=lstm, alpha=1.0; 2a-rtrl-1: p=4, method=rtrl, alpha=1.0; 2a-rtrl-2: p=4, method=rtrl, "
           "alpha=4.0; 2a-rtrl-3: p=4, method=rtrl, alpha=10.0; 2a-rtrl-4: p=10, method=rtrl, alpha=1.0; 2a-rtrl-5: "
           "p=100, method=rtrl, alpha=1.0; 2a-bptt-1: p=100, method=bptt, alpha=1.0")


@pytest.mark.parametrize(
    ("exp", "params", "text"),
    [
        ("4-1", {"T": 100, "N": None},
         "row '4-1': expected no further parameters (a table id names one row), got --T. Use --exp 4 with parameters "
         "instead."),
        ("2c-3", {"p": 1, "q": 2},
         "row '2c-3': expected no further parameters (a table id names one row), got --p, --q. Use --exp 2c with "
         "parameters instead."),
        ("7", {},
         "experiment: expected an experiment id (1, 2a, 2b, 2c, 3a, 3b, 3c, 4, 5, 6a, 6b) or a table id (1-1, 1-2, "
         "1-3, 1-4, 1-5, 2c-1, 2c-2, 2c-3, 2c-4, 2c-5, 2c-6, 2c-7, 2c-8, 2c-9, 3a-1, 3a-2, 3a-3, 3b-1, 3b-2, 3b-3, "
         "3c-1, 3c-2, 4-1, 4-2, 4-3, 5-1, 5-2, 2a-rtrl-1, 2a-rtrl-2, 2a-rtrl-3, 2a-rtrl-4, 2a-rtrl-5, 2a-bptt-1), "
         "got '7'. See `yetztml reproduce lstm1997 --list`."),
        ("4", {"q": 1, "N": 3}, "parameters of experiment 4: expected a subset of T, got N, q"),
        ("6a", {"T": 1}, "parameters of experiment 6a: expected a subset of none, got T"),
        ("3a", {"q": 1}, "parameters of experiment 3a: expected a subset of T, N, got q"),
        ("1", {"blocks": 5},
         f"experiment 1 with blocks=5: expected one of the paper's rows ({ROWS_1}), got no such row"),
        ("2a", {"p": 4},
         f"experiment 2a with p=4, method=lstm: expected one of the paper's rows ({ROWS_2A}), got no such row"),
        ("4", {"T": 10},
         "Adding(T): expected an integer >= 20 (both marks must fall in the first ⌊T/2⌋ pairs), got 10"),
    ],
)
def test_refusals_name_what_was_asked_and_the_choices(exp, params, text):
    with pytest.raises(OptionError) as info:
        resolve_row(exp, **params)
    assert str(info.value) == text


def test_rows_outside_the_tables_copy_the_first_row_and_change_only_the_free_parameters():
    row = resolve_row("3a", T=200, N=7)
    base = ROWS["3a-1"]
    assert (row.id, row.label, row.task, row.paper) == ("3a-custom", "T = 200, N = 7", {"T": 200, "N": 7}, {})
    assert row.notes == "not a row of the paper's tables; no paper values"
    assert row.net is base.net and row.alpha == base.alpha and row.stop == base.stop and row.table == base.table
    assert base.task == {"T": 100, "N": 3}  # the paper row is left as it was
    row = resolve_row("4", T=200)
    assert (row.id, row.label, row.task) == ("4-custom", "T = 200", {"T": 200}) and row.net is ROWS["4-1"].net
    row = resolve_row("3b", T=200, N=2)
    assert (row.id, row.task, row.alpha) == ("3b-custom", {"T": 200, "N": 2}, ROWS["3b-1"].alpha)
    row = resolve_row("3c", N=2)
    assert (row.id, row.task, row.stop) == ("3c-custom", {"T": 100, "N": 2}, ROWS["3c-1"].stop)
    assert resolve_row("3c", T=300, N=2).task == {"T": 300, "N": 2}
    for exp, free in {"3a": "TN", "3b": "TN", "3c": "TN", "4": "T", "2c": "pq"}.items():
        rows = [r for r in ROWS.values() if r.exp == exp]
        assert lstm1997.PARAMETERS[exp] == tuple(free) and {r.method for r in rows} == {"lstm"}
    row = resolve_row("2c", p=20, q=30)
    assert (row.id, row.label, row.task) == ("2c-custom", "p = 20, q = 30", {"p": 20, "q": 30})
    assert (row.net.inputs, row.net.weights) == (24, 184)
    assert row.net == ROWS["2c-1"].net.__class__(**{**vars(ROWS["2c-1"].net), "inputs": 24, "weights": 184})


# -- the resume key, the plan ----------------------------------------------------------------------------------
def test_config_of_is_everything_that_changes_a_trial():
    row = ROWS["4-2"]
    assert lstm1997.config_of(row, "grad2", 7, None) == {
        "paper": "lstm1997", "row": row.to_dict(), "variant": "grad2", "seed": 7, "max_sequences": 3_000_000}
    config = lstm1997.config_of(row, "as-written", True, 50)
    assert config["max_sequences"] == 50 and config["seed"] == 1 and type(config["seed"]) is int


def test_trial_plan_runs_the_varied_row_and_keys_on_the_paper_row(monkeypatch):
    calls = []
    monkeypatch.setattr(lstm1997, "run_trial", lambda *args: calls.append(args) or {"trial": args[1]})
    row = ROWS["4-1"]
    plan = trial_plan(row, "linear-output", 5, 40)
    varied = get_variant("linear-output").apply(row)
    assert plan.kwargs == {"row": varied, "seed": 5, "max_sequences": 40} and varied != row
    assert plan.config == lstm1997.config_of(row, "linear-output", 5, 40)
    assert plan.required is lstm1997.REQUIRED
    assert lstm1997.REQUIRED == {"success": bool, "sequences": int, "steps": int, "wall_s": (int, float)}
    assert plan.fn(trial=3, **plan.kwargs) == {"trial": 3}
    assert calls == [(varied, 3, 5, 40)]
    default = trial_plan(row)
    assert default.kwargs == {"row": row, "seed": 0, "max_sequences": None}
    assert default.config == lstm1997.config_of(row, "as-written", 0, None)


# -- summarize ------------------------------------------------------------------------------------------------
def record(success, sequences, steps, wall_s, **extra):
    return {"success": success, "sequences": sequences, "steps": steps, "wall_s": wall_s, **extra}


def test_summarize_counts_successful_trials_only_for_sequences_and_tests():
    records = [
        record(True, 100, 1000, 1.5, test={"wrong": 1, "size": 256}, st1=0.5, st2=0.0, fraction_misclassified=0.25),
        record(False, 999, 3000, 2.5, test={"wrong": 9, "size": 256}, st1=9.0, st2=9.0, mean_difference=9.0),
        record(True, 300, 2000, 0.5, test={"wrong": 3, "size": 512}, st1=1.5, st2=None, mean_difference=0.75),
        record(True, 500, 2000, 0.5, test=None, st1=4.0),
    ]
    assert summarize(records, ROWS["3a-1"]) == {
        "trials": 4, "successes": 3, "success_pct": 75.0,
        "sequences_mean": 300.0, "sequences_median": 300, "sequences_min": 100, "sequences_max": 500,
        "wall_s_total": 5.0, "us_per_step": 1e6 * 5.0 / 8000,
        "wrong_mean": 2.0, "wrong_max": 3, "test_size": 256,
        "st1_mean": 2.0, "st2_mean": 0.0, "fraction_misclassified_mean": 0.25, "mean_difference_mean": 0.75,
    }


def test_summarize_of_regression_tests_and_of_nothing():
    records = [
        record(True, 10, 0, 1.0, test={"mae": 0.5, "mse": 0.25}),
        record(True, 20, 0, 2.0, test={"mae": 0.25, "mse": 0.75}),
    ]
    out = summarize(records, ROWS["4-1"])
    assert out == {
        "trials": 2, "successes": 2, "success_pct": 100.0,
        "sequences_mean": 15.0, "sequences_median": 15.0, "sequences_min": 10, "sequences_max": 20,
        "wall_s_total": 3.0, "us_per_step": 3e6,  # no steps: divided by 1
        "test_mae_mean": 0.375, "test_mse_mean": 0.5,
    }
    failed = summarize([record(False, 7, 3, 0.75, test={"wrong": 2, "size": 9}, st1=1.0)], ROWS["4-1"])
    assert failed == {
        "trials": 1, "successes": 0, "success_pct": 0.0, "sequences_mean": None, "sequences_median": None,
        "sequences_min": None, "sequences_max": None, "wall_s_total": 0.75, "us_per_step": 0.25e6}
    one = summarize([record(True, 5, 10, 1.0, test={"wrong": 0, "size": 9})], ROWS["4-1"])
    assert (one["wrong_mean"], one["wrong_max"], one["test_size"], one["sequences_median"]) == (0.0, 0, 9, 5)
    one = summarize([record(True, 5, 10, 1.0, test={"mae": 0.5, "mse": 0.25})], ROWS["4-1"])
    assert (one["test_mae_mean"], one["test_mse_mean"]) == (0.5, 0.25) and "wrong_mean" not in one
    empty = summarize([], ROWS["4-1"])
    assert math.isnan(empty.pop("success_pct"))
    assert empty == {"trials": 0, "successes": 0, "sequences_mean": None, "sequences_median": None,
                     "sequences_min": None, "sequences_max": None, "wall_s_total": 0, "us_per_step": 0.0}


# -- reproduce, quick_trial -------------------------------------------------------------------------------------
RECORDS = [record(True, 40, 4000, 2.0, trial=0), record(False, 90, 9000, 1.0, trial=1)]


@pytest.fixture
def runner(monkeypatch):
    """lstm1997's runner and trial replaced by recorders; available_cores says 5."""
    calls: dict[str, list] = {"run_trials": [], "run_trial": []}

    def run_trials(*args, **kwargs):
        calls["run_trials"].append((args, kwargs))
        return RECORDS

    monkeypatch.setattr(lstm1997, "run_trials", run_trials)
    monkeypatch.setattr(lstm1997, "run_trial", lambda *args: calls["run_trial"].append(args) or {"warm": True})
    monkeypatch.setattr(lstm1997, "available_cores", lambda: 5)
    return calls


def test_reproduce_hands_the_plan_to_the_runner_and_writes_the_result(runner, tmp_path):
    row = ROWS["4-1"]
    on_record, on_progress, backend = object(), object(), object()
    result = lstm1997.reproduce(row, variant="no-fprime", trials=2, seed=3, out=tmp_path, jobs=2, max_sequences=60,
                                on_record=on_record, on_progress=on_progress, backend=backend)
    (args, kwargs), = runner["run_trials"]
    plan = trial_plan(row, "no-fprime", 3, 60)
    varied = plan.kwargs["row"]
    assert args == (lstm1997._trial, 2, tmp_path, plan.config, plan.kwargs, 2, on_record)
    warm_up = kwargs.pop("warm_up")
    assert kwargs == {"on_progress": on_progress, "backend": backend, "required": lstm1997.REQUIRED}
    assert runner["run_trial"] == [] and warm_up() == {"warm": True}
    assert runner["run_trial"] == [(varied, 0, 3, 1)]
    seconds = result.pop("seconds")
    assert 0 <= seconds < 60
    assert result == {
        "paper": "Hochreiter & Schmidhuber 1997",
        "row": "4-1", "table": 7, "experiment": "4", "label": "T = 100",
        "variant": {"name": "no-fprime", "summary": "logistic output, its derivative left out of e_k",
                    "reason": "a logistic output unit whose error term omits f' (cross-entropy gradient); not in "
                              "the paper's equations, tested in spec §9"},
        "config": {**plan.config, "trials": 2, "jobs": 2},
        "conventions": {
            "learning_rate": "paper α as in eqs. 19–28: e_k = f'_k (t − y), Δw = α e y (error_scale 1.0, output "
                             "derivative dropped, output unit logistic)",
            "update": "online, after every step with error (one change per sequence where error is at the end)",
            "reset": "activations and partials 0 before every sequence",
        },
        "paper_values": row.paper,
        "summary": summarize(RECORDS, row),
        "trials": RECORDS,
        "versions": versions(),
    }
    written = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps({**result, "seconds": seconds}))


def test_reproduce_defaults_the_paper_trial_count_and_every_core(runner, tmp_path):
    row = ROWS["2a-rtrl-1"]  # a row without a memory-cell net
    result = lstm1997.reproduce(row, out=tmp_path / "run")
    (args, kwargs), = runner["run_trials"]
    assert args[1] == 18 and args[5] == 5 and args[6] is None
    assert args[3] == lstm1997.config_of(row, "as-written", 0, None) and args[4]["max_sequences"] is None
    assert kwargs["on_progress"] is None and kwargs["backend"] is None
    assert result["config"]["trials"] == 18 and result["config"]["jobs"] == 5
    assert result["conventions"]["learning_rate"] == "paper α, e_k = f'_k (t − y), Δw = α e y"
    assert result["variant"]["name"] == "as-written" and result["table"] == 2
    assert result["label"] == "RTRL, p = 4, α = 1.0"
    kwargs["warm_up"]()
    assert runner["run_trial"] == [(row, 0, 0, 1)]
    assert (tmp_path / "run" / "result.json").is_file()
    lstm1997.reproduce(ROWS["4-1"], out=tmp_path / "kept")
    learning_rate = json.loads((tmp_path / "kept" / "result.json").read_text())["conventions"]["learning_rate"]
    assert learning_rate == ("paper α as in eqs. 19–28: e_k = f'_k (t − y), Δw = α e y (error_scale 1.0, output "
                             "derivative kept, output unit logistic)")


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"seed": -1}, "seed"),
        ({"trials": 0}, "trials: expected an integer >= 1, got 0"),
        ({"max_sequences": 0}, "max_sequences: expected an integer >= 1, got 0"),
        ({"jobs": 0}, "jobs: expected an integer >= 1, got 0"),
    ],
)
def test_reproduce_checks_its_options_before_running(runner, tmp_path, options, text):
    with pytest.raises(OptionError) as info:
        lstm1997.reproduce(ROWS["4-1"], out=tmp_path, **options)
    assert str(info.value).startswith(text)
    assert runner["run_trials"] == [] and not (tmp_path / "result.json").exists()


def test_quick_trial_runs_exp_4_under_its_variant(runner):
    assert lstm1997.quick_trial() == {"warm": True}
    assert lstm1997.quick_trial("linear-output", T=200, seed=3, budget=50, trial=4) == {"warm": True}
    assert runner["run_trial"] == [
        (ROWS["4-1"], 0, 0, 100_000),
        (get_variant("linear-output").apply(resolve_row("4", T=200)), 4, 3, 50),
    ]
    with pytest.raises(OptionError) as info:
        lstm1997.quick_trial(budget=0)
    assert str(info.value) == "budget: expected an integer >= 1, got 0"
