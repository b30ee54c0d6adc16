"""Progress inside a running trial: a trial calls :func:`report`; whoever runs it decides where that goes.

A trial of a reproduction can run for many minutes (Exp 4 at T = 1000: ≈ 10 minutes per million
sequences), longer than a user should wait without a sign of life. Trial code reports how far it is
(``done`` of ``total`` sequences or streams, and a word on how it is doing) through :func:`report`; the
multi-trial runner (:mod:`yetztml.experiments.runner`) installs a sink in each worker process that forwards
the reports to the parent, where the command line shows them. With no sink installed, :func:`report` does
nothing, so trial code can call it unconditionally. Reports are thinned to one per ``INTERVAL`` seconds
per process (the last one of a trial may be dropped: the finished trial's own record follows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

#: Least seconds between two reports passed on from one process.
INTERVAL = 0.5

_sink: Callable[[dict[str, Any]], None] | None = None
_last = -float("inf")


def set_sink(sink: Callable[[dict[str, Any]], None] | None) -> None:
    """Send this process's reports to ``sink(report)`` (None: drop them)."""
    global _sink, _last
    _sink = sink
    _last = -float("inf")


def queue_sink(queue: Any) -> None:
    """Pool initializer: reports of this worker process go into ``queue`` (a multiprocessing queue)."""
    set_sink(queue.put)


def report(trial: int, done: int, total: int, detail: str = "", unit: str = "sequences") -> None:
    """Trial ``trial`` has done ``done`` of at most ``total`` ``unit``; ``detail`` says how it is doing
    (e.g. "training error 0.021")."""
    global _last
    if _sink is None:
        return
    now = time.monotonic()
    if now - _last < INTERVAL:
        return
    _last = now
    _sink({"trial": int(trial), "done": int(done), "total": int(total), "detail": str(detail), "unit": unit})


__all__ = ["INTERVAL", "queue_sink", "report", "set_sink"]
