"""The multi-trial runner: records appended as they finish, resume after an interruption, refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from yetztml.core.errors import CheckpointError, OptionError
from yetztml.experiments.runner import TRIALS_FILE, read_trials, run_trials


def fake_trial(trial: int, value: int, log: str, stop_at: int = -1) -> dict:
    """A trial that records its call and can simulate an interruption."""
    if trial == stop_at:
        raise KeyboardInterrupt
    with open(log, "a") as fh:
        fh.write(f"{trial}\n")
    return {"trial": trial, "value": value * 10 + trial, "pid": os.getpid()}


def _calls(log) -> list[int]:
    return [int(x) for x in Path(log).read_text().split()] if os.path.exists(log) else []


def test_runs_resumes_and_adds_trials(tmp_path):
    log = str(tmp_path / "calls.txt")
    out = tmp_path / "run"
    records = run_trials(fake_trial, 3, out, {"a": 1}, {"value": 7, "log": log}, jobs=1)
    assert [r["value"] for r in records] == [70, 71, 72]
    assert len((out / TRIALS_FILE).read_text().splitlines()) == 3
    records = run_trials(fake_trial, 3, out, {"a": 1}, {"value": 7, "log": log}, jobs=1)
    assert _calls(log) == [0, 1, 2]  # nothing rerun
    records = run_trials(fake_trial, 5, out, {"a": 1}, {"value": 7, "log": log}, jobs=2)
    assert sorted(_calls(log)) == [0, 1, 2, 3, 4] and [r["trial"] for r in records] == [0, 1, 2, 3, 4]


def test_interrupted_run_keeps_finished_trials(tmp_path):
    log = str(tmp_path / "calls.txt")
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_trials(fake_trial, 4, out, {"a": 1}, {"value": 1, "log": log, "stop_at": 2}, jobs=1)
    assert sorted(read_trials(out / TRIALS_FILE)) == [0, 1]
    with open(out / TRIALS_FILE, "a") as fh:
        fh.write('{"trial": 2, "val')  # a line cut by the interruption
    records = run_trials(fake_trial, 4, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    assert [r["trial"] for r in records] == [0, 1, 2, 3] and _calls(log) == [0, 1, 2, 3]


def test_parallel_records_come_from_several_workers(tmp_path):
    log = str(tmp_path / "calls.txt")
    records = run_trials(fake_trial, 6, tmp_path / "p", {"b": 2}, {"value": 0, "log": log}, jobs=2)
    assert [r["value"] for r in records] == list(range(6))
    lines = [json.loads(x) for x in (tmp_path / "p" / TRIALS_FILE).read_text().splitlines()]
    assert sorted(r["trial"] for r in lines) == list(range(6))


def test_refusals(tmp_path):
    log = str(tmp_path / "calls.txt")
    run_trials(fake_trial, 1, tmp_path / "r", {"seed": 0}, {"value": 0, "log": log}, jobs=1)
    with pytest.raises(CheckpointError, match="differing in seed"):
        run_trials(fake_trial, 1, tmp_path / "r", {"seed": 1}, {"value": 0, "log": log}, jobs=1)
    with pytest.raises(OptionError):
        run_trials(fake_trial, 0, tmp_path / "s", {}, {"value": 0, "log": log})
