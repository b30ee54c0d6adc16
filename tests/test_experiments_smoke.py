"""A reduced run of every experiment end to end (a few hundred sequences), reports, the CLI's refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from yetztml.cli import reproduce as reproduce_cli
from yetztml.cli.main import main
from yetztml.core.results import read_json
from yetztml.experiments import gers2000, progress
from yetztml.experiments.lstm1997 import ROWS, quick_trial, reproduce
from yetztml.report.reproduction import side_by_side, write_report

#: One row per experiment (and per baseline method) with a cap of a few hundred sequences, and what seed 0's
#: trial 0 does within it: no row succeeds that soon, so each runs to the cap; (cap, training steps, test
#: sequences, wrong of them). The steps count every sequence's length, so they pin the training stream.
SMOKE = {
    "1-5": (300, 4525, 256, 256), "2a": (150, 15000, 2, 2), "2b": (100, 10000, 10000, 10000),
    "2c-2": (300, 33922, 10000, 10000), "3a-1": (500, 52461, 2560, 2560), "3b-1": (500, 52461, 2560, 2560),
    "3c-1": (500, 52463, 2560, 2560), "4-1": (300, 31592, 2560, 2155), "5-1": (300, 31592, 2560, 2295),
    "6a": (300, 31453, 2560, 2560), "6b": (300, 31527, 2560, 2560), "2a-rtrl-1": (400, 1600, None, None),
    "2a-bptt-1": (40, 4000, None, None),
}
#: The mean absolute test error of the rows whose test reports one (compiled float64 loops; 1e-9 relative).
SMOKE_MAE = {"2b": 0.2660618046812055, "2c-2": 0.5000218946708102, "3a-1": 0.49998994968377364,
             "3b-1": 0.49999044102670637, "3c-1": 0.3000234647253352, "4-1": 0.1647577747003252,
             "5-1": 0.19757445964828274, "6a": 0.37234397259292806, "6b": 0.24737454514086457}

#: The baselines' largest error on the two sequences; they train through NumPy's BLAS: 1e-6 relative.
BASELINE_MAX_ERROR = {"2a-rtrl-1": 0.7109719037790967, "2a-bptt-1": 0.9988302088801227}


@pytest.mark.parametrize("row_id", list(SMOKE))
def test_reduced_run_of_every_experiment(row_id, tmp_path):
    cap, steps, size, wrong = SMOKE[row_id]
    result = reproduce(ROWS[row_id], trials=1, seed=0, out=tmp_path, jobs=1, max_sequences=cap)
    (record,) = result["trials"]
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (False, "cap", cap, steps)
    assert record["curve"]["sequences"][-1] == cap
    if size is None:  # the baselines: the largest error on the two sequences, no test set
        assert "test" not in record
        assert record["max_error"] == pytest.approx(BASELINE_MAX_ERROR[row_id], rel=1e-6)
    else:
        assert (record["test"]["size"], record["test"]["wrong"]) == (size, wrong)
    if row_id in SMOKE_MAE:
        assert record["test"]["mae"] == pytest.approx(SMOKE_MAE[row_id], rel=1e-9)
    assert (result["summary"]["trials"], result["summary"]["successes"], result["summary"]["success_pct"]) == (
        1, 0, 0.0)
    assert result["paper_values"] == ROWS[row_id].paper
    assert read_json(tmp_path / "result.json")["row"] == row_id
    report = write_report(tmp_path, figures=row_id == "4-1").read_text()
    assert "| quantity | paper | this run |" in report
    # the report shows this run: 0 % success beside the paper's, and the trial's row with its counts and
    # test error (printed to 3 significant digits); a report of another run or field would differ
    lines = report.splitlines()
    assert next(line for line in lines if line.startswith("| % success |")).endswith(" | 0 |")
    header = next(line for line in lines if line.startswith("| trial |")).strip("| ").split(" | ")
    cells = dict(zip(header, next(line for line in lines if line.startswith("| 0 | ")).strip("| ").split(" | "),
                     strict=True))
    assert [cells[k] for k in ("success", "sequences", "reason", "test wrong")] == [
        "no", f"{cap:,}", "cap", "–" if wrong is None else f"{wrong:,}"]
    if row_id in SMOKE_MAE:
        assert float(cells["test MAE"]) == pytest.approx(SMOKE_MAE[row_id], rel=5e-3)
    else:
        assert cells["test MAE"] == "–"


@pytest.mark.parametrize("row_id", ["forget-decay", "reset"])
def test_reduced_gers2000_run(row_id, tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    row = gers2000.get_row(row_id)
    reports: list[dict] = []
    result = gers2000.reproduce(row, trials=2, seed=0, out=tmp_path, jobs=1, max_streams=30,
                                on_progress=reports.append)
    assert [r["streams"] for r in result["trials"]] == [30, 30]
    assert [(r["trial"], r["done"]) for r in reports] == [(t, s) for t in (0, 1) for s in range(1, 31)]
    assert {r["unit"] for r in reports} == {"streams"} and reports[-1]["detail"].startswith("mean test length")
    assert result["summary"]["rest_pct"] + result["summary"]["good_pct"] + result["summary"]["perfect_pct"] == 100
    assert result["trials"][0]["weights"] == (424 if row.forget else 360)
    # seed 0, 30 streams: no trial learns yet, so both are "rest"; the steps pin the training streams and the
    # test lengths (symbols right before the first error, compiled float64 against a threshold) the nets.
    # Catches a summary that counts classes wrongly, or a trial that ignores its seed or its row's net.
    summary = result["summary"]
    assert (summary["perfect_pct"], summary["good_pct"], summary["rest_pct"], summary["success_pct"]) == (
        0.0, 0.0, 100.0, 0.0)
    assert [(r["class"], r["reason"], r["steps"]) for r in result["trials"]] == {
        "forget-decay": [("rest", "cap", 1012), ("rest", "cap", 1002)],
        "reset": [("rest", "cap", 990), ("rest", "cap", 963)]}[row_id]
    assert [r["test_lengths"] for r in result["trials"]] == {
        "forget-decay": [[3] * 10, [1, 3, 3, 3, 3, 1, 3, 1, 1, 1]],
        "reset": [[1, 3, 1, 1, 1, 3, 3, 3, 3, 3], [1, 3, 3, 3, 3, 1, 3, 1, 1, 1]]}[row_id]
    means = [np.mean(r["test_lengths"]) for r in result["trials"]]
    assert [r["test_length_mean"] for r in result["trials"]] == means
    assert summary["rest_length_mean"] == pytest.approx(np.mean(means), rel=1e-15) == {
        "forget-decay": 2.5, "reset": 2.1}[row_id]
    report = write_report(tmp_path, figures=False).read_text()
    assert "% perfect solutions" in report
    # the report's "this run" column holds this run's classes and rest length
    ours = {line.split(" | ")[0]: line.split(" | ")[-1] for line in report.splitlines() if line.startswith("| ")}
    assert (ours["| % perfect solutions"], ours["| % good solutions"], ours["| % rest"]) == ("0 |", "0 |", "100.0 |")
    assert ours["| rest: mean error-free test length"] == {"forget-decay": "2.5 |", "reset": "2.1 |"}[row_id]


def test_quick_trial_returns_curve_and_test():
    """Seed 0, 500 sequences of Exp 4 (T = 100), linear output: at the cap, 2,195 of 2,560 test sequences
    wrong; one kernel call, so one curve point, whose error is the stop window's."""
    record = quick_trial("linear-output", T=100, seed=0, budget=500)
    assert (record["success"], record["sequences"], record["steps"]) == (False, 500, 52621)
    assert (record["test"]["size"], record["test"]["wrong"], record["window"]["wrong"]) == (2560, 2195, 437)
    assert record["test"]["mae"] == pytest.approx(0.17514907845135275, rel=1e-9)
    assert record["curve"]["sequences"] == [500] and record["curve"]["wrong_fraction"] == [437 / 500]
    assert record["curve"]["mae"] == pytest.approx([record["window"]["mae"]], rel=1e-12)


