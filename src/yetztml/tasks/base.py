"""The protocol every task follows: one sample, a padded batch, the paper's success criterion.

A task draws sequences from its own ``numpy.random.Generator``::

    task = yetztml.tasks.Adding(T=100, seed=0)
    s = task.sample()          # s.x: (T, I), s.targets: (T, K), s.mask: (T,), s.info: dict
    b = task.batch(32)         # b.x: (T, B, I) time-major, zero-padded; b.mask False on padding
    task.correct(outputs, s)   # outputs: (T, K) for the whole sequence -> the paper's criterion

* ``mask[t]`` is True at the steps where an error is injected (every step for next-symbol prediction,
  only the last step for the tasks whose error is given at the sequence end).
* ``correct`` reads the outputs of the whole sequence and checks the paper's criterion at the steps the
  criterion names (by default the masked steps; see each task).
* ``baseline()`` states the error of the best *constant* predictor, derived in closed form;
  :func:`constant_errors` measures the same numbers by simulation, and the tests compare the two.
* ``get_state()`` / ``set_state(state)`` save and restore everything random about the task (a plain,
  JSON-able dict), so a resumed run sees the same data.

Shapes: ``T`` time, ``B`` batch, ``I`` inputs, ``K`` outputs.
"""

from __future__ import annotations

import abc
import copy
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from ..core.errors import CheckpointError, OptionError, message
from ..core.rng import make_rng
from ..core.validation import check_array, check_int


@dataclass(frozen=True)
class Sample:
    """One sequence: inputs, targets, where the error is injected, and what generated it."""

    x: np.ndarray  # (T, I) float64
    targets: np.ndarray  # (T, K) float64
    mask: np.ndarray  # (T,) bool: error injected at step t
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """Number of time steps T."""
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Batch:
    """``B`` samples padded to the longest, time-major; padding has zero inputs and mask False."""

    x: np.ndarray  # (T, B, I) float64
    targets: np.ndarray  # (T, B, K) float64
    mask: np.ndarray  # (T, B) bool
    lengths: np.ndarray  # (B,) int64
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class Baseline:
    """The best constant predictor, derived: what a network with no memory of the input can reach.

    Errors are means over the error-injection steps and the output units, pooled over sequences
    (a sequence with more error steps weighs more). ``fraction_correct`` is the fraction of sequences
    the paper's criterion accepts when the output is ``mae_constant`` at every step.
    """

    mae_constant: tuple[float, ...]  # (K,) per-unit median of the targets
    mean_abs_error: float
    mse_constant: tuple[float, ...]  # (K,) per-unit mean of the targets
    mean_squared_error: float
    fraction_correct: float
    formula: str


