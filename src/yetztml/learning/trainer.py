"""The training loop: data → gradients → clipping → schedule → optimiser, with checkpoint and resume.

(Over 400 lines on purpose: the step, its roll-back, the checkpoint and the resume share one invariant —
the state at the last completed step — and are easier to check side by side than across modules.)

One training step draws one item from the data source — a tuple (x, targets[, mask]) or a
:class:`Batch` (x, targets, mask, lengths) for padded batches — and turns it into weight updates
according to the update mode. The trained object is any model (:mod:`yetztml.models`), cell or layer:
a bare cell is the one-part model.

    (T1)  update="batch"     one update from the gradient of the loss over the item's whole batch
    (T2)  update="sequence"  one update per sequence of the batch, in order, each from the gradient of that
                             sequence alone with the weights left by the previous one [1997 §5: weights
                             change after each sequence where errors arrive only at the end]
    (T3)  every update:      g ← gradients(...);  clip g (C1)/(C3);  lr ← schedule(α₀, clock) (S1)–(S4);
                             optimiser.step(g) (O1)–(O6)

Update modes live in :data:`UPDATE_MODES` (name → function of the trainer and one item, returning the
step's loss); a mode that changes the weights at every time step plugs in there, calling
:meth:`Trainer.begin_sequence`, :meth:`Trainer.apply` and :meth:`Trainer.end_sequence` as the two
modes here do. The step's loss is the loss of the item (T1) or the sum of its sequences' losses (T2),
each measured before its own update.

Data sources: an iterator (or iterable) of items, or a callable ``data(rng)`` given the trainer's
``numpy.random.Generator`` (seeded by ``seed``). If the source has ``get_state()``/``set_state(state)``
its state is checkpointed; an iterator without them is fast-forwarded on resume by drawing and
discarding the items already used, so it must yield the same items when rebuilt.

Stochastic models (dropout) draw from their own generators; their states are checkpointed and rolled
back with the trainer's, so a resumed run draws the same masks. A checkpoint path is checked when the
trainer is built (its folder must exist and be writable), not at the first save.

Non-finite values stop training with :class:`NonFiniteError` naming the step (counted from 0) and the
tensor; the cell, optimiser and counters are rolled back to the start of that step. KeyboardInterrupt
does the same roll-back, writes a checkpoint (when a path is given) and re-raises, so ``resume=True``
— or calling :meth:`Trainer.run` again in the same process — continues bit-identically. An interrupt that
lands inside the drawing of an item (a batch being converted, say) also returns the data source's state and
the trainer's generator to before that draw, so the item is drawn again.

A resume is refused (:class:`CheckpointError`, naming each field that differs) unless the run's
configuration matches the checkpoint's fingerprint: the cell class and parameter shapes, the optimiser
class, loss, method, update mode, seed, schedule, clipping and gradient options.
"""

from __future__ import annotations

import copy
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..cells.base import Cell
from ..core.errors import (
    CheckpointError,
    DTypeError,
    NonFiniteError,
    OptionError,
    ShapeError,
    interrupt_behind,
    message,
)
from ..core.progress import ProgressBar
from ..core.rng import make_rng
from ..core.validation import check_choice, check_float, check_int
from . import checkpoint as ckpt
from .clipping import clip_by_value, scale_to_norm, sum_of_squares
from .gradients import METHODS
from .gradients import gradients as compute_gradients
from .losses import resolve_loss
from .online import refuse_non_finite, update_step
from .optimisers import Optimiser
from .schedules import Clock, constant

Callback = Callable[[int, float, Cell], Any]


class Batch(NamedTuple):
    """One item of training data: inputs, targets, an optional loss mask, optional sequence lengths.

    ``lengths`` (B,) marks sequence b as steps 0…lengths[b]−1 of a padded batch; the model must declare
    the ``"lengths"`` capability (e.g. a :class:`~yetztml.models.Sequential` with a
    :class:`~yetztml.layers.Pool`).
    """

    x: Any
    targets: Any
    mask: Any = None
    lengths: Any = None


@dataclass
class History:
    """What :meth:`Trainer.run` returns: the loss of every step, the counters, and why it stopped."""

    losses: list[float]
    clock: Clock
    stopped_by_callback: bool = False
    data_exhausted: bool = False


