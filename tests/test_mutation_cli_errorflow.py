"""yetztml.cli.errorflow through ``main([...])``: the parser as the user reads it, the checks before any
computation, which report module runs which scenario with which options, and every line printed.

The two report modules' ``run_errorflow`` and ``summary_lines`` are replaced by recorders; the scenarios
themselves are computed in ``test_scenarios.py`` and ``test_mutation_report_*.py``.
"""

from __future__ import annotations

import pytest

from cli_snapshot import command, snapshot
from yetztml.analysis.scenarios import scenario_names
from yetztml.cli import errorflow
from yetztml.cli.main import main
from yetztml.report import conflict
from yetztml.report import errorflow as errorflow_report


def test_the_errorflow_parser_is_the_one_documented():
    assert snapshot(command("errorflow")) == {
        "description": "Compute Hochreiter's scaling factors ∂ϑ_v(t−q)/∂ϑ_u(t) (1997 eq. 1) along a recorded "
                       "trajectory for every lag q, compare them with the bounds, and draw them. Scenarios: "
                       + ", ".join(scenario_names()) + ". See docs/errorflow/ for what each figure shows.",
        "epilog": None,
        "formatter": "HelpFormatter",
        "--scenario": {"kind": "_StoreAction", "help": "which scenario (default: vanishing)", "default": "vanishing",
                       "choices": scenario_names()},
        "--lags": {"kind": "_StoreAction", "help": "largest lag q (default: the scenario's own)", "type": "int",
                   "metavar": "Q"},
        "--seed": {"kind": "_StoreAction", "help": "seed for weights and inputs, >= 0 (default: 0)", "type": "int",
                   "default": 0},
        "--out": {"kind": "_StoreAction", "help": "write figures (and DIR/<scenario>.json) here", "metavar": "DIR"},
        "--json": {"kind": "_StoreAction", "help": "write the result JSON to PATH", "metavar": "PATH"},
    }
    assert "input-conflict" in scenario_names() and "vanishing" in scenario_names()
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "errorflow") == (
        "why RNNs forget and the constant error carousel does not: scaling factors per lag")
    assert command("errorflow")._defaults == {"handler": errorflow.handle}


@pytest.fixture
def runs(monkeypatch, tmp_path) -> list:
    calls: list = []
    for module in (conflict, errorflow_report):
        name = module.__name__.rsplit(".", 1)[1]

        def run(scenario, out=None, json_path=None, lags=None, seed=0, name=name):
            calls.append((name, scenario, out, json_path, lags, seed))
            return {"result": {"from": name}, "files": ["a.png", "b.json"]}

        monkeypatch.setattr(module, "run_errorflow", run)
        monkeypatch.setattr(module, "summary_lines", lambda result, name=name: [f"summary of {result['from']}",
                                                                                 f"{name} line 2"])
    monkeypatch.chdir(tmp_path)
    return calls


def test_a_flow_scenario_runs_in_the_errorflow_report(runs, capsys):
    assert main(["errorflow"]) == 0
    assert runs == [("errorflow", "vanishing", None, None, None, 0)]
    assert capsys.readouterr().out.splitlines() == [
        "errorflow: scenario=vanishing lags=default seed=0 out=None json=None",
        "summary of errorflow", "errorflow line 2", "wrote a.png", "wrote b.json"]


def test_a_conflict_scenario_runs_in_the_conflict_report_with_every_option(runs, capsys):
    assert main(["errorflow", "--scenario", "output-conflict", "--lags", "7", "--seed", "3", "--out", "figs",
                 "--json", "r.json"]) == 0
    assert runs == [("conflict", "output-conflict", "figs", "r.json", 7, 3)]
    assert capsys.readouterr().out.splitlines()[:3] == [
        "errorflow: scenario=output-conflict lags=7 seed=3 out=figs json=r.json", "summary of conflict",
        "conflict line 2"]
    assert main(["errorflow", "--scenario", "input-conflict"]) == 0
    assert main(["errorflow", "--scenario", "cec"]) == 0
    assert [r[:2] for r in runs[1:]] == [("conflict", "input-conflict"), ("errorflow", "cec")]


@pytest.mark.parametrize(("argv", "line"), [
    (["--seed", "-1"], "--seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
    (["--lags", "0"], "--lags: expected an integer >= 1, got 0"),
    (["--out", ""], "--out: expected a folder name, got ''. Give --out DIR."),
    (["--json", "."], "--json: expected a file path, got '.', a folder. Name a file, e.g. --json result.json."),
])
def test_refusals_come_before_anything_is_computed(argv, line, runs, capsys):
    assert main(["errorflow", *argv]) == 2
    assert capsys.readouterr() == ("", f"yetztml errorflow: error: {line}\n")
    assert runs == []
