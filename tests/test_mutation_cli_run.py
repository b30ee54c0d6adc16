"""yetztml.cli.run through ``main([...])``: the parser as the user reads it, the run-folder rule with each
of its refusals word for word, what the tour is handed (folder, seed, workers, the progress display) and
every line printed from a made-up result (the console is 200 columns wide, so no line wraps).

The tour and its report are replaced by recorders, and rich's ``Progress`` by one that records its columns
and updates (it draws nothing when the output is not a terminal).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rich.progress

from cli_snapshot import command, snapshot
from yetztml.cli import run
from yetztml.cli.main import main
from yetztml.core.errors import CheckpointError
from yetztml.experiments import tour
from yetztml.report import tour as tour_report


def test_the_run_parser_is_the_one_documented():
    assert snapshot(command("run")) == {
        "description": "The main job, a guided tour in about two minutes on two cores: every cell's hand-derived "
                       "gradients checked against finite differences; Hochreiter's error-flow picture (vanishing "
                       "flow in an RNN, constant flow in the CEC); LSTM1997 solving the adding problem (T = 100) "
                       "next to an Elman RNN that fails, with the paper's Table 7 row; the input and output weight "
                       "conflict (1997 §3.2: a naive constant-error unit against the gated memory cell); the "
                       "pictures of an Elman RNN with num_layers = 2 unfolded in time and of LSTM1997 without a "
                       "forget gate with every dimension. Writes OUT/result.json, OUT/report.md and the figures. "
                       "Rerunning the same command into OUT computes the same report again; a report of another "
                       "seed there is refused (--force replaces it).",
        "epilog": None,
        "formatter": "HelpFormatter",
        "--out": {"kind": "_StoreAction", "help": "report folder (default: ./yetztml-report)",
                  "default": "yetztml-report"},
        "--seed": {"kind": "_StoreAction", "help": "seed for every random draw, >= 0 (default: 0)", "type": "int",
                   "default": 0},
        "--workers": {"kind": "_StoreAction", "help": "worker processes (default: one per core; 0 runs everything "
                                                      "in this process)", "type": "int"},
        "--force": {"kind": "_StoreTrueAction", "help": "replace a report of another seed in OUT", "default": False,
                    "nargs": 0, "const": True},
    }
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "run") == (
        "the guided tour (no arguments needed): writes a report folder")
    assert command("run")._defaults == {"handler": run.handle}


# --- the run-folder rule ---------------------------------------------------------------------------------

def refusal(out: Path, seed: int) -> str:
    with pytest.raises(CheckpointError) as caught:
        run.check_folder(out, seed, False)
    return str(caught.value)


def test_a_new_folder_the_same_seed_or_force_is_accepted(tmp_path):
    assert run.check_folder(tmp_path / "new", 3, False) is None
    (tmp_path / "result.json").write_text('{"job": "yetztml run", "seed": 3}')
    assert run.check_folder(tmp_path, 3, False) is None
    (tmp_path / "result.json").write_text("not json")
    assert run.check_folder(tmp_path, 3, True) is None


@pytest.mark.parametrize(("content", "got"), [
    ('{"job": "yetztml run", "seed": 1}', "the tour of seed 1"),
    ('{"job": "reproduce lstm1997", "seed": 3}', "the results of 'reproduce lstm1997'"),
    ('{"seed": 3}', "the results of None"),
])
def test_a_report_of_another_seed_or_job_is_refused(content, got, tmp_path):
    (tmp_path / "result.json").write_text(content)
    assert refusal(tmp_path, 3) == (f"output folder {str(tmp_path)!r}: expected a new folder or the tour of seed 3, "
                                    f"got {got}. Use another --out, or --force to replace it.")


@pytest.mark.parametrize(("content", "kind"), [("not json", "JSONDecodeError"), ("[1, 2]", "AttributeError"),
                                               ('{"job": "yetztml run"}', "KeyError")])
def test_an_unreadable_result_is_refused_naming_the_error(content, kind, tmp_path):
    (tmp_path / "result.json").write_text(content)
    assert refusal(tmp_path, 0) == (f"output folder {str(tmp_path)!r}: expected a new folder or a tour report, got "
                                    f"an unreadable result.json ({kind}). Use another --out, or --force to replace "
                                    "it.")


def test_a_folder_named_result_json_is_unreadable(tmp_path):
    (tmp_path / "result.json").mkdir()
    assert refusal(tmp_path, 0).endswith("got an unreadable result.json (IsADirectoryError). Use another --out, or "
                                         "--force to replace it.")


# --- the command -----------------------------------------------------------------------------------------

RESULT = {
    "gradcheck": {"cells": [{"class": "RNN", "passed": True, "max_error": 1.2e-9},
                            {"class": "LSTM", "passed": True, "max_error": 3e-8}]},
    "adding": {"T": 100, "paper": {"sequences": 74_000},
               "lstm1997": {"as-written": {"success": False, "sequences": 200_000, "test": {"wrong": 7}},
                            "linear-output": {"success": True, "sequences": 1234, "test": {"wrong": 0}}},
               "rnn": {"success": False, "sequences": 2560, "test": {"mae": 0.5}, "baseline_mae": 0.1625}},
    "conflict": {"input conflict": {"config": {"steps": 20},
                                    "naive": {"solved": False, "updates": 5000, "weight": "w_in",
                                              "opposing_fraction": 0.5},
                                    "gated": {"solved": True, "updates": 1200, "weight": "w_in",
                                              "opposing_fraction": 0.125}}},
}


class FakeProgress:
    """rich's Progress, recording what it is given."""

    made: list = []

    def __init__(self, *columns, console=None, transient=False):
        self.columns, self.console, self.transient = columns, console, transient
        self.calls: list = []
        FakeProgress.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, description, total=None):
        self.calls.append(("add", description, total))
        return 17

    def update(self, task, description=None, completed=None, total=None):
        self.calls.append(("update", task, description, completed, total))


