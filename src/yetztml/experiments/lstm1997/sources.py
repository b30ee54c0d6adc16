"""Compiled data sources: the 1997 tasks' generators, draw for draw, packed for the online kernel.

Online learning presents hundreds of thousands of fresh sequences per trial (Table 11 "t3"); drawing
them one :class:`~yetztml.tasks.Sample` at a time would cost more than training on them. Each source
here repeats its task's ``sample()`` inside compiled code — the same calls on the same
``numpy.random.Generator`` in the same order, so a source and its task, seeded alike, give identical
sequences (tests compare them for every task) — and writes them end to end as a
:class:`~yetztml.learning.online1997_fast.Packed` set: inputs (dense, or one-hot as the index of the
active unit), targets, criterion targets, step flags (error / criterion), offsets.

Tasks with a fixed set of strings (Exp 1's 256 training strings; Exp 2a's two sequences) are packed
once; their sources draw the order in which the strings are presented.
"""

from __future__ import annotations

import abc
import math
from typing import Any

import numba
import numpy as np

from ...learning.online1997_fast import CRITERION, ERROR, Packed, pack
from ...tasks import Task, make_task
from ...tasks.adding import FIRST_MARK_RANGE
from ...tasks.longlag import CONTINUE
from ...tasks.temporal_order import LENGTHS, WINDOWS
from ...tasks.two_sequence import NOISE_VARIANCE, TARGET_NOISE_VARIANCE, TARGETS

_BOTH = np.uint8(ERROR | CRITERION)


