"""Weight updates at every time step: the trainer's ``update="step"`` mode and its compiled SGD path.

The per-step update of the 1997 paper and of Gers et al. (2000): the error E(t) of step t [1997 eq. 16]
changes the weights at once, Δw(t) = −α ∂E(t)/∂w [1997 eq. 17], and step t+1 runs with the new weights.
Only forward-mode methods have a gradient at step t (BPTT needs the whole sequence first): the 1997
algorithm (:mod:`~yetztml.learning.truncated1997`) and RTRL (:mod:`~yetztml.learning.rtrl`).

    (T4) update="step", one item (x, targets[, mask]) with B sequences: for b = 0…B−1 in order
             begin_sequence();  the method's state and partials start from the zero state
             for t = 0…T−1:
                 y(t) ← one forward step with the current weights
                 ℓ_t, δ(t) ← loss(y(t), targets(t), mask(t))    the loss of step t alone (E(t))
                 g(t) ← the method's per-step gradient: (TU1)–(TU5) for "truncated1997", (RT5) for "rtrl"
                 apply(g(t))                                    clip, schedule, optimiser (T3)
             end_sequence(1)
         The item's loss is Σ_b Σ_t ℓ_t, each measured before its own update. A step without error still
         makes an update (with a zero gradient), so ``decay_per_step`` counts time steps.
    (T5) compiled path: method "truncated1997", plain SGD (no momentum), no clipping, a constant or
         ``decay_per_step`` schedule and the squared error run (T4) inside one compiled kernel after the
         first update: w ← w − α₀ fᵘ g(t), u = updates counted as (S2)/(S3). The first update of the item
         goes through ``Trainer.apply`` (it records the roll-back point); the counters are then advanced
         as if every update had.

For sum-reduced losses (``squared_error``, ``smooth_l1``, cross entropy with ``reduction="sum"``) Σ_t ℓ_t
is the loss of the sequence; a mean-reduced loss averages within each step here (``mse`` divides by K).

:func:`online_sgd` exposes (T5) without a trainer.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cells.base import Cell
from ..core.errors import DTypeError, NonFiniteError, OptionError, ShapeError, UnsupportedError, message
from ..core.validation import check_array, check_float
from . import rtrl as rtrl_module
from . import truncated1997 as t97
from .gradients import METHODS
from .losses import resolve_loss, squared_error
from .optimisers import SGD
from .schedules import Constant, DecayPerStep

if TYPE_CHECKING:  # annotations only: trainer.py imports this module for its "step" mode
    from .trainer import Trainer

#: Methods with a gradient at every time step, and their one-step interfaces.
STEPPERS = {"truncated1997": t97.Stepper, "rtrl": rtrl_module.Stepper}

_THING = "Trainer(update='step')"


def _time_major(cell: Cell, array: Any) -> Any:
    if isinstance(array, np.ndarray) and getattr(cell, "batch_first", False) and array.ndim >= 2:
        return np.swapaxes(array, 0, 1)
    return array


def _check_mask(thing: str, mask: Any, T: int, B: int) -> np.ndarray | None:
    """None, or the boolean mask broadcast to (T, B)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise DTypeError(message(f"{thing} mask", "a boolean array", f"dtype {mask.dtype}"))
    if mask.ndim != 2 or any(m not in (1, n) for m, n in zip(mask.shape, (T, B), strict=True)):
        raise ShapeError(message(f"{thing} mask", f"shape (T, B) = {(T, B)} (size 1 allowed)", mask.shape))
    return np.broadcast_to(mask, (T, B))


def _check_targets(thing: str, targets: Any, T: int, B: int) -> np.ndarray:
    if not isinstance(targets, np.ndarray):
        raise DTypeError(message(f"{thing} targets", "a numpy.ndarray (T, B, …)", type(targets).__name__))
    if targets.ndim < 2 or targets.shape[:2] != (T, B):
        raise ShapeError(message(f"{thing} targets", f"leading axes (T, B) = {(T, B)}", f"shape {targets.shape}"))
    return targets