def check_size(thing: str, value: object, minimum: int, why: str) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``; the message says ``why``."""
    value = check_int(thing, value)
    if value < minimum:
        raise OptionError(message(thing, f"an integer >= {minimum} ({why})", value))
    return value


def one_hot(indices: np.ndarray, size: int) -> np.ndarray:
    """(T,) integer symbol indices -> (T, size) float64 one-hot rows."""
    out = np.zeros((len(indices), size), dtype=np.float64)
    out[np.arange(len(indices)), indices] = 1.0
    return out


def end_mask(length: int) -> np.ndarray:
    """(T,) mask with only the last step set: error injected at the sequence end."""
    mask = np.zeros(length, dtype=bool)
    mask[-1] = True
    return mask


#: Step marks of the compiled generators (each task's ``packed``), bits of one uint8 per step: the step has
#: a target (``mask[t]``), and the success criterion reads it (``criterion_steps``). The same bits as the
#: online kernel's ``ERROR`` and ``CRITERION`` (:mod:`yetztml.learning.online1997_kernel`).
TARGET_STEP = 1
CRITERION_STEP = 2


@numba.njit(cache=True)
def draw_order(rng, size, n):
    """n draws of ``rng.integers(size)``, compiled: the order in which a task that picks one of ``size``
    fixed strings per sample (Exp 1's training set, Exp 2a's two sequences) presents them."""
    order = np.zeros(n, np.int64)
    for i in range(n):
        order[i] = rng.integers(0, size)
    return order


def binary_unit_baseline(freq: np.ndarray, formula: str, fraction_correct: float = 0.0) -> Baseline:
    """Baseline for 0/1 targets with pooled per-unit frequencies ``freq`` (K,).

    Per unit, the best constant under squared error is the mean f (error f(1 − f)); under absolute
    error it is the median, 0 if f < ½ else 1 (½ on a tie), with error min(f, 1 − f).
    """
    freq = np.asarray(freq, dtype=np.float64)
    median = np.where(freq < 0.5, 0.0, np.where(freq > 0.5, 1.0, 0.5))
    return Baseline(
        mae_constant=tuple(float(m) for m in median),
        mean_abs_error=float(np.mean(np.minimum(freq, 1.0 - freq))),
        mse_constant=tuple(float(f) for f in freq),
        mean_squared_error=float(np.mean(freq * (1.0 - freq))),
        fraction_correct=float(fraction_correct),
        formula=formula,
    )


class Task(abc.ABC):
    """Base class: owns the random generator, batches samples, checks outputs, saves state."""

    #: Registry key (the paper's experiment id, e.g. ``"4"`` or ``"2c"``); variants set it per instance.
    name: str = "task"
    #: Where the task is defined.
    section: str = ""
    #: Maximal absolute error allowed per output unit at the criterion steps (``ABS(β)`` of Table 11).
    tolerance: float = 0.0

    input_size: int
    output_size: int

    def __init__(self, *, seed: int | np.random.Generator) -> None:
        self.rng = make_rng(seed)

    @abc.abstractmethod
    def sample(self) -> Sample:
        """Draw one sequence."""

    @abc.abstractmethod
    def baseline(self) -> Baseline:
        """The best constant predictor's errors, derived in closed form."""

    def options(self) -> dict[str, Any]:
        """The constructor arguments (except the seed) that define this task; JSON-able."""
        return {}

    def describe(self) -> dict[str, Any]:
        """JSON-able description: name, paper section, sizes, options."""
        return {
            "name": self.name,
            "section": self.section,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "options": self.options(),
        }

    def batch(self, n: int) -> Batch:
        """Draw ``n`` samples and pad them to the longest: x (T, B, I), targets (T, B, K), mask (T, B)."""
        n = check_int(f"{type(self).__name__}.batch(n)", n, minimum=1)
        samples = tuple(self.sample() for _ in range(n))
        lengths = np.array([s.length for s in samples], dtype=np.int64)
        t_max = int(lengths.max())
        x = np.zeros((t_max, n, self.input_size), dtype=np.float64)  # (T, B, I)
        targets = np.zeros((t_max, n, self.output_size), dtype=np.float64)  # (T, B, K)
        mask = np.zeros((t_max, n), dtype=bool)  # (T, B)
        for b, s in enumerate(samples):
            x[: s.length, b] = s.x
            targets[: s.length, b] = s.targets
            mask[: s.length, b] = s.mask
        return Batch(x=x, targets=targets, mask=mask, lengths=lengths, samples=samples)

    def criterion_steps(self, sample: Sample) -> np.ndarray:
        """(T,) bool: the steps at which :meth:`correct` applies the criterion (default: the mask)."""
        return sample.mask

    def correct(self, outputs: np.ndarray, sample: Sample) -> bool:
        """The paper's criterion: every output's |target − output| < ``tolerance`` at the criterion steps.

        ``outputs`` is the network's (T, K) output over the whole sequence.
        """
        outputs = self._check_outputs(outputs, sample)
        steps = self.criterion_steps(sample)
        return bool(np.all(np.abs(sample.targets[steps] - outputs[steps]) < self.tolerance))

    def correct_batch(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        """(B,) bool: :meth:`correct` for each sample of ``batch``; ``outputs`` is (T, B, K) time-major."""
        thing = f"{type(self).__name__}.correct_batch(outputs)"
        shape = (batch.x.shape[0], len(batch.samples), self.output_size)
        outputs = check_array(thing, outputs, shape=shape, names="(T, B, K)")
        return np.array(
            [self.correct(outputs[: s.length, b], s) for b, s in enumerate(batch.samples)], dtype=bool
        )

    def _check_outputs(self, outputs: np.ndarray, sample: Sample) -> np.ndarray:
        thing = f"{type(self).__name__}.correct(outputs)"
        return check_array(thing, outputs, shape=(sample.length, self.output_size), names="(T, K)")

    def get_state(self) -> dict[str, Any]:
        """Everything random about the task as a JSON-able dict (the generator's bit state)."""
        return {"task": self.name, "rng": copy.deepcopy(self.rng.bit_generator.state)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`get_state`; the next samples repeat those drawn after saving."""
        thing = f"{type(self).__name__}.set_state(state)"
        if not isinstance(state, dict) or "rng" not in state:
            raise CheckpointError(
                message(thing, "a dict from get_state() with key 'rng'", type(state).__name__)
            )
        if state.get("task") != self.name:
            raise CheckpointError(
                message(thing, f"a state saved by task {self.name!r}", f"task {state.get('task')!r}")
            )
        try:
            self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        except (TypeError, ValueError, KeyError) as err:
            raise CheckpointError(
                message(thing, f"the state of a {type(self.rng.bit_generator).__name__} generator", err)
            ) from err


def constant_errors(task: Task, constant: np.ndarray, n: int) -> dict[str, float]:
    """Measure a constant predictor on ``n`` fresh samples (advances the task's generator).

    Returns the pooled mean absolute and squared error over error steps and output units, their
    standard errors (delta method for a ratio of per-sequence sums), and the fraction of sequences
    that :meth:`Task.correct` accepts.
    """
    constant = np.asarray(constant, dtype=np.float64)  # (K,)
    abs_sums, sq_sums, counts, accepted = [], [], [], 0
    for _ in range(n):
        s = task.sample()
        err = s.targets[s.mask] - constant  # (steps, K)
        abs_sums.append(np.abs(err).sum())
        sq_sums.append((err**2).sum())
        counts.append(err.size)
        accepted += task.correct(np.broadcast_to(constant, s.targets.shape).copy(), s)
    counts_arr = np.asarray(counts, dtype=np.float64)
    result: dict[str, float] = {"fraction_correct": accepted / n}
    for key, sums in (("mean_abs_error", abs_sums), ("mean_squared_error", sq_sums)):
        sums_arr = np.asarray(sums)
        ratio = sums_arr.sum() / counts_arr.sum()
        result[key] = float(ratio)
        result[key + "_se"] = float(np.sqrt(np.sum((sums_arr - ratio * counts_arr) ** 2)) / counts_arr.sum())
    return result
