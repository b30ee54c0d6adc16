"""Trials as Ray tasks: the runner's backend for a Ray cluster (Ray is imported only when tasks run).

Install the extra: ``pip install 'yetztml[ray]'`` (``ray==2.60.0``). Every machine of the cluster needs
yetztml installed in the same version: a worker imports the trial function by name.

* Each trial is one task needing one CPU, submitted all at once; Ray schedules them over the cluster's
  workers. The driver (this process) collects each record as its task finishes and hands it to the runner,
  which appends it to ``trials.jsonl`` before waiting for the next: a record is kept the moment the driver
  has it.
* A worker that dies mid-trial (killed, out of memory, its machine lost) makes Ray run the task again
  (``max_retries`` times); the trial is a pure function of its configuration and seed sequence, so the
  retried record is the one an uninterrupted run gives. A trial that raises is not retried: its error ends
  the run (finished records are kept).
* Ctrl-C or any error in the driver cancels the outstanding tasks; the same command resumes from
  ``trials.jsonl``.
* Progress reports of running trials travel through a small queue actor to the driver.

:class:`LocalHead` starts (and stops) a one-machine Ray cluster with a fixed number of CPUs, for tests,
benchmarks and trying the backend out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import OptionError, UnsupportedError, YetztmlError, message
from ..core.validation import check_int
from . import progress
from .backends import Backend, OnProgress, OnResult, Record, Task

#: How long a connection to ``--address HOST:PORT`` may take before the address counts as unreachable.
CONNECT_TIMEOUT_S = 5.0
#: Seconds between two looks at finished tasks and progress reports.
POLL_S = 0.25


def import_ray() -> Any:
    """The ``ray`` module, or a one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError as err:
        raise UnsupportedError(message("--backend ray", "Ray installed", f"no importable ray ({err})",
                                       "Install the extra: pip install 'yetztml[ray]'")) from None
    return ray


def check_address(address: str | None) -> str | None:
    """``None``, ``"auto"`` or ``"HOST:PORT"`` with a port that accepts connections; else an OptionError."""
    if address is None or address == "auto":
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise OptionError(message("--address", "HOST:PORT of a Ray cluster's head, or auto", repr(address)))
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise OptionError(message("--address", "a reachable Ray cluster", f"{address} unreachable ({err})",
                                  "Start one with `ray start --head --port PORT` or check the address.")) from None
    return address


def _ray_trial(fn: Callable[..., Record], trial: int, kwargs: dict[str, Any], reports: Any) -> Record:
    """The body of a Ray task: trial ``trial`` of ``fn``, its progress reports into ``reports``."""
    if reports is not None:
        progress.set_sink(reports.put_nowait)
    try:
        return fn(trial=trial, **kwargs)
    finally:
        progress.set_sink(None)


