"""Figures and JSON of the error-flow scenarios, built from their result dicts (never from live objects).

* ``<scenario>-flow.png``  — log10 of the flow against the lag q, the bound dashed where one is defined,
  the scenario's other curves alongside;
* ``<scenario>-pairs.png`` — heat maps of log10 |Φ_q[v, u]| for every unit pair at a few lags;
* ``<scenario>-gates.png`` — gate activations (and cell states) over time, for the LSTM scenarios;
* ``<scenario>-coth.png``  — the logistic one-step scaling |f'(net) w| against w (vanishing only);
* ``<scenario>.json``      — the result dict (``lags``, ``flow``, ``bound``, ``scenario``, ``config``, …).

matplotlib is imported inside the functions and drawn through ``matplotlib.figure.Figure`` (the Agg
canvas), so no global pyplot state or display is touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.scenarios import run_scenario
from ..core.results import versions, write_json


def _figure(width: float = 7.0, height: float = 4.5):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _logs(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def plot_flow(result: dict[str, Any], path: Path) -> Path:
    """log10 flow vs lag, the bound (dashed) and the extra curves."""
    fig = _figure()
    ax = fig.add_subplot()
    lags = np.array(result["lags"])
    for label, values in result["curves"].items():
        ax.plot(lags[: len(values)], _logs(values), lw=1.0, alpha=0.8, label=label)
    ax.plot(lags, _logs(result["log10_flow"]), color="black", lw=2.0, label=result.get("flow_label", "flow"))
    if result.get("log10_bound") is not None:
        ax.plot(lags, _logs(result["log10_bound"]), color="black", ls="--", lw=1.5, label="bound")
    ax.set_xlabel("lag q (steps back from t)")
    ax.set_ylabel("log10 scaling factor")
    ax.set_title(f"{result['scenario']}: {result['summary']}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.savefig(path, dpi=120)
    return path


def plot_pairs(result: dict[str, Any], path: Path) -> Path:
    """Heat maps of log10 |Φ_q[v, u]| (rows: target units v at t − q; columns: source units u at t)."""
    pairs = result["pairs"]
    fig = _figure(3.2 * len(pairs) + 0.8, 3.4)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    for ax, pair in zip(axes, pairs, strict=True):
        matrix = _logs_matrix(pair["log10_abs"])
        image = ax.imshow(matrix, cmap="viridis", aspect="auto")
        if max(matrix.shape) <= 16:
            ax.set_xticks(range(matrix.shape[1]))
            ax.set_yticks(range(matrix.shape[0]))
        ax.set_title(f"q = {pair['lag']}: {pair['source']}(t) → {pair['target']}(t−q)", fontsize=8)
        ax.set_xlabel("source unit u")
        ax.set_ylabel("target unit v")
        fig.colorbar(image, ax=ax, label="log10 |Φ_q[v, u]|")
    fig.savefig(path, dpi=120)
    return path


def _logs_matrix(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def plot_gates(result: dict[str, Any], path: Path) -> Path:
    """Each series (T, units) of ``result["gates"]`` over time, one panel per series."""
    series = result["gates"]["series"]
    fig = _figure(7.0, 1.8 * len(series) + 0.6)
    axes = fig.subplots(len(series), 1, squeeze=False, sharex=True)[:, 0]
    for ax, (label, values) in zip(axes, series.items(), strict=True):
        data = np.array(values, dtype=float)
        ax.plot(np.arange(data.shape[0]), data, lw=0.9)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time step t")
    fig.suptitle(f"{result['scenario']}: activations over time (one line per unit)", fontsize=9)
    fig.savefig(path, dpi=120)
    return path


def plot_coth(result: dict[str, Any], path: Path) -> Path:
    """|σ'(w y) w| against w for several y, the coth stationary points, the envelope |w|/4 and the measured
    one-step scalings |f'_v(net_v) w_uv| of the trajectory."""
    coth = result["coth"]
    w = np.array(coth["w"])
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(w, coth["envelope"], color="black", lw=1.5, label="max over net: |w|/4")
    for label, values in coth["curves"].items():
        line = ax.plot(w, values, lw=1.0, label=f"|σ'(w y) w|, {label}")[0]
        st = coth["stationary"][label]
        ax.plot(st["w"], st["phi"], "o", color=line.get_color(), ms=4)
    ax.plot(coth["measured"]["w"], coth["measured"]["scaling"], "k.", ms=3, label="measured (max over t)")
    ax.axhline(1.0, color="red", ls="--", lw=1.0, label="1.0")
    ax.axvspan(-4.0, 4.0, color="grey", alpha=0.1, label="|w| < 4.0")
    ax.set_ylim(0.0, 2.6)
    ax.set_xlabel("weight w")
    ax.set_ylabel("one-step scaling |f'(net) w|")
    ax.set_title("logistic units: |f'(net) w| < 1 whenever |w| < 4.0 (dots: coth stationary points)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.savefig(path, dpi=120)
    return path


def write_figures(result: dict[str, Any], out: str | Path | None, json_path: str | Path | None,
                  plots: list[tuple[str, Any]]) -> list[Path]:
    """Draw ``plots`` ((suffix, plot function) pairs) into ``out/<name>-<suffix>.png`` (if ``out`` is given)
    and write the result with the versions to ``json_path`` (default ``out/<name>.json``); the paths written."""
    name = result["scenario"]
    files = []
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files.extend(plot(result, out / f"{name}-{suffix}.png") for suffix, plot in plots)
        if json_path is None:
            json_path = out / f"{name}.json"
    if json_path is not None:
        files.append(write_json(json_path, {**result, "versions": versions()}))
    return files


def write_scenario(result: dict[str, Any], out: str | Path | None = None,
                   json_path: str | Path | None = None) -> list[Path]:
    """Write the figures into ``out`` (if given) and the JSON to ``json_path`` (default ``out/<name>.json``)."""
    plots = [("flow", plot_flow)]
    if result["pairs"]:
        plots.append(("pairs", plot_pairs))
    if result["gates"]:
        plots.append(("gates", plot_gates))
    if "coth" in result:
        plots.append(("coth", plot_coth))
    return write_figures(result, out, json_path, plots)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """A few plain-text lines for a terminal: the definition, the flow (and bound) at a few lags, the checks."""
    lags = result["lags"]
    picks = sorted({0, min(9, len(lags) - 1), len(lags) // 2, len(lags) - 1})
    lines = [f"{result['scenario']}: {result['summary']}", f"  flow = {result['definition']}"]
    for i in picks:
        flow = result["log10_flow"][i]
        text = f"  q = {lags[i]:>5}: log10 flow {'-inf' if flow is None else f'{flow:10.3f}'}"
        if result.get("log10_bound") is not None:
            text += f"   log10 bound {result['log10_bound'][i]:10.3f}"
        lines.append(text)
    for key, value in result["checks"].items():
        lines.append(f"  {key}: {value:.6g}" if isinstance(value, float) else f"  {key}: {value}")
    return lines


def run_errorflow(scenario: str, out: str | Path | None = None, json_path: str | Path | None = None,
                  lags: int | None = None, seed: int = 0) -> dict[str, Any]:
    """``yetztml errorflow``: run ``scenario``, write figures to ``out`` and JSON to ``json_path``.

    Returns ``{"result": <the scenario's dict>, "files": [paths written]}``.
    """
    result = run_scenario(scenario, lags=lags, seed=seed)
    return {"result": result, "files": write_scenario(result, out, json_path)}
