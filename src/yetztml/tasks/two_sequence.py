"""Experiment 3 of Hochreiter & Schmidhuber (1997), §5.3: noise and signal on the same channel.

Bengio et al.'s (1994) "2-sequence problem": one input line, two classes with probability ½ each.

* The length L is uniform on the integers {T, …, T + ⌊T/10⌋} (both ends included).
* The first N elements carry the class: all +1.0 (class 1) or all −1.0 (class 2).
* Every later element is Gaussian noise with mean 0 and variance 0.2 (standard deviation √0.2).
* One output; the target, given at the last step only, depends on the variant:

==========  ==================================================  ===================================
variant     inputs                                               target at the end (class 1 / 2)
==========  ==================================================  ===================================
3a          information elements exactly ±1                      1.0 / 0.0
3b          noise N(0, 0.2) also added to the N information      1.0 / 0.0
            elements
3c          as 3a                                                0.2 / 0.8 plus target noise
                                                                 N(0, 0.1) (st. dev. √0.1 ≈ 0.32)
==========  ==================================================  ===================================

Success: 3a and 3b, |target − output| < 0.2 at the end (ABS(0.2)); 3c, |noise-free target − output|
≤ 0.1 at the end (a sequence is misclassified if the difference exceeds 0.1). ``info`` holds the class
(1 or 2) and the noise-free target.

Trivial baselines (best constant output at the end):

* 3a, 3b: the target is 0 or 1 with probability ½: MAE 0.5 (any constant in [0, 1]; ½ is used),
  MSE 0.25 at ½; the constant ½ is never within 0.2 of a target.
* 3c: the noisy target is d = c + ε, c ∈ {0.2, 0.8}, ε ~ N(0, 0.1). Median and mean are ½;
  MSE = 0.3² + 0.1 = 0.19; MAE = E|0.3 + ε| = σ√(2/π) e^{−μ²/2σ²} + μ(1 − 2Φ(−μ/σ)) ≈ 0.35805 with
  μ = 0.3, σ = √0.1 (the mean of a folded normal); ½ is 0.3 from either noise-free target, so never
  correct.

Worked example (T = 10, N = 3):

>>> s = TwoSequence("3a", T=10, N=3, seed=0).sample()
>>> s.length, s.info["class"], s.x[:4, 0].round(3).tolist(), s.targets[-1, 0], s.mask[-1]
(11, 2, [-1.0, -1.0, -1.0, -0.24], np.float64(0.0), np.True_)
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ..core.errors import OptionError, message
from ..core.validation import check_choice
from . import base
from .base import Baseline, Sample, Task, binary_unit_baseline, check_size, end_mask

#: Variance of the noise elements (and of the information-element noise in 3b).
NOISE_VARIANCE = 0.2
#: Variance of the target noise in 3c.
TARGET_NOISE_VARIANCE = 0.1
#: Targets for (class 1, class 2) per variant.
TARGETS = {"3a": (1.0, 0.0), "3b": (1.0, 0.0), "3c": (0.2, 0.8)}


class TwoSequence(Task):
    """Experiment 3a, 3b or 3c: classify a noisy sequence by its first N elements."""

    input_size = 1
    output_size = 1

    def __init__(
        self, variant: str = "3a", T: int = 100, N: int = 3, *, seed: int | np.random.Generator
    ) -> None:
        super().__init__(seed=seed)
        self.variant = str(check_choice("TwoSequence(variant)", variant, tuple(TARGETS)))
        self.name = self.variant
        self.section = f"Hochreiter & Schmidhuber 1997, §5.3 (Experiment {self.variant}: 2-sequence problem)"
        self.T = check_size("TwoSequence(T)", T, 1, "the minimal sequence length")
        self.N = check_size("TwoSequence(N)", N, 1, "the number of information elements")
        if self.N > self.T:
            raise OptionError(
                message(
                    "TwoSequence(N)",
                    f"at most T = {self.T} information elements",
                    self.N,
                    "Use N = 1 or 3 as in the paper.",
                )
            )
        self.tolerance = 0.1 if self.variant == "3c" else 0.2

    def options(self) -> dict[str, Any]:
        return {"variant": self.variant, "T": self.T, "N": self.N}

    def sample(self) -> Sample:
        T, N = self.T, self.N
        length = int(self.rng.integers(T, T + T // 10 + 1))  # L ∈ {T, …, T + ⌊T/10⌋}
        label = int(self.rng.integers(2))  # 0: class 1, 1: class 2
        x = self.rng.normal(0.0, math.sqrt(NOISE_VARIANCE), size=length)  # (L,)
        sign = 1.0 if label == 0 else -1.0
        x[:N] = sign + x[:N] if self.variant == "3b" else sign
        clean = TARGETS[self.variant][label]
        target = clean
        if self.variant == "3c":
            target = clean + float(self.rng.normal(0.0, math.sqrt(TARGET_NOISE_VARIANCE)))
        targets = np.zeros((length, 1))  # (L, K=1)
        targets[-1, 0] = target
        info = {"class": label + 1, "clean_target": clean, "target": target}
        return Sample(x=x[:, None], targets=targets, mask=end_mask(length), info=info)

    def correct(self, outputs: np.ndarray, sample: Sample) -> bool:
        """3a, 3b: |target − output| < 0.2 at the end; 3c: |noise-free target − output| ≤ 0.1."""
        outputs = self._check_outputs(outputs, sample)
        if self.variant == "3c":
            return bool(abs(sample.info["clean_target"] - outputs[-1, 0]) <= self.tolerance)
        return bool(abs(sample.targets[-1, 0] - outputs[-1, 0]) < self.tolerance)

    def baseline(self) -> Baseline:
        if self.variant != "3c":
            return binary_unit_baseline(np.full(1, 0.5), "target 0 or 1 w.p. 1/2")
        mu, sigma = 0.3, math.sqrt(TARGET_NOISE_VARIANCE)
        phi = 0.5 * (1.0 + math.erf((-mu / sigma) / math.sqrt(2.0)))  # Φ(−μ/σ)
        mae = sigma * math.sqrt(2.0 / math.pi) * math.exp(-mu * mu / (2 * sigma * sigma)) + mu * (1 - 2 * phi)
        return Baseline(
            mae_constant=(0.5,),
            mean_abs_error=mae,
            mse_constant=(0.5,),
            mean_squared_error=mu * mu + TARGET_NOISE_VARIANCE,
            fraction_correct=0.0,
            formula="d = 0.5 -/+ 0.3 + N(0, 0.1): MAE = E|N(0.3, 0.1)| (folded normal), MSE = 0.3^2 + 0.1",
        )


@numba.njit(cache=True)
def packed(rng, T, N, n, variant, sd, target_sd, t1, t2):
    """n samples of Exp 3a (variant 0), 3b (1), 3c (2), compiled, end to end: the draws of
    :meth:`TwoSequence.sample`. Returns x, targets, clean targets (S, 1), step marks (S,), starts (n + 1,).
    """
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
        flags[pos + L - 1] = base.TARGET_STEP | base.CRITERION_STEP
        pos += L
        starts[i + 1] = pos
    return x[:pos], tgt[:pos], ctgt[:pos], flags[:pos], starts
