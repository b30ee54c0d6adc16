"""Softmax cross-entropy over the non-pad target words, with optional label smoothing.

With p = softmax(logits) over V words, target word y, smoothing ε and the n selected (non-pad) positions::

    (TL1)  q = (1 − ε) onehot(y) + ε / V                          PyTorch's label_smoothing convention
    (TL2)  E = (1/n) Σ_positions −Σ_v q_v log p_v
    (TL3)  ∂E/∂logits = (p − q) / n   at selected positions, 0 at padding

ε = 0 is :func:`yetztml.learning.losses.softmax_cross_entropy` with ``reduction="mean"``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["smoothed_cross_entropy", "word_log_probs"]


def word_log_probs(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, in the logits' precision (shifted by the maximum, so stable)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z


def smoothed_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None, smoothing: float = 0.0
) -> tuple[float, np.ndarray]:
    """(TL1)–(TL3): the mean loss over selected positions and its gradient (logits' dtype)."""
    m = (targets != 0) if mask is None else np.asarray(mask, dtype=bool)
    n = max(int(m.sum()), 1)
    log_p = word_log_probs(logits)
    V = logits.shape[-1]
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    per = -(1.0 - smoothing) * picked - (smoothing / V) * log_p.sum(axis=-1)  # (TL1), (TL2)
    value = float(np.sum(np.where(m, per, 0.0), dtype=np.float64)) / n  # (TL2)
    grad = np.exp(log_p)
    if smoothing:
        grad -= smoothing / V  # (TL3)
    np.put_along_axis(grad, targets[..., None], np.take_along_axis(grad, targets[..., None], axis=-1)
                      - (1.0 - smoothing), axis=-1)  # (TL3)
    grad *= m[..., None] / n  # (TL3)
    return value, grad.astype(logits.dtype, copy=False)
