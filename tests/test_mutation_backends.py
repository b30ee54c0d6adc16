"""yetztml.experiments.backends, piece by piece: the cores counted, a task's call and repr, where the local
backend runs its tasks (this process or a pool of how many workers), when it warms up, how progress reports
are passed on while trials run, how a pool is ended (closed and joined, or terminated and, when that hangs,
its workers ended), and each refusal of :func:`make_backend` word for word.

Trials are tiny module-level functions; the one pool test with a waiting trial takes well under a second.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time

import pytest

from yetztml.core.errors import DTypeError, OptionError
from yetztml.experiments import backends, progress
from yetztml.experiments.backends import Backend, LocalBackend, Task, available_cores, make_backend


def pid_trial(trial: int, add: int = 0) -> dict:
    return {"trial": trial, "pid": os.getpid(), "value": trial + add}


def acknowledged_trial(trial: int, flag: str) -> dict:
    """Reports once, then waits (at most 20 s) for the parent to have received the report (``flag`` made)."""
    progress.report(trial, 1, 2, "waiting")
    start = time.monotonic()
    while not os.path.exists(flag):
        if time.monotonic() - start > 20.0:
            return {"trial": trial, "acknowledged": False}
        time.sleep(0.01)
    return {"trial": trial, "acknowledged": True}


def late_reporting_trial(trial: int) -> dict:
    """Returns at once; its report is sent as its worker process exits (a finaliser that runs before the
    progress queue's own)."""
    from multiprocessing import util

    sink = progress._sink
    util.Finalize(None, sink, args=({"trial": trial, "done": 1, "total": 1, "detail": "late", "unit": "sequences"},),
                  exitpriority=100)
    return {"trial": trial}


def second_reporting_trial(trial: int, flag: str) -> dict:
    """Trial 1 waits until the parent handles trial 0's record, then reports and (0.5 s later) returns."""
    if trial == 1:
        start = time.monotonic()
        while not os.path.exists(flag) and time.monotonic() - start < 20.0:
            time.sleep(0.01)
        progress.report(trial, 1, 1, "before my record")
        time.sleep(0.5)
    return {"trial": trial}


def failing_trial(trial: int) -> dict:
    raise ValueError(f"trial {trial} failed")


# --- cores, tasks, the interface -------------------------------------------------------------------------

def test_available_cores_is_the_affinity_else_the_cpu_count_else_one(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5} if pid == 0 else set(), raising=False)
    assert available_cores() == 3
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert available_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert available_cores() == 1


def test_a_task_calls_its_function_with_its_trial_and_arguments():
    task = Task(("p", 2), pid_trial, 2, {"add": 10})
    assert task() == {"trial": 2, "pid": os.getpid(), "value": 12}
    assert repr(task) == "Task(key=('p', 2), trial=2)"
    assert Task(0, pid_trial, 0, {}) == Task(0, pid_trial, 0, {})
    with pytest.raises(AttributeError):
        task.trial = 3


def test_the_interface_defaults():
    class Bare(Backend):
        def run(self, tasks, on_result, on_progress=None, warm_up=None) -> None:
            return None

    assert Bare().describe() == "" and Bare().check() is None and Backend.name == ""
    with pytest.raises(TypeError):
        Backend()


# --- the local backend --------------------------------------------------------------------------------------

def test_local_backend_jobs_and_its_description(monkeypatch):
    monkeypatch.setattr(backends, "available_cores", lambda: 7)
    assert LocalBackend().jobs == 7 and LocalBackend(None).describe() == "local, 7 processes"
    assert LocalBackend(1).describe() == "local, 1 process"
    assert LocalBackend(2).describe() == "local, 2 processes"
    assert LocalBackend(1).name == "local" and LocalBackend(1).check() is None
    with pytest.raises(OptionError) as err:
        LocalBackend(0)
    assert str(err.value) == "jobs: expected an integer >= 1, got 0"
    with pytest.raises(DTypeError, match="jobs: expected an integer, got bool True"):
        LocalBackend(True)


def test_no_tasks_runs_nothing(monkeypatch):
    monkeypatch.setattr(backends.multiprocessing, "get_context", lambda method: pytest.fail("a pool was made"))
    got: list = []
    LocalBackend(2).run([], lambda task, record: got.append(record), on_progress=got.append,
                        warm_up=lambda: got.append("warm"))
    assert got == []


@pytest.mark.parametrize(("jobs", "n"), [(1, 3), (2, 1)])
def test_one_job_or_one_task_runs_here_in_order_with_the_progress_sink_set_then_removed(monkeypatch, jobs, n):
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    monkeypatch.setattr(backends.multiprocessing, "get_context", lambda method: pytest.fail("a pool was made"))
    events: list = []

    def reporting(trial: int) -> dict:
        progress.report(trial, 1, 1, "one")
        return {"trial": trial, "pid": os.getpid()}

    tasks = [Task(("k", i), reporting, i, {}) for i in range(n)]
    LocalBackend(jobs).run(tasks, lambda task, record: events.append((task.key, record)),
                           on_progress=lambda r: events.append(r["trial"]), warm_up=lambda: events.append("warm"))
    expected = []
    for i in range(n):
        expected += [i, (("k", i), {"trial": i, "pid": os.getpid()})]
    assert events == expected  # no warm-up: nothing is forked
    assert progress._sink is None


