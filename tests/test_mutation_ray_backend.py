"""yetztml.experiments.ray_backend without a Ray cluster: a fake ``ray`` module records what the backend asks
of Ray (init options, task options, object-store puts, waits, cancels, shutdown), so that every call, every
message and the order of results and progress reports is pinned in milliseconds. The real cluster is
exercised in ``tests/test_experiments_ray.py``."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import pytest

from yetztml.core.errors import OptionError, UnsupportedError, YetztmlError
from yetztml.experiments import progress
from yetztml.experiments import ray_backend as rb
from yetztml.experiments.backends import Task

# ---------------------------------------------------------------------------------------------- fake Ray


class RayTaskError(Exception):
    def __init__(self, cause: object) -> None:
        super().__init__("task failed")
        self.cause = cause


class WorkerCrashedError(Exception):
    pass


class NodeDiedError(Exception):
    pass


class OutOfMemoryError(Exception):
    pass


class AuthenticationError(Exception):
    pass


class Ref:
    def __init__(self, index: int, args: tuple) -> None:
        self.index = index
        self.args = args

    def __repr__(self) -> str:
        return f"Ref({self.index})"


class FakeQueue:
    made: list[FakeQueue] = []

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.items: list[dict] = []
        self.shut = 0
        self.fail_shutdown = False
        FakeQueue.made.append(self)

    def put_nowait(self, item: dict) -> None:
        self.items.append(item)

    def qsize(self) -> int:
        return len(self.items)

    def get_nowait_batch(self, n: int) -> list[dict]:
        taken, self.items = self.items[:n], self.items[n:]
        return taken

    def shutdown(self) -> None:
        self.shut += 1
        if self.fail_shutdown:
            raise RuntimeError("actor gone")


class FakeRay(types.ModuleType):
    """What the backend uses of ``ray``; ``ready`` scripts which submitted tasks each wait reports finished."""

    def __init__(self, initialized: bool = False, ready: list[list[int]] | None = None) -> None:
        super().__init__("ray")
        self.initialized = initialized
        self.ready = ready
        self.calls: list[tuple] = []
        self.refs: list[Ref] = []
        self.store: dict[str, object] = {}
        self.errors: dict[int, BaseException] = {}
        self.init_error: BaseException | None = None
        self.fail_cancel: set[int] = set()
        self.exceptions = types.SimpleNamespace(
            RayTaskError=RayTaskError, WorkerCrashedError=WorkerCrashedError, NodeDiedError=NodeDiedError,
            OutOfMemoryError=OutOfMemoryError, AuthenticationError=AuthenticationError)

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs: object) -> None:
        self.calls.append(("init", kwargs))
        # Ray installs handlers of its own; the backend must put the process's back
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.init_error is not None:
            raise self.init_error
        self.initialized = True

    def remote(self, fn):
        ray = self

        class Remote:
            def options(self, **opts):
                ray.calls.append(("options", fn, opts))
                return self

            def remote(self, *args):
                ref = Ref(len(ray.refs), args)
                ray.refs.append(ref)
                return ref

        return Remote()

    def put(self, obj: object) -> str:
        key = f"obj{len(self.store)}"
        self.store[key] = obj
        self.calls.append(("put", key))
        return key

    def wait(self, refs, num_returns, timeout, fetch_local):
        self.calls.append(("wait", [r.index for r in refs], num_returns, timeout, fetch_local))
        indices = self.ready.pop(0) if self.ready else [r.index for r in refs]
        ready = [self.refs[i] for i in indices]
        return ready, [r for r in refs if r not in ready]

    def get(self, ref: Ref):
        self.calls.append(("get", ref.index))
        if ref.index in self.errors:
            raise self.errors[ref.index]
        fn, trial, key, reports = ref.args
        return rb._ray_trial(fn, trial, self.store[key], reports)

    def cancel(self, ref: Ref, force: bool = False) -> None:
        self.calls.append(("cancel", ref.index, force))
        if ref.index in self.fail_cancel:
            raise RuntimeError("cannot cancel")

    def shutdown(self) -> None:
        self.calls.append(("shutdown",))


@pytest.fixture
def fake_ray(monkeypatch):
    """Install a FakeRay as ``ray`` (with ``ray.util.queue.Queue``); sleeps recorded, not slept."""

    def install(**kwargs) -> FakeRay:
        ray = FakeRay(**kwargs)
        util = types.ModuleType("ray.util")
        queue = types.ModuleType("ray.util.queue")
        queue.Queue = FakeQueue
        util.queue = queue
        ray.util = util
        FakeQueue.made = []
        monkeypatch.setitem(sys.modules, "ray", ray)
        monkeypatch.setitem(sys.modules, "ray.util", util)
        monkeypatch.setitem(sys.modules, "ray.util.queue", queue)
        ray.sleeps = []
        monkeypatch.setattr(rb.time, "sleep", ray.sleeps.append)
        return ray

    return install


@pytest.fixture
def handlers():
    """SIGINT/SIGTERM set to known Python handlers for the test, the originals restored after."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_int(signum, frame):  # pragma: no cover - never delivered
        raise KeyboardInterrupt

    def on_term(signum, frame):  # pragma: no cover - never delivered
        raise SystemExit(143)

    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGTERM, on_term)
    yield {signal.SIGINT: on_int, signal.SIGTERM: on_term}
    for sig, handler in before.items():
        signal.signal(sig, handler)


