"""Float64 central finite differences, and the relative error used to compare gradients.

The relative error of a computed gradient ``a`` against a reference ``b`` (same shape) is normwise:

    rel(a, b) = max_i |a_i − b_i| / max(max_i |a_i|, max_i |b_i|, floor)

Elementwise ratios are meaningless for entries that are zero up to rounding (they are common: a weight
whose input is zero at every step), so the error is measured against the tensor's scale. ``floor``
(default 1e-10) makes two all-zero gradients agree instead of dividing by zero.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-10) -> float:
    """Normwise relative error between two arrays of equal shape (see module docstring)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: expected equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b)) / scale)


def numerical_gradient(
    loss: Callable[[], float], array: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central differences (f(x+ε) − f(x−ε)) / 2ε of ``loss()`` w.r.t. every entry of ``array``.

    ``array`` is perturbed in place and restored; ``loss`` must read it. Use float64 arrays.
    """
    grad = np.zeros(array.shape, dtype=np.float64)
    flat = array.reshape(-1)
    out = grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        plus = loss()
        flat[i] = orig - eps
        minus = loss()
        flat[i] = orig
        out[i] = (plus - minus) / (2.0 * eps)
    return grad


def numerical_gradients(
    loss: Callable[[], float], arrays: Mapping[str, np.ndarray], eps: float = 1e-6
) -> dict[str, np.ndarray]:
    """:func:`numerical_gradient` for each named array."""
    return {name: numerical_gradient(loss, arr, eps) for name, arr in arrays.items()}