def test_the_progress_sink_is_removed_when_a_trial_fails(monkeypatch):
    got: list = []
    with pytest.raises(ValueError, match="trial 0 failed"):
        LocalBackend(1).run([Task(0, failing_trial, 0, {})], lambda t, r: None, on_progress=got.append)
    assert progress._sink is None


class _SpyContext:
    """A multiprocessing context that notes the pools made (their worker count and initializer)."""

    def __init__(self, real, pools: list) -> None:
        self.real, self.pools = real, pools

    def Queue(self):  # noqa: N802 (multiprocessing's name)
        return self.real.Queue()

    def Pool(self, processes, **kwargs):  # noqa: N802
        self.pools.append((processes, sorted(kwargs)))
        return self.real.Pool(processes=processes, **kwargs)


def _spy(monkeypatch) -> tuple[list, list]:
    pools: list = []
    methods: list = []
    real = multiprocessing.get_context

    def get_context(method):
        methods.append(method)
        return _SpyContext(real(method), pools)

    monkeypatch.setattr(backends.multiprocessing, "get_context", get_context)
    return pools, methods


def test_a_pool_has_at_most_one_worker_per_task_and_warms_up_first(monkeypatch):
    pools, methods = _spy(monkeypatch)
    order: list = []
    tasks = [Task(i, pid_trial, i, {"add": 1}) for i in range(2)]
    LocalBackend(5).run(tasks, lambda task, record: order.append((task.key, record["value"])),
                        warm_up=lambda: order.append("warm"))
    assert pools == [(2, [])] and methods == ["fork"]  # no progress queue without on_progress
    assert order[0] == "warm" and sorted(order[1:]) == [(0, 1), (1, 2)]
    tasks = [Task(i, pid_trial, i, {}) for i in range(3)]
    got: dict = {}
    LocalBackend(2).run(tasks, lambda task, record: got.__setitem__(task.key, record["value"]),
                        on_progress=lambda r: None)
    assert pools[1] == (2, ["initargs", "initializer"]) and got == {0: 0, 1: 1, 2: 2}


def test_without_fork_the_pool_spawns_and_skips_the_warm_up(monkeypatch):
    monkeypatch.setattr(backends.multiprocessing, "get_all_start_methods", lambda: ["spawn", "forkserver"])
    methods: list = []

    class Stop(Exception):
        pass

    def get_context(method):
        methods.append(method)
        raise Stop

    monkeypatch.setattr(backends.multiprocessing, "get_context", get_context)
    warmed: list = []
    with pytest.raises(Stop):
        LocalBackend(2).run([Task(i, pid_trial, i, {}) for i in range(2)], lambda t, r: None,
                            warm_up=lambda: warmed.append(1))
    assert methods == ["spawn"] and warmed == []


def test_reports_are_passed_on_while_the_trials_still_run(tmp_path, monkeypatch):
    """Each trial waits until the parent has its report: reports must be drained while waiting for results."""
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    flag = str(tmp_path / "flag")
    events: list = []

    def on_progress(report) -> None:
        events.append(("report", report["trial"], report["detail"]))
        with open(flag, "a"):
            pass

    tasks = [Task(i, acknowledged_trial, i, {"flag": flag}) for i in range(2)]
    LocalBackend(2).run(tasks, lambda task, record: events.append((task.key, record["acknowledged"])),
                        on_progress=on_progress)
    assert sorted(e for e in events if e[0] != "report") == [(0, True), (1, True)]
    assert sorted(e for e in events if e[0] == "report") == [("report", 0, "waiting"), ("report", 1, "waiting")]


def test_reports_sent_as_the_workers_exit_are_passed_on(monkeypatch):
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    events: list = []
    LocalBackend(2).run([Task(i, late_reporting_trial, i, {}) for i in range(2)],
                        lambda task, record: events.append(("record", task.key)),
                        on_progress=lambda r: events.append(("report", r["trial"], r["detail"])))
    assert events[:2] in ([("record", 0), ("record", 1)], [("record", 1), ("record", 0)])
    assert sorted(events[2:]) == [("report", 0, "late"), ("report", 1, "late")]


def test_reports_waiting_when_a_record_arrives_are_passed_on_first(tmp_path, monkeypatch):
    """While the parent is busy with trial 0's record, trial 1 reports and finishes: its report comes before
    its record."""
    monkeypatch.setattr(progress, "INTERVAL", 0.0)
    flag = str(tmp_path / "flag")
    events: list = []

    def on_result(task, record) -> None:
        events.append(("record", task.key))
        if task.key == 0:
            with open(flag, "w"):
                pass
            time.sleep(3.0)  # trial 1 reports and returns meanwhile

    LocalBackend(2).run([Task(i, second_reporting_trial, i, {"flag": flag}) for i in range(2)], on_result,
                        on_progress=lambda r: events.append(("report", r["trial"], r["detail"])))
    assert events == [("record", 0), ("report", 1, "before my record"), ("record", 1)]


