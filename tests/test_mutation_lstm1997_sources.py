"""yetztml.experiments.lstm1997.sources: the options a source falls back to are its task's defaults, its
tolerance and task, and the pools of Exps 1 and 2a."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yetztml.experiments.lstm1997.sources import SOURCES, PoolSource, make_source
from yetztml.learning.online1997_fast import pack
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



def _identical(a, b):
    """Equal values and equal dtypes, field by field (the kernels are compiled for the pack's dtypes)."""
    return all(getattr(a, f).dtype == getattr(b, f).dtype and np.array_equal(getattr(a, f), getattr(b, f))
               for f in ("x", "index", "targets", "criterion_targets", "flags", "starts"))


def test_the_baseline_is_that_of_the_task_built_from_seed_0():
    """Exp 1's baseline is pooled over its training strings, so it depends on the seed they are drawn from."""
    baseline = make_source("1", pool_rng=np.random.default_rng(5)).baseline
    assert baseline == make_task("1", seed=0).baseline()
    assert baseline != make_task("1", seed=1).baseline()
    assert baseline.mean_squared_error == pytest.approx(0.11849518285298304, rel=1e-12)


@pytest.mark.parametrize(("name", "options"), [("4", {"T": 30}), ("5", {"T": 30}), ("3a", {"T": 30, "N": 2})])
def test_dense_sources_are_packed_as_pack_packs_their_tasks_samples(name, options):
    """Dtypes included: a dense set's index is pack's empty int64 array, not an empty float one."""
    source = make_source(name, **options)
    data = source.chunk(np.random.default_rng(4), 3)[0]
    task = make_task(name, seed=np.random.default_rng(4), **options)
    samples = [task.sample() for _ in range(3)]
    reference = pack(samples, criterion_steps=[task.criterion_steps(s) for s in samples])
    assert _identical(data, reference)
    assert data.index.dtype == np.int64 and data.index.shape == (0,) and not data.onehot


def test_a_pool_source_keeps_its_options_for_the_task_and_the_pool():
    source = make_source("1", pool_rng=np.random.default_rng(3), n_train=3, n_test=2)
    assert source.options == {"n_train": 3, "n_test": 2}
    assert source.strings == ["BPBTSSSXSEPE", "BPBTSSSXXTTVVEPE", "BTBTSSXSETE"]
    assert (source.pool.count, source.test.count, len(source.samples)) == (3, 2, 3)
    assert source.task(np.random.default_rng(0)).n_train == 3
    two_a = make_source("2a", p=8)
    assert (two_a.options, two_a.input_size, two_a.output_size, two_a.pool_task.p) == ({"p": 8}, 9, 9, 8)


def test_the_test_set_of_exp_1_is_packed_one_hot_as_its_task_packs_it():
    source = make_source("1", pool_rng=np.random.default_rng(3), n_train=4, n_test=5)
    task = make_task("1", seed=np.random.default_rng(3), n_train=4, n_test=5)
    assert _identical(source.test, pack(task.test_samples(), onehot=True))
    assert source.test.onehot and source.test.x.shape == (0, 7)
    assert source.test.starts.tolist() == [0, 8, 17, 29, 43, 52]
    assert source.test.index[:8].tolist() == task.test_samples()[0].x.argmax(1).tolist()


@pytest.mark.parametrize("label", [0, 1])
def test_the_2a_pool_holds_the_tasks_own_two_sequences(label):
    """The same x, targets and mask as the task's sample of that class, shapes and dtypes included."""
    source = make_source("2a", p=5)
    task = make_task("2a", seed=0, p=5)
    reference = next(s for s in (task.sample() for _ in range(20)) if s.info["class"] == label)
    ours = source.samples[label]
    for field in ("x", "targets", "mask"):
        mine, theirs = getattr(ours, field), getattr(reference, field)
        assert (mine.dtype, mine.shape) == (theirs.dtype, theirs.shape) and np.array_equal(mine, theirs), field
    assert ours.x.shape == (5, 6) and ours.targets[ours.mask].shape == (5, 6)