def trial_fn(trial: int, scale: int, steps: int = 0) -> dict:
    progress.report(trial, 1, 2, detail=f"half of {trial}")
    return {"trial": trial, "value": trial * scale + steps}


# ------------------------------------------------------------------------------------- import and address


def test_import_ray_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UnsupportedError) as info:
        rb.import_ray()
    assert str(info.value) == ("--backend ray: expected Ray installed, got no importable ray (import of ray halted; "
                               "None in sys.modules). Install the extra: pip install 'yetztml[ray]'")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_import_ray_returns_the_module(fake_ray):
    ray = fake_ray()
    assert rb.import_ray() is ray


@pytest.mark.parametrize("address", [None, "auto"])
def test_check_address_passes_none_and_auto_without_connecting(address, monkeypatch):
    monkeypatch.setattr(rb.socket, "create_connection", lambda *a, **k: pytest.fail("connected"))
    assert rb.check_address(address) is address


@pytest.mark.parametrize("address", ["localhost", ":6379", "host:", "host:63x9", "auto:", "AUTO", "host:-1"])
def test_check_address_refuses_what_is_not_host_port(address):
    with pytest.raises(OptionError) as info:
        rb.check_address(address)
    assert str(info.value) == f"--address: expected HOST:PORT of a Ray cluster's head, or auto, got {address!r}"


def test_check_address_unreachable_port_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OptionError) as info:
        rb.check_address(f"127.0.0.1:{port}")
    assert str(info.value) == (f"--address: expected a reachable Ray cluster, got 127.0.0.1:{port} unreachable "
                               "([Errno 111] Connection refused). Start one with `ray start --head --port PORT` "
                               "or check the address.")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_check_address_reachable_port_is_returned():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        address = f"127.0.0.1:{s.getsockname()[1]}"
        assert rb.check_address(address) == address


def test_check_address_connects_to_the_bracketed_host_with_the_timeout(monkeypatch):
    seen = []

    class Conn:
        def close(self):
            seen.append("closed")

    def connect(where, timeout):
        seen.append((where, timeout))
        return Conn()

    monkeypatch.setattr(rb.socket, "create_connection", connect)
    assert rb.check_address("[::1]:6379") == "[::1]:6379"
    assert rb.check_address("a:b:10001") == "a:b:10001"
    assert rb.check_address("XY.example:1") == "XY.example:1"
    assert seen == [(("::1", 6379), 5.0), "closed", (("a:b", 10001), 5.0), "closed", (("XY.example", 1), 5.0),
                    "closed"]
    assert rb.CONNECT_TIMEOUT_S == 5.0


# ------------------------------------------------------------------------------------ backend basics


