"""Length-bucketed, padded, time-major batches of token-id sequences, with a checkpointable epoch order.

The plan of one epoch (the order in which examples form batches), with N examples, batch size B and
``bucket_batches`` = k:

    (BA1)  ``shuffle=True``: the examples are permuted by ``rng.permutation(N)``; otherwise they keep
           their order 0…N−1;
    (BA2)  the order is cut into pools of k·B consecutive examples (the whole set if k is None); inside
           each pool the examples are sorted by length (stable, so equal lengths keep the order of
           (BA1)) and cut into batches of B (the pool's last batch may be smaller);
    (BA3)  ``drop_last=True`` leaves out batches smaller than B;
    (BA4)  ``shuffle=True``: the batches are permuted by ``rng.permutation(number of batches)``.

A batch of b examples with longest length T_max holds

    tokens          (T_max, b) int64   tokens[t, j] = sequence j's token t for t < lengths[j], else 0 (<pad>)
    lengths         (b,) int64         ≥ 1, after truncation to ``max_length``
    indices         (b,) int64         which examples (positions in the sequences given)
    labels          (b,) int64         class ids, when labels were given
    targets         (T'_max, b) int64  padded target sequences (translation), when targets were given
    target_lengths  (b,) int64

Sequences longer than ``max_length`` keep their first ``max_length`` tokens; ``truncated`` counts them
(``targets_truncated`` for targets and ``max_target_length``). An empty sequence is refused.

Iteration: ``for batch in batches`` yields the batches of the epoch in progress from where it stands,
then the next ``for`` starts the next epoch; :meth:`Batches.next_batch` runs on across epochs, and
:meth:`Batches.stream` wraps it as an endless iterator that keeps ``get_state``/``set_state`` (a data
source for a training loop that checkpoints its source).
:meth:`Batches.get_state` / :meth:`Batches.set_state` save and restore the position and the generator,
so that a resumed run sees exactly the batches an uninterrupted one would. The generator passed in must
be used by this object alone (give it its own, e.g. ``rng.spawn(1)[0]``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import CheckpointError, DataError, DTypeError, ShapeError, message
from ..core.rng import make_rng
from ..core.validation import check_int


@dataclass(frozen=True)
class Batch:
    """One padded batch; shapes in the module docstring (time-major, T first)."""

    tokens: np.ndarray
    lengths: np.ndarray
    indices: np.ndarray
    labels: np.ndarray | None = None
    targets: np.ndarray | None = None
    target_lengths: np.ndarray | None = None

    @property
    def size(self) -> int:
        """The number of sequences b."""
        return int(self.lengths.shape[0])

    @property
    def mask(self) -> np.ndarray:
        """(T_max, b) bool: True where ``tokens`` holds a real token, False at padding."""
        return np.arange(self.tokens.shape[0])[:, None] < self.lengths[None, :]


class _Packed:
    """Sequences truncated to ``max_length`` and stored end to end: ``flat`` (total,), ``offsets`` (N,)."""

    def __init__(self, sequences: Sequence[Any], max_length: int | None, what: str) -> None:
        arrays = []
        for i, s in enumerate(sequences):
            a = np.asarray(s)
            if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
                raise DTypeError(
                    message(f"{what}[{i}]", "a 1-D sequence of integer token ids", f"{a.dtype} {a.shape}")
                )
            if a.size == 0:
                raise DataError(
                    message(
                        f"{what}[{i}]",
                        "at least one token",
                        "an empty sequence",
                        "Leave out texts without tokens.",
                    )
                )
            arrays.append(a)
        full = np.array([a.size for a in arrays], dtype=np.int64)
        self.lengths = full if max_length is None else np.minimum(full, max_length)
        self.truncated = int(np.count_nonzero(full > self.lengths))
        self.flat = np.concatenate([a[:n] for a, n in zip(arrays, self.lengths, strict=True)]).astype(
            np.int64
        )
        if self.flat.min() < 0:
            raise DataError(message(what, "token ids >= 0", int(self.flat.min())))
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def pad(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T_max, b) padded tokens and (b,) lengths of examples ``idx``."""
        lengths = self.lengths[idx]
        steps = np.arange(int(lengths.max()))[:, None]  # (T_max, 1)
        valid = steps < lengths[None, :]  # (T_max, b)
        pos = np.where(valid, self.offsets[idx][None, :] + steps, 0)
        return np.where(valid, self.flat[pos], 0), lengths


