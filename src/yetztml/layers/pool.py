"""Pooling over time: one vector per sequence from its valid steps (padding never counts).

With lengths L_b (L_b = T without lengths) and x(t, b) (B, H), the output is one step (1, B, H)::

    (POOL1)  last:  y(b) = x(L_b − 1, b)
    (POOL2)  mean:  y(b) = (1/L_b) Σ_{t < L_b} x(t, b)
    (POOL3)  max:   y(b)_j = x(τ_bj, b)_j,   τ_bj = argmax_{t < L_b} x(t, b)_j   (first maximum on ties)
    (POOL7)  maxmean:  y(b) = [max(b) | mean(b)]            (B, 2H): (POOL3) beside (POOL2)

Backward, with δy(b) = ∂L/∂y(b); δx is zero at every other step and at all padding::

    (POOL4)  last:  δx(L_b − 1, b) = δy(b)
    (POOL5)  mean:  δx(t, b) = δy(b) / L_b                  for t < L_b
    (POOL6)  max:   δx(τ_bj, b)_j = δy(b)_j
    (POOL8)  maxmean:  δx = (POOL6) of δy's first H columns + (POOL5) of its last H
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..cells.base import Grads, Trace
from ..core.validation import check_choice, check_int
from .base import Layer, check_lengths, valid_mask

__all__ = ["Pool"]

MODES = ("last", "mean", "max", "maxmean")

#: Output columns per input column of each mode.
WIDTH = {"last": 1, "mean": 1, "max": 1, "maxmean": 2}


@numba.njit(cache=True)
def _max_over_valid(xt, lengths, y, where):  # pragma: no cover - compiled
    """(POOL3): y(b)_j and τ_bj over t < L_b of xt (T, B, H); the first maximum on ties (strict >)."""
    for b in range(xt.shape[1]):
        for j in range(xt.shape[2]):
            y[b, j] = xt[0, b, j]
            where[b, j] = 0
        for t in range(1, lengths[b]):
            for j in range(xt.shape[2]):
                if xt[t, b, j] > y[b, j]:
                    y[b, j] = xt[t, b, j]
                    where[b, j] = t


@numba.njit(cache=True)
def _scatter_max(dy, where, dxt):  # pragma: no cover - compiled
    """(POOL6): δx(τ_bj, b)_j = δy(b)_j into a zeroed dxt (T, B, H)."""
    for b in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            dxt[where[b, j], b, j] = dy[b, j]


def _mean_over_valid(xt: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(POOL2) of time-major xt (T, B, H) → (B, H)."""
    return np.where(valid_mask(lengths, xt.shape[0])[..., None], xt, 0).sum(axis=0) / lengths[:, None]  # (POOL2)


def _spread_mean(dy: np.ndarray, lengths: np.ndarray, steps: int) -> np.ndarray:
    """(POOL5): δy(b) / L_b at every valid step, 0 at padding → (T, B, H)."""
    return np.where(valid_mask(lengths, steps)[..., None], dy / lengths[:, None], 0)  # (POOL5)


class Pool(Layer):
    """Last valid step, mean or max over the valid steps of each sequence, or max and mean side by side
    (POOL1)–(POOL8); the output has ``WIDTH[mode]·size`` columns."""

    name = "pool"
    capabilities = frozenset({"lengths"})

    def __init__(
        self, size: int, mode: str = "last", *, batch_first: bool = False, dtype: object = np.float64
    ) -> None:
        cls = type(self).__name__
        size = check_int(f"{cls}(size=...)", size, minimum=1)
        mode = check_choice(f"{cls}(mode=...)", mode, MODES)
        super().__init__(size, WIDTH[mode] * size, dtype, batch_first)
        self.mode = mode

    def forward(self, x: object, state: Any = None, lengths: object = None) -> Trace:
        """(POOL1)–(POOL3), (POOL7); outputs (1, B, WIDTH·H) ((B, 1, WIDTH·H) if batch_first)."""
        x = self.check_x(f"{type(self).__name__}.forward(x)", x)
        self._check_empty_state(state)
        xt = x.transpose(1, 0, 2) if self.batch_first else x  # (T, B, H)
        T, B, _ = xt.shape
        lengths = (
            np.full(B, T, dtype=np.int64) if lengths is None
            else check_lengths(f"{type(self).__name__}.forward(lengths)", lengths, T, B)
        )
        cols = np.arange(B)
        where = None
        if self.mode == "last":
            y = xt[lengths - 1, cols]  # (POOL1)
        elif self.mode == "mean":
            y = _mean_over_valid(xt, lengths)  # (POOL2)
        else:
            y = np.empty((B, xt.shape[2]), dtype=xt.dtype)
            where = np.empty((B, xt.shape[2]), dtype=np.int64)
            _max_over_valid(xt, lengths, y, where)  # (POOL3) y and τ_bj, (B, H)
            if self.mode == "maxmean":
                y = np.concatenate([y, _mean_over_valid(xt, lengths)], axis=1)  # (POOL7)
        y = y.astype(self.dtype, copy=False)[None]  # (1, B, H)
        out = y.transpose(1, 0, 2) if self.batch_first else y
        return self._trace(x, np.ascontiguousarray(out), lengths=lengths, where=where)

    def backward(self, trace: Trace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(POOL4)–(POOL6), (POOL8)."""
        d = self._check_d_outputs(trace, d_outputs)
        dy = (d.transpose(1, 0, 2) if self.batch_first else d)[0]  # (B, H)
        lengths = trace.extras["lengths"]
        T = trace.x.shape[self.time_axis]
        B = lengths.shape[0]
        cols = np.arange(B)
        dxt = np.zeros((T, B, self.input_size), dtype=self.dtype)
        H = self.input_size
        if self.mode == "last":
            dxt[lengths - 1, cols] = dy  # (POOL4)
        elif self.mode == "mean":
            dxt += _spread_mean(dy, lengths, T)  # (POOL5)
        else:
            _scatter_max(np.ascontiguousarray(dy[:, :H], dtype=self.dtype), trace.extras["where"], dxt)  # (POOL6)
            if self.mode == "maxmean":
                dxt += _spread_mean(dy[:, H:], lengths, T)  # (POOL8): the mean half by (POOL5)
        dx = dxt.transpose(1, 0, 2) if self.batch_first else dxt
        return self._grads({}, np.ascontiguousarray(dx))