def test_a_failing_trial_in_a_pool_ends_the_pool_and_propagates():
    tasks = [Task(i, failing_trial, i, {}) for i in range(2)]
    with pytest.raises(ValueError, match=r"trial \d failed"):
        LocalBackend(2).run(tasks, lambda t, r: None)


# --- draining reports, calling jobs ------------------------------------------------------------------------

def test_drain_passes_every_waiting_report_in_order():
    reports: queue.Queue = queue.Queue()
    for i in range(3):
        reports.put({"n": i})
    got: list = []
    backends._drain(reports, got.append)
    assert got == [{"n": 0}, {"n": 1}, {"n": 2}] and reports.empty()
    reports.put({"n": 3})
    backends._drain(reports, None)
    assert reports.get_nowait() == {"n": 3}
    backends._drain(None, got.append)
    assert len(got) == 3


def test_call_returns_the_index_with_the_record():
    assert backends._call((4, Task("k", pid_trial, 1, {"add": 2}))) == (4, {"trial": 1, "pid": os.getpid(),
                                                                            "value": 3})


# --- ending a pool -----------------------------------------------------------------------------------------

class FakePool:
    def __init__(self, hang: bool = False) -> None:
        self.calls: list[str] = []
        self.hang = hang
        self.release = threading.Event()

    def close(self) -> None:
        self.calls.append("close")

    def join(self) -> None:
        self.calls.append("join")

    def terminate(self) -> None:
        self.calls.append("terminate")
        if self.hang:
            self.release.wait(10.0)


def test_ended_closes_then_joins_after_the_body():
    pool = FakePool()
    with backends.ended(pool) as got:
        assert got is pool and pool.calls == []
    assert pool.calls == ["close", "join"]


def test_ended_terminates_then_joins_when_the_body_raises():
    pool = FakePool()
    with pytest.raises(KeyboardInterrupt), backends.ended(pool):
        raise KeyboardInterrupt
    assert pool.calls == ["terminate", "join"]


class FakeChild:
    def __init__(self, log: list, name: str) -> None:
        self.log, self.name = log, name

    def terminate(self) -> None:
        self.log.append(("terminate", self.name))

    def join(self, timeout=None) -> None:
        self.log.append(("join", self.name, timeout))


def test_a_terminate_that_hangs_ends_the_workers_here_and_skips_the_join(monkeypatch):
    monkeypatch.setattr(backends, "TERMINATE_WAIT", 0.05)
    log: list = []
    children = [FakeChild(log, "a"), FakeChild(log, "b")]
    monkeypatch.setattr(backends.multiprocessing, "active_children", lambda: children)
    pool = FakePool(hang=True)
    try:
        with pytest.raises(ValueError, match="body"), backends.ended(pool):
            raise ValueError("body")
    finally:
        pool.release.set()
    assert pool.calls == ["terminate"]  # no join: it could wait forever
    assert log == [("terminate", "a"), ("terminate", "b"), ("join", "a", 0.05), ("join", "b", 0.05)]


def test_terminate_says_whether_it_finished(monkeypatch):
    monkeypatch.setattr(backends, "TERMINATE_WAIT", 0.05)
    monkeypatch.setattr(backends.multiprocessing, "active_children", lambda: [])
    assert backends._terminate(FakePool()) is True
    pool = FakePool(hang=True)
    before = set(threading.enumerate())
    try:
        assert backends._terminate(pool) is False
        (waiting,) = [t for t in threading.enumerate() if t not in before]
        assert waiting.name == "pool-terminate"
        assert waiting.daemon is True  # a terminate that never returns does not keep the process alive
    finally:
        pool.release.set()


# --- choosing a backend ------------------------------------------------------------------------------------

def test_make_backend_refusals_word_for_word():
    with pytest.raises(OptionError) as err:
        make_backend("Local")
    assert str(err.value) == "--backend: expected one of 'local', 'ray', got 'Local'"
    with pytest.raises(OptionError) as err:
        make_backend("local", address="auto")
    assert str(err.value) == ("--address: expected no address with --backend local, got 'auto'. Add --backend ray "
                              "to run on a Ray cluster.")
    with pytest.raises(OptionError, match="jobs: expected an integer >= 1, got 0"):
        make_backend("local", jobs=0)


def test_make_backend_builds_the_backend_named(monkeypatch):
    monkeypatch.setattr(backends, "available_cores", lambda: 9)
    default = make_backend()
    assert type(default) is LocalBackend and default.jobs == 9
    assert make_backend("local", None, 2).jobs == 2
    from yetztml.experiments.ray_backend import RayBackend

    ray = make_backend("ray", "auto", 3)
    assert type(ray) is RayBackend and (ray.address, ray.num_cpus) == ("auto", 3)
    ray = make_backend("ray")
    assert type(ray) is RayBackend and (ray.address, ray.num_cpus) == (None, None)
    assert backends.BACKENDS == ("local", "ray")
