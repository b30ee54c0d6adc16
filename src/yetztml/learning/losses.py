"""Loss functions: each returns the value and its gradient with respect to the outputs.

With outputs y, targets t, a selection mask m over the leading (T, B) axes (m = 1 where a step or an
example carries error) and n = the number of selected elements (selected positions × K):

    (LOF1)  squared_error  E = Σ m (t − y)²                                  [1997 eq. 16], no ½
    (LOF2)  mse            E = (1/n) Σ m (t − y)²
    (LOF3)  cross entropy  E = −Σ m log softmax(z)[label]      (÷ number of selected positions for "mean")
    (LOF4)  smooth L1      E = Σ m ℓ(y − t),  ℓ(d) = ½ d²/β if |d| < β else |d| − ½β   (÷ n for "mean")

    (LOB1)  ∂E/∂y = 2 m (y − t)
    (LOB2)  ∂E/∂y = 2 m (y − t) / n
    (LOB3)  ∂E/∂z = m (softmax(z) − onehot(label))             (÷ number of selected positions for "mean")
    (LOB4)  ∂E/∂y = m ℓ'(y − t),  ℓ'(d) = d/β if |d| < β else sign(d)               (÷ n for "mean")

The 1997 paper's error has no ½, so its error signal e_k = f'_k (t^k − y^k) [1997 eq. 19] is −½ ∂E/∂net_k;
see docs/learning.md for what that means for the learning rate α.

Shapes: outputs, targets and logits are (T, B, K) for per-step targets or (B, K) for one target per
sequence (any leading axes work); labels are the leading axes of the logits, (T, B) or (B,). The mask is
boolean with one axis per leading axis, each of size 1 or the full size. Targets and labels at unselected
positions are ignored, so they may hold placeholders (NaN, −1). An empty selection gives value 0 and a
zero gradient. Values are accumulated in float64; gradients have the dtype of the outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.errors import DTypeError, NonFiniteError, OptionError, ShapeError, message
from ..core.validation import check_array, check_choice, check_float

LossFn = Callable[..., tuple[float, np.ndarray]]


def _leading_mask(thing: str, mask: object, lead: tuple[int, ...]) -> np.ndarray:
    """The selection mask broadcast to the leading shape ``lead`` (all True when ``mask`` is None)."""
    if mask is None:
        return np.ones(lead, dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise DTypeError(
            message(
                f"{thing}(mask)", "a boolean array", f"dtype {mask.dtype}", "Convert with mask.astype(bool)."
            )
        )
    fits = mask.ndim == len(lead) and all(m in (1, n) for m, n in zip(mask.shape, lead, strict=True))
    if not fits:
        raise ShapeError(
            message(
                f"{thing}(mask)",
                f"one axis per leading axis of shape {lead} (size 1 or equal)",
                f"shape {mask.shape}",
                "For one target per sequence use a (T, B) mask that is True only at the last step.",
            )
        )
    return np.broadcast_to(mask, lead)


def _regression_inputs(thing: str, outputs: object, targets: object, mask: object):
    """Validate outputs/targets/mask; return (y, t, m, dtype) with y, t float64 and m (…, 1) boolean."""
    outputs = check_array(f"{thing}(outputs)", outputs)
    targets = check_array(f"{thing}(targets)", targets, finite=False)
    if outputs.ndim < 1:
        raise ShapeError(message(f"{thing}(outputs)", "at least 1 dimension", "a 0-d array"))
    if targets.shape != outputs.shape:
        raise ShapeError(
            message(
                f"{thing}(targets)", f"the shape of the outputs {outputs.shape}", f"shape {targets.shape}"
            )
        )
    m = _leading_mask(thing, mask, outputs.shape[:-1])[..., None]
    y = outputs.astype(np.float64, copy=False)
    t = np.where(m, targets.astype(np.float64, copy=False), y)  # unselected targets never enter
    if not np.all(np.isfinite(t)):
        bad = int(t.size - np.count_nonzero(np.isfinite(t)))
        raise NonFiniteError(
            message(f"{thing}(targets)", "finite values at the selected positions", f"{bad} NaN/inf entries")
        )
    return y, t, m, outputs.dtype


def _finish(thing: str, value: float, grad: np.ndarray, dtype: np.dtype) -> tuple[float, np.ndarray]:
    if not np.isfinite(value):
        raise NonFiniteError(
            message(
                f"{thing} value",
                "a finite number",
                value,
                "The outputs are too large for this loss; check the learning rate.",
            )
        )
    return float(value), grad.astype(dtype)


def squared_error(outputs: np.ndarray, targets: np.ndarray, mask: object = None) -> tuple[float, np.ndarray]:
    """E = Σ (t − y)² over selected elements, without ½ [1997 eq. 16]; returns (E, ∂E/∂outputs)."""
    y, t, m, dtype = _regression_inputs("squared_error", outputs, targets, mask)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is _finish's NonFiniteError, not a warning
        d = np.where(m, y - t, 0.0)  # (…, K)
        value = np.sum(d * d)  # (LOF1) [1997 eq. 16]
        grad = 2.0 * d  # (LOB1)
    return _finish("squared_error", value, grad, dtype)


def mse(outputs: np.ndarray, targets: np.ndarray, mask: object = None) -> tuple[float, np.ndarray]:
    """Mean of (t − y)² over selected elements; returns (E, ∂E/∂outputs)."""
    y, t, m, dtype = _regression_inputs("mse", outputs, targets, mask)
    n = int(np.count_nonzero(np.broadcast_to(m, y.shape)))
    scale = 1.0 / n if n else 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is _finish's NonFiniteError, not a warning
        d = np.where(m, y - t, 0.0)
        value = np.sum(d * d) * scale  # (LOF2)
        grad = 2.0 * d * scale  # (LOB2)
    return _finish("mse", value, grad, dtype)


def smooth_l1(
    outputs: np.ndarray, targets: np.ndarray, beta: float = 1.0, reduction: str = "sum", mask: object = None
) -> tuple[float, np.ndarray]:
    """Huber-like loss of ``torch.nn.SmoothL1Loss(beta=beta, reduction=reduction)``; returns (E, ∂E/∂outputs).

    ``beta = 0`` is the L1 loss (gradient sign(y − t), 0 where y = t), as in PyTorch.
    """
    beta = check_float("smooth_l1(beta)", beta, minimum=0.0)
    check_choice("smooth_l1(reduction)", reduction, ("sum", "mean"))
    y, t, m, dtype = _regression_inputs("smooth_l1", outputs, targets, mask)
    safe_beta = beta if beta > 0.0 else 1.0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is _finish's NonFiniteError, not a warning
        d = np.where(m, y - t, 0.0)
        a = np.abs(d)
        quadratic = a < beta
        elem = np.where(quadratic, 0.5 * d * d / safe_beta, a - 0.5 * beta)  # (LOF4)
        grad = np.where(quadratic, d / safe_beta, np.sign(d))  # (LOB4)
        value = np.sum(elem)
    if reduction == "mean":
        n = int(np.count_nonzero(np.broadcast_to(m, y.shape)))
        scale = 1.0 / n if n else 0.0
        value, grad = value * scale, grad * scale
    return _finish("smooth_l1", value, grad, dtype)


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, mask: object = None, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """−log softmax(logits)[label], summed or averaged over selected positions; returns (E, ∂E/∂logits).

    Matches ``torch.nn.CrossEntropyLoss`` on logits moved to (N, C); "mean" divides by the number of
    selected positions (PyTorch's ``ignore_index`` convention).
    """
    thing = "softmax_cross_entropy"
    check_choice(f"{thing}(reduction)", reduction, ("mean", "sum"))
    logits = check_array(f"{thing}(logits)", logits)
    if logits.ndim < 2:
        raise ShapeError(message(f"{thing}(logits)", "at least 2 dimensions (…, C)", f"shape {logits.shape}"))
    labels = np.asarray(labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise DTypeError(
            message(
                f"{thing}(labels)",
                "integer class indices",
                f"dtype {labels.dtype}",
                "Convert with labels.astype(np.int64).",
            )
        )
    lead, classes = logits.shape[:-1], logits.shape[-1]
    if labels.shape != lead:
        raise ShapeError(
            message(f"{thing}(labels)", f"the leading shape of the logits {lead}", f"shape {labels.shape}")
        )
    m = _leading_mask(thing, mask, lead)
    bad = m & ((labels < 0) | (labels >= classes))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise OptionError(
            message(
                f"{thing}(labels)",
                f"class indices in [0, {classes})",
                f"{int(labels[where])} at position {where}",
            )
        )
    z = logits.astype(np.float64, copy=False)
    shifted = z - np.max(z, axis=-1, keepdims=True)  # (…, C) stable log-softmax
    log_norm = np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    log_p = shifted - log_norm
    safe = np.where(m, labels, 0)[..., None]
    picked = np.take_along_axis(log_p, safe, axis=-1)[..., 0]
    value = -np.sum(np.where(m, picked, 0.0))  # (LOF3)
    grad = np.exp(log_p)
    np.put_along_axis(grad, safe, np.take_along_axis(grad, safe, axis=-1) - 1.0, axis=-1)
    grad = np.where(m[..., None], grad, 0.0)  # (LOB3)
    if reduction == "mean":
        n = int(np.count_nonzero(m))
        scale = 1.0 / n if n else 0.0
        value, grad = value * scale, grad * scale
    return _finish(thing, value, grad, logits.dtype)


#: Losses selectable by name (``gradients(..., loss="mse")``, ``train(..., loss="mse")``).
LOSSES: dict[str, LossFn] = {
    "squared_error": squared_error,
    "mse": mse,
    "cross_entropy": softmax_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,  # the function's own name
    "smooth_l1": smooth_l1,
}


def resolve_loss(loss: str | LossFn) -> LossFn:
    """The loss function named ``loss`` (see :data:`LOSSES`), or ``loss`` itself if it is callable."""
    if callable(loss):
        return loss
    if not isinstance(loss, str) or loss not in LOSSES:
        names = ", ".join(repr(k) for k in LOSSES)
        raise OptionError(
            message(
                "loss",
                f"one of {names} or a callable (outputs, targets, mask=...) -> (value, d_outputs)",
                repr(loss),
            )
        )
    return LOSSES[loss]
