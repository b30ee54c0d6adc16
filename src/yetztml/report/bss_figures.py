"""Figures of the feedback-modulation demonstration, in the style of the paper's Figs 1–5 (matplotlib, Agg).

* ``fig1_unmixing.png`` — sources/outputs across context switches, weights against A⁻¹, clarity of x and y,
  the transient after a switch, clarity against SNR, and the training curves (Fig. 1);
* ``fig2_variants.png`` — clarity over τ for each LSTM input, from several runs (Fig. 2d–e);
* ``fig3_spatial.png`` — the modulation kernel, modulation over time, effective weights against A⁻¹ (Fig. 3);
* ``fig4_populations.png`` — per-unit clarity and linear source decoding of x, hidden units, y (Fig. 4);
* ``fig5_freeze.png`` — the freeze experiment: time course, activity in (y₁, y₂, PC₁), angles (Fig. 5).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SOURCE_COLOURS = ("#2C6E85", "#5FB89A", "#A63A50")
#: Fig. 1 b: the titles of the unmixing weights by their array's name, the first one present drawn.
WEIGHT_TITLES = {"W": "b  weights W(t) and A⁻¹ (dashed)", "W_eff": "b  W_ro diag(M) W_x and A⁻¹ (dashed)"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> None:
    """Lay out, write at 110 dpi and close a figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _violin(ax, data: list[np.ndarray], labels: list[str], ylabel: str) -> None:
    data = [np.asarray(d, dtype=np.float64) for d in data]
    data = [d[np.isfinite(d)] for d in data]
    keep = [i for i, d in enumerate(data) if d.size > 1]
    if keep:
        ax.violinplot([data[i] for i in keep], positions=keep, showmeans=True)
    for i, d in enumerate(data):
        if d.size == 1:
            ax.plot([i], d, "o")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel(ylabel)


