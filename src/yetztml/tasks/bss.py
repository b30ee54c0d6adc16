"""Dynamic blind source separation [Naumann, Keijser & Sprekeler 2022, §Methods "Task"; Eq. 1–3].

A network hears stimuli x_t = A s_t + σ_n ξ_t: n sources s_t mixed by a context A (n × n) that changes every
``n_steps`` samples, plus white Gaussian noise ξ_t ~ N(0, I). Its output y_t should equal the sources, in
order, whatever the context. The sources are fixed waveforms sampled at 8 kHz:

* ``chords`` (default) — chord 1 = sin 2π·100t + sin 2π·125t, chord 2 = sin 2π·150t + sin 2π·210t, each divided
  by its maximum |value| (the authors' code; the paper's Eq. 2–3 omit that step);
* ``sines`` — sin 2π·100t and sin 2π·180t (the invariant-subspace demonstration);
* ``ica`` — columns [sine 120 Hz, square 80 Hz, sawtooth 140 Hz] (the paper's three-source set).

Two seconds at 8 kHz give 16,000 samples; every frequency above has a whole number of periods in them, so the
waveforms wrap around seamlessly.

Contexts are drawn by rejection: entries U(0, 1), each row divided by its sum, kept only if |det A| > 0.2
[§Methods "Time-varying contexts"]. For n = 2, A = [[a, 1−a], [b, 1−b]] and det A = a − b.

Worked example (n = 2, the chords): at sample t = 1 the sources are s ≈ (0.0897, 0.1457); with
A = [[0.7, 0.3], [0.2, 0.8]] (det 0.5) the noiseless stimulus is x = A s ≈ (0.1065, 0.1345)::

    >>> s = chords()
    >>> np.round(s[1], 4), np.round(np.array([[0.7, 0.3], [0.2, 0.8]]) @ s[1], 4)
    (array([0.0897, 0.1457]), array([0.1065, 0.1345]))

A network that ignores the context and outputs y = x has signal clarity ≈ 0.5 (the trivial baseline; [M]
0.52–0.54 over 20 contexts); success is output clarity close to 1 (≥ 0.95 for a trained ModulationNet).

Protocols (the authors' code, which the paper's text follows except where noted):

* training batch — B trials, each with its own fresh context, all sharing one source chunk of ``n_steps``
  samples whose start is drawn per source (the paper says phases vary across trials; the code varies them
  per batch, and this module follows the code). If the source set has more columns than the network has
  sources, each batch uses a sorted random subset of columns.
* test run — batch size 1, ``n_contexts`` new contexts back to back for ``n_steps`` samples each; the sources
  run on continuously from sample 0 (sample ``k mod 16000`` at global step k), using the first n columns.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.signal import sawtooth

from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.rng import make_rng
from ..core.validation import check_choice, check_dtype, check_float, check_int

SOURCE_SETS = ("chords", "sines", "ica")
SAMPLE_RATE = 8000
DURATION = 2.0
#: Frequencies (Hz) of each source set, in column order.
FREQUENCIES = {
    "chords": ((100.0, 125.0), (150.0, 210.0)),
    "sines": ((100.0,), (180.0,)),
    "ica": ((120.0,), (80.0,), (140.0,)),
}
DET_THRESHOLD = 0.2


def _time(duration: float, rate: int) -> np.ndarray:
    n = check_int("sources: number of samples (duration × rate)", int(round(duration * rate)), minimum=2)
    return np.arange(n) / rate


def chords(duration: float = DURATION, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The two max-normalised chords (100 + 125 Hz, 150 + 210 Hz), shape (duration·rate, 2)."""
    t = _time(duration, rate)
    cols = []
    for f1, f2 in FREQUENCIES["chords"]:
        chord = np.sin(2 * np.pi * f1 * t) + np.sin(2 * np.pi * f2 * t)
        cols.append(chord / np.max(np.abs(chord)))
    return np.stack(cols, axis=1)


