"""A cell's state as one flat vector per batch element, and back.

Error flow multiplies Jacobians of z(t), the whole state after step t, so every state (an ndarray or a
NamedTuple of ndarrays, with the batch on some axis) is flattened for one batch element into a vector of n
entries. The parts keep their order and their names (the NamedTuple's fields, the cell's ``state_names``,
or ``z0, z1, …``); ``groups`` maps each name to its slice of z.

The batch axis of each part is found once by running the cell for one step with batch sizes 1 and 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cells.base import Cell, state_leaves
from ..core.errors import UnsupportedError, message


def step_input(cell: Cell, x: np.ndarray) -> np.ndarray:
    """Time-major x (T, B, I) in the layout ``cell.forward`` expects (``batch_first`` cells get (B, T, I))."""
    x = np.ascontiguousarray(x, dtype=cell.dtype)
    return np.ascontiguousarray(x.transpose(1, 0, 2)) if getattr(cell, "batch_first", False) else x


class StateLayout:
    """Where each part of a cell's state lives in the flat vector z (see the module docstring)."""

    def __init__(self, cell: Cell) -> None:
        self.cell = cell
        one = cell.forward(step_input(cell, np.zeros((1, 1, cell.input_size)))).final_state
        two = cell.forward(step_input(cell, np.zeros((1, 2, cell.input_size)))).final_state
        self.template = one
        leaves, pairs = state_leaves(one), state_leaves(two)
        self.axes: list[int] = []
        self.shapes: list[tuple[int, ...]] = []
        for a, b in zip(leaves, pairs, strict=True):
            axes = [k for k, (p, q) in enumerate(zip(a.shape, b.shape, strict=True)) if (p, q) == (1, 2)]
            if len(axes) != 1:
                raise UnsupportedError(
                    message(f"{type(cell).__name__} state", "one batch axis per state array",
                            f"shapes {a.shape} (batch 1) and {b.shape} (batch 2)")
                )
            self.axes.append(axes[0])
            self.shapes.append(tuple(s for k, s in enumerate(a.shape) if k != axes[0]))
        fields = getattr(one, "_fields", None)
        names = getattr(cell, "state_names", None)
        if fields is not None:
            self.names = tuple(fields)
        elif names is not None and len(names) == len(leaves):
            self.names = tuple(names)
        else:
            self.names = tuple(f"z{k}" for k in range(len(leaves)))
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.groups = {name: slice(int(offsets[k]), int(offsets[k + 1])) for k, name in enumerate(self.names)}
        self.n = int(offsets[-1])

    def flatten(self, state: Any) -> np.ndarray:
        """All batch elements of ``state`` as rows of a float64 matrix (B, n)."""
        parts = []
        for leaf, axis in zip(state_leaves(state), self.axes, strict=True):
            moved = np.moveaxis(np.asarray(leaf, dtype=np.float64), axis, 0)
            parts.append(moved.reshape(moved.shape[0], -1))
        return np.concatenate(parts, axis=1)

    def pack(self, Z: np.ndarray) -> Any:
        """The cell state whose batch element b is row b of Z (B, n), in the cell's dtype."""
        Z = np.asarray(Z)
        leaves = []
        for shape, axis, sl in zip(self.shapes, self.axes, self.groups.values(), strict=True):
            block = Z[:, sl].reshape((Z.shape[0],) + shape).astype(self.cell.dtype)
            leaves.append(np.ascontiguousarray(np.moveaxis(block, 0, axis)))
        if isinstance(self.template, np.ndarray):
            return leaves[0]
        if hasattr(self.template, "_fields"):
            return type(self.template)(*leaves)
        return tuple(leaves)
