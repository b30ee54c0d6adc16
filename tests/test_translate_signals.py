"""Ctrl-C and SIGTERM during `yetztml text train --task translate` (a real process): exit 130 / 143 with one
line, the finished steps and validations kept, and the rerun of the same command ends where an
uninterrupted run ends: the same validations, weights equal bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from signalling import finish, signal_when, start
from test_translate_app import _write_task
from yetztml.apps.translate import train as translate_train
from yetztml.cli.main import main

ARGS = ["--hidden", "8", "--embed-dim", "4", "--epochs", "30", "--batch-size", "16", "--min-freq", "1",
        "--no-lowercase", "--dropout", "0.1", "--beam", "2", "--max-output", "8", "--patience", "30", "--no-figures"]


def arguments(files, out, *extra) -> list[str]:
    src, tgt, vsrc, vtgt = files
    return ["text", "train", "--task", "translate", "--src", src, "--tgt", tgt, "--val-src", vsrc, "--val-tgt", vtgt,
            "--out", str(out), *ARGS, *extra]


def checks(out) -> list[dict]:
    """The validations recorded so far (history.json, or result.json at the end), without their clock."""
    try:
        rows = json.loads((out / "history.json").read_text())["checks"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return []
    return [{k: v for k, v in row.items() if k != "minutes"} for row in rows]


def finished(out) -> dict:
    result = json.loads((out / "result.json").read_text())
    with np.load(out / "weights.npz") as weights:
        values = {k: weights[k].tolist() for k in weights.files}
    return {"checks": [{k: v for k, v in c.items() if k != "minutes"} for c in result["checks"]],
            "validation": result["validation"], "best_step": result["best_step"],
            "stopped_early": result["stopped_early"], "weights": values}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The uninterrupted run (in this process) and the task's files."""
    folder = tmp_path_factory.mktemp("translate")
    files = _write_task(folder, n_train=64, n_val=8)
    assert main(arguments(files, folder / "whole")) == 0
    return files, finished(folder / "whole")


@pytest.mark.parametrize("signum, code, word", [
    (signal.SIGINT, 130, "interrupted"),
    pytest.param(signal.SIGTERM, 143, "terminated", marks=pytest.mark.slow),  # the same path, another signal
])
def test_a_signal_mid_training_keeps_the_work_and_the_rerun_finishes_identically(tmp_path, whole, signum, code,
                                                                                 word):
    files, straight = whole
    out = tmp_path / "cut"
    command = [sys.executable, "-m", "yetztml", *arguments(files, out)]
    process = start(command)
    signal_when(process, lambda: len(checks(out)) >= 2, signum)  # in epoch 3 of 30
    status, _, err = finish(process)
    assert status == code, err
    assert "Traceback" not in err and "Error" not in err
    assert err.strip().splitlines()[-1] == f"yetztml text: {word}"
    kept = checks(out)
    assert 2 <= len(kept) < 30 and kept == straight["checks"][: len(kept)]
    assert (out / "checkpoint.npz").is_file() and not (out / "result.json").exists()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert finished(out) == straight


@pytest.mark.parametrize("patience, at", [(30, 3), (1, 2)])
def test_an_interrupt_during_a_validation_waits_for_its_end(tmp_path, whole, monkeypatch, capsys, patience, at):
    """Ctrl-C while validation ``at`` runs: it is finished and recorded (with the learning rate it sets)
    before the command stops, so that the rerun does not skip it; when it is the validation that stops the
    run (patience 1: the second validation is no better), the rerun trains no further."""
    files, straight = whole
    extra = ["--patience", str(patience)]
    if patience != 30:
        assert main(arguments(files, tmp_path / "whole", *extra)) == 0
        straight = finished(tmp_path / "whole")
        assert straight["stopped_early"] and len(straight["checks"]) == at
    calls = []
    bleu = translate_train.bleu

    def interrupted_bleu(*args, **kwargs):
        calls.append(1)
        if len(calls) == at:
            os.kill(os.getpid(), signal.SIGINT)
        return bleu(*args, **kwargs)

    monkeypatch.setattr(translate_train, "bleu", interrupted_bleu)
    assert main(arguments(files, tmp_path / "cut", *extra)) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "yetztml text: interrupted"
    assert checks(tmp_path / "cut") == straight["checks"][:at]
    monkeypatch.setattr(translate_train, "bleu", bleu)
    assert main(arguments(files, tmp_path / "cut", *extra)) == 0
    assert finished(tmp_path / "cut") == straight