class RayBackend(Backend):
    """Run trials as Ray tasks on the cluster at ``address`` (``"auto"``: the one running on this machine;
    ``None``: start a Ray instance on this machine with ``num_cpus`` CPUs, default all available). A process
    already connected to Ray (``ray.init`` called before) runs the tasks on that connection instead."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3) -> None:
        if address is not None and not isinstance(address, str):
            raise OptionError(message("--address", "HOST:PORT or auto", repr(address)))
        self.address = address
        self.num_cpus = None if num_cpus is None else check_int("jobs", num_cpus, minimum=1)
        self.max_retries = check_int("max_retries", max_retries, minimum=0)

    def describe(self) -> str:
        return f"ray, cluster at {self.address}" if self.address else "ray, a local instance"

    def check(self) -> None:
        """Ray importable and ``--address HOST:PORT`` reachable (``auto`` is looked up when tasks run)."""
        import_ray()
        check_address(self.address)

    def _connect(self) -> tuple[Any, bool]:
        """Ray, connected; True when this call started the connection (and so must end it)."""
        ray = import_ray()
        if ray.is_initialized():
            return ray, False
        address = check_address(self.address)
        options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if address is None:
            options.update(num_cpus=self.num_cpus, include_dashboard=False)
        handlers = _signal_handlers()
        try:
            ray.init(address=address, **options)
        except ConnectionError as err:
            if isinstance(err.__cause__, ray.exceptions.AuthenticationError):
                raise OptionError(message(
                    "--address", "a Ray cluster this process may join", f"token authentication refused by {address}",
                    "Set RAY_AUTH_MODE=token and give the cluster's token (~/.ray/auth_token or RAY_AUTH_TOKEN)."
                )) from None
            raise OptionError(message("--address", "a running Ray cluster", f"none found at {address} ({err})",
                                      "Start one with `ray start --head` or give HOST:PORT.")) from None
        finally:
            _restore(handlers)  # Ray's own handlers would turn SIGTERM into an abort with a stack dump
        return ray, True

    def run(self, tasks: Sequence[Task], on_result: OnResult, on_progress: OnProgress | None = None,
            warm_up: Callable[[], object] | None = None) -> None:
        tasks = list(tasks)
        if not tasks:
            return
        ray, started = self._connect()
        reports = None
        pending: dict[Any, Task] = {}
        try:
            if on_progress is not None:
                from ray.util.queue import Queue

                reports = Queue(actor_options={"num_cpus": 0})
            remote = ray.remote(_ray_trial).options(num_cpus=1, max_retries=self.max_retries,
                                                    retry_exceptions=False)
            shared: dict[int, Any] = {}  # one object-store copy per distinct kwargs
            for task in tasks:
                if id(task.kwargs) not in shared:
                    shared[id(task.kwargs)] = ray.put(task.kwargs)
                pending[remote.remote(task.fn, task.trial, shared[id(task.kwargs)], reports)] = task
            while pending:
                # look without blocking, wait in Python: a signal then arrives in Python code as the
                # handler's own exception (inside Ray's wait, SIGTERM would surface as KeyboardInterrupt)
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0, fetch_local=False)
                _drain(reports, on_progress)
                for ref in ready:
                    task = pending.pop(ref)
                    on_result(task, self._get(ray, ref, task))
                if pending and not ready:
                    time.sleep(POLL_S)
            _drain(reports, on_progress)
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            if reports is not None:
                with contextlib.suppress(Exception):
                    reports.shutdown()
            if started:
                ray.shutdown()

    def _get(self, ray: Any, ref: Any, task: Task) -> Record:
        """The task's record; the trial's own error as itself, a worker lost too often as one line."""
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as err:
            if isinstance(err.cause, BaseException):
                raise err.cause from None
            raise
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.OutOfMemoryError) as err:
            raise YetztmlError(message(
                f"trial {task.trial} on Ray", "a finished task",
                f"its worker lost {self.max_retries + 1} time{'s' if self.max_retries else ''} "
                f"({type(err).__name__})",
                "Finished trials are kept; check the cluster and rerun the same command to resume.")) from None


def _signal_handlers() -> dict[int, Any]:
    """This process's Python handlers of SIGINT and SIGTERM (none off the main thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


def _drain(reports: Any, on_progress: OnProgress | None) -> None:
    """Pass the progress reports waiting in the queue actor to ``on_progress``."""
    if reports is None or on_progress is None:
        return
    waiting = reports.qsize()
    if waiting:
        for report in reports.get_nowait_batch(waiting):
            on_progress(report)


class LocalHead:
    """A Ray head on 127.0.0.1 with ``num_cpus`` CPUs, started by ``ray start --head --block`` in its own
    process session and stopped (every process of that session) by :meth:`stop` or on leaving ``with``.
    It runs without token authentication (``RAY_AUTH_MODE=disabled``), as a driver connecting to an explicit
    address expects by default; it is meant for tests and benchmarks on one machine.

    >>> with LocalHead(num_cpus=2) as head:          # doctest: +SKIP
    ...     RayBackend(address=head.address)
    """

    def __init__(self, num_cpus: int = 2, port: int | None = None, timeout_s: float = 120.0) -> None:
        self.num_cpus = check_int("num_cpus", num_cpus, minimum=1)
        self.port = port or _free_port()
        self.timeout_s = timeout_s
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.temp_dir = ""
        self.seconds = 0.0  # from start until the head accepts drivers

    def start(self) -> LocalHead:
        import_ray()
        ray_cli = Path(sys.executable).with_name("ray")
        self.temp_dir = tempfile.mkdtemp(prefix="yr", dir="/tmp")  # short: Ray's socket paths are limited
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(ray_cli), "start", "--head", "--block", "--port", str(self.port), "--node-ip-address",
             "127.0.0.1", "--num-cpus", str(self.num_cpus), "--include-dashboard=false",
             "--disable-usage-stats", "--temp-dir", self.temp_dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"},
        )
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                break
            except OSError:
                if self.process.poll() is not None or time.perf_counter() - started > self.timeout_s:
                    self.stop()
                    raise UnsupportedError(message("Ray head", f"running on {self.address}",
                                                   "no head after start")) from None
                time.sleep(0.1)
        self.seconds = time.perf_counter() - started
        return self

    def pids(self) -> list[int]:
        """Every process of the head's session (the head, its services and its workers)."""
        if self.process is None:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.getsid(int(entry)) == self.process.pid:
                        found.append(int(entry))
        return found

    def stop(self, grace_s: float = 1.0) -> None:
        """SIGTERM every process of the session, SIGKILL what is left after ``grace_s``."""
        if self.process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace_s
            while self.process.poll() is None or self.pids():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if not self.pids():
                break
        self.process = None
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalHead:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


__all__ = ["CONNECT_TIMEOUT_S", "LocalHead", "RayBackend", "check_address", "import_ray"]
