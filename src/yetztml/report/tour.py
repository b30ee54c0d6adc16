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


def plot_adding(adding: dict[str, Any], path: Path) -> Path:
    """Training mean absolute error against sequences seen: LSTM1997 variants and the Elman RNN."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for variant, record in adding["lstm1997"].items():
        curve = record["curve"]
        ax.plot(curve["sequences"], curve["mae"], lw=1.5, label=f"LSTM1997, {variant} (truncated gradient, online SGD)")
    rnn = adding["rnn"]
    ax.plot([c["sequences"] for c in rnn["curve"]], [c["train_mae"] for c in rnn["curve"]], lw=1.5,
            label=f"{rnn['net']}, {rnn['method']}")
    ax.axhline(rnn["baseline_mae"], color="black", ls=":", lw=1.0, label="best constant output (0.1625)")
    ax.axhline(0.04, color="grey", ls="--", lw=1.0, label="criterion |error| < 0.04")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training sequences")
    ax.set_ylabel("mean |error| at the sequence end")
    ax.set_title(f"Adding problem (1997 Exp 4), T = {adding['T']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)
    return path


def _adding_section(out: Path, adding: dict[str, Any]) -> list[str]:
    paper = adding["paper"]
    lines = [
        f"## The adding problem (1997 Exp 4, T = {adding['T']}): LSTM1997 next to an Elman RNN",
        "",
        "Each LSTM1997 trial is the paper's 93-weight net trained online with the 1997 truncated gradient, "
        f"capped at {adding['lstm_budget']:,} sequences; `linear-output` is a named variant (an identity output "
        "unit), not the paper's configuration — see `docs/reproduction.md`. Test: 2560 fresh sequences, "
        "correct when |error| < 0.04. Full reproduction: `yetztml reproduce lstm1997 --exp 4 --T 100`.",
        "",
        "| net | training | sequences | stopped because | test wrong (of 2560) | test mean abs. error |",
        "|---|---|---|---|---|---|",
        f"| paper, Table 7 (mean of 10 trials) | online, truncated gradient | {paper['sequences']:,} | ST3(0.01) "
        f"| {paper.get('wrong', '–')} | < 0.01 |",
    ]
    for variant, r in adding["lstm1997"].items():
        why = "ST3(0.01) met" if r["success"] else "budget reached before ST3(0.01)"
        lines.append(
            f"| LSTM1997 {variant} (93 weights) | online, truncated gradient | {r['sequences']:,} | {why} "
            f"| {r['test']['wrong']} | {r['test']['mae']:.4f} |"
        )
    rnn = adding["rnn"]
    lines.append(
        f"| {rnn['net']} ({rnn['num_weights']} weights) | {rnn['method']} | {rnn['sequences']:,} | budget "
        f"| {rnn['test']['wrong']} | {rnn['test']['mae']:.4f} |"
    )
    lines += [
        "",
        f"The best constant output has mean absolute error {rnn['baseline_mae']:.4f}: a net that stays there "
        "has learned nothing about the two marked numbers. ST3(0.01) is the paper's stop: mean training "
        "error below 0.01 and the 2000 most recent sequences all correct; the curves show how far each net "
        "got before its budget ran out.",
        "",
        f"![adding]({plot_adding(adding, out / 'adding.png').name})",
        "",
    ]
    return lines


def write_tour_report(out: Path, result: dict[str, Any]) -> Path:
    """Write ``out/report.md`` and the figures: gradient checks, error flow, then every cell's equations."""
    out = Path(out)
    grad = result["gradcheck"]
    lines = [
        "# yetztml run",
        "",
        f"Seed {result['seed']}; {result['seconds']:.1f} s on {result['workers']} worker process(es), "
        "compilation of the kernels included on a fresh install; versions: "
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
        *_adding_section(out, result["adding"]),
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