def test_backend_defaults_and_description():
    backend = rb.RayBackend()
    assert (backend.name, backend.address, backend.num_cpus, backend.max_retries) == ("ray", None, None, 3)
    assert backend.describe() == "ray, a local instance"
    other = rb.RayBackend(address="10.0.0.2:6379", num_cpus=3, max_retries=0)
    assert (other.address, other.num_cpus, other.max_retries) == ("10.0.0.2:6379", 3, 0)
    assert other.describe() == "ray, cluster at 10.0.0.2:6379"
    assert rb.RayBackend(address="").describe() == "ray, a local instance"
    assert rb.RayBackend(num_cpus=1).num_cpus == 1


@pytest.mark.parametrize(("kwargs", "text", "kind"), [
    ({"address": 6379}, "--address: expected HOST:PORT or auto, got 6379", OptionError),
    ({"address": b"auto"}, "--address: expected HOST:PORT or auto, got b'auto'", OptionError),
    ({"num_cpus": 0}, "jobs: expected an integer >= 1, got 0", OptionError),
    ({"num_cpus": 1.5}, "jobs: expected an integer, got float 1.5", YetztmlError),
    ({"max_retries": -1}, "max_retries: expected an integer >= 0, got -1", OptionError),
])
def test_backend_refuses_bad_arguments(kwargs, text, kind):
    with pytest.raises(kind) as info:
        rb.RayBackend(**kwargs)
    assert str(info.value) == text


def test_check_imports_ray_then_checks_the_address(fake_ray, monkeypatch):
    fake_ray()
    rb.RayBackend(address="auto").check()  # no error
    with pytest.raises(OptionError, match="expected HOST:PORT of a Ray cluster's head, or auto, got 'nohost'"):
        rb.RayBackend(address="nohost").check()
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UnsupportedError, match="no importable ray"):
        rb.RayBackend(address="auto").check()


# ------------------------------------------------------------------------------------------- connect


def test_connect_uses_an_existing_connection(fake_ray, handlers):
    ray = fake_ray(initialized=True)
    assert rb.RayBackend(address="nohost")._connect() == (ray, False)  # the address is not even looked at
    assert ray.calls == []


def test_connect_starts_a_local_instance_with_its_cpus_and_restores_handlers(fake_ray, handlers):
    ray = fake_ray()
    got = rb.RayBackend(num_cpus=3)._connect()
    assert got == (ray, True)
    assert ray.calls == [("init", {"address": None, "logging_level": logging.ERROR, "log_to_driver": False,
                                   "num_cpus": 3, "include_dashboard": False})]
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers


def test_connect_to_a_cluster_passes_no_local_options(fake_ray, handlers):
    ray = fake_ray()
    assert rb.RayBackend(address="auto", num_cpus=2)._connect() == (ray, True)
    assert ray.calls == [("init", {"address": "auto", "logging_level": 40, "log_to_driver": False})]


def test_connect_checks_host_port_before_init(fake_ray, handlers):
    ray = fake_ray()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OptionError, match=f"got 127.0.0.1:{port} unreachable"):
        rb.RayBackend(address=f"127.0.0.1:{port}")._connect()
    assert ray.calls == []


@pytest.mark.parametrize(("text", "cause", "expected"), [
    ("handshake failed", AuthenticationError("bad token"),
     "--address: expected a Ray cluster this process may join, got token authentication refused by auto. "
     "Set RAY_AUTH_MODE=token and give the cluster's token (~/.ray/auth_token or RAY_AUTH_TOKEN)."),
    ("no head", ValueError("other"),
     "--address: expected a running Ray cluster, got none found at auto (no head). "
     "Start one with `ray start --head` or give HOST:PORT."),
], ids=["refused token", "no cluster"])
def test_connect_failures_are_one_line_and_handlers_restored(fake_ray, handlers, text, cause, expected):
    ray = fake_ray()
    error = ConnectionError(text)
    error.__cause__ = cause
    ray.init_error = error
    with pytest.raises(OptionError) as info:
        rb.RayBackend(address="auto")._connect()
    assert str(info.value) == expected
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers


