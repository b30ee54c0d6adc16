"""yetztml.experiments.gers2000, function by function: the stream's chunks, the nets of Table 2, the stream and
test rules, the net's classes, the summary and the result file.

A net of the paper needs thousands of streams of up to 100,000 symbols. Here the stream length is lowered
(``STREAM_LENGTH`` = 3: the nets learn the first symbols of the grammar in a dozen streams) or the tolerance
raised to 1 (no output of a logistic unit can be that far from a 0/1 target, so every stream runs to its
end); the seeded records are pinned field by field.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from yetztml.cells.lstm1997 import LSTM1997
from yetztml.cells.lstm_forget import LSTMForget
from yetztml.core.errors import NonFiniteError, OptionError
from yetztml.core.results import read_json
from yetztml.experiments import gers2000
from yetztml.experiments.gers2000 import (
    REQUIRED,
    ROWS,
    _Budget,
    _net,
    build_net,
    get_row,
    print_rows,
    reproduce,
    run_net,
    stream_chunk,
    summarize,
    trial_plan,
)
from yetztml.learning.online1997_fast import CRITERION, ERROR, FastNet
from yetztml.tasks import reber


def _record(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("wall_s", "us_per_step")}


@pytest.fixture
def short_streams(monkeypatch):
    monkeypatch.setattr(gers2000, "STREAM_LENGTH", 3)


@pytest.fixture
def no_errors(monkeypatch):
    monkeypatch.setattr(gers2000, "STREAM_LENGTH", 100)
    monkeypatch.setattr(gers2000, "TOLERANCE", 1.0)


# ---------------------------------------------------------------------------------------------- data, rows, nets


@pytest.mark.parametrize("reset", [False, True])
def test_stream_chunk_packs_the_next_strings(reset):
    data = stream_chunk(np.random.default_rng(5), 3, reset)
    index, legal, starts = reber.packed(np.random.default_rng(5), 3)
    np.testing.assert_array_equal(data.index, index)
    np.testing.assert_array_equal(data.targets, legal)
    np.testing.assert_array_equal(data.criterion_targets, legal)
    np.testing.assert_array_equal(data.flags, np.full(index.shape[0], ERROR | CRITERION, np.uint8))
    np.testing.assert_array_equal(data.starts, starts if reset else [0, index.shape[0]])
    assert data.starts.dtype == np.int64 and data.x.shape == (0, 7) and data.flags.dtype == np.uint8
    assert len(starts) == 4


def test_get_row_and_its_refusal():
    assert get_row("forget") is ROWS["forget"]
    with pytest.raises(OptionError) as refused:
        get_row("forgetting")
    assert str(refused.value) == ("Gers 2000 row: expected one of 'reset', 'standard', 'state-decay', 'forget', "
                                  "'forget-decay', got 'forgetting'")


def test_print_rows_lists_each_row_with_the_papers_values(capsys):
    print_rows()
    assert capsys.readouterr().out.splitlines() == [
        "Gers, Schmidhuber & Cummins 2000, Table 2 (CERG); select with --row NAME:",
        "  reset         Standard LSTM with external reset                paper: perfect_pct=74, "
        "perfect_streams=7441, good_pct=0, rest_pct=26, rest_length=31",
        "  standard      Standard LSTM                                    paper: perfect_pct=0, good_pct=1, "
        "good_length=1166, rest_pct=99, rest_length=37",
        "  state-decay   LSTM with state decay (0.9)                      paper: perfect_pct=0, good_pct=0, "
        "rest_pct=100, rest_length=56",
        "  forget        LSTM with forget gates                           paper: perfect_pct=18, "
        "perfect_streams=18889, good_pct=29, good_length=39171, rest_pct=53, rest_length=145",
        "  forget-decay  LSTM with forget gates and sequential α decay    paper: perfect_pct=62, "
        "perfect_streams=14087, good_pct=6, good_length=68464, rest_pct=32, rest_length=30",
    ]


COMMON = dict(recurrent="cells", shortcut=True, bias={"gates", "outputs"}, init_range=0.2,
              input_gate_bias=[-0.5, -1.0, -1.5, -2.0], output_gate_bias=[-0.5, -1.0, -1.5, -2.0])


def _same_params(cell, reference):
    assert sorted(cell.params) == sorted(reference.params)
    for name, value in reference.params.items():
        np.testing.assert_array_equal(cell.params[name], value, err_msg=name)


def test_nets_without_forget_gates():
    net = build_net(ROWS["standard"], np.random.default_rng(4))
    _same_params(net.cell, LSTM1997(7, 4, 2, 7, seed=np.random.default_rng(4), **COMMON))
    assert type(net.cell) is LSTM1997 and net.cell.num_weights == 360
    assert (net.cell.recurrent, net.cell.shortcut) == ("cells", True)
    np.testing.assert_array_equal(net.MW, FastNet(net.cell).MW)  # every weight trains


def test_nets_with_forget_gates():
    net = build_net(ROWS["forget-decay"], np.random.default_rng(4))
    _same_params(net.cell, LSTMForget(7, 4, 2, 7, forget_gate_bias=[0.5, 1.0, 1.5, 2.0], seed=np.random.default_rng(4),
                                      **COMMON))
    assert net.cell.num_weights == 424
    np.testing.assert_array_equal(net.MW, FastNet(net.cell).MW)


def test_state_decay_is_a_forget_gate_frozen_at_its_factor():
    net = build_net(ROWS["state-decay"], np.random.default_rng(4))
    reference = LSTMForget(7, 4, 2, 7, forget_gate_bias=[0.5, 1.0, 1.5, 2.0], seed=np.random.default_rng(4), **COMMON)
    assert not net.cell.params["W_phi"].any()
    np.testing.assert_allclose(net.cell.params["b_phi"], [math.log(9.0)] * 4, rtol=1e-15)
    assert 1.0 / (1.0 + math.exp(-net.cell.params["b_phi"][0])) == pytest.approx(0.9, rel=1e-15)
    for name in reference.params:
        if name not in ("W_phi", "b_phi"):
            np.testing.assert_array_equal(net.cell.params[name], reference.params[name], err_msg=name)
    a, b = net.rows["phi"]
    trained = FastNet(reference).MW
    assert trained[a:b].all() and not net.MW[a:b].any()  # the decay is not trained
    np.testing.assert_array_equal(net.MW[:a], trained[:a])
    np.testing.assert_array_equal(net.MW[b:], trained[b:])


# ---------------------------------------------------------------------------------------------- budget, streams


def test_budget_is_exhausted_from_its_limit_on():
    budget = _Budget(10)
    budget.spend(9)
    assert (budget.used, budget.exhausted) == (9, False)
    budget.spend(1)
    assert (budget.used, budget.exhausted) == (10, True)
    free = _Budget(None)
    free.spend(10**9)
    assert (free.used, free.exhausted) == (10**9, False)


@pytest.mark.parametrize(("row_id", "steps"), [("reset", 1100), ("standard", 2004)])
def test_streams_are_cut_at_exactly_their_length(no_errors, row_id, steps):
    """No error: the training stream and the 10 test streams run to 100 symbols each; without reset the
    tests first score 8 strings of every stream in one call (904 symbols here), then each stream in full."""
    record = run_net(ROWS[row_id], 0, 0, max_streams=2)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": True, "sequences": 1, "streams": 1, "class": "perfect",
        "test_length_mean": 100.0, "test_lengths": [100] * 10, "reason": "criterion", "steps": steps, "weights": 360,
        "curve": {"sequences": [1], "mae": [100.0], "wrong_fraction": [100.0], "sse": [0.0]},
    }


def test_a_stream_continues_the_state_between_its_chunks(no_errors, monkeypatch):
    seen = []
    original = gers2000.evaluate

    def spy(net, data, **options):
        seen.append((data.steps, options.get("continue_state"), options.get("stop_each", False)))
        return original(net, data, **options)

    monkeypatch.setattr(gers2000, "evaluate", spy)
    budget = _Budget(None)
    net = build_net(ROWS["standard"], np.random.default_rng(0))
    assert gers2000._stream(net, ROWS["standard"], np.random.default_rng(1), False, budget) == 100
    assert budget.used == 100
    assert seen == [(42, False, False), (58, True, False)]  # 4 strings, then 16 cut at the 100th symbol


# ---------------------------------------------------------------------------------------------- nets


def test_reset_net_becomes_perfect(short_streams):
    """Streams of 3 symbols, external reset, seed 1: perfect after 13 training streams; 400 streams allowed,
    so the curve has a point every 2 streams (400 // 200) and one at the end."""
    record = run_net(ROWS["reset"], 0, 1, max_streams=400)
    assert _record(record) == {
        "trial": 0, "seed": 1, "success": True, "sequences": 13, "streams": 13, "class": "perfect",
        "test_length_mean": 3.0, "test_lengths": [3] * 10, "reason": "criterion", "steps": 344, "weights": 360,
        "curve": {"sequences": [2, 4, 6, 8, 10, 12, 13], "mae": [1.0, 2.4, 1.6, 1.6, 2.2, 2.2, 3.0],
                  "wrong_fraction": [0.5, 1.0, 2.0, 2.0, 3.0, 1.0, 1.0], "sse": [0.0] * 7},
    }
    assert record["us_per_step"] == pytest.approx(1e6 * record["wall_s"] / 344)


def test_standard_net_becomes_perfect(short_streams):
    record = run_net(ROWS["standard"], 2, 0, max_streams=400)
    assert _record(record) == {
        "trial": 2, "seed": 0, "success": True, "sequences": 7, "streams": 7, "class": "perfect",
        "test_length_mean": 3.0, "test_lengths": [3] * 10, "reason": "criterion", "steps": 175, "weights": 360,
        "curve": {"sequences": [2, 4, 6, 7], "mae": [0.0, 1.0, 2.2, 3.0], "wrong_fraction": [0.0, 0.5, 1.0, 1.0],
                  "sse": [0.0] * 4},
    }


FORGET_5 = {"trial": 0, "seed": 1, "success": False, "sequences": 5, "streams": 5, "test_length_mean": 2.0,
            "test_lengths": [3, 3, 3, 3, 3, 1, 1, 1, 1, 1], "steps": 122, "weights": 424}


@pytest.mark.parametrize(("good_length", "cls"), [(2, "rest"), (1.99, "good")])
def test_a_net_stopped_at_its_cap_is_classed_by_its_mean_test_length(short_streams, monkeypatch, good_length, cls):
    monkeypatch.setattr(gers2000, "GOOD_LENGTH", good_length)
    record = run_net(ROWS["forget"], 0, 1, max_streams=5)
    assert _record(record) == {
        **FORGET_5, "class": cls, "reason": "cap",
        "curve": {"sequences": [1, 2, 3, 4, 5], "mae": [0.0, 1.0, 1.0, 2.4, 2.0],
                  "wrong_fraction": [0.0, 0.0, 1.0, 1.0, 1.0], "sse": [0.0] * 5},
    }


def test_a_net_stops_after_the_stream_that_spends_its_steps(short_streams):
    record = run_net(ROWS["forget"], 0, 1, max_streams=400, max_steps=100)
    assert _record(record) == {
        **FORGET_5, "class": "rest", "reason": "steps cap",
        "curve": {"sequences": [2, 4], "mae": [1.0, 2.4], "wrong_fraction": [0.0, 1.0], "sse": [0.0, 0.0]},
    }


def test_a_net_whose_weights_blow_up_ends_as_diverged(short_streams, monkeypatch):
    calls = []
    original = gers2000.train_online

    def blow_up_third_stream(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise NonFiniteError("weights after online training: expected finite values, got NaN/inf")
        return original(*args, **kwargs)

    monkeypatch.setattr(gers2000, "train_online", blow_up_third_stream)
    record = run_net(ROWS["forget"], 0, 1, max_streams=400)
    assert _record(record) == {
        "trial": 0, "seed": 1, "success": False, "sequences": 2, "streams": 2, "class": "rest",
        "test_length_mean": 0.0, "test_lengths": [0] * 10, "reason": "diverged", "steps": 32, "weights": 424,
        "curve": {"sequences": [2], "mae": [1.0], "wrong_fraction": [0.0], "sse": [0.0]},
    }


# ---------------------------------------------------------------------------------------------- summary, plan


def _net_record(cls, streams=0, length=0.0, reason="cap", wall=1.0, steps=10):
    return {"class": cls, "streams": streams, "test_length_mean": length, "reason": reason, "wall_s": wall,
            "steps": steps}


def test_summary_counts_classes_and_averages_within_each():
    records = [_net_record("perfect", streams=10, wall=2.0, steps=100), _net_record("perfect", streams=30),
               _net_record("good", length=2000.0, reason="steps cap"), _net_record("rest", length=3.0),
               _net_record("rest", length=5.0, reason="steps cap")]
    assert summarize(records) == {
        "trials": 5, "capped_by_steps": 2, "perfect_pct": 40.0, "perfect_streams_mean": 20.0, "good_pct": 20.0,
        "good_length_mean": 2000.0, "rest_pct": 40.0, "rest_length_mean": 4.0, "success_pct": 40.0,
        "wall_s_total": 6.0, "us_per_step": 1e6 * 6.0 / 140,
    }


def test_summary_of_no_nets_or_of_one_class():
    empty = summarize([])
    assert math.isnan(empty["perfect_pct"]) and math.isnan(empty["good_pct"]) and math.isnan(empty["rest_pct"])
    assert (empty["trials"], empty["capped_by_steps"], empty["wall_s_total"], empty["us_per_step"]) == (0, 0, 0, 0.0)
    assert summarize([_net_record("rest", length=7.0, steps=0, wall=0.5)]) == {
        "trials": 1, "capped_by_steps": 0, "perfect_pct": 0.0, "good_pct": 0.0, "rest_pct": 100.0,
        "rest_length_mean": 7.0, "success_pct": 0.0, "wall_s_total": 0.5, "us_per_step": 1e6 * 0.5}


def test_trial_plan_runs_net_i_of_the_row(short_streams):
    plan = trial_plan(ROWS["standard"], seed=2, max_streams=4, max_steps=None)
    assert plan.fn is _net and plan.required is REQUIRED
    assert plan.kwargs == {"row": ROWS["standard"], "seed": 2, "max_streams": 4, "max_steps": None}
    assert plan.config == {"paper": "gers2000", "row": ROWS["standard"].to_dict(), "seed": 2, "max_streams": 4,
                           "max_steps": None}
    assert trial_plan(ROWS["standard"], seed=0, max_steps=50).config["max_streams"] == 30_000
    assert trial_plan(ROWS["standard"]).kwargs == {"row": ROWS["standard"], "seed": 0, "max_streams": None,
                                                   "max_steps": None}
    assert _record(plan.fn(trial=1, **plan.kwargs)) == _record(run_net(ROWS["standard"], 1, 2, 4, None))


def test_required_fields_of_a_record():
    assert REQUIRED == {"success": bool, "streams": int, "class": str, "test_length_mean": (int, float),
                        "reason": str, "steps": int, "wall_s": (int, float)}


# ---------------------------------------------------------------------------------------------- reproduce


def test_reproduce_writes_the_result_of_its_nets(tmp_path):
    result = reproduce(ROWS["forget-decay"], trials=2, seed=3, out=tmp_path, jobs=1, max_streams=2)
    assert read_json(tmp_path / "result.json") == result
    assert {k: v for k, v in result.items() if k not in ("trials", "versions", "seconds", "summary")} == {
        "paper": "Gers, Schmidhuber & Cummins 2000", "row": "forget-decay", "table": 2, "experiment": "CERG",
        "label": "LSTM with forget gates and sequential α decay",
        "variant": {"name": "as-written", "summary": "the spec's setup (§5)", "reason": "Gers 2000 Table 2"},
        "config": {"paper": "gers2000", "row": ROWS["forget-decay"].to_dict(), "seed": 3, "max_streams": 2,
                   "max_steps": None, "trials": 2, "jobs": 1, "max_sequences": 2},
        "conventions": {
            "learning_rate": "α = 0.5 as in 1997 eqs. 19–28 (e_k = f'(t − y), Δw = α e y), reset per stream, "
                             "× 0.99 per step",
            "update": "online, after every step", "reset": "only at the start of a stream"},
        "paper_values": ROWS["forget-decay"].paper,
        "curve_x": "training streams", "curve_y": "mean error-free length of the 10 test streams",
    }
    assert [(r["trial"], r["seed"], r["streams"], r["steps"], r["test_lengths"]) for r in result["trials"]] == [
        (0, 3, 2, 32, [1] * 10), (1, 3, 2, 32, [1] * 10)]
    assert {k: v for k, v in result["summary"].items() if k not in ("wall_s_total", "us_per_step")} == {
        "trials": 2, "capped_by_steps": 0, "perfect_pct": 0.0, "good_pct": 0.0, "rest_pct": 100.0,
        "rest_length_mean": 1.0, "success_pct": 0.0}
    assert result["versions"]["yetztml"] and result["seconds"] > 0


def test_reproduce_of_a_reset_row_with_a_steps_cap(tmp_path):
    result = reproduce(ROWS["reset"], trials=1, out=tmp_path, jobs=1, max_streams=2, max_steps=50)
    assert result["conventions"] == {
        "learning_rate": "α = 0.5 as in 1997 eqs. 19–28 (e_k = f'(t − y), Δw = α e y), reset per stream",
        "update": "online, after every step", "reset": "at every string start"}
    assert (result["config"]["seed"], result["config"]["max_steps"], result["config"]["trials"]) == (0, 50, 1)


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"trials": 0}, "trials: expected an integer >= 1, got 0"),
        ({"seed": -1}, "seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
        ({"max_streams": 0}, "max_streams: expected an integer >= 1, got 0"),
        ({"max_steps": 0}, "max_steps: expected an integer >= 1, got 0"),
        ({"jobs": 0}, "jobs: expected an integer >= 1, got 0"),
    ],
)
def test_reproduce_refuses_bad_options_before_running(tmp_path, options, text):
    with pytest.raises(OptionError) as refused:
        reproduce(ROWS["reset"], out=tmp_path / "run", **options)
    assert str(refused.value) == text
    assert not (tmp_path / "run").exists()


