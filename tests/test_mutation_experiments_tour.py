"""`experiments/tour.py` pinned without training: each job with stand-ins for the computations it wraps (what it
passes them, what it adds to their record), the jobs' order, the pool the jobs run on, and ``run_tour``'s
checks, progress and result, in this process and through the pool. The tour end to end is
``tests/test_tour.py``."""

from __future__ import annotations

import json
import signal

import pytest

from yetztml.core.errors import DTypeError, OptionError
from yetztml.core.results import versions
from yetztml.experiments import tour

BLOCKS_FIRST = ["lstm1997", "lstm-forget", "lstm-peephole", "rnn", "lstm", "gru", "lstm-cifg", "lstm-layernorm",
                "lstm-zoneout", "lstm-peephole-stacked"]


class Clock:
    """perf_counter returns 1, 4, 9, ...: the i-th call (from 1) returns i²."""

    def __init__(self):
        self.calls = 0

    def perf_counter(self):
        self.calls += 1
        return float(self.calls**2)


@pytest.fixture
def calls(monkeypatch):
    """Stand-ins for the computations of the jobs, recording their arguments."""
    seen = []

    def gradient_check(name, seed):
        seen.append(("gradient_check", name, seed))
        return {"cell": name, "max_error": 1e-9}

    def run_scenario(name, lags, seed):
        seen.append(("run_scenario", name, lags, seed))
        return {"scenario": name}

    def quick_trial(variant, T, seed, budget):
        seen.append(("quick_trial", variant, T, seed, budget))
        return {"trial": variant}

    def train_rnn_on_adding(T, sequences, seed):
        seen.append(("train_rnn_on_adding", T, sequences, seed))
        return {"rnn": sequences}

    for name, fn in (("gradient_check", gradient_check), ("run_scenario", run_scenario),
                     ("quick_trial", quick_trial), ("train_rnn_on_adding", train_rnn_on_adding)):
        monkeypatch.setattr(tour, name, fn)
    return seen


def test_gradcheck_job_passes_at_the_tolerance(calls, monkeypatch):
    monkeypatch.setattr(tour, "time", Clock())
    assert tour.GRADCHECK_TOLERANCE == 1e-6
    assert tour._gradcheck_job("gru", 4) == {"cell": "gru", "max_error": 1e-9, "seconds": 3.0, "passed": True,
                                              "equations": "yetztml.cells.gru"}
    assert calls == [("gradient_check", "gru", 4)]
    for error, passed in ((1e-6, True), (1.0000001e-6, False)):
        monkeypatch.setattr(tour, "gradient_check", lambda name, seed, error=error: {"max_error": error})
        assert tour._gradcheck_job("lstm1997", 0)["passed"] is passed
    assert tour._gradcheck_job("lstm1997", 0)["equations"] == "yetztml.cells.lstm1997"


def test_errorflow_and_conflict_jobs(calls, monkeypatch):
    monkeypatch.setattr(tour, "time", Clock())
    assert tour._errorflow_job("cec", 100, 3) == {"scenario": "cec", "seconds": 3.0}  # 2² − 1²
    assert tour._errorflow_job("lstm-vs-rnn", None, 3) == {"scenario": "lstm-vs-rnn", "seconds": 7.0}  # 4² − 3²
    assert tour._conflict_job("input-conflict", 10, 2) == {
        "scenario": "input-conflict", "seconds": 11.0,
        "figures": {"per_step": "conflict/input-conflict-per-step.png",
                    "training": "conflict/input-conflict-training.png"}}
    assert calls == [("run_scenario", "cec", 100, 3), ("run_scenario", "lstm-vs-rnn", None, 3),
                     ("run_scenario", "input-conflict", 10, 2)]


def test_adding_jobs(calls, monkeypatch):
    monkeypatch.setattr(tour, "time", Clock())
    assert tour._lstm_adding_job("linear-output", 500, 7) == {"trial": "linear-output", "variant": "linear-output",
                                                              "seconds": 3.0}
    assert tour._rnn_adding_job(64, 7) == {"rnn": 64}
    assert calls == [("quick_trial", "linear-output", 100, 7, 500), ("train_rnn_on_adding", 100, 64, 7)]


