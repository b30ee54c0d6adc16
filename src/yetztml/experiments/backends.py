"""Where trials run: the runner's backend interface, local processes (the default) and the choice by name.

A trial is a pure function of its configuration and its seed sequence (seed, i): ``fn(trial=i, **kwargs)``
returns the same JSON-able record whichever process, machine or backend runs it. A backend therefore
only decides *where* tasks run; the runner (:mod:`yetztml.experiments.runner`) decides *what* runs and
writes every finished record to ``trials.jsonl`` as it arrives.

* :class:`Task` — one trial to run: a routing key, the trial function, its index and keyword arguments.
* :class:`Backend` — ``run(tasks, on_result, on_progress, warm_up)``: run every task, call
  ``on_result(task, record)`` in this process for each as it finishes (in any order).
* :class:`LocalBackend` — a pool of processes on this machine (``jobs`` at a time).
* :class:`~yetztml.experiments.ray_backend.RayBackend` — Ray tasks on a cluster (Ray imported lazily).
* :func:`make_backend` — a backend from the command line's ``--backend``, ``--address`` and ``--jobs``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import OptionError, message
from ..core.validation import check_int
from . import progress

#: Backend names accepted by :func:`make_backend` (and ``--backend``).
BACKENDS = ("local", "ray")

Record = dict[str, Any]
OnResult = Callable[["Task", Record], None]
OnProgress = Callable[[Record], None]


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Task:
    """Trial ``trial`` of ``fn`` with ``kwargs``; ``key`` tells the caller where its record belongs."""

    key: Hashable
    fn: Callable[..., Record] = field(repr=False)
    trial: int
    kwargs: dict[str, Any] = field(repr=False)

    def __call__(self) -> Record:
        return self.fn(trial=self.trial, **self.kwargs)


class Backend(ABC):
    """Runs tasks somewhere and hands their records back to this process as they finish."""

    name: str = ""

    @abstractmethod
    def run(self, tasks: Sequence[Task], on_result: OnResult, on_progress: OnProgress | None = None,
            warm_up: Callable[[], object] | None = None) -> None:
        """Run every task; ``on_result(task, record)`` after each (in this process, in finishing order).

        ``on_progress(report)`` receives the reports running trials make through
        :func:`yetztml.experiments.progress.report`. ``warm_up()`` may run once in this process first (a
        backend that forks uses it so that workers inherit compiled kernels). KeyboardInterrupt stops the
        running tasks and propagates; records already passed to ``on_result`` are the caller's.
        """

    def describe(self) -> str:
        """A few words for the command line's first line."""
        return self.name

    def check(self) -> None:
        """Fail now, with a one-line error, if tasks could not run (before any file is written)."""
        return None


class LocalBackend(Backend):
    """A pool of ``jobs`` processes on this machine (default: every available core); forked where possible."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = available_cores() if jobs is None else check_int("jobs", jobs, minimum=1)

    def describe(self) -> str:
        return f"local, {self.jobs} process{'es' if self.jobs > 1 else ''}"

    def run(self, tasks: Sequence[Task], on_result: OnResult, on_progress: OnProgress | None = None,
            warm_up: Callable[[], object] | None = None) -> None:
        tasks = list(tasks)
        if not tasks:
            return
        if self.jobs == 1 or len(tasks) == 1:
            progress.set_sink(on_progress)
            try:
                for task in tasks:
                    on_result(task, task())
            finally:
                progress.set_sink(None)
            return
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        if warm_up is not None and method == "fork":
            warm_up()
        ctx = multiprocessing.get_context(method)
        reports = ctx.Queue() if on_progress is not None else None
        init = {"initializer": progress.queue_sink, "initargs": (reports,)} if reports is not None else {}
        with ended(ctx.Pool(processes=min(self.jobs, len(tasks)), **init)) as pool:
            results = pool.imap_unordered(_call, list(enumerate(tasks)))
            while True:
                try:
                    index, record = results.next(timeout=0.25)
                except multiprocessing.TimeoutError:
                    _drain(reports, on_progress)
                    continue
                except StopIteration:
                    break
                _drain(reports, on_progress)
                on_result(tasks[index], record)
        _drain(reports, on_progress)  # what the workers sent before exiting (their queues flush at exit)


@contextlib.contextmanager
def ended(pool: Any) -> Iterator[Any]:
    """Run the body with a ``multiprocessing`` pool, then close it and wait for its workers; when the body
    raises (an interrupt, an error), end the workers at once instead of waiting for them."""
    joinable = True
    try:
        yield pool
        pool.close()
    except BaseException:
        joinable = _terminate(pool)
        raise
    finally:
        if joinable:
            pool.join()


#: Seconds :func:`ended` waits for ``Pool.terminate()`` before ending the workers itself.
TERMINATE_WAIT = 3.0


def _terminate(pool: Any) -> bool:
    """``pool.terminate()``, waited for at most :data:`TERMINATE_WAIT` seconds; whether it finished.

    It takes the locks of the pool's queues, and a worker killed while it held one (sending its result when
    the command's signal handler ended the workers, :mod:`yetztml.cli.main`) never releases it: the wait
    would be forever (1 in 17 tries of SIGTERM to `sweep --jobs 2`). Then the workers still running are
    ended here and the pool is left to the end of the process.
    """
    thread = threading.Thread(target=pool.terminate, name="pool-terminate", daemon=True)
    thread.start()
    thread.join(TERMINATE_WAIT)
    if not thread.is_alive():
        return True
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(TERMINATE_WAIT)
    return False


def _call(job: tuple[int, Task]) -> tuple[int, Record]:
    index, task = job
    return index, task()


def _drain(reports: Any, on_progress: OnProgress | None) -> None:
    """Pass the progress reports waiting in ``reports`` to ``on_progress``."""
    if reports is None or on_progress is None:
        return
    while True:
        try:
            on_progress(reports.get_nowait())
        except queue_module.Empty:
            return


def make_backend(name: str = "local", address: str | None = None, jobs: int | None = None) -> Backend:
    """The backend named ``name``: ``"local"`` (``jobs`` processes) or ``"ray"`` (the cluster at ``address``,
    ``"auto"`` for the one running on this machine, or, with no address, a Ray instance started for this
    run on ``jobs`` cores). Nothing is imported or connected until tasks run."""
    if name not in BACKENDS:
        raise OptionError(message("--backend", "one of " + ", ".join(repr(b) for b in BACKENDS), repr(name)))
    if name == "local":
        if address is not None:
            raise OptionError(message("--address", "no address with --backend local", repr(address),
                                      "Add --backend ray to run on a Ray cluster."))
        return LocalBackend(jobs)
    from .ray_backend import RayBackend

    return RayBackend(address=address, num_cpus=jobs)


__all__ = ["BACKENDS", "Backend", "LocalBackend", "Task", "available_cores", "make_backend"]