def test_a_net_allowed_no_stream_is_untrained_and_untested():
    record = run_net(ROWS["standard"], 0, 0, max_streams=0)
    assert _record(record) == {
        "trial": 0, "seed": 0, "success": False, "sequences": 0, "streams": 0, "class": "rest",
        "test_length_mean": 0.0, "test_lengths": [], "reason": "cap", "steps": 0, "weights": 360,
        "curve": {"sequences": [], "mae": [], "wrong_fraction": [], "sse": []},
    }
    assert record["us_per_step"] == pytest.approx(1e6 * record["wall_s"], rel=1e-12)


def test_reproduce_checks_jobs_even_with_a_backend_of_its_own(tmp_path):
    from yetztml.experiments.backends import LocalBackend

    with pytest.raises(OptionError) as refused:
        reproduce(ROWS["reset"], trials=1, out=tmp_path / "run", jobs=0, max_streams=1, backend=LocalBackend(1))
    assert str(refused.value) == "jobs: expected an integer >= 1, got 0"
    assert not (tmp_path / "run").exists()


def test_reproduce_runs_on_every_available_core_by_default(tmp_path, monkeypatch):
    monkeypatch.setattr(gers2000, "available_cores", lambda: 1)
    result = reproduce(ROWS["reset"], trials=1, out=tmp_path, max_streams=1)
    assert (result["config"]["jobs"], len(result["trials"])) == (1, 1)