class Batches:
    """Epochs of padded batches by rules (BA1)–(BA4); see the module docstring.

    ``sequences``: N token-id sequences (lists or 1-D integer arrays, each non-empty); ``labels``: N class
    ids (optional); ``targets``: N target sequences (optional, translation). ``rng``: a
    ``numpy.random.Generator`` (or an int seed), required when ``shuffle=True``. ``bucket_batches``: pool
    size in batches for (BA2), ``None`` for one pool. ``max_length`` / ``max_target_length``: truncation.
    """

    def __init__(
        self,
        sequences: Sequence[Sequence[int] | np.ndarray],
        labels: Sequence[int] | np.ndarray | None = None,
        targets: Sequence[Sequence[int] | np.ndarray] | None = None,
        *,
        batch_size: int,
        rng: np.random.Generator | int | None = None,
        shuffle: bool = True,
        bucket_batches: int | None = 50,
        max_length: int | None = None,
        max_target_length: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self.batch_size = check_int("Batches(batch_size)", batch_size, minimum=1)
        if bucket_batches is not None:
            bucket_batches = check_int("Batches(bucket_batches)", bucket_batches, minimum=1)
        if max_length is not None:
            max_length = check_int("Batches(max_length)", max_length, minimum=1)
        if max_target_length is not None:
            max_target_length = check_int("Batches(max_target_length)", max_target_length, minimum=1)
        if len(sequences) == 0:
            raise DataError(message("Batches(sequences)", "at least one sequence", "none"))
        if shuffle and rng is None:
            raise DTypeError(
                message("Batches(rng)", "a numpy.random.Generator or a seed when shuffle=True", None)
            )
        self.rng = make_rng(rng) if rng is not None else None
        self.shuffle, self.bucket_batches, self.drop_last = bool(shuffle), bucket_batches, bool(drop_last)
        self._src = _Packed(sequences, max_length, "Batches(sequences)")
        n = len(self._src.lengths)
        self.labels = None
        if labels is not None:
            self.labels = np.asarray(labels)
            if self.labels.shape != (n,) or self.labels.dtype.kind not in "iu":
                raise ShapeError(
                    message(
                        "Batches(labels)",
                        f"({n},) integer class ids",
                        f"{self.labels.dtype} {self.labels.shape}",
                        "Encode labels with LabelIndex first.",
                    )
                )
            self.labels = self.labels.astype(np.int64)
        self._tgt = None
        if targets is not None:
            if len(targets) != n:
                raise ShapeError(message("Batches(targets)", f"{n} sequences", len(targets)))
            self._tgt = _Packed(targets, max_target_length, "Batches(targets)")
        self.truncated = self._src.truncated
        self.targets_truncated = self._tgt.truncated if self._tgt is not None else 0
        self.lengths = self._src.lengths
        self.epoch = 0  # the epoch in progress, counted from 0
        self.position = 0  # batches of it already given out
        self._plan: list[np.ndarray] | None = None
        self._epoch_rng: dict[str, Any] | None = None
        if len(self) == 0:
            raise DataError(
                message(
                    "Batches",
                    "at least one batch per epoch",
                    "none",
                    f"Use drop_last=False or a batch size <= {len(self.lengths)}.",
                )
            )

    # -- the plan of an epoch ----------------------------------------------------------------------
    def _make_plan(self) -> list[np.ndarray]:
        n = len(self.lengths)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)  # (BA1)
        pool = n if self.bucket_batches is None else self.batch_size * self.bucket_batches
        plan = []
        for start in range(0, n, pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]  # (BA2)
            plan.extend(chunk[b : b + self.batch_size] for b in range(0, len(chunk), self.batch_size))
        if self.drop_last:
            plan = [b for b in plan if len(b) == self.batch_size]  # (BA3)
        if self.shuffle:
            plan = [plan[i] for i in self.rng.permutation(len(plan))]  # (BA4)
        return [b.astype(np.int64) for b in plan]

    def _ensure_plan(self) -> list[np.ndarray]:
        if self._plan is None:
            self._epoch_rng = copy.deepcopy(self.rng.bit_generator.state) if self.shuffle else None
            self._plan = self._make_plan()
        return self._plan

    def __len__(self) -> int:
        """Batches per epoch (it does not depend on the shuffling)."""
        n = len(self.lengths)
        pool = n if self.bucket_batches is None else self.batch_size * self.bucket_batches
        sizes = [min(pool, n - start) for start in range(0, n, pool)]
        return sum(p // self.batch_size if self.drop_last else -(-p // self.batch_size) for p in sizes)

    # -- giving out batches -------------------------------------------------------------------------------
    def batch(self, indices: np.ndarray) -> Batch:
        """The padded batch of examples ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64)
        tokens, lengths = self._src.pad(idx)
        labels = self.labels[idx] if self.labels is not None else None
        targets = target_lengths = None
        if self._tgt is not None:
            targets, target_lengths = self._tgt.pad(idx)
        return Batch(tokens, lengths, idx, labels, targets, target_lengths)

    def next_batch(self) -> Batch:
        """The next batch, starting the next epoch when the one in progress is done."""
        plan = self._ensure_plan()
        if self.position >= len(plan):
            self.epoch, self.position, self._plan = self.epoch + 1, 0, None
            plan = self._ensure_plan()
        self.position += 1
        return self.batch(plan[self.position - 1])

    def __iter__(self) -> Iterator[Batch]:
        """The remaining batches of the epoch in progress (all of the next epoch if it is finished)."""
        plan = self._ensure_plan()
        if self.position >= len(plan):
            self.epoch, self.position, self._plan = self.epoch + 1, 0, None
        while self.position < len(self._ensure_plan()):
            yield self.next_batch()

    def stream(self, convert: Callable[[Batch], Any] | None = None) -> BatchStream:
        """An endless iterator of :meth:`next_batch`, each mapped by ``convert``, with this object's
        ``get_state``/``set_state``: a data source a training loop can checkpoint, e.g.
        ``batches.stream(lambda b: (b.tokens, b.labels, None, b.lengths))``."""
        return BatchStream(self, convert)

    # -- checkpoint -------------------------------------------------------------------------------------------
    def _fingerprint(self) -> dict[str, Any]:
        return {
            "n": len(self.lengths),
            "batch_size": self.batch_size,
            "bucket_batches": self.bucket_batches,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }

    def get_state(self) -> dict[str, Any]:
        """Plain data (JSON-able) from which :meth:`set_state` resumes exactly here."""
        if self._plan is not None:
            rng = self._epoch_rng
        else:
            rng = copy.deepcopy(self.rng.bit_generator.state) if self.shuffle else None
        return {
            "epoch": self.epoch,
            "position": self.position,
            "rng": copy.deepcopy(rng),
            **self._fingerprint(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Go back to where :meth:`get_state` was called; refuse a state of other data or settings."""
        thing = "Batches.set_state(state)"
        if not isinstance(state, dict) or not {"epoch", "position", "rng"} <= set(state):
            raise CheckpointError(message(thing, "a dict from get_state()", type(state).__name__))
        got = {k: state.get(k) for k in self._fingerprint()}
        if got != self._fingerprint():
            raise CheckpointError(message(thing, f"a state of {self._fingerprint()}", got))
        if self.shuffle:
            try:
                self.rng.bit_generator.state = copy.deepcopy(state["rng"])
            except (TypeError, ValueError, KeyError) as err:
                raise CheckpointError(message(thing, "the generator state of get_state()", err)) from err
        self.epoch, self.position, self._plan = int(state["epoch"]), int(state["position"]), None
        if not 0 <= self.position <= len(self):
            raise CheckpointError(message(thing, f"a position in [0, {len(self)}]", self.position))
        self._ensure_plan()


class BatchStream:
    """``next()`` gives ``convert(batches.next_batch())`` across epochs; state is the batches' state."""

    def __init__(self, batches: Batches, convert: Callable[[Batch], Any] | None = None) -> None:
        self.batches, self.convert = batches, convert

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Any:
        batch = self.batches.next_batch()
        return batch if self.convert is None else self.convert(batch)

    def get_state(self) -> dict[str, Any]:
        return self.batches.get_state()

    def set_state(self, state: dict[str, Any]) -> None:
        self.batches.set_state(state)
