"""One text-training run as a trial of a sweep (``yetztml sweep`` with ``command = "text train"``).

:func:`train_trial` trains exactly what ``yetztml text train`` with the same options trains (the same
configuration, data and seed give the same accuracies to the last digit), in a temporary directory, and
returns the run's measures as a JSON-able record; the model itself is not kept (``yetztml text train``
with the point's options writes it). The texts travel with the task, so on a cluster only the machine
that starts the sweep needs the data files. :func:`summarize` turns a point's record into the sweep
table's columns.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from ...core.errors import OptionError, message
from ...data import LabelledTexts
from .config import TextConfig
from .train import train_classifier

#: What a record of :func:`train_trial` always holds (the sweep's runner checks it on resume).
REQUIRED = {"val_accuracy": float, "val_macro_f1": float, "best_epoch": int, "epochs_run": int,
            "wall_s": (int, float)}
#: The sweep table's columns, from :func:`summarize`.
COLUMNS = ("val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1", "best_epoch", "epochs_run",
           "wall_s_total")


def train_trial(trial: int, config: dict[str, Any], train: LabelledTexts, val: LabelledTexts | None = None,
                test: LabelledTexts | None = None) -> dict[str, Any]:
    """Train the classifier of ``config`` (:meth:`TextConfig.to_json`) on ``train`` (``val`` and ``test``
    as ``yetztml text train --val/--test``); the record of the run. A point is one run: ``trial`` is 0."""
    if trial != 0:
        raise OptionError(message("text train trial", "trial 0 (one run per point; vary seed for more)", trial))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="yetztml-sweep-") as folder:
        result = train_classifier(TextConfig.from_json(config), train, folder, val=val, test=test, progress=False)
    record: dict[str, Any] = {
        "trial": 0,
        "seed": result["config"]["seed"],
        "val_accuracy": float(result["val_accuracy"]),
        "val_macro_f1": float(result["val_macro_f1"]),
        "test_accuracy": result.get("test_accuracy"),
        "test_macro_f1": result.get("test_macro_f1"),
        "best_epoch": int(result["best_epoch"]),
        "epochs_run": len(result["epochs"]),
        "stopped_early": bool(result["stopped_early"]),
        "epochs": [{k: e[k] for k in ("epoch", "train_loss", "val_accuracy", "val_loss")} for e in result["epochs"]],
        "examples": result["data"]["examples"],
        "vocabulary": result["vocabulary"],
        "weights": result["weights"],
        "words_per_second": result["timing"]["words_per_second"],
        "wall_s": time.perf_counter() - started,
    }
    return record


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The table row of a point from its record(s): the measures of its run, its total wall time."""
    if not records:
        return {c: None for c in COLUMNS}
    first = records[0]
    out = {c: first.get(c) for c in COLUMNS if c != "wall_s_total"}
    out["wall_s_total"] = sum(r["wall_s"] for r in records)
    return out


__all__ = ["COLUMNS", "REQUIRED", "summarize", "train_trial"]
