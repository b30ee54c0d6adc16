"""Experiment 2 of Hochreiter & Schmidhuber (1997), §5.2: noise-free and noisy sequences, long lags.

Variants (symbols are one-hot; sequences read one symbol per step; indices 0-based):

**2a — noise-free, long lags.** p + 1 symbols a_1 … a_{p−1}, x = a_p, y = a_{p+1} (index of a_i is
i − 1, x is p − 1, y is p); p + 1 inputs and p + 1 outputs. The training set is exactly two
sequences, (y, a_1, …, a_{p−1}, y) and (x, a_1, …, a_{p−1}, x), each drawn with probability ½. The net
predicts the next symbol at every step: inputs are the first p symbols, targets the last p, the error
is injected at every step. Success (ABS(0.25)): every output's |error| < 0.25 at every step (every
next symbol is predictable once the first one is seen).

**2b — no local regularities.** As 2a, but the middle is a random string of length p − 1 over
a_1 … a_{p−1} (uniform, independent). Every next symbol is still a target (error at every step, as
the paper says "every next sequence element has to be predicted"), but only the final x / y is
predictable, so success (ABS(0.25)) is checked at the last step only. ``end_error_only=True`` reads
2b the other way: the error is injected at the last step only (the paper's 2b text names no error
at the random middle steps; docs/reproduction.md, Exp 2b). The sequences are the same either way.

**2c — very long lags, many distractors.** p + 4 symbols: distractors a_1 … a_p (indices 0 … p − 1),
e (p), b (p + 1), x (p + 2), y (p + 3); p + 4 inputs and 2 outputs (x, y). A sequence is
b, x|y, q distractors, then distractors appended one by one, each with probability 9/10, until an e
(probability 1/10), then the x|y of position 2. Distractor indices are uniform over all p of them
(the printed "1 ≤ i ≤ q" is a typo for p; spec §8). The inputs are every symbol but the last; the
target, given at the last step (input e) only, is the one-hot x|y. Success (ABS(0.2)): both outputs'
|error| < 0.2 at the end.

Length of a 2c sequence (symbols, final x|y included) is q + 4 + K with K ~ Geometric(1/10) on
{0, 1, …}, so the minimum is q + 4 and the mean is 4 + Σ_k (1/10)(9/10)^k (q + k) = q + 4 + 9 =
**q + 13**. The paper prints q + 14 (and (q + 10)/p occurrences per distractor), which would need
E[K] = 10; the generation procedure and the minimum q + 4 it also states give E[K] = 9. The number of
input steps is the length minus one (mean q + 12).

Trivial baselines (best constant output, errors per output unit):

* 2a and 2b: pooled over all p error steps, a_i is the target on a fraction 1/p of the steps, x and y
  on 1/(2p) each. For 0/1 targets the best constant is the per-unit mean f (MSE f(1 − f)) or median
  (MAE min(f, 1 − f)), so MSE = (1 − (p − 1)/p² − 1/(2p²))/(p + 1) and MAE = 1/(p + 1) (constant 0);
  no constant passes ABS(0.25).
* 2c: each output is 1 with probability ½: MAE 0.5 (constant ½), MSE 0.25; no constant passes.

Worked examples. 2a with p = 4 (a_1, a_2, a_3 = 0, 1, 2; x = 3; y = 4): the sequence
(y, a_1, a_2, a_3, y), inputs its first four symbols, targets its last four:

>>> s = LongLag("2a", p=4, seed=0).sample()
>>> s.x.argmax(1).tolist(), s.targets.argmax(1).tolist(), s.mask.all()
([4, 0, 1, 2], [0, 1, 2, 4], np.True_)

2c with p = 3, q = 2 (a_1 … a_3 = 0, 1, 2; e = 3; b = 4; x = 5; y = 6): b, x, a_2, a_3, then two more
distractors a_3, a_1, then e; the target at the e step is x:

>>> s = LongLag("2c", p=3, q=2, seed=1).sample()
>>> s.x.argmax(1).tolist(), s.targets[-1].tolist(), s.mask.nonzero()[0].tolist(), s.info["sequence_length"]
([4, 5, 1, 2, 2, 0, 3], [1.0, 0.0], [6], 8)
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..core.errors import OptionError, message
from ..core.validation import check_choice
from . import base
from .base import Baseline, Sample, Task, binary_unit_baseline, check_size, end_mask, one_hot

#: Probability of appending one more distractor in 2c (the paper's 9/10; spec §8 erratum 3).
CONTINUE = 0.9

_SECTION = "Hochreiter & Schmidhuber 1997, §5.2 (Experiment 2{}: {})"
_TITLES = {
    "2a": "noise-free sequences with long lags",
    "2b": "no local regularities",
    "2c": "very long lags, many distractors",
}


class LongLag(Task):
    """Experiment 2a, 2b or 2c: remember the second (2c) or first (2a, 2b) symbol across p or q steps."""

    def __init__(
        self, variant: str = "2a", p: int = 100, q: int | None = None, *, seed: int | np.random.Generator,
        end_error_only: bool = False,
    ) -> None:
        super().__init__(seed=seed)
        self.variant = str(check_choice("LongLag(variant)", variant, ("2a", "2b", "2c")))
        if end_error_only and self.variant != "2b":
            raise OptionError(message("LongLag(end_error_only)", "False for variant " + repr(self.variant),
                                      end_error_only, "Only 2b has a choice of error steps."))
        self.end_error_only = bool(end_error_only)
        self.name = self.variant
        self.section = _SECTION.format(self.variant[1], _TITLES[self.variant])
        if self.variant == "2c":
            self.p = check_size("LongLag(p)", p, 1, "the number of distractor symbols")
            if q is None:
                raise OptionError(
                    message(
                        "LongLag(q)",
                        "an integer >= 0 for variant '2c'",
                        None,
                        "Pass q, the number of distractors before the random tail.",
                    )
                )
            self.q = check_size("LongLag(q)", q, 0, "the number of distractors before the random tail")
            self.input_size, self.output_size, self.tolerance = self.p + 4, 2, 0.2
        else:
            self.p = check_size("LongLag(p)", p, 2, "the lag; a_1 … a_{p−1} must not be empty")
            if q is not None:
                raise OptionError(
                    message(
                        "LongLag(q)",
                        f"None for variant {self.variant!r}",
                        q,
                        "q belongs to variant '2c' only.",
                    )
                )
            self.q = None
            self.input_size = self.output_size = self.p + 1
            self.tolerance = 0.25

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"variant": self.variant, "p": self.p}
        if self.q is not None:
            opts["q"] = self.q
        if self.end_error_only:
            opts["end_error_only"] = True
        return opts

    @property
    def minimal_lag(self) -> int:
        """Steps from the relevant symbol to the step whose target needs it: p (2a, 2b), q + 1 (2c)."""
        return self.q + 1 if self.variant == "2c" else self.p

    @property
    def expected_length(self) -> float:
        """Mean number of symbols of a sequence, final one included: p + 1 (2a, 2b), q + 13 (2c)."""
        if self.variant == "2c":
            return self.q + 4 + CONTINUE / (1.0 - CONTINUE)
        return float(self.p + 1)

    def sample(self) -> Sample:
        if self.variant == "2c":
            return self._sample_2c()
        p = self.p
        label = int(self.rng.integers(2))  # 0: x, 1: y
        first = p - 1 + label
        if self.variant == "2a":
            middle = np.arange(p - 1)  # a_1 … a_{p−1}
        else:
            middle = self.rng.integers(0, p - 1, size=p - 1)  # random string over a_1 … a_{p−1}
        symbols = np.concatenate([[first], middle, [first]])  # (p + 1,)
        x = one_hot(symbols[:-1], p + 1)  # (T = p, I = p + 1)
        targets = one_hot(symbols[1:], p + 1)  # (T, K = p + 1)
        info = {"class": label, "label": "xy"[label]}
        mask = end_mask(p) if self.end_error_only else np.ones(p, dtype=bool)
        return Sample(x=x, targets=targets, mask=mask, info=info)

    def _sample_2c(self) -> Sample:
        p, q = self.p, self.q
        label = int(self.rng.integers(2))  # 0: x, 1: y
        extra = int(self.rng.geometric(1.0 - CONTINUE)) - 1  # distractors appended before e: K ≥ 0
        distractors = self.rng.integers(0, p, size=q + extra)  # a_1 … a_p, uniform
        symbols = np.concatenate([[p + 1, p + 2 + label], distractors, [p]])  # b, x|y, a…a, e
        length = len(symbols)  # input steps; the sequence has one more symbol, the final x|y
        targets = np.zeros((length, 2))  # (T, K = 2)
        targets[-1, label] = 1.0
        info = {"class": label, "label": "xy"[label], "extra": extra, "sequence_length": length + 1}
        return Sample(x=one_hot(symbols, p + 4), targets=targets, mask=end_mask(length), info=info)

    def criterion_steps(self, sample: Sample) -> np.ndarray:
        """2a: every step; 2b and 2c: the last step."""
        return sample.mask if self.variant == "2a" else end_mask(sample.length)

    def baseline(self) -> Baseline:
        if self.variant == "2c":
            return binary_unit_baseline(np.full(2, 0.5), "each output is 1 w.p. 1/2 at the end")
        p = self.p
        freq = np.concatenate([np.full(p - 1, 1.0 / p), np.full(2, 0.5 / p)])
        return binary_unit_baseline(
            freq, "pooled over the p steps: a_i is the target w.p. 1/p, x and y w.p. 1/(2p) each"
        )


@numba.njit(cache=True)
def packed_2c(rng, p, q, n, pcont):
    """n samples of Exp 2c, compiled, end to end: the draws of :meth:`LongLag.sample` (a_1…a_p = 0…p−1,
    e = p, b = p+1, x, y). Returns input indices (S,), targets (S, 2), step marks (S,), starts (n + 1,).
    """
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
        flags[pos + L - 1] = base.TARGET_STEP | base.CRITERION_STEP
        pos += L
        starts[i + 1] = pos
    return index[:pos], tgt[:pos], flags[:pos], starts


@numba.njit(cache=True)
def packed_2b(rng, p, n, end_only):
    """n samples of Exp 2b, compiled, end to end: the draws of :meth:`LongLag.sample`; a target at every
    step (at the last only if ``end_only``), the criterion at the last. Returns input indices (S,),
    targets (S, p + 1), step marks (S,), starts (n + 1,).
    """
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
            flags[pos + t] = 0 if end_only else base.TARGET_STEP
        flags[pos + p - 1] = base.TARGET_STEP | base.CRITERION_STEP
        pos += p
        starts[i + 1] = pos
    return index, tgt, flags, starts
