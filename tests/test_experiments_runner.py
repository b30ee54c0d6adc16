"""The multi-trial runner: records appended as they finish, resume after an interruption, refusals."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from yetztml.core.errors import CheckpointError, OptionError
from yetztml.experiments import progress
from yetztml.experiments.backends import LocalBackend, Task, make_backend
from yetztml.experiments.ray_backend import check_address
from yetztml.experiments.runner import (
    TORN_FILE,
    TRIALS_FILE,
    TornRecordWarning,
    append_record,
    read_trials,
    run_trials,
)


def fake_trial(trial: int, value: int, log: str, stop_at: int = -1) -> dict:
    """A trial that records its call and can simulate an interruption."""
    if trial == stop_at:
        raise KeyboardInterrupt
    with open(log, "a") as fh:
        fh.write(f"{trial}\n")
    return {"trial": trial, "value": value * 10 + trial, "pid": os.getpid()}


def reporting_trial(trial: int, steps: int) -> dict:
    """A trial that reports its progress ``steps`` times (done 1 … steps of steps)."""
    for done in range(1, steps + 1):
        progress.report(trial, done, steps, f"step {done}")
    return {"trial": trial, "pid": os.getpid()}


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
    with pytest.warns(TornRecordWarning, match="line 3 cut by an interruption"):
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


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_reports_reach_the_parent(tmp_path, monkeypatch, jobs):
    """Reports made inside trials arrive in on_progress in this process, in order within a trial."""
    monkeypatch.setattr(progress, "INTERVAL", 0.0)  # forked workers inherit it
    seen: list[dict] = []
    records = run_trials(reporting_trial, 4, tmp_path / "r", {"c": 3}, {"steps": 5}, jobs=jobs,
                         on_progress=seen.append)
    assert [r["trial"] for r in records] == [0, 1, 2, 3]
    assert sorted({r["trial"] for r in seen}) == [0, 1, 2, 3]
    for trial in range(4):
        mine = [r for r in seen if r["trial"] == trial]
        assert [r["done"] for r in mine] == [1, 2, 3, 4, 5]  # all of them, the last drained after the pool
        assert mine[-1] == {"trial": trial, "done": 5, "total": 5, "detail": "step 5", "unit": "sequences"}
    progress.report(0, 1, 1)  # no sink is left installed in this process
    assert len(seen) == 20


def test_progress_reports_are_thinned(monkeypatch):
    """One report per INTERVAL seconds per process; none without a sink."""
    got: list[dict] = []
    clock = iter([0.0, 0.1, 0.6, 0.7, 1.2])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    progress.set_sink(got.append)
    try:
        for done in range(5):
            progress.report(0, done, 5)
    finally:
        progress.set_sink(None)
    assert [r["done"] for r in got] == [0, 2, 4]
    progress.report(0, 9, 9)
    assert len(got) == 3


def test_a_cut_last_line_loses_no_later_record(tmp_path):
    """Issue 17 item 5: a record appended after a cut line starts a line of its own and is read back."""
    path = tmp_path / TRIALS_FILE
    append_record(path, {"trial": 0, "value": 1})
    with open(path, "a") as fh:
        fh.write('{"trial": 1, "va')  # the writer of trial 1 died mid-write
    append_record(path, {"trial": 2, "value": 3})
    assert path.read_text().splitlines() == ['{"trial": 0, "value": 1}', '{"trial": 1, "va',
                                             '{"trial": 2, "value": 3}']
    assert read_trials(path) == {0: {"trial": 0, "value": 1}, 2: {"trial": 2, "value": 3}}


def test_resume_sets_the_cut_line_aside_and_reruns_only_its_trial(tmp_path):
    log = str(tmp_path / "calls.txt")
    out = tmp_path / "run"
    run_trials(fake_trial, 2, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    with open(out / TRIALS_FILE, "a") as fh:
        fh.write('{"trial": 2, "value": 1')  # cut before the closing brace
    with pytest.warns(TornRecordWarning, match="line 3 cut by an interruption"):
        records = run_trials(fake_trial, 4, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    assert [r["value"] for r in records] == [10, 11, 12, 13] and _calls(log) == [0, 1, 2, 3]
    assert (out / TORN_FILE).read_text() == '{"trial": 2, "value": 1\n'
    assert [json.loads(x)["trial"] for x in (out / TRIALS_FILE).read_text().splitlines()] == [0, 1, 2, 3]


def test_a_whole_record_missing_only_its_newline_is_kept(tmp_path):
    log = str(tmp_path / "calls.txt")
    out = tmp_path / "run"
    run_trials(fake_trial, 1, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    with open(out / TRIALS_FILE, "a") as fh:
        fh.write('{"trial": 1, "value": 11, "pid": 0}')  # the newline was never written
    records = run_trials(fake_trial, 3, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    assert _calls(log) == [0, 2] and records[1]["pid"] == 0 and not (out / TORN_FILE).exists()


@pytest.mark.parametrize("line, wrong", [
    ('{"trial": 0}', "no 'success'"),
    ('{"trial": "0", "success": true}', "'trial' = '0'"),
    ('{"trial": 0, "success": 1}', "'success' = 1"),
    ('{"trial": -1, "success": true}', "'trial' = -1"),
    ("[1, 2]", "got a list"),
])
def test_malformed_records_name_the_file_and_line(tmp_path, line, wrong):
    path = tmp_path / TRIALS_FILE
    path.write_text('{"trial": 1, "success": false}\n' + line + "\n")
    with pytest.raises(CheckpointError, match=r"trials.jsonl, line 2: expected a trial record") as err:
        read_trials(path, {"success": bool})
    assert wrong in str(err.value) and "Delete that line" in str(err.value)


def test_backend_runs_keyed_tasks(tmp_path):
    """Tasks of two folders in one pool; each record routed back with its key."""
    log = str(tmp_path / "calls.txt")
    tasks = [Task(("a", i), fake_trial, i, {"value": 1, "log": log}) for i in range(2)]
    tasks += [Task(("b", i), fake_trial, i, {"value": 2, "log": log}) for i in range(2)]
    got = {}
    LocalBackend(2).run(tasks, lambda task, record: got.__setitem__(task.key, record["value"]))
    assert got == {("a", 0): 10, ("a", 1): 11, ("b", 0): 20, ("b", 1): 21}


def test_backend_choice_is_checked():
    with pytest.raises(OptionError, match="--backend: expected one of 'local', 'ray', got 'dask'"):
        make_backend("dask")
    with pytest.raises(OptionError, match="--address: expected no address with --backend local"):
        make_backend("local", address="auto")
    assert make_backend("local", jobs=3).jobs == 3


def test_ray_not_installed_names_the_extra(monkeypatch):
    from yetztml.core.errors import UnsupportedError

    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray gives on import
    backend = make_backend("ray", address="auto")
    with pytest.raises(UnsupportedError, match=r"pip install 'yetztml\[ray\]'"):
        backend.check()
    monkeypatch.undo()
    with pytest.raises(OptionError, match="--address: expected HOST:PORT of a Ray cluster's head, or auto, got 'x'"):
        check_address("x")


def test_no_cluster_at_auto_is_one_line(monkeypatch):
    ray = pytest.importorskip("ray")

    def no_cluster(**kwargs):
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", no_cluster)
    with pytest.raises(OptionError, match="--address: expected a running Ray cluster, got none found at auto "
                                          r"\(Could not find any running Ray instance.\). Start one with `ray start"):
        make_backend("ray", address="auto").run([Task(0, fake_trial, 0, {})], lambda *a: None)


def test_cli_reports_a_cut_line_in_one_warning_line(tmp_path, capsys):
    from yetztml.cli.main import main

    out = tmp_path / "r"
    argv = ["reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "2", "--max-sequences", "50",
            "--jobs", "1", "--out", str(out), "--no-figures"]
    assert main(argv) == 0
    lines = (out / TRIALS_FILE).read_text().splitlines()
    (out / TRIALS_FILE).write_text(lines[0] + "\n" + lines[1][:40])  # trial 1's line cut mid-write
    capsys.readouterr()
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"yetztml reproduce: warning: {out / TRIALS_FILE}: line 2 cut by an interruption, moved "
                            f"to {out / TORN_FILE}; its trial runs again\n")
    assert "trial   1: no success after 50 sequences" in captured.out and "trial   0" not in captured.out
    assert [json.loads(x) for x in (out / TRIALS_FILE).read_text().splitlines()][1]["trial"] == 1


def test_a_cluster_refusing_the_token_is_one_line(monkeypatch):
    ray = pytest.importorskip("ray")

    def refused(**kwargs):
        raise ConnectionError("Failed to connect to Ray cluster") from ray.exceptions.AuthenticationError("no token")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refused)
    with pytest.raises(OptionError, match="--address: expected a Ray cluster this process may join, got token "
                                          "authentication refused by auto. Set RAY_AUTH_MODE=token"):
        make_backend("ray", address="auto").run([Task(0, fake_trial, 0, {})], lambda *a: None)


def test_bytes_that_are_no_text_are_set_aside_by_line(tmp_path):
    """Invalid UTF-8 and a form feed inside a line: lines are split at newlines only, the garbage set aside."""
    log = str(tmp_path / "calls.txt")
    out = tmp_path / "run"
    run_trials(fake_trial, 2, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    with open(out / TRIALS_FILE, "ab") as fh:
        fh.write(b'\xff\xfe{"trial": 2\x0c, "v\n')
    with pytest.warns(TornRecordWarning, match="line 3 cut by an interruption"):
        records = run_trials(fake_trial, 3, out, {"a": 1}, {"value": 1, "log": log}, jobs=1)
    assert [r["value"] for r in records] == [10, 11, 12] and _calls(log) == [0, 1, 2]
    assert (out / TORN_FILE).read_bytes() == b'\xff\xfe{"trial": 2\x0c, "v\n'
