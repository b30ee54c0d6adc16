"""Data sources of the 1997 reproductions: the tasks' compiled generators, packed for the online kernel.

Online learning presents hundreds of thousands of fresh sequences per trial (Table 11 "t3"); drawing
them one :class:`~yetztml.tasks.Sample` at a time would cost more than training on them. Each task's
module has a compiled ``packed`` generator that repeats its ``sample()`` — the same calls on the same
``numpy.random.Generator`` in the same order, so a source and its task, seeded alike, give identical
sequences (tests compare them for every task). A source here calls it and wraps the arrays as a
:class:`~yetztml.learning.online1997_fast.Packed` set: inputs (dense, or one-hot as the index of the
active unit), targets, criterion targets, step flags (error / criterion), offsets.

Tasks with a fixed set of strings (Exp 1's 256 training strings; Exp 2a's two sequences) are packed
once; their sources draw the order in which the strings are presented (:func:`yetztml.tasks.base.draw_order`).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np

from ...learning.online1997_fast import Packed, pack
from ...tasks import Task, adding, longlag, make_task, temporal_order, two_sequence
from ...tasks.base import draw_order
from ...tasks.longlag import CONTINUE
from ...tasks.temporal_order import LENGTHS, WINDOWS
from ...tasks.two_sequence import NOISE_VARIANCE, TARGET_NOISE_VARIANCE, TARGETS


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
        x, tgt, flags, starts = adding.packed(rng, int(self.options.get("T", 100)), n, self.name == "5")
        return _packed(x, np.zeros(0, np.int64), tgt, tgt, flags, starts), None


class TwoSequenceSource(Source):
    """Exp 3a, 3b, 3c."""

    def chunk(self, rng, n):
        variant = {"3a": 0, "3b": 1, "3c": 2}[self.name]
        t1, t2 = TARGETS[self.name]
        x, tgt, ctgt, flags, starts = two_sequence.packed(
            rng, int(self.options.get("T", 100)), int(self.options.get("N", 3)), n, variant,
            math.sqrt(NOISE_VARIANCE), math.sqrt(TARGET_NOISE_VARIANCE), t1, t2,
        )
        return _packed(x, np.zeros(0, np.int64), tgt, ctgt, flags, starts), None


class TemporalOrderSource(Source):
    """Exp 6a, 6b."""

    onehot = True

    def chunk(self, rng, n):
        windows = np.array(WINDOWS[self.name], dtype=np.int64)
        index, tgt, flags, starts = temporal_order.packed(rng, n, windows, LENGTHS[0], LENGTHS[1])
        return _packed(np.zeros((0, self.input_size)), index, tgt, tgt, flags, starts), None


class LongLagSource(Source):
    """Exp 2b and 2c (fresh sequences)."""

    onehot = True

    def chunk(self, rng, n):
        p = int(self.options["p"])
        if self.name == "2c":
            index, tgt, flags, starts = longlag.packed_2c(rng, p, int(self.options["q"]), n, CONTINUE)
        else:
            index, tgt, flags, starts = longlag.packed_2b(rng, p, n, bool(self.options.get("end_error_only", False)))
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
        return self.pool, draw_order(rng, self.pool.count, n)


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
