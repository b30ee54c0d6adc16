"""Evaluation of a trained closed-loop model: the test protocol and the paper's analyses (Figs 1, 4, 5).

* test run — 20 new contexts, batch size 1, continuous sources (``Runner.test``): clarity of stimuli and
  outputs per context, MSE, transient of ‖s − y‖ (and of ‖W − A⁻¹‖ for ModulationNet) after each switch;
* populations — per-unit clarity and linear source decoding R² (decoder fitted on the first half of the test
  contexts, scored on each of the others) for x, the hidden populations (z; z^L and z^H) and y;
* freeze — 40 repetitions of two new contexts with the feedback frozen for the first 500 steps of the
  second; planes fitted in (y₁, y₂, PC₁) space (PCA of the population on the test run, whitened) for steps
  500–1000 (context 1), 1000–1500 (context 2, frozen) and 1500–2000 (context 2, feedback back); angles
  "ctx change" (1 vs 2) and "FB mod" (1 vs 3), their context distance and side (SpatialNet and Dale);
* noise sweep — output clarity on the test contexts for noise levels σ_n, with SNR = 10 log₁₀(σ_s²/σ_n²).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.bss_eval import (
    PCA,
    context_distance,
    linear_decoding_r2,
    output_error,
    plane_angle,
    plane_normal,
    same_side,
    snr_db,
    transient,
    weight_error,
)
from ..analysis.clarity import signal_clarity
from ..cells.dale import DaleRateNet
from ..cells.modulation import ModulationNet
from ..cells.spatial import SpatialNet
from ..tasks.bss import BSSTask, random_mixing
from .bss_train import initial_state

NOISE_LEVELS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.4, 0.6)
FREEZE_REPETITIONS = 40
LAGS = (0, 10, 50, 100, 200, 500)


def lags(n_steps: int) -> tuple[int, ...]:
    """Samples into a context at which the transient is reported: the spec's, and the last sample."""
    return tuple(lag for lag in LAGS if lag < n_steps - 1) + (n_steps - 1,)


def _stats(values: np.ndarray) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(np.mean(v)), "std": float(np.std(v)), "min": float(np.min(v)),
            "max": float(np.max(v)), "values": v.tolist()}


def populations(net, trace) -> dict[str, np.ndarray]:
    """Hidden populations of a batch-1 trace, (T, N) each: z (SpatialNet) or z^L, z^H (Dale)."""
    if isinstance(net, SpatialNet):
        return {"z": net.z(trace)[:, 0]}
    if isinstance(net, DaleRateNet):
        return {"zL": trace.extras["zL"][:, 0], "zH": trace.extras["zH"][:, 0]}
    return {}


def _task(config, seed: int, noise: float | None = None) -> BSSTask:
    return BSSTask(config.sources, n_sources=config.n_sources, noise=config.noise if noise is None else noise,
                   n_steps=config.n_steps, seed=seed, dtype=np.dtype(config.dtype))


def freeze_experiment(net, config, pca: PCA, seed: int, repetitions: int = FREEZE_REPETITIONS) -> dict[str, Any]:
    """Freeze the feedback for steps 1000–1500 of two new contexts; plane angles per repetition (Fig. 5)."""
    rng = np.random.default_rng(seed)
    task = _task(config, seed + 1)
    n = config.n_steps
    half = n // 2
    frozen = np.zeros(2 * n, dtype=bool)
    frozen[n:n + half] = True
    angles_ctx, angles_fb, dist, side = [], [], [], []
    example = None
    for _ in range(repetitions):
        A = random_mixing(rng, 2, config.n_sources, task.det_threshold)
        run = task.test_run(contexts=A)
        trace = net.forward(run.x, initial_state(net, 1, rng, testing=True), freeze=frozen)
        pop = next(iter(populations(net, trace).values()))
        y = trace.outputs[:, 0].astype(np.float64)
        subs = np.stack([y[:, 0], y[:, 1], pca.transform(pop.astype(np.float64))[:, 0]], axis=1)
        n_cnt = plane_normal(subs[half:n])
        n_frz = plane_normal(subs[n:n + half])
        n_unf = plane_normal(subs[n + half:2 * n])
        angles_ctx.append(plane_angle(n_cnt, n_frz))
        angles_fb.append(plane_angle(n_cnt, n_unf))
        dist.append(context_distance(A[0], A[1]))
        side.append(same_side(A[0], A[1]))
        if example is None:
            example = {"subs": subs, "s": run.s[:, 0], "y": y, "A": A,
                       "mod": trace.extras["p" if isinstance(net, DaleRateNet) else "M"][1:, 0]}
    angles_ctx, angles_fb, dist, side = map(np.asarray, (angles_ctx, angles_fb, dist, side))
    r = float(np.corrcoef(dist, angles_fb)[0, 1]) if np.std(dist) > 0 and np.std(angles_fb) > 0 else float("nan")
    out = {
        "repetitions": repetitions,
        "angle_context_change": _stats(angles_ctx) | {"median": float(np.median(angles_ctx))},
        "angle_feedback": _stats(angles_fb) | {"median": float(np.median(angles_fb))},
        "context_distance": dist.tolist(),
        "same_side": side.tolist(),
        "pearson_r_distance_angle_feedback": r,
        "angle_feedback_same_side_mean": float(np.mean(angles_fb[side])) if side.any() else float("nan"),
        "angle_feedback_other_side_mean": float(np.mean(angles_fb[~side])) if (~side).any() else float("nan"),
    }
    return out | {"_example": example}