def test_cli_runs_and_resumes(tmp_path, capsys):
    argv = ["reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "2", "--max-sequences", "200",
            "--seed", "3", "--out", str(tmp_path), "--jobs", "2", "--no-figures"]
    assert main(argv) == 0
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 2 and {json.loads(x)["trial"] for x in lines} == {0, 1}
    assert {json.loads(x)["sequences"] for x in lines} == {200}  # --max-sequences: both trials stop at the cap
    assert {json.loads(x)["seed"] for x in lines} == {3}
    assert main(argv) == 0  # resumes: nothing to run
    assert (tmp_path / "trials.jsonl").read_text().splitlines() == lines
    out = capsys.readouterr().out
    assert "row 4-1" in out and "report:" in out
    assert main(argv[:-5] + ["--seed", "4", "--out", str(tmp_path)]) == 2  # another configuration
    assert "another configuration" in capsys.readouterr().err


def test_cli_shows_progress_inside_trials(tmp_path, capsys, monkeypatch):
    """Off a terminal, a running trial prints how far it is (here at every report)."""
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    monkeypatch.setattr(reproduce_cli, "PLAIN_EVERY", 0.0)
    argv = ["reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "1", "--max-sequences", "4000",
            "--out", str(tmp_path), "--jobs", "1", "--no-figures"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = re.findall(r"trial +0: ([\d,]+) of 4,000 sequences, training error [\d.e-]+", out)
    assert len(lines) >= 2 and lines[-1] == "4,000"
    assert out.index(lines[0]) < out.index("trial   0: no success after 4,000 sequences")
    display = reproduce_cli._Display()
    display.record({"trial": 5, "success": False, "sequences": 10, "wall_s": 1.0}, 1, 1)
    display.progress({"trial": 5, "done": 9, "total": 10, "detail": "late", "unit": "sequences"})
    assert "late" not in capsys.readouterr().out  # reports still queued after a trial's record are dropped


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--exp", "9"], "experiment id (1, 2a"),
        (["--exp", "4", "--T", "10"], ">= 20"),
        (["--exp", "4", "--trials", "0"], "--trials: expected an integer >= 1"),
        (["--exp", "4", "--p", "3"], "subset of T"),
        (["--exp", "4", "--variant", "best"], "variant: expected one of"),
        (["--exp", "2a", "--method", "lstmx"], "--method"),
    ],
)
def test_cli_bad_input(argv, expected, capsys):
    assert main(["reproduce", "lstm1997", *argv]) == 2
    assert expected in capsys.readouterr().err


def test_cli_lists(capsys):
    assert main(["reproduce", "lstm1997", "--list"]) == 0
    text = capsys.readouterr().out
    assert "4-3" in text and "linear-output" in text and "2a-bptt-1" in text
    assert main(["reproduce", "gers2000", "--list"]) == 0
    assert "forget-decay" in capsys.readouterr().out
    assert main(["reproduce", "gers2000", "--row", "nope"]) == 2


def test_exp5_report_compares_the_paper_error_with_the_mean_absolute_error():
    """Table 8's "MSE" is read as the mean absolute test error (rows.py): the report puts ours beside it."""
    result = {"paper_values": ROWS["5-1"].paper,
              "summary": {"success_pct": 100.0, "test_mae_mean": 0.0176, "test_mse_mean": 0.000563}}
    lines = side_by_side(result)
    assert '| test error (mean absolute; Table 8 "MSE") | 0.0223 | 0.0176 |' in lines
    assert not any("0.000563" in line for line in lines)
