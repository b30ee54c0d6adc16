"""Trials on a real Ray cluster (a head on 127.0.0.1 with 2 CPUs): the same records as the local runner,
streamed into trials.jsonl, progress reports passed on, a worker killed mid-trial retried without loss."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from yetztml.cli.main import main
from yetztml.experiments.backends import LocalBackend
from yetztml.experiments.lstm1997 import reproduce, resolve_row
from yetztml.experiments.runner import TRIALS_FILE

ray_backend = pytest.importorskip("yetztml.experiments.ray_backend")
pytest.importorskip("ray")

#: Fields that measure time, not the trial: they differ between any two runs.
TIMINGS = ("wall_s", "us_per_step")


def untimed(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


@pytest.fixture(scope="module")
def head():
    """One Ray head for the module (2 CPUs), stopped with all its processes at the end. This process stays
    connected to it throughout, so that the tests share warm workers (a backend uses an existing connection)."""
    import logging

    import ray

    cluster = ray_backend.LocalHead(num_cpus=2, timeout_s=120.0).start()
    try:
        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.stop()
    assert cluster.pids() == []


def test_cli_reproduction_on_ray_equals_the_local_runner(head, tmp_path, capsys):
    """Exp 4 (T = 100), 2 trials of 2,000 sequences: Ray via the command line, the local runner via the API."""
    row = resolve_row("4", T=100)
    local = reproduce(row, trials=2, seed=3, out=tmp_path / "local", jobs=1, max_sequences=2000)
    out = tmp_path / "ray"
    argv = ["reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "2", "--seed", "3",
            "--max-sequences", "2000", "--backend", "ray", "--address", head.address, "--out", str(out),
            "--no-figures"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"backend ray, cluster at {head.address}" in printed and "trial   1: no success after 2,000" in printed
    streamed = [json.loads(x) for x in (out / TRIALS_FILE).read_text().splitlines()]
    assert sorted(r["trial"] for r in streamed) == [0, 1]
    ours = json.loads((out / "result.json").read_text())
    assert untimed(ours["trials"]) == untimed(local["trials"])
    assert [r["test"]["wrong"] for r in ours["trials"]] == [r["test"]["wrong"] for r in local["trials"]]
    assert main(argv) == 0  # resumed: nothing left to run, nothing appended
    assert len((out / TRIALS_FILE).read_text().splitlines()) == 2


def _running_trial_pids(head) -> list[int]:
    """Workers of the head executing a trial (Ray titles a busy worker with its task's name)."""
    found = []
    for pid in head.pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if fh.read().startswith(b"ray::_ray_trial"):
                    found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_retried_and_nothing_is_lost(head, tmp_path):
    """SIGKILL to a worker at the first progress report: Ray reruns its task; the table equals the local one."""
    row = resolve_row("4", T=100)
    local = reproduce(row, trials=2, seed=0, out=tmp_path / "local", jobs=2, max_sequences=10_000)
    killed: list[int] = []
    reports: list[dict] = []

    def kill_once(report: dict) -> None:
        reports.append(report)
        if not killed:
            for pid in _running_trial_pids(head):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break

    out = tmp_path / "ray"
    result = reproduce(row, trials=2, seed=0, out=out, max_sequences=10_000,
                       backend=ray_backend.RayBackend(head.address), on_progress=kill_once)
    assert len(killed) == 1
    assert untimed(result["trials"]) == untimed(local["trials"])
    lines = [json.loads(x) for x in (out / TRIALS_FILE).read_text().splitlines()]
    assert sorted(r["trial"] for r in lines) == [0, 1]  # each finished trial recorded once
    assert {r["trial"] for r in reports} == {0, 1} and reports[0]["total"] == 10_000


def test_an_unreachable_address_is_one_line(tmp_path, capsys):
    port = ray_backend._free_port()
    argv = ["reproduce", "lstm1997", "--exp", "4", "--trials", "1", "--backend", "ray", "--address",
            f"127.0.0.1:{port}", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"yetztml reproduce: error: --address: expected a reachable Ray cluster, got 127.0.0.1:{port}"
                          " unreachable") and "\n" not in err
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.slow
def test_sweep_on_ray_with_a_worker_killed_equals_the_local_sweep(head, tmp_path):
    """2 points × 2 trials; a worker running a trial is killed when the first record arrives; sweep.csv
    (without its time column) and every point's records equal the local sweep's."""
    from yetztml.experiments.sweep import check_spec, run_sweep

    spec = check_spec({"command": "reproduce lstm1997", "base": {"exp": "4", "T": 100, "trials": 2,
                                                                "max_sequences": 4000}, "grid": {"seed": [0, 1]}})
    local = run_sweep(spec, tmp_path / "local", LocalBackend(2))
    killed: list[int] = []

    def kill_once(point, record, done, total) -> None:
        deadline = time.monotonic() + 3.0
        while not killed and done == 1 and time.monotonic() < deadline:
            for pid in _running_trial_pids(head)[:1]:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    remote = run_sweep(spec, tmp_path / "ray", ray_backend.RayBackend(head.address), on_record=kill_once)
    assert len(killed) == 1
    assert [{k: v for k, v in r.items() if k != "wall_s_total"} for r in remote["rows"]] == [
        {k: v for k, v in r.items() if k != "wall_s_total"} for r in local["rows"]]
    for seed in (0, 1):
        ours = json.loads((tmp_path / "ray" / "points" / f"seed={seed}" / "result.json").read_text())["trials"]
        theirs = json.loads((tmp_path / "local" / "points" / f"seed={seed}" / "result.json").read_text())["trials"]
        assert untimed(ours) == untimed(theirs)
        assert len((tmp_path / "ray" / "points" / f"seed={seed}" / TRIALS_FILE).read_text().splitlines()) == 2


@pytest.mark.slow
def test_a_worker_lost_more_often_than_retried_ends_the_run_in_one_line(head, tmp_path):
    from yetztml.core.errors import YetztmlError

    row = resolve_row("4", T=100)
    killed: list[int] = []

    def kill_once(report: dict) -> None:
        for pid in _running_trial_pids(head)[: 1 - len(killed)]:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    with pytest.raises(YetztmlError, match=r"trial \d on Ray: expected a finished task, got its worker lost 1 time "
                                           r"\(WorkerCrashedError\). Finished trials are kept"):
        reproduce(row, trials=2, seed=0, out=tmp_path / "r", max_sequences=10_000,
                  backend=ray_backend.RayBackend(head.address, max_retries=0), on_progress=kill_once)
    assert len(killed) == 1


@pytest.mark.slow
def test_a_killed_driver_is_resumed_by_the_same_command(head, tmp_path):
    """SIGKILL to the `yetztml reproduce` process after its first record; the same command finishes the run,
    and the records equal the local runner's."""
    import subprocess
    import sys

    out = tmp_path / "ray"
    argv = [sys.executable, "-m", "yetztml", "reproduce", "lstm1997", "--exp", "4", "--T", "100", "--trials", "4",
            "--seed", "2", "--max-sequences", "6000", "--backend", "ray", "--address", head.address, "--out",
            str(out), "--no-figures"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as driver:
        for line in driver.stdout:
            if "[1/4]" in line:
                driver.kill()
                break
        driver.wait(timeout=60)
    first = [json.loads(x) for x in (out / TRIALS_FILE).read_text().splitlines()]
    assert 1 <= len(first) < 4
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"[{len(first) + 1}/4]" in finished.stdout  # only the missing trials ran
    local = reproduce(resolve_row("4", T=100), trials=4, seed=2, out=tmp_path / "local", jobs=2, max_sequences=6000)
    assert untimed(json.loads((out / "result.json").read_text())["trials"]) == untimed(local["trials"])


def test_cli_sweep_on_ray_equals_the_local_sweep(head, tmp_path, capsys):
    """2 points × 1 trial (the workers are warm from the test above): sweep.csv equal but for the time column."""
    import csv

    (tmp_path / "s.toml").write_text('command = "reproduce lstm1997"\n[base]\nexp = "4"\nT = 100\ntrials = 1\n'
                                     'max-sequences = 500\n[grid]\nvariant = ["as-written", "linear-output"]\n')
    tables = {}
    for backend in ("local", "ray"):
        extra = ["--address", head.address] if backend == "ray" else ["--jobs", "1"]
        argv = ["sweep", str(tmp_path / "s.toml"), "--out", str(tmp_path / backend), "--backend", backend, *extra,
                "--no-figures"]
        assert main(argv) == 0
        with open(tmp_path / backend / "sweep.csv") as fh:
            tables[backend] = [{k: v for k, v in row.items() if k != "wall_s_total"} for row in csv.DictReader(fh)]
    assert f"backend ray, cluster at {head.address}" in capsys.readouterr().out
    assert tables["ray"] == tables["local"]
    assert [(r["point"], r["trials"], r["successes"]) for r in tables["ray"]] == [
        ("variant=as-written", "1", "0"), ("variant=linear-output", "1", "0")]