def test_connect_other_errors_pass_through_with_handlers_restored(fake_ray, handlers):
    ray = fake_ray()
    ray.init_error = RuntimeError("broken")
    with pytest.raises(RuntimeError, match="broken"):
        rb.RayBackend()._connect()
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers


def test_signal_handlers_and_restore(handlers):
    assert rb._signal_handlers() == handlers
    found = []
    thread = threading.Thread(target=lambda: found.append(rb._signal_handlers()))
    thread.start()
    thread.join()
    assert found == [{}]
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    rb._restore({signal.SIGINT: None, signal.SIGTERM: handlers[signal.SIGTERM]})  # None: left as it is
    assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is handlers[signal.SIGTERM]


# ----------------------------------------------------------------------------------------------- run


def make_tasks() -> list[Task]:
    shared = {"scale": 10}
    return [Task(key="a", fn=trial_fn, trial=0, kwargs=shared), Task(key="b", fn=trial_fn, trial=1, kwargs=shared),
            Task(key="c", fn=trial_fn, trial=2, kwargs={"scale": 100, "steps": 5})]


def test_run_without_tasks_touches_nothing(fake_ray):
    ray = fake_ray()
    ray.is_initialized = lambda: pytest.fail("connected")
    rb.RayBackend().run([], lambda task, record: pytest.fail("result"))
    assert ray.calls == []


def test_run_submits_once_per_task_and_hands_results_in_finishing_order(fake_ray, handlers):
    ray = fake_ray(ready=[[], [2, 0], [], [1]])
    events = []
    rb.RayBackend(max_retries=2).run(iter(make_tasks()), lambda task, record: events.append((task.key, record)))
    assert events == [("c", {"trial": 2, "value": 205}), ("a", {"trial": 0, "value": 0}),
                      ("b", {"trial": 1, "value": 10})]
    assert ray.calls == [
        ("init", {"address": None, "logging_level": logging.ERROR, "log_to_driver": False, "num_cpus": None,
                  "include_dashboard": False}),
        ("options", rb._ray_trial, {"num_cpus": 1, "max_retries": 2, "retry_exceptions": False}),
        ("put", "obj0"), ("put", "obj1"),
        ("wait", [0, 1, 2], 3, 0, False),
        ("wait", [0, 1, 2], 3, 0, False), ("get", 2), ("get", 0),
        ("wait", [1], 1, 0, False),
        ("wait", [1], 1, 0, False), ("get", 1),
        ("shutdown",)]
    assert [r.args for r in ray.refs] == [(trial_fn, 0, "obj0", None), (trial_fn, 1, "obj0", None),
                                          (trial_fn, 2, "obj1", None)]
    assert ray.store == {"obj0": {"scale": 10}, "obj1": {"scale": 100, "steps": 5}}
    assert ray.sleeps == [0.25, 0.25]  # only after the two looks that found nothing finished
    assert rb.POLL_S == 0.25
    assert FakeQueue.made == []  # no progress wanted: no queue actor


def test_run_on_an_existing_connection_leaves_it_open(fake_ray):
    ray = fake_ray(initialized=True, ready=[[0, 1, 2]])
    records = []
    rb.RayBackend().run(make_tasks(), lambda task, record: records.append(record["value"]))
    assert records == [0, 10, 205]
    assert ("shutdown",) not in ray.calls and not any(c[0] == "init" for c in ray.calls)
    assert ray.sleeps == []


def test_run_passes_progress_through_the_queue_and_drains_it(fake_ray, handlers):
    ray = fake_ray(ready=[[1], [0, 2]])
    events = []
    progress.set_sink(None)
    rb.RayBackend().run(make_tasks(), lambda task, record: events.append(("result", task.trial)),
                        on_progress=lambda report: events.append(("progress", report["trial"], report["detail"])))
    assert events == [("result", 1), ("progress", 1, "half of 1"), ("result", 0), ("result", 2),
                      ("progress", 0, "half of 0"), ("progress", 2, "half of 2")]
    (queue,) = FakeQueue.made
    assert queue.kwargs == {"actor_options": {"num_cpus": 0}}
    assert queue.items == [] and queue.shut == 1
    assert all(r.args[3] is queue for r in ray.refs)
    assert ray.calls[-1] == ("shutdown",)
    assert progress._sink is None  # the trial's sink removed after it


