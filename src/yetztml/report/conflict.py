"""Figures and JSON of the weight-conflict scenarios (``input-conflict``, ``output-conflict``), from their
result dicts (:mod:`yetztml.analysis.conflict`):

* ``<scenario>-per-step.png`` — the mean contribution p_t of every step t to ∂E/∂w, before and after
  training, for the naive unit's weight and for the 1997 cell's weight and gate weights (WC4);
* ``<scenario>-training.png`` — the loss of both nets over the updates (the naive unit's predicted standstill
  (WC6)/(WC7) dashed), and the opposing fraction (WC5) of every reported weight at each checkpoint;
* ``<scenario>.json`` — the result dict with ``naive`` and ``gated``.

matplotlib is imported inside the functions (the Agg canvas through ``matplotlib.figure.Figure``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.scenarios import run_scenario
from .errorflow import write_figures

SCENARIOS = ("input-conflict", "output-conflict")
NETS = {"naive": "naive CEC unit", "gated": "LSTM1997 memory cell"}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_per_step(result: dict[str, Any], path: Path) -> Path:
    """Rows: the two nets; columns: before and after training; one line of p_t per reported weight."""
    fig = _figure(10.0, 6.4)
    axes = fig.subplots(2, 2, sharex=True)
    for row, net in enumerate(NETS):
        data = result[net]
        for col, moment in enumerate(("start", "end")):
            ax = axes[row, col]
            measured = data[moment]
            for label, w in measured["weights"].items():
                p = np.array(w["per_step"])
                style = {"lw": 2.0, "color": "black"} if label == data["weight"] else {"lw": 1.2}
                ax.plot(np.arange(len(p)), p, marker="o", ms=3, label=f"{label}: ρ = {w['opposing_fraction']:.2f}",
                        **style)
            ax.axhline(0.0, color="grey", lw=0.8)
            when = "before training" if moment == "start" else f"after {data['updates']} updates"
            ax.set_title(f"{NETS[net]}, {when} (E = {measured['loss']:.3g})", fontsize=9)
            ax.set_ylabel("p_t = mean step-t term of ∂E/∂w", fontsize=8)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7, loc="best")
    for ax in axes[1]:
        ax.set_xlabel("time step t (the relevant input at t = 0, the target at t = T−1)")
    fig.suptitle(f"{result['scenario']}: {result['summary']}", fontsize=9)
    fig.savefig(path, dpi=120)
    return path


def plot_training(result: dict[str, Any], path: Path) -> Path:
    """Loss per update for both nets (mean over 25 updates) and the opposing fraction at each checkpoint."""
    fig = _figure(10.0, 4.2)
    loss_ax, rho_ax = fig.subplots(1, 2)
    for net, color in (("naive", "tab:red"), ("gated", "tab:blue")):
        data = result[net]
        losses = np.array(data["losses"])
        if losses.size:
            width = min(25, losses.size)
            smooth = np.convolve(losses, np.ones(width) / width, mode="valid")
            outcome = "solved" if data["solved"] else "not solved"
            loss_ax.plot(np.arange(width, losses.size + 1), smooth, color=color,
                         label=f"{NETS[net]} ({outcome}, {data['updates']} updates)")
        traj = data["trajectory"]
        for label, marker in zip(data["start"]["weights"], "osD^v", strict=False):
            ls = "-" if label == data["weight"] else ":"
            rho_ax.plot(traj["updates"], traj[label], ls=ls, color=color, marker=marker, ms=4, mfc="none",
                        label=f"{net}: {label}")
    balance = result["naive"]["balance"]["loss_at_balance"]
    loss_ax.axhline(balance, color="tab:red", ls="--", lw=1.0, label=f"naive standstill (WC6/7): {balance:.3f}")
    loss_ax.set_yscale("log")
    loss_ax.set_xlabel("updates (Adam, batch 16)")
    loss_ax.set_ylabel("E per sequence (mean of 25 updates)")
    loss_ax.legend(fontsize=7)
    loss_ax.grid(True, alpha=0.3)
    rho_ax.set_ylim(-0.02, 0.6)
    rho_ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    rho_ax.set_xlabel("updates")
    rho_ax.set_ylabel("opposing fraction ρ (WC5)")
    rho_ax.legend(fontsize=6, ncol=2)
    rho_ax.grid(True, alpha=0.3)
    fig.suptitle(f"{result['scenario']}: training through yetztml.learning.Trainer", fontsize=9)
    fig.savefig(path, dpi=120)
    return path


def write_conflict(result: dict[str, Any], out: str | Path | None = None,
                   json_path: str | Path | None = None) -> list[Path]:
    """Write the figures into ``out`` (if given) and the JSON to ``json_path`` (default ``out/<name>.json``)."""
    return write_figures(result, out, json_path, [("per-step", plot_per_step), ("training", plot_training)])


def summary_lines(result: dict[str, Any]) -> list[str]:
    """Plain-text lines for a terminal: per net the weight, ρ before and after, the loss and the outcome."""
    lines = [f"{result['scenario']}: {result['summary']}", f"  {result['definition']}"]
    for net in NETS:
        data = result[net]
        lines.append(f"  {net} ({NETS[net]}): {'solved' if data['solved'] else 'not solved'} after "
                     f"{data['updates']} updates, E {data['start']['loss']:.4f} → {data['end']['loss']:.4f}, "
                     f"largest error {data['max_error']:.3f}")
        for label, w in data["end"]["weights"].items():
            before = data["start"]["weights"][label]
            lines.append(f"    {label:<14} ρ {before['opposing_fraction']:.3f} → {w['opposing_fraction']:.3f}   "
                         f"∂E/∂w {before['gradient']:+.2e} → {w['gradient']:+.2e}   "
                         f"p_0 {w['per_step'][0]:+.2e}, p_T−1 {w['per_step'][-1]:+.2e}")
    b = result["naive"]["balance"]
    lines.append(f"  naive standstill predicted: a* = {b['a_star']:.4f}, E = {b['loss_at_balance']:.4f}; "
                 f"reached a = {b['a']:.4f}")
    return lines


def run_errorflow(scenario: str, out: str | Path | None = None, json_path: str | Path | None = None,
                  lags: int | None = None, seed: int = 0) -> dict[str, Any]:
    """``yetztml errorflow --scenario input-conflict|output-conflict``: ``{"result": …, "files": […]}``."""
    result = run_scenario(scenario, lags=lags, seed=seed)
    return {"result": result, "files": write_conflict(result, out, json_path)}
