"""`yetztml run`: the tour runs end to end (small budgets) and its report is built from the result."""

from __future__ import annotations

import json

import pytest

from yetztml.cli.main import main
from yetztml.experiments.tour import ADDING_VARIANTS, ERRORFLOW_SCENARIOS, run_tour
from yetztml.report.tour import write_tour_report


def test_tour_writes_result_and_report(tmp_path):
    result = run_tour(tmp_path, seed=1, workers=0, lstm_budget=2_000, rnn_sequences=256)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["seed"] == 1 and saved["workers"] == 0
    cells = saved["gradcheck"]["cells"]
    assert {c["class"] for c in cells} == {"RNN", "LSTM", "GRU", "LSTM1997", "LSTMForget", "LSTMPeephole",
                                          "LSTMCIFG", "LSTMLayerNorm", "LSTMZoneout"}
    assert all(c["passed"] and c["max_error"] <= 1e-6 for c in cells)
    assert set(saved["errorflow"]) == set(ERRORFLOW_SCENARIOS)
    assert all(v == 0.0 for v in saved["errorflow"]["cec"]["log10_flow"])
    adding = saved["adding"]
    assert adding["paper"]["sequences"] == 74_000  # Table 7, T = 100
    for variant in ADDING_VARIANTS:
        record = adding["lstm1997"][variant]
        assert 0 < record["sequences"] <= 2_000 and record["test"]["size"] == 2560
    assert adding["rnn"]["sequences"] == 256 and adding["rnn"]["test"]["size"] == 2560
    report = write_tour_report(tmp_path, result).read_text()
    for heading in ("## Hand-derived gradients", "## The adding problem", "## Error flow", "## The equations"):
        assert heading in report
    assert (tmp_path / "adding.png").stat().st_size > 0
    assert (tmp_path / "errorflow" / "vanishing-flow.png").stat().st_size > 0


def test_cli_describe_and_gradcheck(tmp_path, capsys):
    assert main(["describe", "lstm1997"]) == 0
    assert "[1997 eq." in capsys.readouterr().out
    path = tmp_path / "g.json"
    assert main(["gradcheck", "rnn", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert data["cells"][0]["cell"] == "rnn" and data["cells"][0]["max_error"] <= 1e-6


def test_cli_unknown_cell_is_refused(capsys):
    assert main(["gradcheck", "elman"]) == 2
    assert "expected one of rnn, lstm" in capsys.readouterr().err


@pytest.mark.slow
def test_lstm1997_learns_the_adding_problem_where_the_elman_rnn_does_not():
    """The tour's claim at full size (T = 100): measured 147,437 sequences and 0 wrong for seed 0."""
    from yetztml.experiments.lstm1997 import quick_trial
    from yetztml.experiments.rnn_adding import train_rnn_on_adding

    lstm = quick_trial("linear-output", T=100, seed=0, budget=200_000)
    assert lstm["success"] and lstm["test"]["wrong"] <= 10
    rnn = train_rnn_on_adding(T=100, sequences=20_000, seed=0)
    assert not rnn["success"] and rnn["test"]["mae"] > 0.9 * rnn["baseline_mae"]
