"""Experiment 4 of Hochreiter & Schmidhuber (1997), §5.4: the adding problem.

Each step presents a pair (value, marker): the value is uniform in [−1, 1], the marker is 1.0, 0.0 or
−1.0. Two pairs are marked 1.0 and the net must output, at the sequence end only,

    target = 0.5 + (X1 + X2) / 4                                   (the sum mapped into [0, 1])

where X1, X2 are the values of the two marked pairs. Generation, with L the length and h = ⌊T/2⌋
(0-based positions):

1. L is uniform on the integers {T, …, T + ⌊T/10⌋} (both ends included).
2. X1's pair p1 is uniform among the first 10 pairs, {0, …, 9}.
3. X2's pair p2 is uniform among the first h − 1 *still unmarked* pairs, i.e. among {0, …, h − 1}
   without p1 (read literally: h − 1 candidates, the last at position h − 1).
4. The first and the last pair get marker −1 unless already marked; every other pair gets 0.
5. If the first pair is X1's pair (p1 = 0), X1 is set to 0 (its value in the input too). The rule names
   X1 only, so X2's value is kept when X2 falls on the first pair.

Minimal lag: the last mark is at position ≤ h − 1 and the sequence ends at position ≥ T − 1, so the lag
from the last mark to the end is at least T − h = ⌈T/2⌉ (T/2 for even T, as the paper states). T must be
at least 20 so that p1 ≤ 9 ≤ h − 1 lies in the range of step 3.

Success: |target − output| < 0.04 at the last step (Table 11, ABS(0.04)).

Trivial baseline (best constant output): the target's median and mean are both 0.5. With probability
9/10, X1 and X2 are independent U[−1, 1], so S = X1 + X2 has the triangular density (2 − |s|)/4 on
[−2, 2] with E|S| = 2/3, E[S²] = 2/3 and P(|S| < a) = a − a²/4; with probability 1/10, X1 = 0 and
S = X2 with E|S| = 1/2, E[S²] = 1/3, P(|S| < a) = a. Hence, with a = 4 · 0.04 = 0.16:

    MAE = (9/10)(1/6) + (1/10)(1/8) = 0.1625
    MSE = (9/10 · 2/3 + 1/10 · 1/3) / 16 = 19/480 ≈ 0.03958
    fraction correct = (9/10)(a − a²/4) + (1/10) a = 0.15424

(the often quoted 1/6 ignores the X1 = 0 rule).

Worked example (T = 20, so L ∈ {20, 21, 22} and X2 lies in the first 10 pairs):

>>> task = Adding(T=20, seed=0)
>>> s = task.sample()
>>> s.x.shape, s.targets.shape, s.mask.nonzero()[0]
((22, 2), (22, 1), array([21]))
>>> s.info["positions"], s.x[:, 1].astype(int).tolist()
((6, 4), [-1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1])
>>> round(s.info["X1"], 4), round(s.info["X2"], 4), round(float(s.targets[-1, 0]), 4)
(0.459, 0.8255, 0.8211)
>>> bool(s.x[6, 0] == s.info["X1"]), bool(s.targets[-1, 0] == 0.5 + (s.info["X1"] + s.info["X2"]) / 4)
(True, True)
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from . import base
from .base import Baseline, Sample, Task, check_size, end_mask

#: X1's pair is uniform among the first this many pairs.
FIRST_MARK_RANGE = 10


class Adding(Task):
    """The adding problem (1997 Exp 4): inputs (value, marker), one output at the end."""

    name = "4"
    section = "Hochreiter & Schmidhuber 1997, §5.4 (Experiment 4: adding problem)"
    tolerance = 0.04
    input_size = 2
    output_size = 1
    #: X1 when X1's pair is the first pair.
    first_value = 0.0

    def __init__(self, T: int = 100, *, seed: int | np.random.Generator) -> None:
        super().__init__(seed=seed)
        self.T = check_size(
            f"{type(self).__name__}(T)", T, 20, "both marks must fall in the first ⌊T/2⌋ pairs"
        )

    def options(self) -> dict[str, Any]:
        return {"T": self.T}

    @property
    def minimal_lag(self) -> int:
        """Fewest steps from the last marked pair to the sequence end: T − ⌊T/2⌋."""
        return self.T - self.T // 2

    def _values(self, n: int) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=n)

    def _target(self, x1: float, x2: float) -> float:
        return 0.5 + (x1 + x2) / 4.0

    def sample(self) -> Sample:
        T, half = self.T, self.T // 2
        length = int(self.rng.integers(T, T + T // 10 + 1))  # L ∈ {T, …, T + ⌊T/10⌋}
        values = self._values(length)  # (L,)
        p1 = int(self.rng.integers(FIRST_MARK_RANGE))  # one of the first 10 pairs
        k = int(self.rng.integers(half - 1))  # one of the first h − 1 still unmarked pairs
        p2 = k + (k >= p1)  # skip X1's pair: candidates {0, …, h − 1} \ {p1}
        markers = np.zeros(length)  # (L,)
        markers[[0, -1]] = -1.0
        markers[[p1, p2]] = 1.0
        if p1 == 0:
            values[0] = self.first_value
        x1, x2 = float(values[p1]), float(values[p2])
        target = self._target(x1, x2)
        targets = np.zeros((length, 1))  # (L, K=1)
        targets[-1, 0] = target
        x = np.stack([values, markers], axis=1)  # (L, I=2)
        info = {"positions": (p1, p2), "X1": x1, "X2": x2, "target": target}
        return Sample(x=x, targets=targets, mask=end_mask(length), info=info)

    def baseline(self) -> Baseline:
        a = 4.0 * self.tolerance  # |target − 0.5| < tol  ⇔  |X1 + X2| < 4 tol
        p0 = 1.0 / FIRST_MARK_RANGE  # P(X1's pair is the first pair, X1 = 0)
        return Baseline(
            mae_constant=(0.5,),
            mean_abs_error=((1 - p0) * (2 / 3) + p0 * (1 / 2)) / 4,
            mse_constant=(0.5,),
            mean_squared_error=((1 - p0) * (2 / 3) + p0 * (1 / 3)) / 16,
            fraction_correct=(1 - p0) * (a - a * a / 4) + p0 * a,
            formula=(
                "constant 0.5; S = X1 + X2 triangular on [-2, 2] w.p. 9/10, S = X2 ~ U[-1, 1] w.p. 1/10; "
                "MAE = E|S|/4 = (9/10)(2/3)/4 + (1/10)(1/2)/4; MSE = E[S^2]/16; "
                "P(correct) = P(|S| < 4*0.04)"
            ),
        )


@numba.njit(cache=True)
def packed(rng, T, n, multiply):
    """n samples of Exp 4 (adding) or, with ``multiply``, 5 (multiplication), compiled, end to end.

    The same draws as :meth:`Adding.sample` / :meth:`~yetztml.tasks.Multiplication.sample` on the same
    generator. Returns x (S, 2), targets (S, 1), step marks (S,) uint8 and starts (n + 1,).
    """
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
        flags[pos + L - 1] = base.TARGET_STEP | base.CRITERION_STEP
        pos += L
        starts[i + 1] = pos
    return x[:pos], tgt[:pos], flags[:pos], starts
