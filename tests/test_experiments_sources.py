"""The compiled sources repeat their tasks' ``sample()`` draw for draw; the CERG stream repeats the task's."""

from __future__ import annotations

import numpy as np
import pytest

from yetztml.experiments.gers2000 import stream_chunk
from yetztml.experiments.lstm1997.sources import make_source
from yetztml.learning.online1997_fast import pack
from yetztml.tasks import make_task

CASES = [
    ("4", {"T": 100}), ("4", {"T": 21}), ("5", {"T": 40}),
    ("3a", {"T": 30, "N": 3}), ("3b", {"T": 30, "N": 1}), ("3c", {"T": 25, "N": 3}),
    ("6a", {}), ("6b", {}),
    ("2b", {"p": 12}), ("2c", {"p": 10, "q": 10}), ("2c", {"p": 50, "q": 200}),
]


def _reference(task, samples, onehot):
    crit = [task.criterion_steps(s) for s in samples]
    ctg = None
    if task.name == "3c":
        ctg = []
        for s in samples:
            c = np.zeros_like(s.targets)
            c[-1, 0] = s.info["clean_target"]
            ctg.append(c)
    return pack(samples, criterion_steps=crit, criterion_targets=ctg, onehot=onehot)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_fresh_sources_equal_their_task(name, options):
    n = 25
    source = make_source(name, **options)
    data, order = source.chunk(np.random.default_rng(11), n)
    task = make_task(name, seed=np.random.default_rng(11), **options)
    ref = _reference(task, [task.sample() for _ in range(n)], source.onehot)
    assert order is None
    for field in ("x", "index", "targets", "criterion_targets", "flags", "starts"):
        assert np.array_equal(getattr(data, field), getattr(ref, field)), field
    assert source.tolerance == task.tolerance


@pytest.mark.parametrize(("name", "options"), [("1", {}), ("2a", {"p": 8})])
def test_pool_sources_equal_their_task(name, options):
    n = 30
    source = make_source(name, pool_rng=np.random.default_rng(5), **options)
    task = make_task(name, seed=np.random.default_rng(5), **options)
    draw = source.pool_task.rng if name == "1" else np.random.default_rng(9)
    if name != "1":
        task.rng = np.random.default_rng(9)
    data, order = source.chunk(draw, n)
    ref = _reference(task, [task.sample() for _ in range(n)], True)
    rows = np.concatenate([np.arange(data.starts[o], data.starts[o + 1]) for o in order])
    assert np.array_equal(data.index[rows], ref.index)
    assert np.array_equal(data.targets[rows], ref.targets)
    assert np.array_equal(data.flags[rows], ref.flags)
    if name == "1":
        assert source.test.count == 256 and source.pool.count == 256


def test_cerg_stream_equals_the_task_stream():
    task = make_task("cerg", seed=np.random.default_rng(4))
    stream = task.stream(700)
    data = stream_chunk(np.random.default_rng(4), 80, reset=False)
    assert np.array_equal(data.index[:700], stream.x.argmax(1))
    assert np.array_equal(data.targets[:700], stream.targets)
    reset = stream_chunk(np.random.default_rng(4), 80, reset=True)
    assert reset.count == 80 and np.array_equal(reset.index, data.index)
    starts = np.array(stream.info["starts"])
    assert np.array_equal(reset.starts[: len(starts)], starts)


def test_bad_task_options_are_the_tasks_errors():
    with pytest.raises(ValueError, match="T"):
        make_source("4", T=10)