def test_reproduce_hands_the_runner_its_configuration_callbacks_and_backend(tmp_path, monkeypatch):
    from yetztml.experiments import progress, runner
    from yetztml.experiments.backends import LocalBackend

    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    made = []
    monkeypatch.setattr(runner, "LocalBackend", lambda jobs: made.append(jobs) or LocalBackend(jobs))
    records, reports = [], []
    reproduce(ROWS["reset"], trials=2, seed=4, out=tmp_path / "a", jobs=1, max_streams=1,
              on_record=lambda record, finished, total: records.append((record["trial"], finished, total)),
              on_progress=reports.append)
    assert made == [1]  # the runner's own backend, with the jobs given
    assert sorted(records) == [(0, 1, 2), (1, 2, 2)]
    assert sorted((r["trial"], r["done"], r["total"], r["unit"]) for r in reports) == [
        (0, 1, 1, "streams"), (1, 1, 1, "streams")]
    assert read_json(tmp_path / "a" / "config.json") == {
        "paper": "gers2000", "row": ROWS["reset"].to_dict(), "seed": 4, "max_streams": 1, "max_steps": None}
    reproduce(ROWS["reset"], trials=1, out=tmp_path / "b", jobs=1, max_streams=1, backend=LocalBackend(1))
    assert made == [1]  # a backend given is used as it is


