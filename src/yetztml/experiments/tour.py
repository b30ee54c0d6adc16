"""The main job, ``yetztml run``: a guided tour that writes a report folder.

Steps (each records its timings in ``result.json``):

1. the numbered equations of every cell in the catalogue;
2. float64 finite-difference checks of every cell's hand-derived backward pass.

Later capabilities add their steps here (error flow, the adding problem, the paper tables).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..cells.catalogue import CATALOGUE, gradient_check
from ..core.results import versions, write_json

#: Relative error under which a finite-difference check counts as passed.
GRADCHECK_TOLERANCE = 1e-6


def run_tour(
    out: str | Path,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the tour, write ``out/result.json`` and return the result dict (the report is built from it)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    names = list(CATALOGUE)
    cells = []
    for i, name in enumerate(names):
        if progress is not None:
            progress(f"gradient check: {name}", i, len(names))
        t0 = time.perf_counter()
        check = gradient_check(name, seed=seed)
        check["seconds"] = time.perf_counter() - t0
        check["passed"] = check["max_error"] <= GRADCHECK_TOLERANCE
        check["equations"] = CATALOGUE[name].load().__module__
        cells.append(check)
    if progress is not None:
        progress("done", len(names), len(names))
    result = {
        "job": "yetztml run",
        "seed": seed,
        "versions": versions(),
        "gradcheck": {"tolerance": GRADCHECK_TOLERANCE, "cells": cells},
        "seconds": time.perf_counter() - started,
    }
    write_json(out / "result.json", result)
    return result