@pytest.fixture
def tour_calls(monkeypatch, tmp_path) -> list:
    seen: list = []

    def run_tour(out, seed=0, progress=None, workers=None):
        seen.append(("tour", Path(out), seed, workers))
        progress("gradients", 1, 4)
        return json.loads(json.dumps(RESULT))

    def write(out, result):
        seen.append(("report", Path(out), result == RESULT))
        return Path(out) / "report.md"

    monkeypatch.setattr(tour, "run_tour", run_tour)
    monkeypatch.setattr(tour_report, "write_tour_report", write)
    monkeypatch.setattr(rich.progress, "Progress", FakeProgress)
    monkeypatch.setattr(FakeProgress, "made", [])
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return seen


def test_run_hands_the_tour_its_options_and_prints_every_result(tour_calls, tmp_path, capsys):
    assert main(["run", "--out", "r", "--seed", "4", "--workers", "2"]) == 0
    assert tour_calls == [("tour", Path("r"), 4, 2), ("report", Path("r"), True)]
    assert capsys.readouterr().out.splitlines() == [
        "yetztml run: out=r seed=4",
        "  RNN            max relative error 1.2e-09  pass",
        "  LSTM           max relative error 3.0e-08  pass",
        "adding problem, T = 100 (paper, Table 7: 74,000 sequences)",
        "  LSTM1997 as-written     stop criterion not met after   200,000 sequences; test wrong 7/2560",
        "  LSTM1997 linear-output  stop criterion met after     1,234 sequences; test wrong 0/2560",
        "  Elman RNN (BPTT, Adam)  not solved after     2,560 sequences; test mean abs. error 0.500 (constant "
        "output: 0.1625)",
        "input conflict, T = 20: naive not solved after 5,000 updates (ρ of w_in 0.50); gated solved after 1,200 "
        "updates (ρ of w_in 0.12)",
        f"report: {tmp_path / 'r' / 'report.md'}",
    ]


def test_run_shows_its_progress_on_one_transient_bar(tour_calls):
    assert main(["run", "--out", "r"]) == 0
    (bar,) = FakeProgress.made
    assert bar.calls == [("add", "starting", 1), ("update", 17, "gradients", 1, 4)]
    assert bar.transient is True and bar.console is not None
    assert [type(c) for c in bar.columns] == [rich.progress.TextColumn, rich.progress.BarColumn,
                                              rich.progress.TimeElapsedColumn]
    assert bar.columns[0].text_format == "{task.description}"
    assert tour_calls[0] == ("tour", Path("r"), 0, None)


def test_run_defaults_to_yetztml_report_and_exits_1_on_a_failed_check(tour_calls, monkeypatch, capsys):
    RESULT_FAIL = json.loads(json.dumps(RESULT))
    RESULT_FAIL["gradcheck"]["cells"][1].update(passed=False, max_error=0.5)
    RESULT_FAIL["adding"]["rnn"]["success"] = True
    monkeypatch.setattr(tour, "run_tour", lambda out, seed=0, progress=None, workers=None: (
        tour_calls.append(("tour", Path(out), seed, workers)) or RESULT_FAIL))
    assert main(["run"]) == 1
    assert tour_calls[0] == ("tour", Path("yetztml-report"), 0, None)
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "  LSTM           max relative error 5.0e-01  FAIL"
    assert out[6].startswith("  Elman RNN (BPTT, Adam)  solved after     2,560 sequences")


@pytest.mark.parametrize(("argv", "line"), [
    (["--seed", "-1"], "--seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
    (["--workers", "-1"], "--workers: expected an integer >= 0, got -1"),
    (["--out", ""], "--out: expected a folder name, got ''. Give --out DIR."),
])
def test_bad_options_are_refused_before_the_tour(argv, line, tour_calls, capsys):
    assert main(["run", *argv]) == 2
    assert capsys.readouterr().err == f"yetztml run: error: {line}\n"
    assert tour_calls == []


def test_another_seeds_report_is_refused_unless_forced(tour_calls, tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "result.json").write_text('{"job": "yetztml run", "seed": 1}')
    assert main(["run", "--out", "r", "--seed", "2"]) == 2
    assert capsys.readouterr().err == ("yetztml run: error: output folder 'r': expected a new folder or the tour "
                                       "of seed 2, got the tour of seed 1. Use another --out, or --force to replace "
                                       "it.\n")
    assert main(["run", "--out", "r", "--seed", "2", "--force"]) == 0
    assert tour_calls[0] == ("tour", Path("r"), 2, None)
