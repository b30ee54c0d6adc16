"""Ctrl-C and SIGTERM during `yetztml demo bss`, sent to a real process while it trains.

The signal is sent once the progress shows the second clarity check, i.e. while compiled batches run; the
process must end with the one-line message and status 130 (SIGINT) or 143 (SIGTERM), leave a checkpoint
holding every finished batch, and the same command run again must finish with exactly the losses of an
uninterrupted run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from signalling import chained_interrupt, finish, signal_at_line, start
from yetztml.experiments.bss import run_bss
from yetztml.learning import checkpoint as ckpt

BATCHES = 60
OPTIONS = dict(batch_size=4, n_steps=200, hidden_size=8, n_test=2, eval_every=2, analyses=False, figures=False,
               threads=1)
ARGS = ["--batches", str(BATCHES), "--batch-size", "4", "--n-steps", "200", "--hidden-size", "8", "--n-test", "2",
        "--eval-every", "2", "--no-analyses", "--no-figures", "--threads", "1"]


def interrupted_run(out, signum: int) -> tuple[int, str]:
    """Start `demo bss`, wait for the progress line of batch 4, send ``signum``; return (status, stderr)."""
    proc = start([sys.executable, "-m", "yetztml", "demo", "bss", *ARGS, "--out", str(out)])
    lines = signal_at_line(proc, "stderr", f"training: batch 4/{BATCHES}", signum)
    status, _, rest = finish(proc, timeout=60)
    return status, "".join(lines) + rest


@pytest.mark.parametrize(("signum", "status", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                       (signal.SIGTERM, 143, "terminated")])
def test_signal_keeps_the_finished_batches_and_the_rerun_matches(signum, status, word, tmp_path):
    code, err = interrupted_run(tmp_path / "r", signum)
    assert code == status, err
    assert "Traceback" not in err and "SystemError" not in err
    assert err.splitlines()[-2:] == [
        f"interrupted: finished batches are kept in {tmp_path / 'r'}/checkpoint.npz; rerun the same command to resume",
        f"yetztml demo: {word}",
    ]
    _, _, history, meta = ckpt.load(tmp_path / "r" / "checkpoint.npz")
    done = meta["batches_done"]
    assert 4 <= done < BATCHES and len(history) == done
    assert not (tmp_path / "r" / "result.json").exists()
    if signum != signal.SIGINT:
        return
    rerun = subprocess.run([sys.executable, "-m", "yetztml", "demo", "bss", *ARGS, "--out", str(tmp_path / "r")],
                           capture_output=True, text=True, check=False, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    resumed = json.loads((tmp_path / "r" / "result.json").read_text())
    straight = run_bss(batches=BATCHES, seed=0, out=tmp_path / "straight", progress=False, **OPTIONS)
    assert resumed["training"]["resumed_from"] == done
    assert resumed["training"]["loss"] == straight["training"]["loss"]
    assert resumed["clarity_output"] == straight["clarity_output"]


def test_reproduce_interrupted_keeps_finished_trials_and_the_rerun_runs_only_the_rest(tmp_path):
    """Ctrl-C after the first finished trial: status 130, the trials done are kept, the rerun adds the rest."""
    out = tmp_path / "r"
    command = [sys.executable, "-m", "yetztml", "reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "6",
               "--max-sequences", "3000", "--jobs", "1", "--no-figures", "--out", str(out)]
    proc = start(command)
    signal_at_line(proc, "stdout", "[1/6]", signal.SIGINT)
    code, _, err = finish(proc, timeout=60)
    assert code == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-2:] == [
        f"interrupted: finished trials are kept in {out}/trials.jsonl; rerun the same command to resume",
        "yetztml reproduce: interrupted",
    ]
    kept = (out / "trials.jsonl").read_text().splitlines()
    assert 1 <= len(kept) < 6 and not (out / "result.json").exists()
    rerun = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert lines[: len(kept)] == kept and len(lines) == 6
    assert sorted(json.loads(line)["trial"] for line in lines) == list(range(6))
    assert rerun.stdout.count("no success after 3,000 sequences") == 6 - len(kept)


def test_reproduce_says_where_the_trials_are_when_the_interrupt_surfaced_from_compiled_code(tmp_path, capsys,
                                                                                            monkeypatch):
    """Ctrl-C inside a trial's compiled kernel (--jobs 1 runs it in the command's process) reaches the
    command as chained SystemErrors (2 in 3 tries of the test above); the line on resuming is still said."""
    from yetztml.cli.main import main
    from yetztml.experiments import lstm1997

    monkeypatch.setattr(lstm1997, "run_trials", chained_interrupt)
    out = tmp_path / "r"
    assert main(["reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "2", "--jobs", "1",
                 "--no-figures", "--out", str(out)]) == 130
    assert capsys.readouterr().err.splitlines() == [
        f"interrupted: finished trials are kept in {out}/trials.jsonl; rerun the same command to resume",
        "yetztml reproduce: interrupted",
    ]
