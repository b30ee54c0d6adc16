"""Classification measures from true and predicted class ids.

With K classes, n examples, C[i, j] = #{true i, predicted j} (the confusion matrix)::

    (MET1)  accuracy   = Σ_i C[i, i] / n
    (MET2)  precision_i = C[i, i] / Σ_j C[j, i],   recall_i = C[i, i] / Σ_j C[i, j]   (0 when the sum is 0)
    (MET3)  F1_i = 2 precision_i recall_i / (precision_i + recall_i)                 (0 when both are 0)
    (MET4)  macro-F1 = (1/K) Σ_i F1_i
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["classification_metrics"]


def classification_metrics(true: np.ndarray, predicted: np.ndarray, classes: Sequence[Any]) -> dict[str, Any]:
    """``accuracy``, ``macro_f1``, ``per_class`` (label → precision, recall, f1, support), ``confusion``
    (rows: true class, columns: predicted, in the order of ``classes``)."""
    k = len(classes)
    true, predicted = np.asarray(true, np.int64), np.asarray(predicted, np.int64)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (true, predicted), 1)
    n = int(true.size)
    per_class: dict[str, dict[str, float]] = {}
    f1s = []
    for i, label in enumerate(classes):
        hit = confusion[i, i]
        col, row = confusion[:, i].sum(), confusion[i].sum()
        precision = float(hit / col) if col else 0.0  # (MET2)
        recall = float(hit / row) if row else 0.0  # (MET2)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0  # (MET3)
        f1s.append(f1)
        per_class[str(label)] = {"precision": precision, "recall": recall, "f1": f1, "support": int(row)}
    return {
        "accuracy": float(np.trace(confusion) / n) if n else 0.0,  # (MET1)
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,  # (MET4)
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "classes": [str(c) for c in classes],
        "examples": n,
    }
