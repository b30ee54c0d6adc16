"""Markdown report of the ``yetztml run`` tour, built from its result dict."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any


def _gradcheck_table(cells: list[dict[str, Any]], tolerance: float) -> list[str]:
    lines = [
        "| cell | configurations | parameters checked | max relative error | verdict |",
        "|---|---|---|---|---|",
    ]
    for c in cells:
        n_params = sum(len(cfg["errors"]) for cfg in c["configs"])
        verdict = "pass" if c["max_error"] <= tolerance else "FAIL"
        lines.append(f"| {c['class']} | {len(c['configs'])} | {n_params} | {c['max_error']:.2e} | {verdict} |")
    return lines


def write_tour_report(out: Path, result: dict[str, Any]) -> Path:
    """Write ``out/report.md`` (gradient-check table, then every cell's equations)."""
    grad = result["gradcheck"]
    lines = [
        "# yetztml run",
        "",
        f"Seed {result['seed']}; total time {result['seconds']:.1f} s; versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + ".",
        "",
        "## Hand-derived gradients against float64 central finite differences",
        "",
        f"Every parameter, the inputs and the initial state of each cell; pass at ≤ {grad['tolerance']:g}.",
        "",
        *_gradcheck_table(grad["cells"], grad["tolerance"]),
        "",
        "## The equations",
        "",
    ]
    for c in grad["cells"]:
        doc = inspect.getdoc(importlib.import_module(c["equations"])) or ""
        lines += [f"### {c['class']}", "", "```text", doc, "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
