"""The bookkeeping of real-time recurrent learning shared by the per-cell step models: where each parameter
sits in θ, and the forward-mode helpers that add a weight's or a bias's direct contribution to the
derivative rows d net / d[z(t−1); θ] (used by :mod:`.rtrl_stacked` and :mod:`.rtrl_blocks`, driven by
:mod:`.rtrl`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cells.base import Cell

__all__ = ["Layout", "add_bias", "add_weight", "selection"]


@dataclass
class Layout:
    """Where each parameter sits in θ, and the width D = n + W of a derivative row."""

    n: int  # state units per sequence
    offsets: dict[str, int]  # parameter name -> first index in θ
    shapes: dict[str, tuple[int, ...]]

    @classmethod
    def of(cls, cell: Cell, n: int) -> Layout:
        offsets, shapes, at = {}, {}, 0
        for name, value in cell.params.items():
            offsets[name], shapes[name] = at, value.shape
            at += value.size
        return cls(n, offsets, shapes)

    @property
    def W(self) -> int:
        return int(sum(int(np.prod(s)) for s in self.shapes.values()))

    @property
    def D(self) -> int:
        return self.n + self.W

    def column(self, name: str) -> int:
        """The column of ``name``'s first entry in a derivative row [z(t−1); θ]."""
        return self.n + self.offsets[name]

    def unflatten(self, vector: np.ndarray, dtype: np.dtype) -> dict[str, np.ndarray]:
        """θ-shaped vector (W,) → dict keyed like ``cell.params``."""
        out = {}
        for name, shape in self.shapes.items():
            start = self.offsets[name]
            out[name] = vector[start : start + int(np.prod(shape))].reshape(shape).astype(dtype)
        return out


def add_weight(layout: Layout, d_net: np.ndarray, w: np.ndarray, u: np.ndarray, name: str) -> None:
    """d_net (B, m, D) += ∂(w u)/∂w: row r of net depends on w[r, c] with coefficient u[:, c]."""
    m, k = w.shape
    rows = np.arange(m)[:, None]
    cols = layout.column(name) + rows * k + np.arange(k)[None, :]  # (m, k)
    d_net[:, rows, cols] += u[:, None, :]


def add_bias(layout: Layout, d_net: np.ndarray, name: str) -> None:
    """d_net (B, m, D) += ∂b/∂b: row r depends on b[r] with coefficient 1."""
    m = d_net.shape[1]
    d_net[:, np.arange(m), layout.column(name) + np.arange(m)] += 1.0


def selection(layout: Layout, state_columns: np.ndarray) -> np.ndarray:
    """d u / d[z(t−1); θ] (k, D) for a source vector whose entries are the state units ``state_columns``.

    Entries marked −1 (external inputs such as x(t)) have a zero row.
    """
    e = np.zeros((len(state_columns), layout.D))
    for row, col in enumerate(state_columns):
        if col >= 0:
            e[row, col] = 1.0
    return e
