"""Finite-difference check of a cell's hand-derived backward pass (float64).

The checked loss is L = Σ d_out·outputs + Σ d_fin·final_state with fixed random weights d_out, d_fin,
so the gradient reaching every parameter, the inputs and the initial state is exercised through both
the outputs and the final state. Each parameter is compared with :func:`relative_error`; the initial
state's leaves (h and c, or the block cells' five arrays) are compared as one concatenated vector.
"""

from __future__ import annotations

import numpy as np

from ..core.gradcheck import numerical_gradient, relative_error
from .base import Cell, state_leaves


def _rebuild(template, leaves):
    """Rebuild a state with ``template``'s structure from a flat list of arrays."""
    it = iter(leaves)

    def build(t):
        if isinstance(t, np.ndarray):
            return next(it)
        parts = [build(p) for p in t]
        return type(t)(*parts) if hasattr(t, "_fields") else type(t)(parts)

    return build(template)


def check_cell(
    cell: Cell,
    x: np.ndarray,
    rng: np.random.Generator,
    state=None,
    eps: float = 1e-6,
    **backward_kwargs,
) -> dict[str, float]:
    """Max relative error of ``cell.backward`` against central differences, per parameter.

    Also reports ``"inputs"`` and ``"initial_state"``. The cell must be float64 (use ``cell.astype``).
    Extra keyword arguments go to ``backward`` (e.g. ``truncate=True``); the numerical gradient of a
    truncated backward is not the true gradient, so only pass options that keep backward exact.
    """
    if cell.dtype != np.float64:
        raise TypeError("check_cell: expected a float64 cell, got " + str(cell.dtype) + ". Use cell.astype('float64').")
    trace = cell.forward(x, state)
    d_out = rng.standard_normal(trace.outputs.shape)
    fin_template = trace.final_state
    d_fin_leaves = [rng.standard_normal(a.shape) for a in state_leaves(fin_template)]
    d_fin = _rebuild(fin_template, d_fin_leaves)
    if state is None:
        state = _rebuild(trace.initial_state, [a.copy() for a in state_leaves(trace.initial_state)])
    state_arrays = state_leaves(state)

    def loss() -> float:
        tr = cell.forward(x, state)
        total = float(np.sum(d_out * tr.outputs))
        for d, a in zip(d_fin_leaves, state_leaves(tr.final_state), strict=True):
            total += float(np.sum(d * a))
        return total

    grads = cell.backward(trace, d_out, d_fin, **backward_kwargs)
    errors = {}
    for name, value in cell.params.items():
        errors[name] = relative_error(grads[name], numerical_gradient(loss, value, eps))
    errors["inputs"] = relative_error(grads.inputs, numerical_gradient(loss, x, eps))
    d_init = state_leaves(grads.initial_state)
    num_init = [numerical_gradient(loss, a, eps) for a in state_arrays]
    errors["initial_state"] = relative_error(
        np.concatenate([a.ravel() for a in d_init]), np.concatenate([b.ravel() for b in num_init])
    )
    return errors