def _loss_options(trainer: Trainer) -> dict[str, Any]:
    """The trainer's gradient options, all of which must be options of the loss (the methods take none)."""
    loss_fn = resolve_loss(trainer.loss)
    params = inspect.signature(loss_fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    method_options = {o for spec in METHODS.values() for o in spec.options}
    for key in trainer.gradient_options:
        if key in method_options or (key not in params and not takes_any):
            raise OptionError(
                message(
                    f"{_THING}: gradient_options[{key!r}]",
                    f"options of the loss only (method {trainer.method!r} takes none)",
                    repr(key),
                )
            )
    return dict(trainer.gradient_options)


def _compiled_path(trainer: Trainer) -> bool:
    """Whether (T5) gives the same updates as (T4) for this trainer."""
    opt = trainer.optimiser
    return (
        trainer.method == "truncated1997"
        and type(opt) is SGD
        and opt.momentum == 0.0
        and trainer.clip_value is None
        and trainer.clip_norm is None
        and type(trainer.schedule) in (Constant, DecayPerStep)
        and (trainer.loss is squared_error or (isinstance(trainer.loss, str) and trainer.loss == "squared_error"))
        and not trainer.gradient_options
    )


def update_step(trainer: Trainer, x: np.ndarray, targets: Any, mask: Any) -> float:
    """(T4) one update per time step; (T5) when the configuration allows it."""
    cell = trainer.cell
    if trainer.method not in STEPPERS:
        raise UnsupportedError(
            message(
                f"{_THING} with method={trainer.method!r}",
                "a method with a gradient at every time step: " + " or ".join(repr(m) for m in STEPPERS),
                repr(trainer.method),
                "BPTT needs the whole sequence before its gradient exists; use update='sequence' or 'batch'.",
            )
        )
    names = "(B, T, I)" if getattr(cell, "batch_first", False) else "(T, B, I)"
    x = check_array(f"{_THING} x", x, shape=(None, None, cell.input_size), dtype=cell.dtype, names=names)
    x = _time_major(cell, x)
    T, B = x.shape[:2]
    targets = _check_targets(_THING, _time_major(cell, targets), T, B)
    mask = _check_mask(_THING, _time_major(cell, mask), T, B)
    if _compiled_path(trainer):
        return _update_compiled(trainer, x, targets, mask)
    stepper = STEPPERS[trainer.method](cell, _THING + f" with method={trainer.method!r}")
    loss_fn = resolve_loss(trainer.loss)
    options = _loss_options(trainer)
    total = 0.0
    for b in range(B):
        trainer.begin_sequence()  # (T4)
        stepper.start()
        for t in range(T):
            y = stepper.forward(x[t : t + 1, b : b + 1])  # (1, 1, K)
            if mask is not None:
                options["mask"] = mask[t : t + 1, b : b + 1]
            value, d_y = loss_fn(y, targets[t : t + 1, b : b + 1], **options)  # ℓ_t, δ(t)
            trainer.apply(stepper.backward(d_y))  # (T3) with g(t)
            total += value
        trainer.end_sequence(1)
    return total


def _squared_error_data(thing: str, cell: Cell, targets: np.ndarray, mask: np.ndarray | None, T: int, B: int):
    """Targets (T, B, K) float64 and the (T, B) mask of the compiled squared error, checked."""
    K = cell.output_size
    if targets.shape != (T, B, K):
        raise ShapeError(message(f"{thing} targets", f"shape (T, B, K) = {(T, B, K)}", f"shape {targets.shape}"))
    if targets.dtype.kind != "f":
        raise DTypeError(message(f"{thing} targets", "a float array", f"dtype {targets.dtype}"))
    mask = np.ones((T, B), np.bool_) if mask is None else np.ascontiguousarray(mask)
    selected = targets[mask]
    if not np.all(np.isfinite(selected)):
        bad = int(selected.size - np.count_nonzero(np.isfinite(selected)))
        raise NonFiniteError(message(f"{thing} targets", "finite values at the selected positions", f"{bad} NaN/inf"))
    return np.ascontiguousarray(targets, dtype=np.float64), mask


def _run_online(cell, x, targets, mask, lr, factor, count, reset_count, car, buf, t0) -> tuple[float, int, int]:
    """(T5) the kernel over all sequences of x, from step t0 of sequence 0 (continuing ``car`` if t0 > 0).

    Returns (Σ ℓ_t, updates made, final count).
    """
    B = x.shape[1]
    prm = t97.parameters(cell)
    init = t97.initial_leaves(cell, cell.zero_state(B))
    g_s0 = np.zeros((B, cell.num_cells), cell.dtype)
    empty = np.zeros((0, 0, 0), cell.dtype)
    loss, updates, final = t97.run(
        np.ascontiguousarray(x), empty, targets, mask, False, prm, prm, g_s0, car, buf, init, t97.flags(cell),
        True, lr, factor, count, reset_count, 0, t0, t0 == 0, t97.FORWARD | t97.ERROR,
    )
    return float(loss), int(updates), int(final)  # prm holds the cell's own arrays: updated in place


def refuse_non_finite(arrays: Mapping[str, np.ndarray], thing: str, fix: str) -> None:
    """Raise :class:`NonFiniteError` naming the first of ``arrays`` with a NaN/inf entry (``thing`` with ``{}``
    where its key goes); return when every entry is finite."""
    for key, value in arrays.items():
        if not np.all(np.isfinite(value)):
            raise NonFiniteError(message(thing.format(repr(key)), "finite values", "NaN/inf entries", fix))


def _check_finite_params(cell: Cell) -> None:
    if not np.isfinite(sum(float(value.sum()) for value in cell.params.values())):
        refuse_non_finite(cell.params, "parameter {} after the per-step updates", "Lower the learning rate.")


def _update_compiled(trainer: Trainer, x: np.ndarray, targets: Any, mask: np.ndarray | None) -> float:
    """(T5): the first update through Trainer.apply, the rest in the kernel, then the counters."""
    cell = t97.require(trainer.cell, _THING + " with method='truncated1997'")
    T, B = x.shape[:2]
    targets, mask = _squared_error_data(_THING, cell, targets, mask, T, B)
    stepper = t97.Stepper(cell, _THING)
    trainer.begin_sequence()
    stepper.start()
    y = stepper.forward(x[0:1, 0:1])
    value, d_y = squared_error(y, targets[0:1, 0:1], mask=mask[0:1, 0:1])
    trainer.apply(stepper.backward(d_y))  # records the roll-back point, checks, first update
    schedule = trainer.schedule
    factor = schedule.factor if isinstance(schedule, DecayPerStep) else 1.0
    reset_count = schedule.reset_per_sequence if isinstance(schedule, DecayPerStep) else True
    clock = trainer.clock
    count = clock.updates_in_sequence if reset_count else clock.updates
    loss, updates, _ = _run_online(
        cell, x, targets, mask, trainer.base_lr, factor, count, reset_count, stepper.car, stepper.buf, 1
    )
    if updates:
        clock.updates += updates
        trainer.optimiser.steps += updates
        clock.updates_in_sequence = T  # every sequence makes T updates
        clock.sequences += B - 1  # end_sequence(1) of the sequences before the last
        last = copy.copy(clock)
        last.updates -= 1
        last.updates_in_sequence -= 1
        trainer.optimiser.lr = trainer.schedule(trainer.base_lr, last)  # the rate of the last update
    trainer.end_sequence(1)
    _check_finite_params(cell)
    total = value + loss
    if not np.isfinite(total):
        raise NonFiniteError(message("squared_error value", "a finite number", total))
    return total


def online_sgd(
    cell: Cell,
    x: np.ndarray,
    targets: np.ndarray,
    mask: Any = None,
    *,
    lr: float,
    decay: float = 1.0,
    reset_per_sequence: bool = True,
    count: int = 0,
) -> tuple[float, int]:
    """(T5) without a trainer: the 1997 algorithm with plain SGD after every step, in one compiled kernel.

    The sequences of x (T, B, I) run in order, each from the zero state; after step t the weights change
    by −α g(t) with g(t) = (TU1)–(TU5) of the squared error ℓ_t = Σ_k m (y^k(t) − target^k(t))² and
    α = lr · decayᵘ, u = ``count`` + updates made so far (restarting at 0 with each sequence when
    ``reset_per_sequence``). Updates ``cell.params`` in place. Returns (Σ ℓ_t, final u).
    """
    thing = "online_sgd"
    cell = t97.require(cell, thing)
    x = check_array(f"{thing}(x)", x, shape=(None, None, cell.input_size), dtype=cell.dtype, names="(T, B, I)")
    T, B = x.shape[:2]
    targets = _check_targets(thing, targets, T, B)
    targets, mask = _squared_error_data(thing, cell, targets, _check_mask(thing, mask, T, B), T, B)
    lr = check_float(f"{thing}(lr)", lr, minimum=0.0)
    decay = check_float(f"{thing}(decay)", decay, minimum=0.0, maximum=1.0, strict_minimum=True)
    if not isinstance(reset_per_sequence, bool):
        raise DTypeError(message(f"{thing}(reset_per_sequence)", "True or False", repr(reset_per_sequence)))
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise OptionError(message(f"{thing}(count)", "an integer >= 0", repr(count)))
    for key, value in cell.params.items():
        if type(value) is not np.ndarray or value.dtype != cell.dtype or not np.isfinite(value.sum()):
            check_array(f"{thing}: cell.params[{key!r}]", value, dtype=cell.dtype)
    car, buf = t97.workspace(cell)
    loss, _, final = _run_online(cell, x, targets, mask, lr, decay, int(count), reset_per_sequence, car, buf, 0)
    _check_finite_params(cell)
    if not np.isfinite(loss):
        raise NonFiniteError(message(f"{thing}: the squared error", "a finite number", loss,
                                     "Scale the targets (or the outputs) down."))
    return loss, final


__all__ = ["STEPPERS", "online_sgd", "update_step"]
