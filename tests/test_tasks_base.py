"""The task protocol, for every registered task: samples, batches, criteria, state, registry errors."""

import doctest
import json

import numpy as np
import pytest

import yetztml.tasks
from yetztml.core.errors import CheckpointError, DTypeError, NonFiniteError, OptionError, ShapeError
from yetztml.tasks import REGISTRY, Baseline, Task, make_task

SMALL = {
    "1": {"n_train": 8, "n_test": 4},
    "cerg": {"strings_per_sample": 2},
    "2a": {"p": 5},
    "2b": {"p": 5},
    "2c": {"p": 4, "q": 6},
    "3a": {"T": 20, "N": 3},
    "3b": {"T": 20, "N": 1},
    "3c": {"T": 20, "N": 3},
    "4": {"T": 20},
    "5": {"T": 20},
    "6a": {},
    "6b": {},
}


def perfect_outputs(task, sample):
    """Outputs the paper's criterion must accept."""
    if "legal" in sample.info:
        return sample.info["legal"].astype(float)
    if task.name == "3c":
        out = sample.targets.copy()
        out[-1, 0] = sample.info["clean_target"]
        return out
    return sample.targets.copy()


def wrong_outputs(task, sample):
    """Outputs the criterion must reject: ranks reversed (next-symbol tasks) or every output off by 1."""
    perfect = perfect_outputs(task, sample)
    return 1.0 - perfect if "legal" in sample.info else perfect + 1.0


def test_registry_covers_all_tasks():
    assert set(SMALL) == set(REGISTRY)


def test_doctests():
    assert doctest.testmod(yetztml.tasks).failed == 0
    assert doctest.testmod(yetztml.tasks.base).failed == 0


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_sample_protocol(name):
    task = make_task(name, **SMALL[name], seed=0)
    assert isinstance(task, Task) and task.name == name
    described = json.loads(json.dumps(task.describe()))
    assert described["options"] == {k: v for k, v in task.options().items()}
    assert all(v == described["options"][k] for k, v in SMALL[name].items())
    for _ in range(5):
        s = task.sample()
        T = s.length
        assert s.x.shape == (T, task.input_size) and s.x.dtype == np.float64
        assert s.targets.shape == (T, task.output_size) and s.targets.dtype == np.float64
        assert s.mask.shape == (T,) and s.mask.dtype == bool and s.mask.any()
        assert isinstance(s.info, dict)
        assert task.correct(perfect_outputs(task, s), s)
        assert not task.correct(wrong_outputs(task, s), s)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_batch_is_padded_time_major(name):
    task = make_task(name, **SMALL[name], seed=1)
    batch = task.batch(6)
    T = int(batch.lengths.max())
    assert batch.x.shape == (T, 6, task.input_size)
    assert batch.targets.shape == (T, 6, task.output_size)
    assert batch.mask.shape == (T, 6) and batch.mask.dtype == bool
    for b, s in enumerate(batch.samples):
        L = batch.lengths[b]
        assert L == s.length
        np.testing.assert_array_equal(batch.x[:L, b], s.x)
        np.testing.assert_array_equal(batch.targets[:L, b], s.targets)
        np.testing.assert_array_equal(batch.mask[:L, b], s.mask)
        assert not batch.x[L:, b].any() and not batch.targets[L:, b].any() and not batch.mask[L:, b].any()
    outputs = np.zeros_like(batch.targets)
    for b, s in enumerate(batch.samples):
        outputs[: s.length, b] = perfect_outputs(task, s)
    assert task.correct_batch(outputs, batch).tolist() == [True] * 6
    outputs[: batch.lengths[2], 2] = wrong_outputs(task, batch.samples[2])
    assert task.correct_batch(outputs, batch).tolist() == [True, True, False, True, True, True]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_state_round_trip_through_json(name):
    task = make_task(name, **SMALL[name], seed=2)
    task.sample()
    state = json.loads(json.dumps(task.get_state()))
    first = task.batch(3)
    task.set_state(state)
    again = task.batch(3)
    np.testing.assert_array_equal(first.x, again.x)
    np.testing.assert_array_equal(first.targets, again.targets)


#: (mean squared error, mean absolute error, fraction correct) of each task's trivial baseline, SMALL, seed 3.
#: Each is the task's closed form (its ``formula``) at SMALL's options, computed once here: a changed formula,
#: constant or option shows as a different number.
BASELINES = {
    "1": (0.12086895796764999, 1 / 7, 0.0),
    "2a": (0.1366666666666667, 1 / 6, 0.0),
    "2b": (0.1366666666666667, 1 / 6, 0.0),
    "2c": (0.25, 0.5, 0.0),
    "3a": (0.25, 0.5, 0.0),
    "3b": (0.25, 0.5, 0.0),
    "3c": (0.19, 0.35804751928687634, 0.0),
    "4": (0.03958333333333333, 0.1625, 0.15424000000000004),
    "5": (0.05770833333333332, 0.1908707931270357, 0.12195550234523789),
    "6a": (0.1875, 0.25, 0.0),
    "6b": (0.109375, 0.125, 0.0),
    "cerg": (0.16914682539682538, 0.2261904761904762, 0.0),
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_baseline_is_well_formed(name):
    task = make_task(name, **SMALL[name], seed=3)
    base = task.baseline()
    assert isinstance(base, Baseline) and base.formula
    assert len(base.mae_constant) == len(base.mse_constant) == task.output_size
    got = (base.mean_squared_error, base.mean_abs_error, base.fraction_correct)
    assert got == pytest.approx(BASELINES[name], rel=1e-12, abs=1e-15)
    json.dumps(base.__dict__)


def test_shared_generator():
    rng = np.random.default_rng(5)
    a = make_task("4", T=20, seed=rng)
    b = make_task("6a", seed=rng)
    assert a.rng is b.rng is rng


def test_bad_input():
    with pytest.raises(OptionError, match=r"make_task\(name\): expected one of '1', 'cerg'"):
        make_task("7", seed=0)
    with pytest.raises(OptionError, match=r"make_task\('4'\) options: expected a subset of T, got N"):
        make_task("4", N=3, seed=0)
    with pytest.raises(OptionError, match="got variant"):
        make_task("2c", variant="2a", p=3, q=3, seed=0)
    with pytest.raises(DTypeError, match="seed: expected an int or a numpy.random.Generator"):
        make_task("4", seed=None)
    task = make_task("4", T=20, seed=0)
    with pytest.raises(OptionError, match=r"Adding.batch\(n\): expected an integer >= 1"):
        task.batch(0)
    s = task.sample()
    with pytest.raises(ShapeError, match=r"Adding.correct\(outputs\): expected shape \(T, K\)"):
        task.correct(np.zeros((s.length, 2)), s)
    with pytest.raises(DTypeError, match="numpy.ndarray"):
        task.correct([[0.5]] * s.length, s)
    with pytest.raises(NonFiniteError):
        task.correct(np.full((s.length, 1), np.nan), s)
    with pytest.raises(ShapeError, match=r"Adding.correct_batch\(outputs\)"):
        task.correct_batch(np.zeros((3, 2, 1)), task.batch(2))
    with pytest.raises(CheckpointError, match="a dict from get_state"):
        task.set_state([1, 2])
    with pytest.raises(CheckpointError, match="state of a PCG64 generator"):
        task.set_state({"task": "4", "rng": {"bit_generator": "MT19937"}})
    with pytest.raises(CheckpointError, match="saved by task '4', got task '5'"):
        task.set_state(make_task("5", T=20, seed=0).get_state())