def test_run_error_cancels_the_rest_with_force_and_ends_the_connection(fake_ray, handlers):
    ray = fake_ray(ready=[[1]])
    ray.errors[1] = RayTaskError(ValueError("trial raised"))
    ray.fail_cancel = {0}
    results = []
    with pytest.raises(ValueError, match="trial raised") as info:
        rb.RayBackend().run(make_tasks(), lambda task, record: results.append(task),
                            on_progress=lambda report: None)
    assert info.value.__suppress_context__
    assert results == []
    assert ray.calls[-3:] == [("cancel", 0, True), ("cancel", 2, True), ("shutdown",)]
    (queue,) = FakeQueue.made
    assert queue.shut == 1


def test_run_queue_shutdown_failure_is_ignored(fake_ray, handlers):
    ray = fake_ray(ready=[[0, 1, 2]])
    original = FakeQueue.__init__

    def failing(self, **kwargs):
        original(self, **kwargs)
        self.fail_shutdown = True

    FakeQueue.__init__ = failing
    try:
        done = []
        rb.RayBackend().run(make_tasks(), lambda task, record: done.append(task.trial), on_progress=lambda r: None)
    finally:
        FakeQueue.__init__ = original
    assert done == [0, 1, 2]
    assert ray.calls[-1] == ("shutdown",)


def test_run_error_on_existing_connection_does_not_shut_it_down(fake_ray):
    ray = fake_ray(initialized=True, ready=[[0]])
    ray.errors[0] = NodeDiedError("node gone")
    with pytest.raises(YetztmlError, match="trial 0 on Ray"):
        rb.RayBackend().run(make_tasks(), lambda task, record: None)
    assert ray.calls[-2:] == [("cancel", 1, True), ("cancel", 2, True)]


# ----------------------------------------------------------------------------------------------- _get


def get_error(ray: FakeRay, error: BaseException, max_retries: int, trial: int = 7) -> BaseException:
    ray.refs.append(Ref(0, ()))
    ray.errors[0] = error
    with pytest.raises(BaseException) as info:
        rb.RayBackend(max_retries=max_retries)._get(ray, ray.refs[0], Task(key=0, fn=trial_fn, trial=trial,
                                                                              kwargs={}))
    return info.value


@pytest.mark.parametrize(("kind", "retries", "lost"), [
    (WorkerCrashedError, 3, "4 times"), (NodeDiedError, 1, "2 times"), (OutOfMemoryError, 0, "1 time")])
def test_get_worker_lost_is_one_line(fake_ray, kind, retries, lost):
    err = get_error(fake_ray(), kind("gone"), retries)
    assert type(err) is YetztmlError
    assert str(err) == (f"trial 7 on Ray: expected a finished task, got its worker lost {lost} ({kind.__name__}). "
                        "Finished trials are kept; check the cluster and rerun the same command to resume.")
    assert err.__cause__ is None and err.__suppress_context__


def test_get_trial_error_is_raised_as_itself(fake_ray):
    cause = KeyError("missing")
    err = get_error(fake_ray(), RayTaskError(cause), 3)
    assert err is cause and err.__suppress_context__


def test_get_task_error_without_a_cause_is_raised_unchanged(fake_ray):
    error = RayTaskError("not an exception")
    assert get_error(fake_ray(), error, 3) is error


def test_get_other_errors_pass_unchanged(fake_ray):
    error = TimeoutError("slow")
    assert get_error(fake_ray(), error, 3) is error


def test_get_returns_the_record(fake_ray):
    ray = fake_ray()
    ray.put({"scale": 3})
    ray.refs.append(Ref(0, (trial_fn, 4, "obj0", None)))
    assert rb.RayBackend()._get(ray, ray.refs[0], Task(key=0, fn=trial_fn, trial=4, kwargs={})) == {
        "trial": 4, "value": 12}