def test_the_jobs_in_their_order():
    jobs = tour._jobs(5, 300, 40)
    assert [name for name, _, _ in jobs] == (
        [("adding", "as-written")] + [("gradcheck", n) for n in BLOCKS_FIRST]
        + [("adding", "rnn"), ("adding", "linear-output")]
        + [("errorflow", n) for n in ("vanishing", "cec", "cec-gated", "lstm-vs-rnn")]
        + [("conflict", "input-conflict"), ("conflict", "output-conflict")])
    functions = {name: (fn, args) for name, fn, args in jobs}
    assert functions[("adding", "as-written")] == (tour._lstm_adding_job, ("as-written", 300, 5))
    assert functions[("adding", "linear-output")] == (tour._lstm_adding_job, ("linear-output", 300, 5))
    assert functions[("adding", "rnn")] == (tour._rnn_adding_job, (40, 5))
    assert functions[("gradcheck", "gru")] == (tour._gradcheck_job, ("gru", 5))
    assert functions[("errorflow", "vanishing")] == (tour._errorflow_job, ("vanishing", 100, 5))
    assert functions[("errorflow", "lstm-vs-rnn")] == (tour._errorflow_job, ("lstm-vs-rnn", None, 5))
    assert functions[("conflict", "output-conflict")] == (tour._conflict_job, ("output-conflict", 10, 5))
    assert tour._call((("a", "b"), divmod, (7, 2))) == (("a", "b"), (3, 1))


def test_pictures_of_the_two_cells():
    out = tour.pictures()
    assert list(out) == ["rnn", "lstm1997"]
    assert (out["rnn"]["figure"], out["rnn"]["options"], out["rnn"]["total"]) == (
        "pictures/rnn-num-layers-2.png", {"input_size": 3, "hidden_size": 4, "num_layers": 2}, 76)
    assert (out["lstm1997"]["figure"], out["lstm1997"]["options"], out["lstm1997"]["total"]) == (
        "pictures/lstm1997-no-forget-gate.png", {"input_size": 3, "hidden_size": 2, "block_size": 2}, 101)
    assert out["rnn"]["kind"] == "stacked" and out["lstm1997"]["kind"] != "stacked"


class FakePool:
    """A stand-in for a spawn context's pool: records how it was made and how it ended."""

    made: list = []

    def __init__(self, processes, initializer, initargs):
        self.args, self.events = (processes, initializer, initargs), []
        FakePool.made.append(self)

    def imap_unordered(self, fn, jobs):
        self.events.append("imap")
        return reversed([fn(job) for job in jobs])

    def close(self):
        self.events.append("close")

    def join(self):
        self.events.append("join")

    def terminate(self):
        self.events.append("terminate")


class FakeContext:
    def __init__(self):
        self.kinds = []

    def get_context(self, kind):
        self.kinds.append(kind)
        return type("Context", (), {"Pool": FakePool})


def test_run_jobs_on_a_spawned_pool_that_ignores_ctrl_c(monkeypatch):
    context = FakeContext()
    monkeypatch.setattr(tour, "multiprocessing", context)
    FakePool.made = []
    jobs = [(("a", 1), divmod, (7, 2)), (("b", 2), max, (1, 5)), (("c", 3), min, (4, 2))]
    got = []
    for workers in (0, 1, 2, 3, 9):
        tour.run_jobs(jobs, workers, lambda name, value: got.append((name, value)))
    assert context.kinds == ["spawn"] * 5
    assert [pool.args[0] for pool in FakePool.made] == [1, 1, 2, 3, 3]
    assert all(pool.args[1:] == (signal.signal, (signal.SIGINT, signal.SIG_IGN)) for pool in FakePool.made)
    assert all(pool.events == ["imap", "close", "join"] for pool in FakePool.made)
    assert got[:3] == [(("c", 3), 2), (("b", 2), 5), (("a", 1), (3, 1))]


def test_run_jobs_ends_the_workers_when_the_caller_stops(monkeypatch):
    monkeypatch.setattr(tour, "multiprocessing", FakeContext())
    FakePool.made = []

    def keep(name, value):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tour.run_jobs([(("a", 1), max, (1, 2))], 2, keep)
    assert FakePool.made[0].events[:2] == ["imap", "terminate"] and "close" not in FakePool.made[0].events


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        (dict(seed=-1), OptionError, "seed: expected an integer seed >= 0, got -1"),
        (dict(workers=-1), OptionError, "workers: expected an integer >= 0, got -1"),
        (dict(workers=1.5), DTypeError, "workers: expected an integer, got float"),
        (dict(lstm_budget=0), OptionError, "lstm_budget: expected an integer >= 1, got 0"),
        (dict(rnn_sequences=0), OptionError, "rnn_sequences: expected an integer >= 1, got 0"),
    ],
)
def test_run_tour_checks_before_anything_is_written(kwargs, error, text, tmp_path, calls, monkeypatch):
    monkeypatch.setattr(tour, "run_jobs", lambda *args: pytest.fail("ran"))
    with pytest.raises(error) as caught:
        tour.run_tour(tmp_path / "out", **({"workers": 0} | kwargs))
    assert str(caught.value).startswith(text)
    assert not (tmp_path / "out").exists() and calls == []