def sines(duration: float = DURATION, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Pure sines at 100 and 180 Hz, shape (duration·rate, 2)."""
    t = _time(duration, rate)
    return np.stack([np.sin(2 * np.pi * f * t) for (f,) in FREQUENCIES["sines"]], axis=1)


def ica_style(duration: float = DURATION, rate: int = SAMPLE_RATE) -> np.ndarray:
    """[sine 120 Hz, square 80 Hz, sawtooth 140 Hz], shape (duration·rate, 3); the square is sign(sin)."""
    t = _time(duration, rate)
    (f_sine,), (f_square,), (f_saw,) = FREQUENCIES["ica"]
    return np.stack(
        [np.sin(2 * np.pi * f_sine * t), np.sign(np.sin(2 * np.pi * f_square * t)), sawtooth(2 * np.pi * f_saw * t)],
        axis=1,
    )


def make_sources(kind: str = "chords", duration: float = DURATION, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The source set ``kind`` (one of ``SOURCE_SETS``) as a float64 array (samples, columns)."""
    kind = str(check_choice("sources", kind, SOURCE_SETS))
    duration = check_float("sources: duration", duration, minimum=0.0, strict_minimum=True)
    rate = check_int("sources: rate", rate, minimum=1)
    return {"chords": chords, "sines": sines, "ica": ica_style}[kind](duration, rate)


def random_mixing(
    rng: np.random.Generator, count: int, n_sources: int = 2, det_threshold: float = DET_THRESHOLD
) -> np.ndarray:
    """``count`` contexts (count, n, n): rows of U(0, 1) entries normalised to sum 1, kept if |det| > threshold."""
    count = check_int("random_mixing(count)", count, minimum=0)
    n_sources = check_int("random_mixing(n_sources)", n_sources, minimum=1)
    det_threshold = check_float("random_mixing(det_threshold)", det_threshold, minimum=0.0)
    if det_threshold >= 1.0:
        raise OptionError(
            message("random_mixing(det_threshold)", "a number < 1 (row-stochastic matrices have |det| ≤ 1)",
                    det_threshold)
        )
    out = np.empty((count, n_sources, n_sources))
    filled = 0
    while filled < count:
        draw = max(2 * (count - filled), 16)  # candidates per round; most are kept for n = 2
        a = rng.uniform(0.0, 1.0, size=(draw, n_sources, n_sources))
        a = a / a.sum(axis=2, keepdims=True)
        kept = a[np.abs(np.linalg.det(a)) > det_threshold][: count - filled]
        out[filled:filled + len(kept)] = kept
        filled += len(kept)
    return out


def context_grid(n_grid: int = 20, det_threshold: float = DET_THRESHOLD) -> np.ndarray:
    """The 2×2 contexts [[a, 1−a], [b, 1−b]] with a, b on ``linspace(0, 1, n_grid)`` and |a − b| > threshold.

    With the defaults these are the paper's 272 contexts for context decoding [§Methods "Context decoding"].
    """
    n_grid = check_int("context_grid(n_grid)", n_grid, minimum=2)
    values = np.linspace(0.0, 1.0, n_grid)
    grid = [np.array([[a, 1.0 - a], [b, 1.0 - b]]) for a in values for b in values if abs(a - b) > det_threshold]
    return np.array(grid).reshape(-1, 2, 2)


def check_mixing(thing: str, mixing: object, n_sources: int) -> np.ndarray:
    """Validate user-supplied contexts: (n, n) or (count, n, n), finite, invertible; returns (count, n, n)."""
    if not isinstance(mixing, np.ndarray):
        raise DTypeError(message(thing, "a numpy.ndarray of mixing matrices", type(mixing).__name__,
                                 "Wrap it in np.asarray(...)."))
    if not np.issubdtype(mixing.dtype, np.number) or np.iscomplexobj(mixing):
        raise DTypeError(message(thing, "real numbers", str(mixing.dtype)))
    A = np.asarray(mixing, dtype=np.float64)
    if A.ndim == 2:
        A = A[None]
    if A.ndim != 3 or A.shape[0] < 1 or A.shape[1] != A.shape[2]:
        raise ShapeError(message(thing, f"square matrices, shape ({n_sources}, {n_sources}) or (count, "
                                 f"{n_sources}, {n_sources})", f"shape {mixing.shape}"))
    if A.shape[1] != n_sources:
        raise ShapeError(message(thing, f"{n_sources} × {n_sources} matrices (one row per source)",
                                 f"shape {mixing.shape}"))
    if not np.all(np.isfinite(A)):
        raise OptionError(message(thing, "finite entries", "NaN or inf"))
    sv = np.linalg.svd(A, compute_uv=False)
    for k in range(A.shape[0]):
        if sv[k, -1] <= 1e-12 * max(sv[k, 0], 1e-300):
            raise OptionError(
                message(f"{thing}[{k}]", "an invertible matrix", f"a singular one (det = {np.linalg.det(A[k]):.3g})",
                        "A context must be invertible for the sources to be recoverable.")
            )
    return A


class BSSBatch(NamedTuple):
    """Stimuli x and targets s, time-major (T, B, n), and the contexts A (one per trial or per segment)."""

    x: np.ndarray
    s: np.ndarray
    A: np.ndarray


class BSSTask:
    """The dynamic blind source separation task: owns its generator, so a run is reproducible from its seed.

    >>> task = BSSTask("chords", seed=0)
    >>> batch = task.train_batch(4)
    >>> batch.x.shape, batch.s.shape, batch.A.shape
    ((1000, 4, 2), (1000, 4, 2), (4, 2, 2))
    """

    def __init__(
        self,
        sources: str = "chords",
        n_sources: int | None = None,
        noise: float = 0.001,
        n_steps: int = 1000,
        det_threshold: float = DET_THRESHOLD,
        seed=0,
        dtype: object = np.float64,
    ) -> None:
        self.sources_kind = str(check_choice("BSSTask(sources=...)", sources, SOURCE_SETS))
        self.signals = make_sources(self.sources_kind)
        columns = self.signals.shape[1]
        if n_sources is None:
            n_sources = columns
        self.n_sources = check_int("BSSTask(n_sources=...)", n_sources, minimum=2, maximum=columns)
        self.noise = check_float("BSSTask(noise=...)", noise, minimum=0.0)
        self.n_steps = check_int("BSSTask(n_steps=...)", n_steps, minimum=2)
        if self.n_steps > self.signals.shape[0]:
            raise OptionError(message("BSSTask(n_steps=...)", f"at most {self.signals.shape[0]} (the source length)",
                                      self.n_steps))
        self.det_threshold = check_float("BSSTask(det_threshold=...)", det_threshold, minimum=0.0)
        random_mixing(np.random.default_rng(0), 0, self.n_sources, self.det_threshold)  # validates the threshold
        self.dtype = check_dtype("BSSTask(dtype=...)", dtype)
        self.rng = make_rng(seed)

    @property
    def length(self) -> int:
        """Number of samples in the source waveforms (16,000)."""
        return int(self.signals.shape[0])

    def _mix(self, s: np.ndarray, A: np.ndarray) -> np.ndarray:
        """x = A s + σ_n ξ for s (T, B, n) and A (T or 1, B, n, n) or per-trial A (B, n, n)."""
        x = np.einsum("...ij,...j->...i", A, s)
        if self.noise > 0.0:
            x = x + self.rng.normal(0.0, self.noise, size=x.shape)
        return x

    def train_batch(self, batch_size: int) -> BSSBatch:
        """One training batch: ``batch_size`` fresh contexts, one shared source chunk of ``n_steps`` samples."""
        B = check_int("BSSTask.train_batch(batch_size)", batch_size, minimum=1)
        n, T, L = self.n_sources, self.n_steps, self.length
        columns = self.signals.shape[1]
        cols = np.arange(n) if columns == n else np.sort(self.rng.choice(columns, size=n, replace=False))
        if L > T:
            starts = self.rng.integers(0, L - T, size=n)
            chunk = np.stack([self.signals[starts[i]:starts[i] + T, c] for i, c in enumerate(cols)], axis=1)
        else:
            shifts = self.rng.integers(0, L, size=n)
            chunk = np.stack([np.roll(self.signals[:, c], shifts[i]) for i, c in enumerate(cols)], axis=1)
        A = random_mixing(self.rng, B, n, self.det_threshold)
        s = np.broadcast_to(chunk[:, None, :], (T, B, n))
        x = self._mix(s, A[None])
        return BSSBatch(x.astype(self.dtype), np.ascontiguousarray(s, dtype=self.dtype), A)

    def test_run(self, n_contexts: int = 20, contexts: np.ndarray | None = None, start: int = 0) -> BSSBatch:
        """``n_contexts`` contexts back to back, batch size 1: x, s (n_contexts·n_steps, 1, n) and A.

        ``contexts`` (count, n, n) replaces the random draw (checked: square, finite, invertible); ``start``
        is the source sample at the first step (the authors' test starts at 0).
        """
        if contexts is None:
            n_contexts = check_int("BSSTask.test_run(n_contexts)", n_contexts, minimum=1)
            A = random_mixing(self.rng, n_contexts, self.n_sources, self.det_threshold)
        else:
            A = check_mixing("BSSTask.test_run(contexts)", contexts, self.n_sources)
        start = check_int("BSSTask.test_run(start)", start, minimum=0)
        n, T = self.n_sources, self.n_steps
        idx = (start + np.arange(A.shape[0] * T)) % self.length
        s = self.signals[idx, :n][:, None, :]  # (K·T, 1, n)
        A_t = np.repeat(A, T, axis=0)[:, None]  # (K·T, 1, n, n)
        x = self._mix(s, A_t)
        return BSSBatch(x.astype(self.dtype), np.ascontiguousarray(s, dtype=self.dtype), A)

    def state_dict(self) -> dict:
        """The generator's state (JSON-able), so a resumed run draws the same data."""
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        """Restore the generator's state saved by :meth:`state_dict`."""
        self.rng.bit_generator.state = state["bit_generator"]