@numba.njit(cache=True)
def _marked(rng, T, n, multiply):
    """Exp 4 (adding) or 5 (multiplication), as :meth:`yetztml.tasks.Adding.sample`."""
    half = T // 2
    cap = n * (T + T // 10)
    x = np.zeros((cap, 2))
    tgt = np.zeros((cap, 1))
    flags = np.zeros(cap, np.uint8)
    starts = np.zeros(n + 1, np.int64)
    pos = 0
    for i in range(n):
        L = rng.integers(T, T + T // 10 + 1)  # L ∈ {T, …, T + ⌊T/10⌋}
        for t in range(L):
            x[pos + t, 0] = rng.uniform(0.0, 1.0) if multiply else rng.uniform(-1.0, 1.0)
        p1 = rng.integers(0, FIRST_MARK_RANGE)
        k = rng.integers(0, half - 1)
        p2 = k + (1 if k >= p1 else 0)
        x[pos, 1] = -1.0
        x[pos + L - 1, 1] = -1.0
        x[pos + p1, 1] = 1.0
        x[pos + p2, 1] = 1.0
        if p1 == 0:
            x[pos, 0] = 1.0 if multiply else 0.0
        a = x[pos + p1, 0]
        b = x[pos + p2, 0]
        tgt[pos + L - 1, 0] = a * b if multiply else 0.5 + (a + b) / 4.0
        flags[pos + L - 1] = ERROR | CRITERION
        pos += L
        starts[i + 1] = pos
    return x[:pos], tgt[:pos], flags[:pos], starts


@numba.njit(cache=True)
def _two_sequence(rng, T, N, n, variant, sd, target_sd, t1, t2):
    """Exp 3a (variant 0), 3b (1), 3c (2), as :meth:`yetztml.tasks.TwoSequence.sample`."""
    cap = n * (T + T // 10)
    x = np.zeros((cap, 1))
    tgt = np.zeros((cap, 1))
    ctgt = np.zeros((cap, 1))
    flags = np.zeros(cap, np.uint8)
    starts = np.zeros(n + 1, np.int64)
    pos = 0
    for i in range(n):
        L = rng.integers(T, T + T // 10 + 1)
        label = rng.integers(0, 2)
        for t in range(L):
            x[pos + t, 0] = rng.normal(0.0, sd)
        sign = 1.0 if label == 0 else -1.0
        for t in range(N):
            x[pos + t, 0] = sign + x[pos + t, 0] if variant == 1 else sign
        clean = t1 if label == 0 else t2
        target = clean
        if variant == 2:
            target = clean + rng.normal(0.0, target_sd)
        tgt[pos + L - 1, 0] = target
        ctgt[pos + L - 1, 0] = clean
        flags[pos + L - 1] = ERROR | CRITERION
        pos += L
        starts[i + 1] = pos
    return x[:pos], tgt[:pos], ctgt[:pos], flags[:pos], starts


@numba.njit(cache=True)
def _temporal_order(rng, n, windows, lo, hi):
    """Exp 6a / 6b, as :meth:`yetztml.tasks.TemporalOrder.sample` (symbols E B a b c d X Y = 0 … 7)."""
    k = windows.shape[0]
    K = 1 << k
    cap = n * hi
    index = np.zeros(cap, np.int64)
    tgt = np.zeros((cap, K))
    flags = np.zeros(cap, np.uint8)
    starts = np.zeros(n + 1, np.int64)
    positions = np.zeros(k, np.int64)
    bits = np.zeros(k, np.int64)
    pos = 0
    for i in range(n):
        L = rng.integers(lo, hi + 1)
        for w in range(k):
            positions[w] = rng.integers(windows[w, 0], windows[w, 1] + 1)
        for w in range(k):
            bits[w] = rng.integers(0, 2)
        for t in range(L):
            index[pos + t] = rng.integers(2, 6)  # a, b, c, d
        index[pos] = 0  # E
        index[pos + L - 1] = 1  # B
        label = 0
        for w in range(k):
            index[pos + positions[w] - 1] = 6 + bits[w]  # X or Y
            label = 2 * label + bits[w]
        tgt[pos + L - 1, label] = 1.0
        flags[pos + L - 1] = ERROR | CRITERION
        pos += L
        starts[i + 1] = pos
    return index[:pos], tgt[:pos], flags[:pos], starts


@numba.njit(cache=True)
def _long_lag_2c(rng, p, q, n, pcont):
    """Exp 2c, as :meth:`yetztml.tasks.LongLag.sample` (a_1…a_p = 0…p−1, e = p, b = p+1, x, y)."""
    cap = n * (q + 40) + 64
    index = np.zeros(cap, np.int64)
    tgt = np.zeros((cap, 2))
    flags = np.zeros(cap, np.uint8)
    starts = np.zeros(n + 1, np.int64)
    pos = 0
    for i in range(n):
        label = rng.integers(0, 2)
        extra = rng.geometric(1.0 - pcont) - 1
        L = q + extra + 3  # b, x|y, q + extra distractors, e
        if pos + L > index.shape[0]:
            grow = max(index.shape[0], pos + L)
            index = np.concatenate((index, np.zeros(grow, np.int64)))
            tgt = np.concatenate((tgt, np.zeros((grow, 2))))
            flags = np.concatenate((flags, np.zeros(grow, np.uint8)))
        index[pos] = p + 1
        index[pos + 1] = p + 2 + label
        for t in range(q + extra):
            index[pos + 2 + t] = rng.integers(0, p)
        index[pos + L - 1] = p
        tgt[pos + L - 1, label] = 1.0
        flags[pos + L - 1] = ERROR | CRITERION
        pos += L
        starts[i + 1] = pos
    return index[:pos], tgt[:pos], flags[:pos], starts


@numba.njit(cache=True)
def _long_lag_2b(rng, p, n, end_only):
    """Exp 2b, as :meth:`yetztml.tasks.LongLag.sample`: error at every step (at the last only if
    ``end_only``), criterion at the last."""
    cap = n * p
    index = np.zeros(cap, np.int64)
    tgt = np.zeros((cap, p + 1))
    flags = np.zeros(cap, np.uint8)
    starts = np.zeros(n + 1, np.int64)
    symbols = np.zeros(p + 1, np.int64)
    pos = 0
    for i in range(n):
        label = rng.integers(0, 2)
        first = p - 1 + label
        symbols[0] = first
        symbols[p] = first
        for t in range(p - 1):
            symbols[1 + t] = rng.integers(0, p - 1)
        for t in range(p):
            index[pos + t] = symbols[t]
            tgt[pos + t, symbols[t + 1]] = 1.0
            flags[pos + t] = 0 if end_only else ERROR
        flags[pos + p - 1] = ERROR | CRITERION
        pos += p
        starts[i + 1] = pos
    return index, tgt, flags, starts


@numba.njit(cache=True)
def _draw_order(rng, size, n):
    """n draws of rng.integers(size), as a task that picks one of ``size`` fixed strings per sample."""
    order = np.zeros(n, np.int64)
    for i in range(n):
        order[i] = rng.integers(0, size)
    return order


class Source(abc.ABC):
    """Draws chunks of sequences of one task: ``chunk(rng, n)`` → (Packed, order) for the kernel.

    ``order`` is None for freshly generated sequences (all of the packed set, in turn), or the indices
    into a fixed packed pool. ``task(rng)`` builds the equivalent :class:`~yetztml.tasks.Task`.
    """

    onehot = False

    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        self.options = options
        probe = make_task(name, seed=0, **options)  # validates the options with the task's messages
        self.input_size = probe.input_size
        self.output_size = probe.output_size
        self.tolerance = float(probe.tolerance) if probe.tolerance > 0 else float("inf")
        self.baseline = probe.baseline()

    def task(self, rng: np.random.Generator) -> Task:
        return make_task(self.name, seed=rng, **self.options)

    @abc.abstractmethod
    def chunk(self, rng: np.random.Generator, n: int) -> tuple[Packed, np.ndarray | None]:
        """n sequences drawn from ``rng`` (see the class docstring)."""


def _packed(x, index, tgt, ctgt, flags, starts) -> Packed:
    return Packed(np.ascontiguousarray(x), index, np.ascontiguousarray(tgt), np.ascontiguousarray(ctgt),
                  flags, starts)


class MarkedSource(Source):
    """Exp 4 and 5."""

    def chunk(self, rng, n):
        x, tgt, flags, starts = _marked(rng, int(self.options.get("T", 100)), n, self.name == "5")
        return _packed(x, np.zeros(0, np.int64), tgt, tgt, flags, starts), None


class TwoSequenceSource(Source):
    """Exp 3a, 3b, 3c."""

    def chunk(self, rng, n):
        variant = {"3a": 0, "3b": 1, "3c": 2}[self.name]
        t1, t2 = TARGETS[self.name]
        x, tgt, ctgt, flags, starts = _two_sequence(
            rng, int(self.options.get("T", 100)), int(self.options.get("N", 3)), n, variant,
            math.sqrt(NOISE_VARIANCE), math.sqrt(TARGET_NOISE_VARIANCE), t1, t2,
        )
        return _packed(x, np.zeros(0, np.int64), tgt, ctgt, flags, starts), None


class TemporalOrderSource(Source):
    """Exp 6a, 6b."""

    onehot = True

    def chunk(self, rng, n):
        windows = np.array(WINDOWS[self.name], dtype=np.int64)
        index, tgt, flags, starts = _temporal_order(rng, n, windows, LENGTHS[0], LENGTHS[1])
        return _packed(np.zeros((0, self.input_size)), index, tgt, tgt, flags, starts), None


class LongLagSource(Source):
    """Exp 2b and 2c (fresh sequences)."""

    onehot = True

    def chunk(self, rng, n):
        p = int(self.options["p"])
        if self.name == "2c":
            index, tgt, flags, starts = _long_lag_2c(rng, p, int(self.options["q"]), n, CONTINUE)
        else:
            index, tgt, flags, starts = _long_lag_2b(rng, p, n, bool(self.options.get("end_error_only", False)))
        return _packed(np.zeros((0, self.input_size)), index, tgt, tgt, flags, starts), None


class PoolSource(Source):
    """Exp 1 (256 training strings) and 2a (two sequences): a fixed packed pool, drawn in random order.

    ``pool_rng`` builds the pool (Exp 1's training and test sets); ``chunk`` draws which pool string
    each presentation is, as the task's ``sample()`` does.
    """

    onehot = True

    def __init__(self, name: str, pool_rng: np.random.Generator, **options: Any) -> None:
        super().__init__(name, **options)
        self.pool_task = make_task(name, seed=pool_rng, **options)
        if name == "1":
            self.strings = list(self.pool_task.train)
            samples = self.pool_task.train_samples()
            self.test = pack(self.pool_task.test_samples(), onehot=True)
        else:
            p = int(options.get("p", 100))
            samples = [self._two_a(p, label) for label in (0, 1)]
            self.test = None
        criterion = [self.pool_task.criterion_steps(s) for s in samples]
        self.pool = pack(samples, criterion_steps=criterion, onehot=True)
        self.samples = samples

    @staticmethod
    def _two_a(p: int, label: int):
        """The 2a sequence of class ``label`` (0: x, 1: y), built as the task builds it."""
        from ...tasks.base import Sample, one_hot

        first = p - 1 + label
        symbols = np.concatenate([[first], np.arange(p - 1), [first]])
        return Sample(x=one_hot(symbols[:-1], p + 1), targets=one_hot(symbols[1:], p + 1),
                      mask=np.ones(p, dtype=bool), info={"class": label})

    def chunk(self, rng, n):
        return self.pool, _draw_order(rng, self.pool.count, n)


SOURCES = {
    "1": PoolSource, "2a": PoolSource, "2b": LongLagSource, "2c": LongLagSource,
    "3a": TwoSequenceSource, "3b": TwoSequenceSource, "3c": TwoSequenceSource,
    "4": MarkedSource, "5": MarkedSource, "6a": TemporalOrderSource, "6b": TemporalOrderSource,
}


def make_source(name: str, pool_rng: np.random.Generator | None = None, **options: Any) -> Source:
    """The source of task ``name`` (a key of :data:`SOURCES`) with the task's options."""
    cls = SOURCES[name]
    if cls is PoolSource:
        return PoolSource(name, pool_rng if pool_rng is not None else np.random.default_rng(0), **options)
    return cls(name, **options)


__all__ = ["SOURCES", "Source", "make_source"]