def _expected(seed, workers, budget, rnn, seconds):
    return {
        "job": "yetztml run", "seed": seed, "workers": workers, "versions": versions(),
        "gradcheck": {"tolerance": 1e-6, "cells": [
            {"cell": n, "max_error": 1e-9, "seconds": None, "passed": True,
             "equations": f"yetztml.cells.{tour.CATALOGUE[n].module}"} for n in tour.CATALOGUE]},
        "errorflow": {n: {"scenario": n, "seconds": None} for n in ("vanishing", "cec", "cec-gated", "lstm-vs-rnn")},
        "adding": {"T": 100, "lstm_budget": budget, "paper": {"success_pct": 100, "sequences": 74000, "wrong": 1},
                   "lstm1997": {v: {"trial": v, "variant": v, "seconds": None}
                                for v in ("as-written", "linear-output")},
                   "rnn": {"rnn": rnn}},
        "conflict": {n: {"scenario": n, "seconds": None, "figures": {
            "per_step": f"conflict/{n}-per-step.png", "training": f"conflict/{n}-training.png"}}
            for n in ("input-conflict", "output-conflict")},
        "pictures": tour.pictures(),
        "seconds": seconds,
    }


def _without_job_seconds(result):
    result = json.loads(json.dumps(result))
    for cell in result["gradcheck"]["cells"]:
        cell["seconds"] = None
    for section in ("errorflow", "conflict"):
        for value in result[section].values():
            value["seconds"] = None
    for value in result["adding"]["lstm1997"].values():
        value["seconds"] = None
    return result


def test_run_tour_in_this_process(calls, tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tour, "time", clock)
    progress = []
    out = tmp_path / "a" / "b"
    result = tour.run_tour(str(out), seed=3, progress=lambda *a: progress.append(a), workers=0, lstm_budget=50,
                           rnn_sequences=8)
    # 19 jobs: the 18 that time themselves call the clock twice, after the tour's start (1); its end is 38²
    assert clock.calls == 38 and result["seconds"] == 38.0**2 - 1.0
    assert _without_job_seconds(result) == _expected(3, 0, 50, 8, 1443.0)
    assert list(result["errorflow"]) == list(tour.ERRORFLOW_SCENARIOS)
    assert list(result["conflict"]) == list(tour.CONFLICT_SCENARIOS)
    assert result["adding"]["lstm1997"]["as-written"]["seconds"] == 5.0  # the first job: 3² − 2²
    assert result["gradcheck"]["cells"][7]["seconds"] == 9.0  # lstm1997, the second job: 5² − 4²
    assert json.loads((out / "result.json").read_text()) == json.loads(json.dumps(result))
    names = [f"{section}: {key}" for (section, key), _, _ in tour._jobs(3, 50, 8)]
    assert progress == [("starting", 0, 19)] + [(name, i, 19) for i, name in enumerate(names)]
    assert ("quick_trial", "as-written", 100, 3, 50) in calls and ("train_rnn_on_adding", 100, 8, 3) in calls


def test_run_tour_on_workers(calls, tmp_path, monkeypatch):
    handed = []

    def run_jobs(jobs, workers, keep):
        handed.append((len(jobs), workers))
        for name, fn, args in reversed(jobs):
            keep(name, fn(*args))

    monkeypatch.setattr(tour, "run_jobs", run_jobs)
    monkeypatch.setattr(tour.os, "cpu_count", lambda: 3)
    progress = []
    result = tour.run_tour(tmp_path, seed=2, progress=lambda *a: progress.append(a), lstm_budget=9, rnn_sequences=4)
    assert handed == [(19, 3)] and result["workers"] == 3
    assert _without_job_seconds(result) == _expected(2, 3, 9, 4, result["seconds"])
    names = [f"{section}: {key} done" for (section, key), _, _ in reversed(tour._jobs(2, 9, 4))]
    assert progress == [("starting", 0, 19)] + [(name, i + 1, 19) for i, name in enumerate(names)]
    monkeypatch.setattr(tour.os, "cpu_count", lambda: None)
    assert tour.run_tour(tmp_path, workers=None)["workers"] == 1
    assert tour.run_tour(tmp_path, workers=2)["workers"] == 2 and handed[-1] == (19, 2)


def test_run_tour_without_a_progress_callback(calls, tmp_path):
    assert tour.run_tour(tmp_path, workers=0, seed=0)["seed"] == 0
    assert tour.run_tour(tmp_path, workers=0, seed=0, lstm_budget=1, rnn_sequences=1)["adding"]["lstm_budget"] == 1


def test_run_tour_defaults(calls, tmp_path, monkeypatch):
    handed = []
    monkeypatch.setattr(tour, "run_jobs", lambda jobs, workers, keep: handed.append(workers) or [
        keep(name, fn(*args)) for name, fn, args in jobs])
    monkeypatch.setattr(tour.os, "cpu_count", lambda: 5)
    result = tour.run_tour(tmp_path)
    assert (result["seed"], result["workers"], result["adding"]["lstm_budget"], handed) == (0, 5, 200_000, [5])
    assert ("quick_trial", "as-written", 100, 0, 200_000) in calls
    assert ("train_rnn_on_adding", 100, 20_000, 0) in calls
