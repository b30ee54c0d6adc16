"""What every gradient method receives: the model, the data, the resolved loss, the initial state.

Kept apart from :mod:`.gradients` (which dispatches to the methods) so that the methods
(:mod:`.rtrl`, :mod:`.truncated1997`) import it without importing their dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells.base import Cell

__all__ = ["Problem"]


@dataclass
class Problem:
    """What every method needs: the cell, the data and the loss (already resolved and validated)."""

    cell: Cell
    x: np.ndarray  # (T, B, I), or (B, T, I) for a batch_first cell
    targets: Any
    loss: Callable[[np.ndarray], tuple[float, np.ndarray]]  # outputs -> (value, d_outputs)
    state: Any
    time_axis: int
    lengths: Any = None

    def forward(self, x: np.ndarray, state: Any):
        """The cell's forward pass, with the lengths when there are some."""
        if self.lengths is None:
            return self.cell.forward(x, state)
        return self.cell.forward(x, state, lengths=self.lengths)

    @property
    def length(self) -> int:
        return self.x.shape[self.time_axis]

    def slice(self, array: np.ndarray, start: int, stop: int) -> np.ndarray:
        """``array`` restricted to time steps [start, stop)."""
        index = [slice(None)] * array.ndim
        index[self.time_axis] = slice(start, stop)
        return array[tuple(index)]
