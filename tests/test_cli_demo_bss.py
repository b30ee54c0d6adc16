"""``yetztml demo bss`` through :func:`yetztml.cli.main.main`: every option reaches the run, and the run
folder's flags (--resume, --force, --paper-protocol) do what they say."""

from __future__ import annotations

import json

import pytest

from yetztml.cli.main import main

#: Tiny sizes: a run of a few batches takes a fraction of a second.
TINY = ["--batch-size", "3", "--n-steps", "60", "--n-test", "4", "--eval-every", "2", "--hidden-size", "8",
        "--threads", "1", "--no-analyses", "--no-figures"]


def _config(out):
    return json.loads((out / "result.json").read_text())["config"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--model", "modulation", "--mode", "additive", "--lstm-input", "y", "--tau", "3", "--noise", "0.01",
          "--lr", "0.002", "--dtype", "float64", "--tanh", "exact", "--checkpoint-every", "1", "--blas-threads", "2"],
         {"model": "modulation", "mode": "additive", "lstm_input": "y", "tau": 3.0, "noise": 0.01, "lr": 0.002,
          "dtype": "float64", "tanh": "exact", "checkpoint_every": 1, "blas_threads": 2}),
        (["--model", "spatial", "--n-units", "7", "--n-feedback", "2", "--kernel", "box", "--width", "0.5",
          "--sources", "ica", "--n-sources", "3"],
         {"model": "spatial", "n_units": 7, "n_feedback": 2, "kernel": "box", "width": 0.5, "sources": "ica",
          "n_sources": 3, "tau": 100.0}),
        (["--model", "dale", "--target", "excitation", "--lambda-out", "0.001", "--n-units", "6"],
         {"model": "dale", "target": "excitation", "lambda_out": 0.001, "n_units": 6, "tau": 100.0}),
    ],
)
def test_every_option_reaches_the_run(argv, expected, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["demo", "bss", "--batches", "2", "--seed", "5", "--out", str(out), *TINY, *argv]) == 0
    config = _config(out)
    assert {k: config[k] for k in expected} == expected
    sizes = {"batches": 2, "seed": 5, "batch_size": 3, "n_steps": 60, "n_test": 4, "eval_every": 2,
             "hidden_size": 8, "threads": 1, "analyses": False, "figures": False}
    assert {k: config[k] for k in sizes} == sizes
    printed = capsys.readouterr().out
    assert printed.startswith(f"demo bss: model={expected['model']} batches=2 seed=5 out={out} resume=False")
    assert f"report: {out}/report.md" in printed


def _result(out):
    return json.loads((out / "result.json").read_text())


def test_resume_continues_the_run_in_out_and_equals_the_straight_run(tmp_path, capsys):
    """--resume is passed on: refused where OUT holds no checkpoint, continued where it does."""
    args = ["demo", "bss", "--seed", "2", "--checkpoint-every", "1", *TINY]
    assert main([*args, "--batches", "4", "--out", str(tmp_path / "straight")]) == 0
    assert main([*args, "--batches", "2", "--out", str(tmp_path / "run"), "--resume"]) == 2
    assert "bss: resume: expected a checkpoint to continue from" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert main([*args, "--batches", "2", "--out", str(tmp_path / "run")]) == 0
    assert main([*args, "--batches", "4", "--out", str(tmp_path / "run"), "--resume"]) == 0
    resumed, straight = _result(tmp_path / "run"), _result(tmp_path / "straight")
    assert (resumed["training"]["resumed_from"], straight["training"]["resumed_from"]) == (2, 0)
    assert resumed["training"]["loss"] == straight["training"]["loss"]
    assert resumed["clarity_output"] == straight["clarity_output"]
    assert "resume=True" in capsys.readouterr().out


def test_force_starts_over_where_another_run_is_refused(tmp_path, capsys):
    args = ["demo", "bss", "--batches", "2", "--out", str(tmp_path), *TINY]
    assert main([*args, "--seed", "1"]) == 0
    capsys.readouterr()
    assert main([*args, "--seed", "2"]) == 2
    assert "seed" in capsys.readouterr().err and _result(tmp_path)["seed"] == 1
    assert main([*args, "--seed", "2", "--force"]) == 0
    result = _result(tmp_path)
    assert (result["seed"], result["training"]["resumed_from"]) == (2, 0)
    assert main([*args, "--seed", "2", "--force", "--resume"]) == 2
    assert "--resume continues the run in --out, --force starts it over" in capsys.readouterr().err


def test_paper_protocol_sets_the_authors_batch_count(tmp_path, capsys):
    """The options line shows the batches; the run is then refused at once (--n-test 1 is checked before
    anything is computed), so no 10,000 batches are trained here."""
    assert main(["demo", "bss", "--paper-protocol", "--n-test", "1", "--out", str(tmp_path / "none")]) == 2
    assert "batches=10000" in capsys.readouterr().out
    assert main(["demo", "bss", "--n-test", "1", "--out", str(tmp_path / "none")]) == 2
    assert "batches=6000" in capsys.readouterr().out
    assert main(["demo", "bss", "--paper-protocol", "--batches", "1", "--out", str(tmp_path / "one"), *TINY]) == 0
    assert _result(tmp_path / "one")["batches"] == 1
