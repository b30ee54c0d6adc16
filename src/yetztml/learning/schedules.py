"""Learning-rate schedules: the rate of each weight update as a function of the training clock.

A schedule maps the base rate α₀ (the optimiser's ``lr`` when training starts) and a :class:`Clock` to
the rate of the next update:

    (S1)  constant                    α = α₀
    (S2)  decay_per_step(f)           α = α₀ fᵘ    u = updates already made in the current sequence
                                                    (Gers et al. 2000 "sequential α decay": f = 0.99 per
                                                    time step with one update per step, reset per stream)
    (S3)  decay_per_step(f, reset_per_sequence=False)
                                      α = α₀ fⁿ    n = updates already made in the whole run
    (S4)  decay_per_sequence(f)       α = α₀ fˢ    s = sequences completed before this update

With one update per sequence or per batch (``update="sequence"`` / ``"batch"``) u is always 0, so (S2)
equals (S1); it takes effect once several updates happen within one sequence (per-time-step updates).
Schedules hold no state of their own: everything they read is in the clock, which checkpoints save.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..core.validation import check_float


@dataclass
class Clock:
    """Counters of a training run (all start at 0).

    ``step``: training steps completed (one per item drawn from the data source);
    ``updates``: weight updates made; ``sequences``: sequences completed (a batch of B counts B);
    ``updates_in_sequence``: updates made since the current sequence (stream) began.
    """

    step: int = 0
    updates: int = 0
    sequences: int = 0
    updates_in_sequence: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Constant:
    """(S1) α = α₀."""

    def __call__(self, base_lr: float, clock: Clock) -> float:
        return base_lr


@dataclass(frozen=True)
class DecayPerStep:
    """(S2)/(S3) α = α₀ · factor^(updates in the current sequence, or in the run)."""

    factor: float
    reset_per_sequence: bool = True

    def __call__(self, base_lr: float, clock: Clock) -> float:
        count = clock.updates_in_sequence if self.reset_per_sequence else clock.updates
        return base_lr * self.factor**count  # (S2) / (S3)


@dataclass(frozen=True)
class DecayPerSequence:
    """(S4) α = α₀ · factor^(sequences completed)."""

    factor: float

    def __call__(self, base_lr: float, clock: Clock) -> float:
        return base_lr * self.factor**clock.sequences  # (S4)


def constant() -> Constant:
    """The default schedule: the base learning rate throughout."""
    return Constant()


def decay_per_step(factor: float, reset_per_sequence: bool = True) -> DecayPerStep:
    """Multiply the rate by ``factor`` after every update, restarting at α₀ with each sequence (stream)."""
    factor = check_float("decay_per_step(factor)", factor, minimum=0.0, maximum=1.0, strict_minimum=True)
    return DecayPerStep(factor, bool(reset_per_sequence))


def decay_per_sequence(factor: float) -> DecayPerSequence:
    """Multiply the rate by ``factor`` after every completed sequence."""
    factor = check_float("decay_per_sequence(factor)", factor, minimum=0.0, maximum=1.0, strict_minimum=True)
    return DecayPerSequence(factor)