# ------------------------------------------------------------------------------------ trial body, drain


def test_ray_trial_sends_reports_then_removes_the_sink():
    queue = FakeQueue()
    progress.set_sink(lambda report: pytest.fail("old sink"))
    assert rb._ray_trial(trial_fn, 3, {"scale": 2, "steps": 1}, queue) == {"trial": 3, "value": 7}
    assert queue.items == [{"trial": 3, "done": 1, "total": 2, "detail": "half of 3", "unit": "sequences"}]
    assert progress._sink is None


def test_ray_trial_without_a_queue_and_on_error():
    progress.set_sink(lambda report: None)
    assert rb._ray_trial(trial_fn, 1, {"scale": 5}, None) == {"trial": 1, "value": 5}
    assert progress._sink is None

    def fails(trial):
        raise ArithmeticError(trial)

    progress.set_sink(lambda report: None)
    with pytest.raises(ArithmeticError):
        rb._ray_trial(fails, 2, {}, FakeQueue())
    assert progress._sink is None


def test_drain_passes_every_waiting_report_once():
    queue = FakeQueue()
    queue.items = [{"n": 1}, {"n": 2}]
    seen = []
    rb._drain(queue, seen.append)
    assert seen == [{"n": 1}, {"n": 2}] and queue.items == []
    rb._drain(queue, seen.append)
    assert len(seen) == 2
    rb._drain(None, seen.append)
    queue.items = [{"n": 3}]
    rb._drain(queue, None)
    assert queue.items == [{"n": 3}] and len(seen) == 2


def test_drain_takes_exactly_the_waiting_count():
    taken = []

    class Counting(FakeQueue):
        def get_nowait_batch(self, n):
            taken.append(n)
            return super().get_nowait_batch(n)

    queue = Counting()
    queue.items = [{"n": 1}, {"n": 2}, {"n": 3}]
    rb._drain(queue, lambda report: None)
    empty = Counting()
    rb._drain(empty, lambda report: pytest.fail("nothing waiting"))
    assert taken == [3]


# ------------------------------------------------------------------------------------------ LocalHead


def test_local_head_fields(monkeypatch):
    monkeypatch.setattr(rb, "_free_port", lambda: 4321)
    head = rb.LocalHead()
    assert (head.num_cpus, head.port, head.timeout_s, head.address) == (2, 4321, 120.0, "127.0.0.1:4321")
    assert (head.process, head.temp_dir, head.seconds) == (None, "", 0.0)
    assert rb.LocalHead(port=0).port == 4321
    other = rb.LocalHead(num_cpus=5, port=7000, timeout_s=9.0)
    assert (other.num_cpus, other.port, other.timeout_s, other.address) == (5, 7000, 9.0, "127.0.0.1:7000")
    with pytest.raises(OptionError, match="^num_cpus: expected an integer >= 1, got 0$"):
        rb.LocalHead(num_cpus=0)
    assert head.pids() == []
    head.stop()  # nothing started: nothing to do
    assert head.process is None


def test_free_port_is_bindable():
    port = rb._free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


class FakePopen:
    def __init__(self, argv, **kwargs):
        self.argv = argv
        self.kwargs = kwargs
        self.pid = 99_999_999  # no process has this session id
        self.polls = list(FakePopen.polls)

    def poll(self):
        return self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]


