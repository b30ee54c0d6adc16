"""The custom operators: one layer, one direction, one run of time steps of a yetztml cell.

``yetztml::sweep`` runs the cell's compiled forward kernel and returns every trajectory its backward
needs (so nothing is recomputed); ``yetztml::sweep_backward`` runs the hand-derived backward kernel.
Both are registered through :func:`torch.library.custom_op` with fake (shape-only) implementations, and
:func:`torch.library.register_autograd` joins them, so autograd differentiates through the pair and
``torch.compile`` sees each as one opaque operator.

Tensors cross to NumPy with ``Tensor.numpy()`` (a view, no copy); an array is copied only when it is not
C-contiguous (for example the time-major view of a ``batch_first`` input). Results come back with
``torch.from_numpy`` (no copy). The kernels' matrix products call PyTorch's own BLAS inside each operator
(:mod:`yetztml.torch._blas`).
"""

from __future__ import annotations

import numpy as np
import torch

from . import _kinds
from ._blas import torch_blas

Tensor = torch.Tensor


def _np(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.numpy())


@torch.library.custom_op("yetztml::sweep", mutates_args=())
def sweep(x: Tensor, init: list[Tensor], weights: list[Tensor], kind: str, reverse: bool) -> list[Tensor]:
    """Forward of one layer and direction: x ``(T, B, I)``, init ``(B, H)`` per state part."""
    with torch_blas():
        arrays = _kinds.get(kind).forward(_np(x), [_np(s) for s in init], [_np(w) for w in weights], reverse)
    return [torch.from_numpy(a) for a in arrays]


@sweep.register_fake
def _sweep_fake(x, init, weights, kind, reverse):
    T, B, I = x.shape
    return [x.new_empty(shape) for shape in _kinds.get(kind).shapes(T, B, I, init[0].shape[1])]


@torch.library.custom_op("yetztml::sweep_backward", mutates_args=())
def sweep_backward(
    x: Tensor, init: list[Tensor], weights: list[Tensor], saved: list[Tensor], d_out: Tensor,
    d_finals: list[Tensor], kind: str, reverse: bool,
) -> list[Tensor]:
    """Backward of :func:`sweep`: returns [δx, δinit parts…, δweights…]."""
    with torch_blas():
        dx, d_init, d_weights = _kinds.get(kind).backward(
            _np(x), [_np(s) for s in init], [_np(w) for w in weights], [_np(s) for s in saved], _np(d_out),
            [_np(d) for d in d_finals], reverse,
        )
    return [torch.from_numpy(np.ascontiguousarray(a)) for a in [dx, *d_init, *d_weights]]


@sweep_backward.register_fake
def _sweep_backward_fake(x, init, weights, saved, d_out, d_finals, kind, reverse):
    return [torch.empty_like(x)] + [torch.empty_like(s) for s in init] + [torch.empty_like(w) for w in weights]


def _setup_context(ctx, inputs, output):
    x, init, weights, kind, reverse = inputs
    ctx.kind, ctx.reverse, ctx.counts = kind, reverse, (len(init), len(weights))
    parts = _kinds.get(kind).parts
    ctx.mark_non_differentiable(*output[parts:])  # trajectories kept for the backward only
    ctx.save_for_backward(x, *init, *weights, *output)


def _backward(ctx, grads):
    kind = _kinds.get(ctx.kind)
    n_init, n_w = ctx.counts
    tensors = ctx.saved_tensors
    x, init, weights, saved = (
        tensors[0], list(tensors[1 : 1 + n_init]), list(tensors[1 + n_init : 1 + n_init + n_w]),
        list(tensors[1 + n_init + n_w :]),
    )
    T = x.shape[0]
    # autograd passes zeros, not None, for a result the loss does not use (materialised grads)
    d_out = grads[0][kind.out_rows(T, ctx.reverse)].contiguous()
    slot = kind.final_slot(T, ctx.reverse)
    d_finals = [torch.zeros_like(init[0])]  # the final h is an output: its error is in d_out
    for part in range(1, kind.parts):
        d_finals.append(grads[part][slot].contiguous())
    res = sweep_backward(x, init, weights, saved, d_out, d_finals, ctx.kind, ctx.reverse)
    return res[0], list(res[1 : 1 + n_init]), list(res[1 + n_init :]), None, None


torch.library.register_autograd("yetztml::sweep", _backward, setup_context=_setup_context)


def run(x: Tensor, init: list[Tensor], weights: list[Tensor], k: _kinds.Kind, reverse: bool):
    """One layer and direction of kind ``k`` through the operator: returns (outputs ``(T, B, H)`` in time
    order, final state parts ``(B, H)``, every trajectory)."""
    arrays = sweep(x, init, weights, k.name, reverse)
    T = x.shape[0]
    out = arrays[0][k.out_rows(T, reverse)]
    if reverse and k.runs_reversed:
        out = out.flip(0)
    slot = k.final_slot(T, reverse)
    return out, [arrays[p][slot] for p in range(k.parts)], arrays
