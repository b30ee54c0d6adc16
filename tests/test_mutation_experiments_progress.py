"""yetztml.experiments.progress pinned: what a report carries (each field converted, the defaults), the
interval at its boundary, a new sink starting a fresh interval, a pool worker's queue, and no sink left behind.
"""

from __future__ import annotations

import queue

import numpy as np
import pytest

from yetztml.experiments import progress


@pytest.fixture
def clock(monkeypatch):
    """progress's clock reads the values appended to the returned list, in order."""
    times: list[float] = []
    monkeypatch.setattr(progress.time, "monotonic", lambda: times.pop(0))
    yield times
    progress.set_sink(None)


def test_a_report_carries_its_fields_converted_and_the_defaults(clock):
    got: list[dict] = []
    progress.set_sink(got.append)
    clock.extend([10.0, 20.0])
    progress.report(np.int64(3), 4.0, np.float64(7.9), detail=0.25, unit="streams")
    progress.report(1, 2, 3)
    assert got == [
        {"trial": 3, "done": 4, "total": 7, "detail": "0.25", "unit": "streams"},
        {"trial": 1, "done": 2, "total": 3, "detail": "", "unit": "sequences"},
    ]
    assert [type(v) for v in got[0].values()] == [int, int, int, str, str]


def test_reports_closer_than_the_interval_are_dropped_and_one_exactly_the_interval_apart_passes(clock):
    got: list[dict] = []
    progress.set_sink(got.append)
    clock.extend([10.0, 10.25, 10.5, 10.75, 11.0, 11.5])
    for done in range(6):
        progress.report(0, done, 6)
    assert progress.INTERVAL == 0.5
    assert [r["done"] for r in got] == [0, 2, 4, 5]


def test_a_new_sink_starts_a_fresh_interval(clock):
    first: list[dict] = []
    second: list[dict] = []
    progress.set_sink(first.append)
    clock.extend([5.0, 5.1, 5.2])
    progress.report(0, 1, 3)
    progress.set_sink(second.append)
    progress.report(0, 2, 3)  # 0.1 s after the last report, but the first to this sink
    progress.report(0, 3, 3)
    assert [r["done"] for r in first] == [1]
    assert [r["done"] for r in second] == [2]


def test_without_a_sink_nothing_is_reported_and_the_clock_is_not_read(clock):
    progress.set_sink(None)
    progress.report(0, 1, 1)  # the clock is empty: reading it would raise IndexError
    got: list[dict] = []
    progress.set_sink(got.append)
    clock.append(1.0)
    progress.report(0, 1, 1)
    progress.set_sink(None)
    progress.report(0, 2, 2)
    assert [r["done"] for r in got] == [1] and clock == []


def test_a_pool_worker_reports_into_its_queue(clock):
    reports: queue.SimpleQueue = queue.SimpleQueue()
    progress.queue_sink(reports)
    clock.append(0.0)
    progress.report(2, 5, 9, "training error 0.021")
    assert reports.get_nowait() == {"trial": 2, "done": 5, "total": 9, "detail": "training error 0.021",
                                    "unit": "sequences"}
    assert reports.empty()
