"""Gradient clipping, in place on a gradient dict (``torch.nn.utils.clip_grad_value_`` / ``clip_grad_norm_``).

    (C1)  clip by value:        g ← min(max(g, −c), c)                   elementwise, every tensor
    (C2)  global norm:          ‖g‖ = √(Σ_tensors Σ_elements g²)          (accumulated in float64)
    (C3)  clip by global norm:  g ← g · min(1, c / (‖g‖ + 10⁻⁶))           every tensor, same factor

(C2) sums a float64 tensor with BLAS's dot, and a float32 tensor in float64 by a compiled loop with eight
partial sums (no float64 copy of the tensor is made). A float32 tensor whose nonzero entries all lie in known
rows (an embedding's gradient: ``Grads.rows``) is summed over those rows only, into the same eight partial
sums as the whole tensor: the zeros left out add exactly nothing, so the sum is the same to the last bit.

Only the dict's arrays are clipped; ``Grads.inputs`` and ``Grads.initial_state`` are left alone. Both
functions refuse NaN/inf gradients: a non-finite norm would silently turn every gradient into NaN.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numba
import numpy as np

from ..core.errors import DTypeError, NonFiniteError, message
from ..core.validation import check_float


def _check(thing: str, grads: object) -> None:
    if not isinstance(grads, MutableMapping):
        raise DTypeError(
            message(thing, "a dict name -> ndarray (e.g. from cell.backward)", type(grads).__name__)
        )
    for key, g in grads.items():
        if not isinstance(g, np.ndarray) or g.dtype.kind != "f":
            raise DTypeError(message(f"{thing}[{key!r}]", "a float ndarray", type(g).__name__))
        if not np.all(np.isfinite(g)):
            raise NonFiniteError(message(f"{thing}[{key!r}]", "finite values", "NaN/inf entries"))


def clip_by_value(grads: MutableMapping[str, np.ndarray], limit: float) -> MutableMapping[str, np.ndarray]:
    """Clamp every gradient entry to [−limit, limit] in place (C1); returns ``grads``."""
    limit = check_float("clip_by_value(limit)", limit, minimum=0.0, strict_minimum=True)
    _check("clip_by_value(grads)", grads)
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)  # (C1)
    return grads


@numba.njit(cache=True, inline="always")
def _finish(parts, flat, n):  # pragma: no cover - compiled
    """Σ of the eight partial sums, then the squares of flat[n:] (the fewer than 8 entries after the last
    multiple of 8) one by one, in order (C2)."""
    total = 0.0
    for j in range(8):
        total += parts[j]
    for i in range(n, flat.size):
        value = np.float64(flat[i])
        total += value * value
    return total


@numba.njit(cache=True)
def _squares64(x):  # pragma: no cover - compiled
    """Σ x² of a flat float32 array, accumulated in float64 in eight partial sums (C2)."""
    parts = np.zeros(8)
    n = x.size - x.size % 8
    for i in range(0, n, 8):
        for j in range(8):
            value = np.float64(x[i + j])
            parts[j] += value * value
    return _finish(parts, x, n)


@numba.njit(cache=True)
def _row_squares64(x, rows):  # pragma: no cover - compiled
    """:func:`_squares64` of a C-contiguous (N, D) float32 array whose other rows than ``rows`` (ascending) are 0.

    Entry (r, c) goes to the partial sum of its flat index r·D + c, as in :func:`_squares64`; the tail of the
    flat array beyond the last multiple of 8 (fewer than 8 entries) is read whole (C2)."""
    parts = np.zeros(8)
    d = x.shape[1]
    n = x.size - x.size % 8
    for r in rows:
        for c in range(d):
            i = r * d + c
            if i < n:
                value = np.float64(x[r, c])
                parts[i % 8] += value * value
    return _finish(parts, x.reshape(-1), n)


def sum_of_squares(g: np.ndarray, rows: np.ndarray | None = None) -> float:
    """Σ g² of one float tensor in float64 (C2): NaN or inf when ``g`` holds a NaN or inf.

    ``rows`` (ascending, unique): the only rows of a 2-D ``g`` that may hold nonzero entries (an embedding's
    gradient); a float32 ``g`` is then read in those rows only, with the same result."""
    if g.dtype == np.float32:
        if rows is not None and g.ndim == 2 and g.flags.c_contiguous:
            return float(_row_squares64(g, np.ascontiguousarray(rows, dtype=np.int64)))  # (C2)
        return float(_squares64(np.ascontiguousarray(g).reshape(-1)))  # (C2)
    g64 = np.ascontiguousarray(g, dtype=np.float64).reshape(-1)
    return float(np.dot(g64, g64))  # (C2)


def global_norm(grads: MutableMapping[str, np.ndarray]) -> float:
    """‖g‖ over all tensors together (C2), in float64."""
    return float(np.sqrt(sum(sum_of_squares(g) for g in grads.values())))  # (C2)


def scale_to_norm(grads: MutableMapping[str, np.ndarray], max_norm: float, norm: float) -> None:
    """(C3) with the global norm ``norm`` already computed (the training loop's single pass over the gradients)."""
    coef = max_norm / (norm + 1e-6)
    if coef < 1.0:
        for g in grads.values():
            g *= g.dtype.type(coef)  # (C3)


def clip_by_global_norm(grads: MutableMapping[str, np.ndarray], max_norm: float) -> float:
    """Rescale all gradients in place so their global norm is at most ``max_norm`` (C3).

    Returns the norm before clipping (as ``clip_grad_norm_`` does).
    """
    max_norm = check_float("clip_by_global_norm(max_norm)", max_norm, minimum=0.0, strict_minimum=True)
    _check("clip_by_global_norm(grads)", grads)
    norm = global_norm(grads)
    scale_to_norm(grads, max_norm, norm)  # (C3)
    return norm