def test_reproduce_refuses_a_record_without_the_nets_fields(tmp_path):
    import json

    from yetztml.core.errors import CheckpointError

    reproduce(ROWS["reset"], trials=1, out=tmp_path, jobs=1, max_streams=1)
    record = json.loads((tmp_path / "trials.jsonl").read_text())
    del record["class"]
    (tmp_path / "trials.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(CheckpointError, match="'class', 'test_length_mean'"):
        reproduce(ROWS["reset"], trials=1, out=tmp_path, jobs=1, max_streams=1)


def test_reproduce_and_its_nets_are_timed_by_the_clock(tmp_path, monkeypatch):
    """A clock that reads 100, 101, 102, …: the net runs from 101 to 102, the whole reproduction 100 to 103."""
    import itertools
    import types

    clock = itertools.count(100.0)
    monkeypatch.setattr(gers2000, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    result = reproduce(ROWS["reset"], trials=1, out=tmp_path, jobs=1, max_streams=1)
    (record,) = result["trials"]
    assert (record["wall_s"], record["us_per_step"]) == (1.0, 1e6 / record["steps"])
    assert result["seconds"] == 3.0
    assert (result["summary"]["wall_s_total"], result["summary"]["us_per_step"]) == (1.0, 1e6 / record["steps"])


def test_reproduce_passes_the_steps_cap_to_its_nets(tmp_path):
    result = reproduce(ROWS["reset"], trials=1, out=tmp_path, jobs=1, max_streams=5, max_steps=5)
    (record,) = result["trials"]
    assert (record["reason"], record["streams"], record["steps"]) == ("steps cap", 1, 11)
    assert result["summary"]["capped_by_steps"] == 1


def test_a_stream_draws_ever_larger_chunks_and_counts_its_steps_for_the_decay(no_errors, monkeypatch):
    """4, 16, 64, … strings per chunk, at most 4,096; training continues the step count of the α decay."""
    monkeypatch.setattr(gers2000, "STREAM_LENGTH", 100_000)
    drawn, counts, starts = [], [], []
    chunk, train = gers2000.stream_chunk, gers2000.train_online

    def spy_chunk(rng, n_strings, reset):
        drawn.append(n_strings)
        return chunk(rng, n_strings, reset)

    def spy_train(net, data, **options):
        counts.append(options["count"])
        starts.append(len(data.starts))
        return train(net, data, **options)

    monkeypatch.setattr(gers2000, "stream_chunk", spy_chunk)
    monkeypatch.setattr(gers2000, "train_online", spy_train)
    net = build_net(ROWS["forget-decay"], np.random.default_rng(0))
    assert gers2000._stream(net, ROWS["forget-decay"], np.random.default_rng(1), False, _Budget(None)) == 100_000
    assert drawn == [4, 16, 64, 256, 1024, 4096, 4096]
    drawn.clear()
    monkeypatch.setattr(gers2000, "STREAM_LENGTH", 100)
    assert gers2000._stream(net, ROWS["forget-decay"], np.random.default_rng(1), True, _Budget(None)) == 100
    assert (drawn, counts, starts) == ([4, 16], [0, 42], [2, 2])
    drawn.clear(), counts.clear(), starts.clear()
    reset = build_net(ROWS["reset"], np.random.default_rng(0))
    assert gers2000._stream(reset, ROWS["reset"], np.random.default_rng(1), True, _Budget(None)) == 100
    assert (drawn, counts, starts) == ([4, 16], [0, 42], [5, 5])  # a sequence per string, cut at the 100th symbol
