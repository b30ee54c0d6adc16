"""Learning checks of the default run: a short, seeded trial of a paper row learns its task, to the number.

Each trial below was chosen (by its seed) for succeeding within seconds; its record is pinned: the success,
the sequences to success, the training steps and the test counts. An error in the training, the stop
criterion, the test or the seeding changes at least one of them. (The tour's full-size adding check, in
``test_tour.py``, is the longer learning check of the default run.)
"""

from __future__ import annotations

import json

import pytest

from yetztml.cli.main import main
from yetztml.experiments.lstm1997 import ROWS
from yetztml.experiments.lstm1997.trial import run_trial


def test_reproduce_learns_the_embedded_reber_grammar(tmp_path, capsys):
    """Exp 1, Table 1 row 5 (3 blocks × 2, α = 0.5), seed 6: trial 0 learns every string at 5,000 sequences."""
    argv = ["reproduce", "lstm1997", "--exp", "1-5", "--trials", "1", "--seed", "6", "--out", str(tmp_path),
            "--jobs", "1", "--no-figures"]
    assert main(argv) == 0
    assert "trial   0: success after 5,000 sequences, test wrong 0" in capsys.readouterr().out
    result = json.loads((tmp_path / "result.json").read_text())
    (record,) = result["trials"]
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (True, "criterion", 5000,
                                                                                            78124)
    assert (record["train_correct"], record["test_correct"], record["test"]) == (256, 256, {"size": 256, "wrong": 0})
    nothing = {"second": 0, "inner": 0, "long_lag": 0, "final": 0}
    assert record["wrong_steps"] == {"train": nothing, "test": nothing}
    assert record["curve"]["sequences"][-1] == 5000
    summary = result["summary"]
    assert (summary["success_pct"], summary["sequences_mean"], summary["wrong_max"], summary["test_size"]) == (
        100.0, 5000.0, 0, 256)


def test_a_trial_of_exp_3a_passes_st1_and_st2():
    """Exp 3a, T = 100, N = 3 (Table 5 row 1), seed 0, trial 2: ST1 at 5,500 sequences, ST2 at 25,000.

    ST1/ST2 are checked every 500 sequences, so both are multiples of 500; the test set of 2,560 fresh
    sequences then has no wrong one. The mean errors are pinned to 1e-9 relative: room for the summation
    order of a compiled loop on another vector width, nothing more.
    """
    record = run_trial(ROWS["3a-1"], 2, 0)
    assert (record["success"], record["reason"], record["sequences"], record["steps"]) == (True, "criterion", 25000,
                                                                                            2624389)
    assert (record["st1"], record["st2"], record["last_check"]["wrong"]) == (5500, 25000, 0)
    assert (record["test"]["size"], record["test"]["wrong"], record["fraction_misclassified"]) == (2560, 0, 0.0)
    assert record["last_check"]["mae"] == pytest.approx(0.00978038243077688, rel=1e-9)
    assert record["mean_difference"] == pytest.approx(0.009832089518784495, rel=1e-9)