@dataclass
class _Pending:
    """How to undo the step in progress: sources and counters from its start, weights before mutation."""

    sources: dict[str, Any]
    clock: Clock
    history_len: int
    item: Any = None
    kept: dict[str, Any] | None = None  # what the optimiser changed, as before the step's first update


def _batch_axis(trainer: Trainer) -> int:
    return 0 if getattr(trainer.cell, "batch_first", False) else 1


def _update_batch(trainer: Trainer, x: np.ndarray, targets: Any, mask: Any, lengths: Any = None) -> float:
    """(T1) one update from the whole batch."""
    trainer.begin_sequence()
    value, grads = trainer.gradients(x, targets, mask, lengths)
    trainer.apply(grads)
    trainer.end_sequence(x.shape[_batch_axis(trainer)])
    return value


def _select(array: Any, b: int, axis: int, batch: int) -> Any:
    """Sequence b of an array whose ``axis`` runs over the batch (arrays of size 1 there are shared)."""
    if not isinstance(array, np.ndarray) or array.ndim <= axis or array.shape[axis] != batch:
        return array
    index = [slice(None)] * array.ndim
    index[axis] = slice(b, b + 1)
    return array[tuple(index)]


def _update_sequence(trainer: Trainer, x: np.ndarray, targets: Any, mask: Any, lengths: Any = None) -> float:
    """(T2) one update per sequence, in batch order."""
    axis = _batch_axis(trainer)
    batch = x.shape[axis]
    total = 0.0
    for b in range(batch):
        trainer.begin_sequence()
        value, grads = trainer.gradients(
            _select(x, b, axis, batch), _select(targets, b, axis, batch), _select(mask, b, axis, batch),
            None if lengths is None else np.asarray(lengths)[b : b + 1],
        )
        trainer.apply(grads)
        trainer.end_sequence(1)
        total += value
    return total


#: Update modes by name: ``fn(trainer, x, targets, mask[, lengths]) -> the step's loss`` (a mode that takes
#: no ``lengths`` refuses padded batches).
UPDATE_MODES: dict[str, Callable[[Trainer, np.ndarray, Any, Any], float]] = {
    "batch": _update_batch,
    "sequence": _update_sequence,
    "step": update_step,  # (T4)/(T5), learning/online.py
}


