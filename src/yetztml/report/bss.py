"""``report.md`` of a feedback-modulation run: our numbers beside the reference numbers of the spec.

References (``docs/bss.md`` lists their sources): [M] = the authors' three published checkpoints (trained
10,000 batches) run through the authors' own test code, 20 contexts, seeds 0–2; "paper" = stated in the
paper's text; "prototype" = an independent JAX implementation of the Fig. 1 model, trained on one core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: (quantity, reference text) per model and source set; keys name entries of result["evaluation"].
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "modulation": [
        ("clarity_stimulus", "stimulus clarity (mean over contexts)", "0.52–0.54 [M]; ≈ 0.5 paper"),
        ("clarity_output", "output clarity (mean over contexts)", "0.962–0.967 [M]; ≥ 0.95 target"),
        ("clarity_output_min", "output clarity, worst context", "0.85–0.94 [M]"),
        ("mse_output", "MSE(s, y)", "0.003–0.0045 [M]"),
        ("transient_output_error", "‖s − y‖ at samples 0/10/50/100/200/500/999 into a context",
         "0.26/0.33/0.13/0.07/0.02/0.04/0.02 [M]"),
        ("transient_weight_error", "‖W − A⁻¹‖ at samples 0/…/999 into a context",
         "3.37 (0), 1.08 (50), 0.49 (100), 0.34–0.37 (200–999) [M]"),
    ],
    "spatial": [
        ("clarity_stimulus", "stimulus clarity", "0.52–0.54 [M]"),
        ("clarity_output", "output clarity", "0.938–0.945 chords, 0.976–0.985 sines [M]"),
        ("clarity_output_min", "output clarity, worst context", "0.85–0.91 chords, 0.93–0.95 sines [M]"),
        ("mse_output", "MSE(s, y)", "0.009–0.0125 chords, 0.004–0.007 sines [M]"),
        ("transient_output_error", "‖s − y‖ at samples 0/10/50/100/200/500/999 into a context",
         "0.26/0.65/0.20/0.15/0.03/0.06/0.02 chords [M]"),
        ("unit_clarity_z", "per-unit clarity of z (mean, max)",
         "0.44–0.45 (max 0.72–0.77) chords; 0.48–0.49 sines [M]"),
        ("decoding_x", "decoding R² from x", "0.18–0.46 [M]"),
        ("decoding_z", "decoding R² from z", "0.95–0.97 chords, 0.99 sines [M]"),
        ("decoding_y", "decoding R² from y", "0.96–0.97 chords, 0.99 sines [M]"),
        ("freeze_context", "angle, ctx change with frozen feedback (median, mean)", "1.7°, 2.4° sines [M]"),
        ("freeze_feedback", "angle, feedback restored (median, mean)", "34.7°, 45.4° sines [M]"),
    ],
    "dale": [
        ("clarity_stimulus", "stimulus clarity", "0.52–0.54 [M]"),
        ("clarity_output", "output clarity", "learns the task (paper; no number)"),
        ("decoding_zL", "decoding R² from z^L", "low (paper, Fig. 6; no number)"),
        ("decoding_zH", "decoding R² from z^H", "high (paper, Fig. 6; no number)"),
        ("freeze_feedback", "angle, feedback restored (median, mean)", "feedback reorients activity (paper)"),
    ],
}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _ours(key: str, ev: dict[str, Any]) -> str:
    if key in ("clarity_stimulus", "clarity_output"):
        st = ev[f"{key}_per_context"]
        return f"{st['mean']:.3f} ± {st['std']:.3f}"
    if key == "clarity_output_min":
        return f"{ev['clarity_output_per_context']['min']:.3f}"
    if key == "mse_output":
        return _fmt(ev["mse_output"])
    if key.startswith("transient_"):
        series = ev.get(key)
        return ", ".join(f"{lag}: {v:.2f}" for lag, v in series.items()) if series else "–"
    if key.startswith("unit_clarity_"):
        u = ev["unit_clarity"].get(key.split("_", 2)[2])
        return f"{u['mean']:.3f} (max {u['max']:.3f})" if u else "–"
    if key.startswith("decoding_"):
        d = ev["decoding_r2"].get(key.split("_", 1)[1])
        return f"{d['mean']:.3f}" if d else "–"
    if key.startswith("freeze_"):
        fr = ev.get("freeze")
        if not fr:
            return "– (not run)"
        a = fr["angle_context_change" if key == "freeze_context" else "angle_feedback"]
        return f"{a['median']:.1f}°, {a['mean']:.1f}°"
    return "–"


def report_text(result: dict[str, Any]) -> str:
    """The report as Markdown."""
    cfg, ev, tr = result["config"], result["evaluation"], result["training"]
    lines = [
        f"# Feedback modulation (eLife 2022): {result['model_class']}",
        "",
        f"Model `{cfg['model']}` ({result['num_weights']} trained weights), sources `{cfg['sources']}`, τ = "
        f"{cfg['tau']:g}, LSTM input `{cfg['lstm_input']}`, seed {result['seed']}, {result['batches']} batches of "
        f"{cfg['batch_size']} × {cfg['n_steps']} steps, {cfg['dtype']}, tanh {cfg['tanh']}, "
        f"{cfg['threads']} thread(s), BLAS threads {cfg['blas_threads']} each.",
        "",
        f"Training: median {tr['seconds_per_batch']:.3f} s per batch (mean {tr['seconds_per_batch_mean']:.3f}; "
        f"median CPU time {tr['cpu_seconds_per_batch']:.3f} s, all threads; "
        f"first batch, which includes compilation when the cache is cold, {tr['first_batch_seconds']:.2f} s), "
        f"{tr['training_seconds']:.1f} s of training in total (resumed sessions included); this session "
        f"{result['seconds_total']:.1f} s. "
        "Reference: the authors' PyTorch code 1.0–1.3 s per batch on a 2-core CPU [M].",
        "",
        "The references were measured after 10,000 training batches; compare a shorter run with care.",
        "",
        "| quantity | reference | ours |",
        "|---|---|---|",
    ]
    for key, label, ref in REFERENCES[cfg["model"]]:
        lines.append(f"| {label} | {ref} | {_ours(key, ev)} |")
    sweep = ev.get("noise_sweep")
    if sweep:
        lines += ["", f"Noise sweep (σ_s = {sweep['signal_std']:.3f}; paper: clarity reaches chance near 1.1 dB):",
                  "", "| σ_n | SNR (dB) | clarity y | clarity x |", "|---|---|---|---|"]
        for r in sweep["levels"]:
            lines.append(f"| {r['noise']:g} | {r['snr_db']:.1f} | {r['clarity_output']:.3f} | "
                         f"{r['clarity_stimulus']:.3f} |")
    if tr["curve"]:
        lines += ["", "Learning curve (output clarity on fixed monitoring contexts):", "",
                  "| batch | mean loss (last 20) | clarity y |", "|---|---|---|"]
        for c in tr["curve"]:
            lines.append(f"| {c['batch']} | {c['loss']:.4g} | {c['clarity_output']:.3f} |")
    if result.get("figures"):
        lines += ["", "Figures: " + ", ".join(f"[{f}]({f})" for f in result["figures"])]
    return "\n".join(lines) + "\n"


def write_report(path: Path, result: dict[str, Any]) -> Path:
    """Write ``report.md`` next to ``result.json``."""
    Path(path).write_text(report_text(result))
    return Path(path)
