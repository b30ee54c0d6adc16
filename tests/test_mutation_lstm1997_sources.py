"""yetztml.experiments.lstm1997.sources: the options a source falls back to are its task's defaults, its
tolerance and task, and the pools of Exps 1 and 2a."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yetztml.experiments.lstm1997.sources import SOURCES, PoolSource, make_source
from yetztml.tasks import make_task


def _same(a, b):
    return all(np.array_equal(getattr(a, f), getattr(b, f))
               for f in ("x", "index", "targets", "criterion_targets", "flags", "starts"))


@pytest.mark.parametrize(
    ("name", "defaults", "other"),
    [
        ("4", {"T": 100}, {"T": 50}),
        ("5", {"T": 100}, {"T": 50}),
        ("3a", {"T": 100, "N": 3}, {"T": 100, "N": 1}),
        ("3b", {"T": 100, "N": 3}, {"T": 50, "N": 3}),
        ("3c", {"T": 100, "N": 3}, {"T": 100, "N": 1}),
        ("2b", {"p": 10, "end_error_only": False}, {"p": 10, "end_error_only": True}),
    ],
)
def test_a_source_without_an_option_uses_the_tasks_default(name, defaults, other):
    bare = {k: v for k, v in defaults.items() if k in ("p",)}
    chunk = make_source(name, **bare).chunk(np.random.default_rng(2), 3)[0]
    assert _same(chunk, make_source(name, **defaults).chunk(np.random.default_rng(2), 3)[0])
    assert not _same(chunk, make_source(name, **other).chunk(np.random.default_rng(2), 3)[0])


def test_source_sizes_tolerance_and_task():
    source = make_source("4", T=50)
    assert (source.name, source.options, source.input_size, source.output_size, source.tolerance) == (
        "4", {"T": 50}, 2, 1, 0.04)
    assert source.baseline.mean_abs_error == pytest.approx(0.1625)
    task = source.task(np.random.default_rng(6))
    reference = make_task("4", seed=np.random.default_rng(6), T=50)
    assert task.T == 50 and np.array_equal(task.sample().x, reference.sample().x)
    assert make_source("1").tolerance == math.inf  # Exp 1 has no tolerance: its criterion is the ranking
    assert make_source("6a").onehot and not make_source("3a").onehot


def test_the_pool_of_exp_1_is_its_tasks_strings():
    source = make_source("1", pool_rng=np.random.default_rng(3))
    task = make_task("1", seed=np.random.default_rng(3))
    assert source.strings == list(task.train) and len(source.strings) == 256
    assert source.pool.count == 256 and source.test.count == 256 and len(source.samples) == 256
    data, order = source.chunk(np.random.default_rng(1), 5)
    assert data is source.pool and order.shape == (5,) and order.max() < 256


def test_the_pool_of_exp_2a_is_its_two_sequences_and_defaults_to_p_100():
    source = make_source("2a")
    assert source.test is None and source.pool.count == 2
    assert source.pool.starts.tolist() == [0, 100, 200]
    x, y = source.samples
    assert x.x.argmax(1).tolist() == [99, *range(99)] and x.targets.argmax(1).tolist() == [*range(99), 99]
    assert y.x.argmax(1)[0] == 100 and y.targets.argmax(1)[-1] == 100
    assert (x.info, y.info) == ({"class": 0}, {"class": 1})
    assert make_source("2a", p=8).pool.starts.tolist() == [0, 8, 16]


def test_pool_sources_default_to_generator_zero():
    strings = make_source("1").strings
    assert strings == list(make_task("1", seed=np.random.default_rng(0)).train)
    assert strings != list(make_task("1", seed=np.random.default_rng(1)).train)


def test_every_experiment_has_its_source():
    assert {name: cls.__name__ for name, cls in SOURCES.items()} == {
        "1": "PoolSource", "2a": "PoolSource", "2b": "LongLagSource", "2c": "LongLagSource",
        "3a": "TwoSequenceSource", "3b": "TwoSequenceSource", "3c": "TwoSequenceSource",
        "4": "MarkedSource", "5": "MarkedSource", "6a": "TemporalOrderSource", "6b": "TemporalOrderSource"}
    assert isinstance(make_source("2a"), PoolSource)
