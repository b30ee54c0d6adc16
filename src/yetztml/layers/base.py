"""What the non-recurrent layers share: the cells' protocol with an empty state, and sequence lengths.

A layer is a :class:`~yetztml.cells.base.Cell` without a state: ``forward(x, state=None)`` returns a
:class:`~yetztml.cells.base.Trace` whose ``initial_state`` and ``final_state`` are the empty tuple, and
``backward(trace, d_outputs)`` returns :class:`~yetztml.cells.base.Grads` keyed like ``params`` with
``inputs`` (None where the input is not differentiable, e.g. token ids) and ``initial_state = ()``.

Arrays are time-major ``(T, B, ·)`` unless the layer was built with ``batch_first=True`` (``(B, T, ·)``).
Lengths: a layer that declares the ``"lengths"`` capability takes ``forward(x, lengths=...)``, an integer
array ``(B,)`` with 1 ≤ lengths[b] ≤ T: sequence b occupies steps 0…lengths[b]−1 and the rest is padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cells.base import Cell, Grads, Trace
from ..core.errors import DTypeError, OptionError, ShapeError, message

__all__ = ["Layer", "check_bool", "check_lengths", "valid_mask"]


class Layer(Cell):
    """Base class of the stateless layers: layout (``batch_first``), empty state, trace and grads helpers."""

    name = "layer"

    def __init__(self, input_size: int, output_size: int, dtype: object, batch_first: bool = False) -> None:
        super().__init__(input_size, output_size, dtype)
        self.batch_first = check_bool(f"{type(self).__name__}(batch_first=...)", batch_first)

    @property
    def time_axis(self) -> int:
        return 1 if self.batch_first else 0

    def _check_empty_state(self, state: Any) -> None:
        if state is not None and state != ():
            raise ShapeError(
                message(f"{type(self).__name__}.forward(state)", "None or () (a layer has no state)",
                        type(state).__name__)
            )

    def _trace(self, x: np.ndarray, outputs: np.ndarray, **extras: Any) -> Trace:
        return Trace(x=x, outputs=outputs, initial_state=(), final_state=(), extras=extras)

    def _grads(self, params: dict[str, np.ndarray], inputs: np.ndarray | None) -> Grads:
        return Grads(params, inputs=inputs, initial_state=())


def check_bool(thing: str, value: object) -> bool:
    """``value`` if it is True or False (NumPy booleans accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        raise DTypeError(message(thing, "True or False", repr(value)))
    return bool(value)


def check_lengths(thing: str, lengths: object, steps: int, batch: int) -> np.ndarray:
    """``lengths`` as an int64 array ``(B,)`` with every entry in ``[1, steps]``."""
    array = np.asarray(lengths)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise DTypeError(
            message(thing, "integer sequence lengths", f"dtype {array.dtype}", "Pass lengths as an int array.")
        )
    if array.shape != (batch,):
        raise ShapeError(message(thing, f"shape ({batch},) (one length per sequence)", f"shape {array.shape}"))
    if batch and (array.min() < 1 or array.max() > steps):
        bad = int(np.flatnonzero((array < 1) | (array > steps))[0])
        raise OptionError(
            message(thing, f"lengths in [1, {steps}] (the padded length)", f"{int(array[bad])} for sequence {bad}")
        )
    return array.astype(np.int64, copy=False)


def valid_mask(lengths: np.ndarray, steps: int) -> np.ndarray:
    """(T, B) boolean: True where step t < lengths[b] (a real element, not padding)."""
    return np.arange(steps)[:, None] < lengths[None, :]
