"""Ctrl-C and SIGTERM during `yetztml text train` (a real process): exit 130 / 143 with one line, the
finished steps kept in the checkpoint, and the rerun of the same command ends where an uninterrupted run
ends, epoch losses equal bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from signalling import signal_when, start
from test_text_app import write_data

ARGS = ["--hidden", "6", "--embed-dim", "6", "--epochs", "60", "--batch-size", "8", "--lr", "0.02",
        "--dropout", "0.2", "--patience", "60", "--no-figures"]


def command(data, out):
    return [sys.executable, "-m", "yetztml.cli.main", "text", "train", "--data", str(data), "--out", str(out), *ARGS]


def epochs_done(out) -> int:
    try:
        return len(json.loads((out / "history.json").read_text())["epochs"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


@pytest.mark.parametrize("signum, code, word", [
    (signal.SIGINT, 130, "interrupted"),
    pytest.param(signal.SIGTERM, 143, "terminated", marks=pytest.mark.slow),  # the same path, another signal
])
def test_a_signal_mid_training_keeps_the_work_and_the_rerun_finishes_identically(tmp_path, signum, code, word):
    data = write_data(tmp_path / "reviews.csv", n=80)
    whole = subprocess.run(command(data, tmp_path / "whole"), capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "cut"
    process = start(command(data, out))
    signal_when(process, lambda: epochs_done(out) >= 2, signum)  # inside epoch 3 of 60, between checkpoints
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert err.strip().splitlines()[-1] == f"yetztml text: {word}"
    assert (out / "checkpoint.npz").is_file() and not (out / "result.json").exists()
    rerun = subprocess.run(command(data, out), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    ours = json.loads((out / "result.json").read_text())
    theirs = json.loads((tmp_path / "whole" / "result.json").read_text())
    assert [e["train_loss"] for e in ours["epochs"]] == [e["train_loss"] for e in theirs["epochs"]]
    assert ours["test"]["confusion"] == theirs["test"]["confusion"]


def _untimed(epochs):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in epochs]


@pytest.mark.parametrize("patience, at", [(30, 3), (1, 2)])
def test_an_interrupt_during_a_validation_waits_for_its_end(tmp_path, monkeypatch, capsys, patience, at):
    """Ctrl-C while the validation of epoch ``at`` runs: it is finished and recorded before the command
    stops, so that the rerun does not skip it; when it is the validation that stops the run (patience 1:
    epoch 2 is no better than epoch 1 here), the rerun trains no further. Both reruns end as the
    uninterrupted run does."""
    from yetztml.apps.text import classifier as text_classifier
    from yetztml.cli.main import main

    data = write_data(tmp_path / "reviews.csv", n=80)
    args = ["--hidden", "6", "--embed-dim", "6", "--epochs", "6", "--batch-size", "8", "--lr", "0.002",
            "--dropout", "0", "--patience", str(patience), "--no-figures"]

    def run(out):
        return main(["text", "train", "--data", str(data), "--out", str(out), *args])

    assert run(tmp_path / "whole") == 0
    straight = json.loads((tmp_path / "whole" / "result.json").read_text())
    assert (straight["stopped_early"], len(straight["epochs"])) == ((True, 2) if patience == 1 else (False, 6))
    calls = []
    probabilities = text_classifier.Classifier.probabilities_of

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == at:
            os.kill(os.getpid(), signal.SIGINT)  # lands inside the validation of epoch ``at``
        return probabilities(self, *args, **kwargs)

    monkeypatch.setattr(text_classifier.Classifier, "probabilities_of", interrupted)
    capsys.readouterr()
    assert run(tmp_path / "cut") == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "yetztml text: interrupted"
    recorded = json.loads((tmp_path / "cut" / "history.json").read_text())["epochs"]
    assert _untimed(recorded) == _untimed(straight["epochs"][:at])
    monkeypatch.setattr(text_classifier.Classifier, "probabilities_of", probabilities)
    assert run(tmp_path / "cut") == 0
    resumed = json.loads((tmp_path / "cut" / "result.json").read_text())
    assert _untimed(resumed["epochs"]) == _untimed(straight["epochs"])
    assert (resumed["best_epoch"], resumed["stopped_early"]) == (straight["best_epoch"], straight["stopped_early"])
    assert resumed["test"]["confusion"] == straight["test"]["confusion"]