def noise_sweep(net, config, contexts: np.ndarray, seed: int, levels=NOISE_LEVELS) -> dict[str, Any]:
    """Output and stimulus clarity on fixed contexts for each noise std σ_n (Fig. 1e)."""
    rng = np.random.default_rng(seed)
    clean = _task(config, seed, noise=0.0).test_run(contexts=contexts)
    signal_std = float(np.mean(np.std(clean.x[:, 0].astype(np.float64), axis=0)))
    rows = []
    for level in levels:
        run = _task(config, seed + 1, noise=level).test_run(contexts=contexts)
        trace = net.forward(run.x, initial_state(net, 1, rng, testing=True))
        s = run.s[:, 0]
        rows.append({
            "noise": float(level),
            "snr_db": snr_db(signal_std, level),
            "clarity_output": signal_clarity(s, trace.outputs[:, 0], config.n_steps).mean,
            "clarity_stimulus": signal_clarity(s, run.x[:, 0], config.n_steps).mean,
        })
    return {"signal_std": signal_std, "levels": rows}


def evaluate(net, config, child: dict[str, int]) -> dict[str, Any]:
    """The test protocol and analyses; ``_arrays`` holds the traces the figures need (not written to JSON)."""
    rng = np.random.default_rng(child["analyses"])
    task = _task(config, child["test"])
    run = task.test_run(config.n_test, contexts=config.test_contexts)
    trace = net.forward(run.x, initial_state(net, 1, rng, testing=True))
    n = config.n_steps
    s = run.s[:, 0].astype(np.float64)
    x = run.x[:, 0].astype(np.float64)
    y = trace.outputs[:, 0].astype(np.float64)
    cx = signal_clarity(s, x, n)
    cy = signal_clarity(s, y, n)
    err = output_error(s, y)
    out: dict[str, Any] = {
        "n_test": int(run.A.shape[0]),
        "contexts": run.A.tolist(),
        "clarity_stimulus": cx.mean,
        "clarity_output": cy.mean,
        "clarity_stimulus_per_context": _stats(cx.per_context),
        "clarity_output_per_context": _stats(cy.per_context),
        "mse_output": float(np.mean((s - y) ** 2)),
        "transient_output_error": {str(k): v for k, v in transient(err, n, lags(n)).items()},
    }
    arrays: dict[str, Any] = {"s": s, "x": x, "y": y, "A": run.A, "output_error": err,
                              "correlations_x": cx.correlations, "correlations_y": cy.correlations}
    if isinstance(net, ModulationNet):
        W = trace.extras["W"][1:, 0].astype(np.float64)  # W_t after the update at step t
        werr = weight_error(W, run.A, n)
        out["transient_weight_error"] = {str(k): v for k, v in transient(werr, n, lags(n)).items()}
        arrays |= {"W": W, "weight_error": werr}
    pops = {"x": x} | {k: v.astype(np.float64) for k, v in populations(net, trace).items()} | {"y": y}
    unit_clarity, decoding = {}, {}
    for name, X in pops.items():
        c = signal_clarity(s, X, n).per_output
        finite = c[np.isfinite(c)]
        unit_clarity[name] = {"mean": float(np.mean(finite)) if finite.size else float("nan"),
                              "max": float(np.max(finite)) if finite.size else float("nan"), "values": c.tolist()}
        decoding[name] = _stats(linear_decoding_r2(X, s, out["n_test"] // 2, n))
    out["unit_clarity"] = unit_clarity
    out["decoding_r2"] = decoding
    if isinstance(net, SpatialNet):
        M = trace.extras["M"][1:, 0].astype(np.float64)
        arrays["mod"] = M
        Wx, Wro = net.weight(net.WX).astype(np.float64), net.weight(net.WRO).astype(np.float64)
        arrays["W_eff"] = np.einsum("iz,tz,zj->tij", Wro, M, Wx)  # W_ro diag(M_t) W_x, compare with A⁻¹
        arrays["K"] = net.fixed["K"]
    if isinstance(net, DaleRateNet):
        arrays["mod"] = trace.extras["p"][1:, 0].astype(np.float64)
        arrays["K"] = net.fixed["K"]
    if config.analyses:
        hidden = populations(net, trace)
        if hidden:
            pca = PCA(next(iter(hidden.values())).astype(np.float64), 1)  # only the first axis is used
            freeze = freeze_experiment(net, config, pca, child["analyses"] + 1)
            arrays["freeze_example"] = freeze.pop("_example")
            out["freeze"] = freeze
        out["noise_sweep"] = noise_sweep(net, config, run.A, child["analyses"] + 2)
    out["_arrays"] = arrays
    return out