class Trainer:
    """Trains ``cell`` in place on items drawn from ``data``; see the module docstring.

    ``optimiser`` must be built on ``cell.params``. ``gradient_options`` go to
    :func:`~yetztml.learning.gradients.gradients` (``k1``, ``k2``, ``truncate_recurrent``, loss options).
    ``callbacks`` are called as ``cb(step, loss, cell)`` after every step; one that returns True stops
    training. A checkpoint is written every ``checkpoint_every`` steps, at the end, and on interrupt.
    ``status`` (a callable returning a short text, e.g. validation accuracy and words per second) is shown
    beside the running loss in the progress bar.
    """

    def __init__(
        self,
        cell: Cell,
        data: Any,
        *,
        optimiser: Optimiser,
        loss: str | Callable = "squared_error",
        method: str = "bptt",
        update: str = "batch",
        schedule: Callable[[float, Clock], float] | None = None,
        clip_value: float | None = None,
        clip_norm: float | None = None,
        gradient_options: Mapping[str, Any] | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
        status: Callable[[], str] | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 100,
        seed: int = 0,
    ) -> None:
        if not isinstance(cell, Cell):
            raise DTypeError(
                message("Trainer(cell)", "a yetztml model, cell or layer", type(cell).__name__,
                        "Build one from yetztml.cells / yetztml.layers, composed with yetztml.models.Sequential; "
                        "for your own equations subclass yetztml.cells.Cell (docs/protocol.md).")
            )
        if not isinstance(optimiser, Optimiser) or optimiser.params is not cell.params:
            raise OptionError(
                message(
                    "Trainer(optimiser)",
                    "an optimiser built on cell.params",
                    type(optimiser).__name__,
                    "Use e.g. Adam(cell.params, lr=1e-3).",
                )
            )
        self.cell, self.optimiser = cell, optimiser
        self.loss = loss
        resolve_loss(loss)
        self.method = check_choice("Trainer(method)", method, tuple(METHODS))
        self.update = check_choice("Trainer(update)", update, tuple(UPDATE_MODES))
        self.schedule = constant() if schedule is None else schedule
        if not callable(self.schedule):
            raise DTypeError(
                message("Trainer(schedule)", "a callable (base_lr, clock) -> lr", type(schedule).__name__)
            )
        self.clip_value = (
            None
            if clip_value is None
            else check_float("Trainer(clip_value)", clip_value, 0.0, strict_minimum=True)
        )
        self.clip_norm = (
            None
            if clip_norm is None
            else check_float("Trainer(clip_norm)", clip_norm, 0.0, strict_minimum=True)
        )
        self.gradient_options = dict(gradient_options or {})
        self.callbacks = tuple(callbacks)
        for cb in self.callbacks:
            if not callable(cb):
                raise DTypeError(
                    message("Trainer(callbacks)", "callables cb(step, loss, cell)", type(cb).__name__)
                )
        if not isinstance(progress, bool):
            raise DTypeError(message("Trainer(progress)", "True or False", repr(progress)))
        self.progress = progress
        if status is not None and not callable(status):
            raise DTypeError(message("Trainer(status)", "a callable returning a str", type(status).__name__))
        self.status = status
        self.checkpoint = None if checkpoint is None else _check_checkpoint_path(checkpoint)
        self.checkpoint_every = check_int("Trainer(checkpoint_every)", checkpoint_every, minimum=1)
        self.seed = seed
        self.rng = make_rng(seed)
        self.data = data
        self._kind, self._draw = self._source(data)
        self.base_lr = optimiser.lr
        self.clock = Clock()
        self.history: list[float] = []
        self._pending: _Pending | None = None
        self._spare_keep: dict[str, Any] = {}  # the roll-back point's buffers, reused every step
        self._pushback: Any = None  # an item drawn by a step that was rolled back, used next
        self._pushback_sources: dict[str, Any] | None = None  # the sources before that item was drawn

    # -- data ---------------------------------------------------------------------------------
    def _source(self, data: Any) -> tuple[str, Callable[[], Any]]:
        if hasattr(data, "__next__"):
            return "iterator", lambda: next(data)
        if callable(data):
            return "callable", lambda: data(self.rng)
        if isinstance(data, Iterable):
            iterator = iter(data)
            return "iterator", lambda: next(iterator)
        raise DTypeError(
            message(
                "Trainer(data)",
                "an iterator of (x, targets[, mask]) or a callable data(rng)",
                type(data).__name__,
            )
        )

    def _sources(self) -> dict[str, Any]:
        state = {"rng": copy.deepcopy(self.rng.bit_generator.state)}
        if hasattr(self.data, "get_state"):
            state["data"] = copy.deepcopy(self.data.get_state())
        model_rng = self.cell.rng_state()
        if model_rng is not None:
            state["model_rng"] = copy.deepcopy(model_rng)
        return state

    def _restore_sources(self, state: Mapping[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        if "data" in state:
            self.data.set_state(state["data"])
        if "model_rng" in state:
            self.cell.set_rng_state(state["model_rng"])

    def _next_item(self) -> tuple[np.ndarray, Any, Any, Any]:
        if self._pushback is not None:
            item, self._pushback, self._pushback_sources = self._pushback, None, None
        else:
            item = self._draw()
        if self._pending is not None:
            self._pending.item = item
        if isinstance(item, Batch):
            x, targets, mask, lengths = item
        elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
            x, targets, mask = (*item, None) if len(item) == 2 else item
            lengths = None
        else:
            got = f"a {type(item).__name__} of {len(item)} items" if isinstance(item, (tuple, list)) \
                else type(item).__name__
            raise DTypeError(
                message(
                    "Trainer(data) item", "a tuple (x, targets) or (x, targets, mask), or a Batch", got,
                    "For padded batches yield yetztml.learning.Batch(x, targets, mask=None, lengths=...).",
                )
            )
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and not np.all(np.isfinite(x)):
            bad = int(x.size - np.count_nonzero(np.isfinite(x)))
            raise NonFiniteError(message("data x", "finite values", f"{bad} NaN/inf entries"))
        return x, targets, mask, lengths

    # -- one update -----------------------------------------------------------------------------
    def gradients(self, x: np.ndarray, targets: Any, mask: Any, lengths: Any = None):
        """(T3) the loss and gradient of the current weights on one sequence or batch."""
        extra = {} if lengths is None else {"lengths": lengths}
        value, grads = compute_gradients(
            self.cell, x, targets, loss=self.loss, method=self.method, mask=mask, **extra,
            **self.gradient_options,
        )
        if not np.isfinite(value):
            raise NonFiniteError(message("loss", "a finite value", value))
        return value, grads

    def begin_sequence(self) -> None:
        """Mark the start of a sequence (stream): per-sequence schedules restart."""
        self.clock.updates_in_sequence = 0

    def end_sequence(self, count: int) -> None:
        """Mark ``count`` sequences as completed."""
        self.clock.sequences += count

    def apply(self, grads: Mapping[str, np.ndarray]) -> None:
        """(T3) check, clip and apply one gradient; advance the update counters."""
        rows = _zero_outside(grads)
        grads = _checked_gradients(grads, self.cell.params)
        squares = sum(sum_of_squares(g, rows.get(k)) for k, g in grads.items())  # (C2): also the finiteness check
        if not np.isfinite(squares):
            refuse_non_finite(grads, "gradient {}", "Clip gradients (clip_norm=...) or lower the learning rate.")
        pending = self._pending
        keep = None
        if pending is not None and pending.kept is None:  # the step's first update: keep a roll-back point
            keep = self._spare_keep
            keep["gen"] = None  # an earlier step's copies: nothing to undo until the optimiser completes them
            pending.kept = keep
        if self.clip_value is not None:
            clip_by_value(grads, self.clip_value)  # (C1)
            squares = sum(sum_of_squares(g, rows.get(k)) for k, g in grads.items())  # (C2) after (C1)
        if self.clip_norm is not None:
            scale_to_norm(grads, self.clip_norm, float(np.sqrt(squares)))  # (C3)
        self.optimiser.lr = self.schedule(self.base_lr, self.clock)  # (S1)–(S4)
        not_finite = self.optimiser.step(grads, checked=True, keep=keep)  # (O1)–(O6)
        self.clock.updates += 1
        self.clock.updates_in_sequence += 1
        if not_finite:
            raise NonFiniteError(
                message(
                    f"parameter {not_finite[0]!r} after the update",
                    "finite values",
                    "NaN/inf entries",
                    "Lower the learning rate or clip gradients.",
                )
            )

    # -- roll-back, checkpoints --------------------------------------------------------------------
    def _roll_back(self) -> None:
        """Return to the start of the pending step (weights, optimiser, counters, history, the drawn item)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.kept is not None:
            self.optimiser.restore(pending.kept)
        self.clock = pending.clock
        if "model_rng" in pending.sources:
            self.cell.set_rng_state(pending.sources["model_rng"])  # the step's masks are drawn again
        del self.history[pending.history_len :]
        if pending.item is not None:
            self._pushback, self._pushback_sources = pending.item, pending.sources
        else:  # the draw itself was cut short (an interrupt inside it): the sources go back to before it
            self._restore_sources(pending.sources)

    def _fingerprint(self) -> dict[str, Any]:
        loss = (
            self.loss if isinstance(self.loss, str) else getattr(self.loss, "__qualname__", repr(self.loss))
        )
        return {
            "cell": type(self.cell).__name__,
            "params": {k: [list(v.shape), str(v.dtype)] for k, v in self.cell.params.items()},
            "optimiser": type(self.optimiser).__name__,
            "loss": loss,
            "method": self.method,
            "update": self.update,
            "seed": int(self.seed) if isinstance(self.seed, (int, np.integer)) else "a Generator",
            "schedule": _describe(self.schedule),
            "clip_value": self.clip_value,
            "clip_norm": self.clip_norm,
            "gradient_options": {k: _describe(v) for k, v in sorted(self.gradient_options.items())},
        }

    def save(self) -> None:
        """Write the checkpoint now (the state at the last completed step)."""
        if self.checkpoint is None:
            raise OptionError(
                message("Trainer.save", "a checkpoint path", "None", "Pass checkpoint='run.npz'.")
            )
        if self._pending is not None:
            raise OptionError(
                message(
                    "Trainer.save",
                    "no step in progress",
                    f"step {self.clock.step} running",
                    "Save from a callback or after run() returns.",
                )
            )
        sources = self._pushback_sources if self._pushback is not None else self._sources()
        meta = {
            "fingerprint": self._fingerprint(),
            "clock": self.clock.as_dict(),
            "base_lr": self.base_lr,
            "sources": sources,
        }
        ckpt.save(self.checkpoint, self.cell.params, self.optimiser.state_dict(), self.history, meta)

    def restore(self) -> None:
        """Load the checkpoint: weights, optimiser, counters, loss history and random states."""
        if self.checkpoint is None:
            raise OptionError(message("resume=True", "a checkpoint path", "checkpoint=None"))
        params, optimiser, history, meta = ckpt.load(self.checkpoint)
        ours, theirs = self._fingerprint(), meta["fingerprint"]
        differ = {k: (theirs.get(k), v) for k, v in ours.items()
                  if theirs.get(k) != v and (k in theirs or k not in LATER_FINGERPRINT_FIELDS)}
        if differ:
            detail = "; ".join(f"{k}: checkpoint {a!r}, now {b!r}" for k, (a, b) in differ.items())
            raise CheckpointError(
                message(f"checkpoint {self.checkpoint!r}", "the same run configuration", detail)
            )
        self.cell.load_params(params)
        self.optimiser.load_state_dict(optimiser)
        self.clock = Clock(**meta["clock"])
        self.history = history
        self.base_lr = float(meta["base_lr"])
        sources = meta["sources"]
        self._restore_sources(sources)
        self._pushback = self._pushback_sources = None
        if "data" not in sources and self._kind == "iterator":
            for _ in range(self.clock.step):  # fast-forward an iterator without get_state()
                self._draw()

    # -- the loop -----------------------------------------------------------------------------------
    def _step(self) -> float:
        sources = self._pushback_sources if self._pushback is not None else self._sources()
        self._pending = _Pending(sources=sources, clock=copy.copy(self.clock), history_len=len(self.history))
        x, targets, mask, lengths = self._next_item()
        if lengths is None:
            return UPDATE_MODES[self.update](self, x, targets, mask)
        if self.update == "step":
            raise OptionError(
                message("Trainer(update='step')", "items without lengths (the per-step backends run unpadded "
                        "sequences)", "a Batch with lengths", "Use update='batch' for padded batches.")
            )
        return UPDATE_MODES[self.update](self, x, targets, mask, lengths)

    def run(self, steps: int, resume: bool = False) -> History:
        """Train until ``steps`` steps are completed in total (counting steps before a resume)."""
        steps = check_int("Trainer.run(steps)", steps, minimum=0)
        if not isinstance(resume, bool):
            raise DTypeError(message("Trainer.run(resume)", "True or False", repr(resume)))
        if resume:
            self.restore()
        stopped = exhausted = False
        with _ProgressBar(self.progress, steps, self.clock.step, self.history, self.status) as bar:
            while self.clock.step < steps:
                index = self.clock.step
                try:
                    loss = float(self._step())
                    self.history.append(loss)
                    self.clock.step += 1
                    self._pending = None
                    bar.advance(loss)
                    stop = False
                    for cb in self.callbacks:
                        stop = (cb(index, loss, self.cell) is True) or stop
                    if self.checkpoint is not None and (
                        self.clock.step % self.checkpoint_every == 0 or stop or self.clock.step == steps
                    ):
                        self.save()
                except StopIteration:
                    self._roll_back()
                    exhausted = True
                    break
                except BaseException as err:
                    self._roll_back()
                    interrupt = interrupt_behind(err)  # Ctrl-C, also when it surfaced from compiled code
                    if interrupt is not None and self.checkpoint is not None:
                        self.save()
                    if interrupt is not None and interrupt is not err:
                        raise interrupt from None
                    if isinstance(err, NonFiniteError):
                        last = f"{self.history[-1]:.6g}" if self.history else "none (first step)"
                        kept = " and the last checkpoint is left as it was" if self.checkpoint else ""
                        raise NonFiniteError(
                            f"Training step {index} (counting from 0): {str(err).rstrip('.')}. Last finite "
                            f"loss: {last}. The cell keeps the weights from before this step{kept}."
                        ) from err
                    raise
                if stop:
                    stopped = True
                    break
        if exhausted and self.checkpoint is not None:
            self.save()
        return History(list(self.history), copy.copy(self.clock), stopped, exhausted)


#: Fingerprint fields that checkpoints written before them lack: such a checkpoint is not checked on them.
LATER_FINGERPRINT_FIELDS = ("schedule", "clip_value", "clip_norm", "gradient_options")


def _describe(value: Any) -> Any:
    """A configuration value as the fingerprint records it: plain data as it is, a dataclass (the schedules)
    by its repr, a function or other object by its qualified name (no memory addresses)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return repr(value)
    return getattr(value, "__qualname__", type(value).__qualname__)


class _ProgressBar:
    """The Trainer's view of :class:`~yetztml.core.progress.ProgressBar`: the running loss over the last
    100 steps and the caller's ``status`` text."""

    def __init__(
        self, enabled: bool, total: int, done: int, history: list[float], status: Callable[[], str] | None = None
    ) -> None:
        self.recent: deque[float] = deque(history[-100:], maxlen=100)
        self.status = status
        self.bar = ProgressBar("training", total, done, enabled=enabled)

    def _text(self) -> str:
        text = f"loss {np.mean(self.recent):.4g}" if self.recent else "loss –"
        return f"{text}  {self.status()}" if self.status is not None else text

    def advance(self, loss: float) -> None:
        self.recent.append(loss)
        if self.bar.progress is not None:
            self.bar.advance(self._text())

    def __enter__(self) -> _ProgressBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)


def _zero_outside(grads: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """The rows outside which a gradient is zero, by key: a model's ``grads.rows`` as it is, a bare
    ``Embedding``'s rows (an array) as those of its ``weight``; none for other cells."""
    rows = getattr(grads, "rows", None)
    if rows is None:
        return {}
    return rows if isinstance(rows, Mapping) else {"weight": rows}


def _checked_gradients(grads: Mapping[str, Any], params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The gradient of every parameter (other keys are left out), each checked to be a float array of the
    parameter's shape: the optimiser is told that they are (``checked=True``) and would broadcast another shape."""
    missing = [key for key in params if key not in grads]
    if missing:
        raise OptionError(message("gradients", "one for every parameter", f"none for {missing}"))
    for key, p in params.items():
        g = grads[key]
        if not isinstance(g, np.ndarray) or g.shape != p.shape:
            raise ShapeError(message(f"gradient {key!r}", f"an array of shape {p.shape}", f"{np.shape(g)}"))
        if g.dtype.kind != "f":
            raise DTypeError(message(f"gradient {key!r}", "a float array", f"dtype {g.dtype}"))
    return {key: grads[key] for key in params}


def _check_checkpoint_path(path: str | os.PathLike) -> str:
    """The checkpoint path as a string, after checking that it can be written (before any training)."""
    if not isinstance(path, (str, os.PathLike)):
        raise DTypeError(message("Trainer(checkpoint)", "a file path", type(path).__name__))
    text = os.fspath(path)
    file = Path(text)
    if file.is_dir():
        raise OptionError(message(f"Trainer(checkpoint={text!r})", "a file path", "a directory",
                                  "Name a file inside it, e.g. run.npz."))
    folder = file.parent
    if not folder.is_dir():
        raise OptionError(message(f"Trainer(checkpoint={text!r})", "a path in an existing folder",
                                  f"no folder {str(folder)!r}", "Create the folder first."))
    if not os.access(folder, os.W_OK):
        raise OptionError(message(f"Trainer(checkpoint={text!r})", "a writable folder",
                                  f"{str(folder)!r}, which is not writable"))
    return text


def train(cell: Cell, data: Any, *, steps: int, resume: bool = False, **options: Any) -> History:
    """Build a :class:`Trainer` with ``options`` and run it for ``steps`` steps in total."""
    return Trainer(cell, data, **options).run(steps, resume=resume)
