"""Finite-difference check of a model's (or any cell's or layer's) backward pass, in float64.

The checked loss is L = Σ d_out·outputs + Σ d_fin·final_state with fixed random d_out, d_fin, as for the
cells (:mod:`yetztml.cells.gradcheck`). Differences from that check: the input is compared only when it
is a float array (token ids are not differentiable), the initial state only when there is one, lengths are
passed through, and a stochastic model draws the same random numbers in every evaluation (its generator
state is reset before each forward pass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cells.base import Cell, state_leaves
from ..cells.gradcheck import _rebuild
from ..core.errors import DTypeError, message
from ..core.gradcheck import numerical_gradient, relative_error

__all__ = ["check_model"]


def check_model(
    model: Cell, x: np.ndarray, rng: np.random.Generator, lengths: Any = None, state: Any = None,
    eps: float = 1e-6,
) -> dict[str, float]:
    """Max relative error of ``model.backward`` against central differences: per parameter, ``"inputs"``
    (float inputs only) and ``"initial_state"`` (when the model has a state)."""
    if model.dtype != np.float64:
        raise DTypeError(message("check_model(model)", "a float64 model", model.dtype, "Use model.astype('float64')."))
    extra = {} if lengths is None else {"lengths": lengths}
    start = model.rng_state()

    def run(s: Any):
        if start is not None:
            model.set_rng_state(start)
        return model.forward(x, s, **extra)

    trace = run(state)
    d_out = rng.standard_normal(trace.outputs.shape)
    d_fin_leaves = [rng.standard_normal(a.shape) for a in state_leaves(trace.final_state)]
    d_fin = _rebuild(trace.final_state, d_fin_leaves)
    if state is None:
        state = _rebuild(trace.initial_state, [a.copy() for a in state_leaves(trace.initial_state)])
    state_arrays = state_leaves(state)

    def loss() -> float:
        tr = run(state)
        total = float(np.sum(d_out * tr.outputs))
        for d, a in zip(d_fin_leaves, state_leaves(tr.final_state), strict=True):
            total += float(np.sum(d * a))
        return total

    grads = model.backward(trace, d_out, d_fin)
    errors = {name: relative_error(grads[name], numerical_gradient(loss, value, eps))
              for name, value in model.params.items()}
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        errors["inputs"] = relative_error(grads.inputs, numerical_gradient(loss, x, eps))
    if state_arrays:
        d_init = state_leaves(grads.initial_state)
        num_init = [numerical_gradient(loss, a, eps) for a in state_arrays]
        errors["initial_state"] = relative_error(
            np.concatenate([a.ravel() for a in d_init]), np.concatenate([b.ravel() for b in num_init])
        )
    if start is not None:
        model.set_rng_state(start)
    return errors
