"""Ctrl-C and SIGTERM during `yetztml sweep` (a real process): exit 130 / 143 with the two lines, every
finished trial kept in its point's trials.jsonl, and the rerun of the same command ends with the records
and the table of an uninterrupted sweep."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys

import pytest

from signalling import chained_interrupt, finish, signal_at_line, start
from yetztml.cli.main import main
from yetztml.experiments import sweep
from yetztml.experiments.backends import LocalBackend
from yetztml.experiments.sweep import read_spec, run_sweep

SPEC = """\
command = "reproduce lstm1997"
[base]
exp = "4"
T = 100
trials = 2
max-sequences = 3000
[grid]
seed = [0, 1]
"""
POINTS = ("seed=0", "seed=1")
TIMES = ("wall_s", "us_per_step", "wall_s_total")  # the only fields that differ from run to run


def records(out) -> dict[str, list[dict]]:
    """Each point's trial records by trial, without their times."""
    got = {}
    for point in POINTS:
        path = out / "points" / point / "trials.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        got[point] = sorted(({k: v for k, v in r.items() if k not in TIMES} for r in rows), key=lambda r: r["trial"])
    return got


def table(out) -> list[dict]:
    with open(out / "sweep.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k not in TIMES} for row in csv.DictReader(fh)]


@pytest.mark.parametrize("signum, code, word, jobs", [
    (signal.SIGINT, 130, "interrupted", 1),
    pytest.param(signal.SIGTERM, 143, "terminated", 2, marks=pytest.mark.slow),  # in worker processes
])
def test_a_signal_mid_sweep_keeps_the_finished_trials_and_the_rerun_matches(tmp_path, signum, code, word, jobs):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    out = tmp_path / "cut"
    command = [sys.executable, "-m", "yetztml", "sweep", str(spec), "--out", str(out), "--jobs", str(jobs),
               "--no-figures"]
    process = start(command)
    signal_at_line(process, "stdout", "[1/4]", signum)  # the first trial is recorded, three are to run
    status, _, err = finish(process)
    assert status == code, err
    assert "Traceback" not in err and "Error" not in err
    assert err.splitlines()[-2:] == [
        f"interrupted: finished trials are kept in {out}/points/*/trials.jsonl; rerun the same command to resume",
        f"yetztml sweep: {word}",
    ]
    kept = records(out)
    assert 1 <= sum(len(r) for r in kept.values()) < 4 and not (out / "sweep.csv").exists()

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.count("/4]") == 4 - sum(len(r) for r in kept.values())  # only the missing trials ran
    resumed = records(out)
    assert all(resumed[p][: len(kept[p])] == kept[p] for p in POINTS)

    run_sweep(read_spec(spec), tmp_path / "whole", LocalBackend(1))
    assert resumed == records(tmp_path / "whole")
    assert [len(resumed[p]) for p in POINTS] == [2, 2]
    assert table(out) == table(tmp_path / "whole")


def test_an_interrupt_surfacing_from_compiled_code_still_says_where_the_trials_are(tmp_path, capsys, monkeypatch):
    """Ctrl-C inside a compiled kernel of a trial run in the command's process (--jobs 1) reaches the
    command as chained SystemErrors; the sweep reports it as the interrupt, with the line on resuming."""
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    monkeypatch.setattr(sweep, "run_sweep", chained_interrupt)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "s"), "--jobs", "1", "--no-figures"]) == 130
    assert capsys.readouterr().err.splitlines() == [
        f"interrupted: finished trials are kept in {tmp_path / 's'}/points/*/trials.jsonl; rerun the same command "
        "to resume",
        "yetztml sweep: interrupted",
    ]


def test_ending_a_pool_does_not_wait_for_a_lock_no_worker_will_release(monkeypatch):
    """A worker killed while it held the lock of the pool's result queue (what a signal handler that ends
    the workers can do) made Pool.terminate() wait forever; the command now waits a bounded time."""
    import multiprocessing
    import threading

    from yetztml.experiments import backends

    monkeypatch.setattr(backends, "TERMINATE_WAIT", 0.5, raising=False)
    pool = multiprocessing.get_context("fork").Pool(1)
    lock = pool._outqueue._wlock  # held as by a worker killed mid-send
    lock.acquire()
    raised = []

    def interrupted():
        try:
            with backends.ended(pool):
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            raised.append(True)

    ending = threading.Thread(target=interrupted, daemon=True)
    ending.start()
    ending.join(10)
    try:
        assert not ending.is_alive() and raised == [True]
        assert not multiprocessing.active_children()  # the worker is ended all the same
    finally:
        lock.release()  # lets the abandoned terminate() finish
