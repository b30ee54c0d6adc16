"""Experiment 6 of Hochreiter & Schmidhuber (1997), §5.6: temporal order.

Symbols E, B, a, b, c, d, X, Y, one-hot in that order (indices 0 … 7); 8 inputs. Positions below are
1-based (position 1 is the first symbol) and every range includes both ends.

* The length L is uniform on {100, …, 110}. Position 1 is E, position L is the trigger B.
* The relevant positions hold X or Y (each with probability ½, independently):
  6a: t1 ∈ {10, …, 20}, t2 ∈ {50, …, 60};
  6b: t1 ∈ {10, …, 20}, t2 ∈ {33, …, 43}, t3 ∈ {66, …, 76}.
* Every other position holds a, b, c or d, uniformly.
* The class is the order of the relevant symbols, read as a binary number with X = 0, Y = 1:
  6a: (X,X)→Q, (X,Y)→R, (Y,X)→S, (Y,Y)→U (4 outputs);
  6b: (X,X,X)→Q, (X,X,Y)→R, (X,Y,X)→S, (X,Y,Y)→U, (Y,X,X)→V, (Y,X,Y)→A, (Y,Y,X)→B, (Y,Y,Y)→C (8 outputs).
* The target, given at the last step only (input B), is the one-hot class.

Minimal lag from the last relevant symbol to the end: 100 − 60 = 40 (6a), 100 − 76 = 24 (6b).

Success: every output's |error| < 0.3 at the end (ABS(0.3)).

Trivial baseline (best constant output): each output unit is 1 with probability 1/C (C = 4 or 8
classes, all equally likely). Per unit the median is 0, so MAE = 1/C; the mean is 1/C, so
MSE = (1/C)(1 − 1/C) (3/16 for 6a, 7/64 for 6b). The constant 0 misses the class unit by 1: never
correct.

Worked example:

>>> s = TemporalOrder("6a", seed=0).sample()
>>> s.length, s.info["positions"], s.info["relevant"], s.info["class_name"], s.targets[-1].tolist()
(109, (17, 55), 'XX', 'Q', [1.0, 0.0, 0.0, 0.0])
>>> text = "".join(SYMBOLS[i] for i in s.x.argmax(1))
>>> text[:20], text[17 - 1], text[55 - 1], text[-1]
('EaaadcdccdccccdbXcab', 'X', 'X', 'B')
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..core.validation import check_choice
from . import base
from .base import Baseline, Sample, Task, binary_unit_baseline, end_mask, one_hot

SYMBOLS = "EBabcdXY"
#: Sequence lengths, inclusive.
LENGTHS = (100, 110)
#: Windows of the relevant positions (1-based, inclusive) per variant.
WINDOWS = {"6a": ((10, 20), (50, 60)), "6b": ((10, 20), (33, 43), (66, 76))}
#: Class names in class-index order.
CLASS_NAMES = {"6a": "QRSU", "6b": "QRSUVABC"}

_E, _B, _A, _X = 0, 1, 2, 6


class TemporalOrder(Task):
    """Experiment 6a or 6b: classify the order of 2 or 3 widely separated symbols X / Y."""

    input_size = len(SYMBOLS)
    tolerance = 0.3

    def __init__(self, variant: str = "6a", *, seed: int | np.random.Generator) -> None:
        super().__init__(seed=seed)
        self.variant = str(check_choice("TemporalOrder(variant)", variant, tuple(WINDOWS)))
        self.name = self.variant
        self.section = f"Hochreiter & Schmidhuber 1997, §5.6 (Experiment {self.variant}: temporal order)"
        self.windows = WINDOWS[self.variant]
        self.output_size = len(CLASS_NAMES[self.variant])

    def options(self) -> dict[str, Any]:
        return {"variant": self.variant}

    @property
    def minimal_lag(self) -> int:
        """Fewest steps from the last relevant symbol to the trigger B at the end."""
        return LENGTHS[0] - self.windows[-1][1]

    def sample(self) -> Sample:
        length = int(self.rng.integers(LENGTHS[0], LENGTHS[1] + 1))
        positions = tuple(int(self.rng.integers(lo, hi + 1)) for lo, hi in self.windows)  # 1-based
        bits = self.rng.integers(0, 2, size=len(positions))  # 0: X, 1: Y
        symbols = self.rng.integers(_A, _A + 4, size=length)  # a, b, c, d
        symbols[0], symbols[-1] = _E, _B
        symbols[np.array(positions) - 1] = _X + bits
        label = int(bits @ (1 << np.arange(len(bits) - 1, -1, -1)))  # binary, first symbol most significant
        targets = np.zeros((length, self.output_size))  # (L, K)
        targets[-1, label] = 1.0
        info = {
            "class": label,
            "class_name": CLASS_NAMES[self.variant][label],
            "positions": positions,
            "relevant": "".join("XY"[b] for b in bits),
        }
        return Sample(x=one_hot(symbols, len(SYMBOLS)), targets=targets, mask=end_mask(length), info=info)

    def baseline(self) -> Baseline:
        c = self.output_size
        return binary_unit_baseline(np.full(c, 1.0 / c), f"each output is 1 w.p. 1/{c} at the end")


@numba.njit(cache=True)
def packed(rng, n, windows, lo, hi):
    """n samples of Exp 6a / 6b, compiled, end to end: the draws of :meth:`TemporalOrder.sample`
    (symbols E B a b c d X Y = 0 … 7). Returns input indices (S,), targets (S, 2^k), step marks, starts.
    """
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
        flags[pos + L - 1] = base.TARGET_STEP | base.CRITERION_STEP
        pos += L
        starts[i + 1] = pos
    return index[:pos], tgt[:pos], flags[:pos], starts
