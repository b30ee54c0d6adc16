"""The dynamic blind source separation task: sources, contexts and the training/test protocols."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yetztml.core.errors import DTypeError, OptionError, ShapeError
from yetztml.tasks.bss import (
    FREQUENCIES,
    BSSTask,
    check_mixing,
    chords,
    context_grid,
    ica_style,
    make_sources,
    random_mixing,
    sines,
)


def chunk_start(signal: np.ndarray, chunk: np.ndarray) -> int | None:
    """Where ``chunk`` occurs as a contiguous piece of ``signal`` (exact copies), or None."""
    for start in np.flatnonzero(signal[: signal.size - chunk.size + 1] == chunk[0]):
        if np.array_equal(signal[start:start + chunk.size], chunk):
            return int(start)
    return None


def spectral_peaks(signal: np.ndarray, rate: int = 8000, count: int = 2) -> list[float]:
    """The ``count`` strongest frequencies (Hz) of a real signal."""
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(signal.size, 1.0 / rate)
    return sorted(float(f) for f in freqs[np.argsort(power)[-count:]])


@pytest.mark.parametrize("kind", ["chords", "sines", "ica"])
def test_sources_have_16000_samples(kind):
    s = make_sources(kind)
    assert s.shape == (16_000, len(FREQUENCIES[kind]))
    assert s.dtype == np.float64


def test_source_frequencies():
    c = chords()
    assert spectral_peaks(c[:, 0]) == [100.0, 125.0]
    assert spectral_peaks(c[:, 1]) == [150.0, 210.0]
    s = sines()
    assert spectral_peaks(s[:, 0], count=1) == [100.0]
    assert spectral_peaks(s[:, 1], count=1) == [180.0]
    ica = ica_style()
    assert spectral_peaks(ica[:, 0], count=1) == [120.0]  # sine
    assert spectral_peaks(ica[:, 1], count=1) == [80.0]  # square: fundamental
    assert spectral_peaks(ica[:, 2], count=1) == [140.0]  # sawtooth: fundamental
    assert set(np.unique(ica[:, 1])) <= {-1.0, 0.0, 1.0}


def test_chords_are_max_normalised_and_uncorrelated():
    c = chords()
    np.testing.assert_allclose(np.max(np.abs(c), axis=0), 1.0)
    np.testing.assert_allclose(c.std(axis=0), [0.508, 0.517], atol=5e-4)  # [M] 0.508 and 0.517
    assert abs(np.corrcoef(c.T)[0, 1]) < 1e-10


def test_sources_wrap_seamlessly():
    """Whole periods in 16,000 samples: the sample after the last equals sample 0 (continuous test run)."""
    for kind in ("chords", "sines"):
        s = make_sources(kind)
        longer = make_sources(kind, duration=16_001 / 8000)
        assert longer.shape[0] == 16_001
        np.testing.assert_allclose(longer[-1], s[0], atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.sampled_from([2, 3]))
def test_random_mixing_invariants(seed, n):
    A = random_mixing(np.random.default_rng(seed), 50, n)
    assert A.shape == (50, n, n)
    np.testing.assert_allclose(A.sum(axis=2), 1.0)
    assert np.all(A >= 0.0)
    assert np.all(np.abs(np.linalg.det(A)) > 0.2)


def test_context_grid_has_272_contexts():
    grid = context_grid()
    assert grid.shape == (272, 2, 2)
    np.testing.assert_allclose(grid.sum(axis=2), 1.0)
    assert np.all(np.abs(np.linalg.det(grid)) > 0.2)
    # by hand: det [[a, 1−a], [b, 1−b]] = a − b, so the grid keeps the pairs of linspace(0, 1, 20) with
    # |i − j| ≥ 4 (> 0.2 · 19), 2 · (16 + 15 + … + 1) = 272 of them, a-major; catches a threshold on the wrong
    # side, another grid or another order
    values = np.linspace(0.0, 1.0, 20)
    expected = [[[values[i], 1 - values[i]], [values[j], 1 - values[j]]] for i in range(20) for j in range(20)
                if abs(i - j) >= 4]
    np.testing.assert_array_equal(grid, np.array(expected))


def test_train_batch_protocol():
    task = BSSTask("chords", noise=0.0, seed=3)
    batch = task.train_batch(5)
    assert batch.x.shape == batch.s.shape == (1000, 5, 2)
    assert batch.A.shape == (5, 2, 2)
    np.testing.assert_array_equal(batch.s[:, 0], batch.s[:, 4])  # one source chunk shared by the batch
    np.testing.assert_allclose(batch.x, np.einsum("bij,tbj->tbi", batch.A, batch.s), atol=1e-12)
    starts = [chunk_start(task.signals[:, i], batch.s[:, 0, i]) for i in range(2)]
    assert None not in starts  # each source chunk is a contiguous piece of its own waveform
    assert not np.allclose(batch.A[0], batch.A[1])
    # seed 3: the contexts and the chunk starts drawn (catches a task that ignores its seed or redraws
    # rows that are not normalised)
    np.testing.assert_allclose(batch.A[[0, 4]],
        [[[0.2281224688041767, 0.7718775311958231], [0.8608162950340407, 0.1391837049659593]],
         [[0.48227613997118524, 0.5177238600288149], [0.9949353207151943, 0.005064679284805651]]], rtol=1e-12)
    assert starts == [12172, 1284]


def test_noise_level():
    task = BSSTask("chords", noise=0.001, seed=0)
    batch = task.train_batch(32)
    resid = batch.x - np.einsum("bij,tbj->tbi", batch.A, batch.s)
    assert abs(resid.std() - 0.001) < 2e-5
    assert abs(resid.mean()) < 2e-5
    # seed 0's draw itself: a noise with another scale or seed would not give these
    assert (resid.std(), resid.mean()) == pytest.approx((0.0009993880718667254, 1.7605044707226513e-06), rel=1e-9)


def test_test_run_protocol():
    task = BSSTask("sines", noise=0.0, seed=1)
    run = task.test_run(20)
    assert run.x.shape == run.s.shape == (20_000, 1, 2)
    assert run.A.shape == (20, 2, 2)
    idx = np.arange(20_000) % 16_000  # continuous sources from sample 0
    np.testing.assert_array_equal(run.s[:, 0], task.signals[idx])
    for k in (0, 7, 19):
        seg = slice(k * 1000, (k + 1) * 1000)
        np.testing.assert_allclose(run.x[seg, 0], run.s[seg, 0] @ run.A[k].T, atol=1e-12)
    np.testing.assert_allclose(run.A[[0, 19]],  # seed 1's first and last test contexts
        [[[0.3500148824177995, 0.6499851175822006], [0.13191656073798835, 0.8680834392620117]],
         [[0.13630292776912087, 0.8636970722308791], [0.6159600116158203, 0.38403998838417974]]], rtol=1e-12)


def test_user_contexts_and_their_errors():
    task = BSSTask("chords", seed=0)
    A = np.array([[[0.7, 0.3], [0.2, 0.8]], [[0.4, 0.6], [0.9, 0.1]]])
    run = task.test_run(contexts=A)
    assert run.x.shape == (2000, 1, 2)
    np.testing.assert_array_equal(run.A, A)
    with pytest.raises(OptionError, match="singular"):
        task.test_run(contexts=np.array([[0.5, 0.5], [0.5, 0.5]]))
    with pytest.raises(ShapeError):
        task.test_run(contexts=np.ones((2, 3)))
    with pytest.raises(ShapeError):
        task.test_run(contexts=np.eye(3))
    with pytest.raises(DTypeError):
        task.test_run(contexts=[[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(OptionError):
        check_mixing("A", np.array([[np.nan, 0.0], [0.0, 1.0]]), 2)


def test_ica_sources_subset_per_batch():
    task = BSSTask("ica", n_sources=2, noise=0.0, seed=0)
    used, drawn = set(), []
    for _ in range(10):
        b = task.train_batch(2)
        cols = [c for i in range(2) for c in range(3) if chunk_start(task.signals[:, c], b.s[:, 0, i]) is not None]
        assert len(cols) == 2 and cols[0] < cols[1]  # a sorted subset of two of the three columns
        used.update(cols)
        drawn.append(cols)
    assert used == {0, 1, 2}
    # seed 0's subsets, batch by batch (a fixed subset, or one drawn from another stream, would differ)
    assert drawn == [[1, 2], [0, 2], [0, 1], [0, 2], [0, 1], [0, 1], [1, 2], [1, 2], [0, 2], [0, 1]]


def test_resume_draws_the_same_batches():
    a = BSSTask("chords", seed=5)
    a.train_batch(4)
    saved = a.state_dict()
    first = a.train_batch(4)
    b = BSSTask("chords", seed=99)
    b.load_state_dict(saved)
    second = b.train_batch(4)
    np.testing.assert_array_equal(first.x, second.x)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(sources="speech"), OptionError),
        (dict(noise=-0.1), OptionError),
        (dict(n_steps=1), OptionError),
        (dict(n_steps=20_000), OptionError),
        (dict(n_sources=3), OptionError),
        (dict(det_threshold=1.5), OptionError),
        (dict(seed=None), DTypeError),
    ],
)
def test_task_errors(kwargs, error):
    with pytest.raises(error):
        BSSTask(**kwargs)
