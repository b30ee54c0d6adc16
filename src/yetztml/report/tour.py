"""The report of the ``yetztml run`` tour (``report.md`` and figures), built from its result dict."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from .errorflow import summary_lines, write_scenario


def _gradcheck_table(cells: list[dict[str, Any]], tolerance: float) -> list[str]:
    lines = [
        "| cell | configurations | quantities checked | max relative error | verdict |",
        "|---|---|---|---|---|",
    ]
    for c in cells:
        n_params = sum(len(cfg["errors"]) for cfg in c["configs"])
        verdict = "pass" if c["max_error"] <= tolerance else "FAIL"
        lines.append(f"| {c['class']} | {len(c['configs'])} | {n_params} | {c['max_error']:.2e} | {verdict} |")
    return lines


def _errorflow_section(out: Path, scenarios: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "## Error flow: why RNNs forget and the constant error carousel does not",
        "",
        "Hochreiter's scaling factor ∂ϑ_v(t−q)/∂ϑ_u(t) [1997 eq. 1] measured along a recorded trajectory for "
        "every lag q (log10 scale), with the weak upper bound where one is defined. "
        "Each scenario is explained in `docs/errorflow/` and can be rerun with "
        "`yetztml errorflow --scenario NAME`.",
        "",
    ]
    figures = out / "errorflow"
    for name, result in scenarios.items():
        files = write_scenario(result, figures)
        lines += [f"### {name}", "", "```text", *summary_lines(result), "```", ""]
        lines += [f"![{p.stem}](errorflow/{p.name})" for p in files if p.suffix == ".png"]
        lines.append("")
    return lines


def write_tour_report(out: Path, result: dict[str, Any]) -> Path:
    """Write ``out/report.md`` and the figures: gradient checks, error flow, then every cell's equations."""
    out = Path(out)
    grad = result["gradcheck"]
    lines = [
        "# yetztml run",
        "",
        f"Seed {result['seed']}; total time {result['seconds']:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in result["timings"].items())
        + "); versions: "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + ".",
        "",
        "## Hand-derived gradients against float64 central finite differences",
        "",
        f"Every parameter, the inputs and the initial state of each cell; pass at ≤ {grad['tolerance']:g} "
        "(normwise relative error). Rerun with `yetztml gradcheck`.",
        "",
        *_gradcheck_table(grad["cells"], grad["tolerance"]),
        "",
        *_errorflow_section(out, result["errorflow"]),
        "## The equations",
        "",
    ]
    for c in grad["cells"]:
        doc = inspect.getdoc(importlib.import_module(c["equations"])) or ""
        lines += [f"### {c['class']}", "", "```text", doc, "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
