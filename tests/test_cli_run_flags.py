"""``yetztml run`` through :func:`yetztml.cli.main.main` with the tour itself replaced by a recorder: what
the options hand to :func:`~yetztml.experiments.tour.run_tour`, and the exit code from the gradient checks.
(The tour end to end is ``test_tour.py``; here each flag is checked without its two minutes.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from yetztml.cli.main import main
from yetztml.experiments import tour
from yetztml.report import tour as tour_report


def _result(passed: bool) -> dict:
    return {
        "gradcheck": {"cells": [{"class": "RNN", "passed": True, "max_error": 1e-9},
                                {"class": "LSTM", "passed": passed, "max_error": 1e-9 if passed else 0.5}]},
        "adding": {"T": 100, "paper": {"sequences": 74_000},
                   "lstm1997": {"linear-output": {"success": True, "sequences": 1234, "test": {"wrong": 0}}},
                   "rnn": {"success": False, "sequences": 256, "test": {"mae": 0.5}, "baseline_mae": 0.1625}},
        "conflict": {},
    }


@pytest.fixture
def calls(monkeypatch, tmp_path):
    seen: list[dict] = []
    outcome = {"passed": True}

    def run_tour(out, seed=0, progress=None, workers=None, **kw):
        seen.append({"out": Path(out), "seed": seed, "workers": workers})
        return _result(outcome["passed"])

    monkeypatch.setattr(tour, "run_tour", run_tour)
    monkeypatch.setattr(tour_report, "write_tour_report", lambda out, result: Path(out) / "report.md")
    return seen, outcome


@pytest.mark.parametrize(("argv", "workers"), [([], None), (["--workers", "0"], 0), (["--workers", "3"], 3)])
def test_seed_out_and_workers_reach_the_tour(argv, workers, calls, tmp_path, capsys):
    seen, _ = calls
    assert main(["run", "--out", str(tmp_path / "r"), "--seed", "4", *argv]) == 0
    assert seen == [{"out": tmp_path / "r", "seed": 4, "workers": workers}]
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines at the console's width
    assert f"yetztml run: out={tmp_path / 'r'} seed=4" in printed
    assert "LSTM1997 linear-output stop criterion met after 1,234 sequences; test wrong 0/2560" in printed


def test_a_failed_gradient_check_exits_1(calls, tmp_path, capsys):
    _, outcome = calls
    outcome["passed"] = False
    assert main(["run", "--out", str(tmp_path / "r")]) == 1
    assert "LSTM max relative error 5.0e-01 FAIL" in " ".join(capsys.readouterr().out.split())


def test_force_replaces_a_report_of_another_seed(calls, tmp_path, capsys):
    seen, _ = calls
    (tmp_path / "result.json").write_text('{"job": "yetztml run", "seed": 1}')
    assert main(["run", "--out", str(tmp_path), "--seed", "2"]) == 2
    assert "the tour of seed 1" in capsys.readouterr().err and seen == []
    assert main(["run", "--out", str(tmp_path), "--seed", "1"]) == 0  # the same seed: computed again
    assert main(["run", "--out", str(tmp_path), "--seed", "2", "--force"]) == 0
    assert [c["seed"] for c in seen] == [1, 2]