def test_local_head_start_runs_ray_start_and_waits_for_the_port(fake_ray, monkeypatch, tmp_path):
    ray = fake_ray()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the head's directory is in /tmp all the same
    made, attempts = [], []
    FakePopen.polls = [None]
    monkeypatch.setattr(rb.subprocess, "Popen", lambda argv, **kw: made.append(FakePopen(argv, **kw)) or made[-1])

    class Conn:
        def close(self):
            attempts.append("closed")

    def connect(where, timeout):
        attempts.append((where, timeout))
        if len(attempts) < 3:
            raise ConnectionRefusedError("not yet")
        return Conn()

    monkeypatch.setattr(rb.socket, "create_connection", connect)
    head = rb.LocalHead(num_cpus=3, port=4321)
    try:
        assert head.start() is head
        (proc,) = made
        assert proc.argv == [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--port",
                             "4321", "--node-ip-address", "127.0.0.1", "--num-cpus", "3",
                             "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", head.temp_dir]
        env = proc.kwargs.pop("env")
        assert proc.kwargs == {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
        assert env == {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        assert head.temp_dir.startswith("/tmp/yr") and os.path.isdir(head.temp_dir)
        assert attempts == [(("127.0.0.1", 4321), 1.0)] * 2 + [(("127.0.0.1", 4321), 1.0), "closed"]
        assert ray.sleeps == [0.1, 0.1]
        assert 0.0 < head.seconds < 5.0
        assert head.process is proc
    finally:
        os.rmdir(head.temp_dir)


@pytest.mark.parametrize(("polls", "timeout_s"), [([1], 120.0), ([None, 0], -1.0)])
def test_local_head_that_never_listens_is_stopped_and_refused(fake_ray, monkeypatch, polls, timeout_s):
    ray = fake_ray()
    FakePopen.polls = polls
    monkeypatch.setattr(rb.subprocess, "Popen", FakePopen)

    def refuse(where, timeout):
        raise ConnectionRefusedError("no")

    monkeypatch.setattr(rb.socket, "create_connection", refuse)
    head = rb.LocalHead(port=4321, timeout_s=timeout_s)
    with pytest.raises(UnsupportedError) as info:
        head.start()
    assert str(info.value) == "Ray head: expected running on 127.0.0.1:4321, got no head after start"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert head.process is None and head.temp_dir.startswith("/tmp/yr") and not os.path.exists(head.temp_dir)
    assert ray.sleeps == []


def test_local_head_gives_up_only_after_more_than_its_timeout(fake_ray, monkeypatch):
    ray = fake_ray()
    FakePopen.polls = [None, None, 0]
    monkeypatch.setattr(rb.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(rb.socket, "create_connection", lambda where, timeout: (_ for _ in ()).throw(OSError("no")))
    times = [100.0, 105.0, 105.5]
    monkeypatch.setattr(rb.time, "perf_counter", lambda: times.pop(0))
    head = rb.LocalHead(port=4321, timeout_s=5.0)
    with pytest.raises(UnsupportedError, match="no head after start"):
        head.start()
    assert ray.sleeps == [0.1]  # 5.0 s is not yet over the 5 s timeout; 5.5 s is
    assert times == [] and head.seconds == 0.0


def test_local_head_start_needs_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setattr(rb.subprocess, "Popen", lambda *a, **k: pytest.fail("started"))
    with pytest.raises(UnsupportedError, match="no importable ray"):
        rb.LocalHead(port=4321).start()


def test_local_head_pids_are_its_session():
    head = rb.LocalHead(port=4321)
    head.process = types.SimpleNamespace(pid=os.getsid(0))
    found = head.pids()
    assert os.getpid() in found
    assert all(os.getsid(pid) == os.getsid(0) for pid in found if os.path.exists(f"/proc/{pid}"))


def test_local_head_pids_skip_processes_gone_meanwhile(monkeypatch):
    monkeypatch.setattr(rb.os, "listdir", lambda path: ["self", "999999999", str(os.getpid())])
    head = rb.LocalHead(port=4321)
    head.process = types.SimpleNamespace(pid=os.getsid(0))
    assert head.pids() == [os.getpid()]


def spawn(command: str) -> subprocess.Popen:
    proc = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout.readline() == b"ready\n"
    return proc


def test_local_head_stop_terminates_its_session():
    head = rb.LocalHead(port=4321)
    head.temp_dir = tempfile.mkdtemp(prefix="yr", dir="/tmp")
    head.process = proc = spawn("echo ready; exec sleep 30")
    started = time.monotonic()
    head.stop(grace_s=5.0)
    assert time.monotonic() - started < 4.0  # well before the 5 s grace
    assert proc.returncode == -signal.SIGTERM
    assert head.process is None and not os.path.exists(head.temp_dir)
    proc.stdout.close()


def test_local_head_stop_kills_what_ignores_sigterm_after_the_grace():
    head = rb.LocalHead(port=4321)
    head.temp_dir = tempfile.mkdtemp(prefix="yr", dir="/tmp")
    head.process = proc = spawn("trap '' TERM; echo ready; exec sleep 30")
    started = time.monotonic()
    head.stop(grace_s=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3.0  # the exact grace and kill rounds: the stand-in tests above
    assert proc.returncode == -signal.SIGKILL
    assert head.process is None and not os.path.exists(head.temp_dir)
    assert rb.LocalHead(port=4321).pids() == []
    proc.stdout.close()


class Clock:
    """time.monotonic advancing 0.25 s per look."""

    def __init__(self) -> None:
        self.now = -0.25

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def stop_with_fakes(monkeypatch, alive_until: int, grace_s: float | None = None):
    """stop() of a head whose leader has exited, with one left process (pid 5) that dies on signal
    ``alive_until``, and pid 6 already gone (its kill fails); returns the kills and the sleeps."""
    kills, sleeps = [], []

    def kill(pid, sig):
        kills.append((pid, sig))
        if pid == 6:
            raise ProcessLookupError(pid)

    monkeypatch.setattr(rb.os, "kill", kill)
    monkeypatch.setattr(rb.time, "monotonic", Clock())
    monkeypatch.setattr(rb.time, "sleep", sleeps.append)
    head = rb.LocalHead(port=4321)
    head.temp_dir = tempfile.mkdtemp(prefix="yr", dir="/tmp")
    head.process = types.SimpleNamespace(poll=lambda: 0)
    head.pids = lambda: [] if (5, alive_until) in kills else [5, 6]
    if grace_s is None:
        head.stop()
    else:
        head.stop(grace_s=grace_s)
    assert head.process is None and not os.path.exists(head.temp_dir)
    return kills, sleeps


def test_local_head_stop_waits_the_grace_for_left_processes_then_kills(monkeypatch):
    kills, sleeps = stop_with_fakes(monkeypatch, signal.SIGKILL)
    assert kills == [(5, signal.SIGTERM), (6, signal.SIGTERM), (5, signal.SIGKILL), (6, signal.SIGKILL)]
    assert sleeps == [0.1] * 4  # looks at 0.25, 0.5, 0.75 and 1.0 s; past the 1 s grace at 1.25 s


def test_local_head_stop_with_a_shorter_grace_and_no_kill_needed(monkeypatch):
    kills, sleeps = stop_with_fakes(monkeypatch, signal.SIGTERM, grace_s=0.5)
    assert kills == [(5, signal.SIGTERM), (6, signal.SIGTERM)]
    assert sleeps == []
    kills, sleeps = stop_with_fakes(monkeypatch, signal.SIGKILL, grace_s=0.5)
    assert kills == [(5, signal.SIGTERM), (6, signal.SIGTERM), (5, signal.SIGKILL), (6, signal.SIGKILL)]
    assert sleeps == [0.1] * 2


def test_local_head_stop_with_its_directory_already_gone(monkeypatch):
    monkeypatch.setattr(rb.os, "kill", lambda pid, sig: pytest.fail("no process to signal"))
    head = rb.LocalHead(port=4321)
    head.temp_dir = tempfile.mkdtemp(prefix="yr", dir="/tmp")
    os.rmdir(head.temp_dir)
    head.process = types.SimpleNamespace(poll=lambda: 0)
    head.pids = lambda: []
    head.stop()
    assert head.process is None


def test_local_head_as_context_manager():
    head = rb.LocalHead(port=4321)
    calls = []
    head.start = lambda: calls.append("start") or "started head"
    head.stop = lambda: calls.append("stop")
    with head as entered:
        assert entered == "started head" and calls == ["start"]
    assert calls == ["start", "stop"]
