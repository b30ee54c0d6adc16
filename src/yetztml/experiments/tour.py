"""The main job, ``yetztml run``: a guided tour whose results become a report folder.

Steps, each timed and recorded in ``result.json``:

1. ``gradcheck`` — float64 finite-difference checks of every cell's hand-derived backward pass;
2. ``errorflow`` — why plain RNNs forget and the constant error carousel does not: the scenarios
   ``vanishing`` (logistic RNN under Hochreiter's bound), ``cec`` (flow exactly 1), ``cec-gated``
   (eq. 41: scaled only on entry and exit) and ``lstm-vs-rnn`` (same task, flow before and after training).

The report (figures and ``report.md``) is drawn from the returned dict by :mod:`yetztml.report.tour`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..analysis.scenarios import run_scenario
from ..cells.catalogue import CATALOGUE, gradient_check
from ..core.results import versions, write_json

#: Relative error under which a finite-difference check counts as passed.
GRADCHECK_TOLERANCE = 1e-6

#: Error-flow scenarios shown by the tour, with the largest lag each uses.
ERRORFLOW_SCENARIOS = {"vanishing": 100, "cec": 100, "cec-gated": 100, "lstm-vs-rnn": None}

Progress = Callable[[str, int, int], None]


def _gradcheck(seed: int, progress: Progress) -> dict[str, Any]:
    cells = []
    names = list(CATALOGUE)
    for i, name in enumerate(names):
        progress(f"gradient check: {name}", i, len(names))
        t0 = time.perf_counter()
        check = gradient_check(name, seed=seed)
        check["seconds"] = time.perf_counter() - t0
        check["passed"] = check["max_error"] <= GRADCHECK_TOLERANCE
        check["equations"] = CATALOGUE[name].load().__module__
        cells.append(check)
    return {"tolerance": GRADCHECK_TOLERANCE, "cells": cells}


def _errorflow(seed: int, progress: Progress) -> dict[str, Any]:
    scenarios = {}
    for i, (name, lags) in enumerate(ERRORFLOW_SCENARIOS.items()):
        progress(f"error flow: {name}", i, len(ERRORFLOW_SCENARIOS))
        t0 = time.perf_counter()
        result = run_scenario(name, lags=lags, seed=seed)
        result["seconds"] = time.perf_counter() - t0
        scenarios[name] = result
    return scenarios


def run_tour(out: str | Path, seed: int = 0, progress: Progress | None = None) -> dict[str, Any]:
    """Run the tour, write ``out/result.json`` and return the result dict (the report is built from it)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda label, done, total: None)
    started = time.perf_counter()
    timings = {}
    t0 = time.perf_counter()
    gradcheck = _gradcheck(seed, progress)
    timings["gradcheck"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    errorflow = _errorflow(seed, progress)
    timings["errorflow"] = time.perf_counter() - t0
    progress("done", 1, 1)
    result = {
        "job": "yetztml run",
        "seed": seed,
        "versions": versions(),
        "gradcheck": gradcheck,
        "errorflow": errorflow,
        "timings": timings,
        "seconds": time.perf_counter() - started,
    }
    write_json(out / "result.json", result)
    return result