def figure_unmixing(path: Path, result: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Fig. 1 style panels for any model."""
    plt = _pyplot()
    ev = result["evaluation"]
    n = result["config"]["n_steps"]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    s, y, x = arrays["s"], arrays["y"], arrays["x"]
    lo, hi = max(0, n - n // 8), min(s.shape[0], n + n // 4)
    t = np.arange(lo, hi)
    ax = axes[0, 0]
    ax.plot(t, x[lo:hi], color="0.7", lw=0.6)
    for i in range(s.shape[1]):
        c = SOURCE_COLOURS[i % 3]
        ax.plot(t, s[lo:hi, i], color=c, alpha=0.5, lw=1)
        ax.plot(t, y[lo:hi, i], color=c, ls="--", lw=1)
    ax.axvline(n, color="k", lw=0.5)
    ax.set(title="a  s (solid), y (dashed), x (grey); context switch", xlabel="time (samples)")
    ax = axes[0, 1]
    span = slice(0, min(s.shape[0], 3 * n))
    weights = next((key for key in WEIGHT_TITLES if key in arrays), None)
    if weights is not None:
        W = arrays[weights][span].reshape(-1, s.shape[1] ** 2)
        target = np.linalg.inv(np.repeat(arrays["A"], n, axis=0))[span].reshape(-1, s.shape[1] ** 2)
        ax.plot(W, lw=0.8)
        ax.plot(target, "k--", lw=0.8)
        ax.set(title=WEIGHT_TITLES[weights], xlabel="time (samples)", ylim=(-6, 6))
    elif "mod" in arrays:
        ax.plot(arrays["mod"][span, :: max(1, arrays["mod"].shape[1] // 10)], lw=0.8)
        ax.set(title="b  release probabilities p (every 10th unit)", xlabel="time (samples)")
    _violin(axes[0, 2], [ev["clarity_stimulus_per_context"]["values"], ev["clarity_output_per_context"]["values"]],
            ["stimulus x", "output y"], "signal clarity")
    axes[0, 2].set(title=f"c  clarity over {ev['n_test']} contexts", ylim=(0, 1.05))
    ax = axes[1, 0]
    err = arrays["output_error"].reshape(-1, n)
    ax.plot(np.arange(n), err.mean(axis=0), label="‖s − y‖")
    if "weight_error" in arrays:
        ax.plot(np.arange(n), arrays["weight_error"].reshape(-1, n).mean(axis=0), label="‖W − A⁻¹‖")
    ax.set(title="d  error after a switch (mean)", xlabel="samples into context",
           xscale="symlog", yscale="log")
    ax.legend()
    ax = axes[1, 1]
    sweep = ev.get("noise_sweep")
    if sweep:
        snr = [r["snr_db"] for r in sweep["levels"]]
        ax.plot(snr, [r["clarity_output"] for r in sweep["levels"]], "o-", label="output y")
        ax.plot(snr, [r["clarity_stimulus"] for r in sweep["levels"]], "o-", color="0.6", label="stimulus x")
        ax.axvline(1.1, color="k", lw=0.5, ls=":")
        ax.set(title="e  clarity vs SNR (paper: chance ≈ 1.1 dB)", xlabel="SNR (dB)", ylim=(0, 1.05))
        ax.legend()
    else:
        ax.axis("off")
    ax = axes[1, 2]
    tr = result["training"]
    loss = np.asarray(tr["loss"])
    ax.plot(np.arange(1, loss.size + 1), loss, color="0.5", lw=0.5)
    ax.set(yscale="log", xlabel="batch", ylabel="loss", title="f  training")
    if tr["curve"]:
        ax2 = ax.twinx()
        ax2.plot([c["batch"] for c in tr["curve"]], [c["clarity_output"] for c in tr["curve"]], "o-", color="C3")
        ax2.set(ylabel="output clarity (monitor)", ylim=(0, 1.05))
    fig.suptitle(f"{result['model_class']}: clarity x {ev['clarity_stimulus']:.3f}, y {ev['clarity_output']:.3f} "
                 f"after {result['batches']} batches")
    _save(plt, fig, path)


def figure_spatial(path: Path, result: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Fig. 3 style: kernel, modulation of every unit over three contexts."""
    plt = _pyplot()
    n = result["config"]["n_steps"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    K = arrays["K"]
    axes[0].plot(K)
    axes[0].set(title=f"a  kernel K ({result['config']['kernel']}, σ² = {result['config']['width']})",
                xlabel="unit on the ring", ylabel="weight")
    mod = arrays["mod"][: 3 * n]
    im = axes[1].imshow(mod.T, aspect="auto", cmap="RdBu_r", interpolation="nearest",
                        vmin=-np.abs(mod).max(), vmax=np.abs(mod).max())
    axes[1].set(title="b  modulation of each unit, three contexts", xlabel="time (samples)", ylabel="unit")
    fig.colorbar(im, ax=axes[1])
    _save(plt, fig, path)


def figure_populations(path: Path, result: dict[str, Any]) -> None:
    """Fig. 4 style: per-unit clarity and decoding R² for each population."""
    plt = _pyplot()
    ev = result["evaluation"]
    names = list(ev["unit_clarity"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    _violin(axes[0], [ev["unit_clarity"][k]["values"] for k in names], names, "signal clarity per unit")
    axes[0].set(title="a  single units", ylim=(0, 1.05))
    _violin(axes[1], [ev["decoding_r2"][k]["values"] for k in names], names, "linear decoding R²")
    axes[1].set(title="b  population (decoder from other contexts)", ylim=(min(0.0, axes[1].get_ylim()[0]), 1.05))
    _save(plt, fig, path)


def figure_freeze(path: Path, result: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Fig. 5 style: freeze experiment."""
    plt = _pyplot()
    fr = result["evaluation"]["freeze"]
    ex = arrays["freeze_example"]
    n = result["config"]["n_steps"]
    half = n // 2
    fig = plt.figure(figsize=(13, 7))
    ax = fig.add_subplot(2, 3, (1, 3))
    t = np.arange(half, 2 * n)
    for i in range(ex["s"].shape[1]):
        ax.plot(t, ex["s"][half:, i], color=SOURCE_COLOURS[i % 3], alpha=0.5)
        ax.plot(t, ex["y"][half:, i], color=SOURCE_COLOURS[i % 3], ls="--")
    ax.axvspan(n, n + half, color="tomato", alpha=0.15, label="feedback frozen")
    ax.set(title="a  context 1, context 2 with frozen feedback, feedback restored", xlabel="time (samples)")
    ax.legend(loc="upper right")
    colours = ("#2f9498", "tomato", "C2")
    titles = ("context 1", f"ctx change (frozen): {fr['angle_context_change']['median']:.1f}° median",
              f"FB mod: {fr['angle_feedback']['median']:.1f}° median")
    ax3 = fig.add_subplot(2, 3, 4, projection="3d")
    for i, (lo, hi) in enumerate(((half, n), (n, n + half), (n + half, 2 * n))):
        sub = ex["subs"][lo + min(200, half // 2):hi]
        ax3.plot(sub[:, 0], sub[:, 1], sub[:, 2], color=colours[i], lw=0.8, label=titles[i])
    ax3.set(xlabel="y₁", ylabel="y₂", zlabel="PC₁", title="b  activity in (y₁, y₂, PC₁)")
    ax3.legend(fontsize=7)
    ax = fig.add_subplot(2, 3, 5)
    side = np.asarray(fr["same_side"], dtype=bool)
    dist = np.asarray(fr["context_distance"])
    ang = np.asarray(fr["angle_feedback"]["values"])
    ax.scatter(dist[side], ang[side], label="same side")
    ax.scatter(dist[~side], ang[~side], label="other side")
    ax.set(xlabel="context distance ‖A₁ − A₂‖", ylabel="angle FB mod (°)",
           title=f"c  r = {fr['pearson_r_distance_angle_feedback']:.2f}")
    ax.legend()
    ax = fig.add_subplot(2, 3, 6)
    ax.boxplot([fr["angle_context_change"]["values"], fr["angle_feedback"]["values"]])
    ax.set_xticks([1, 2], ["ctx change", "FB mod"])
    ax.set(ylabel="angle to context-1 plane (°)", title=f"d  {fr['repetitions']} repetitions", ylim=(0, 90))
    _save(plt, fig, path)


def figure_variants(path: Path, results: list[dict[str, Any]]) -> None:
    """Fig. 2 style: output clarity (mean ± std over test contexts) against τ for each LSTM input."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    by_input: dict[str, list[tuple[float, float, float]]] = {}
    for r in results:
        c = r["evaluation"]["clarity_output_per_context"]
        by_input.setdefault(r["config"]["lstm_input"], []).append((r["config"]["tau"], c["mean"], c["std"]))
    for name, rows in sorted(by_input.items()):
        rows.sort()
        tau, mean, std = map(np.asarray, zip(*rows, strict=True))
        ax.errorbar(tau, mean, yerr=std, marker="o", capsize=3, label=f"LSTM input {name}")
    if results:
        n = results[0]["config"]["n_steps"]
        ax.axvline(n, color="k", lw=0.5, ls=":")
    ax.set(xscale="log", xlabel="modulation time constant τ (samples)", ylabel="output clarity", ylim=(0, 1.05),
           title="timescale and input of the feedback")
    ax.legend()
    _save(plt, fig, path)


def write_figures(out: Path, result: dict[str, Any], arrays: dict[str, Any]) -> list[str]:
    """Every figure that applies to this run's model; returns the file names."""
    names = ["fig1_unmixing.png"]
    figure_unmixing(out / names[-1], result, arrays)
    if "K" in arrays and "mod" in arrays:
        names.append("fig3_spatial.png")
        figure_spatial(out / names[-1], result, arrays)
    if len(result["evaluation"]["unit_clarity"]) > 2:
        names.append("fig4_populations.png")
        figure_populations(out / names[-1], result)
    if "freeze" in result["evaluation"]:
        names.append("fig5_freeze.png")
        figure_freeze(out / names[-1], result, arrays)
    return names
