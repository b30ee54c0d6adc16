"""Named error-flow scenarios: why recurrent nets forget, and why the constant error carousel does not.

Each scenario builds a small net, records one trajectory, measures the scaling factors of :mod:`.errorflow`
per lag and returns a JSON-able dict::

    {"scenario", "summary", "definition", "config", "seed",
     "lags": [q…], "flow": [max over unit pairs of |Φ_q|…], "log10_flow": […],
     "bound": […] or None, "log10_bound": […] or None,
     "curves": {label: [log10 per lag]}, "pairs": [{"lag", "source", "target", "log10_abs": matrix}],
     "gates": {"series": {label: (T, units)}} or None, "checks": {name: number or bool}}

log10 values are None where the flow is exactly zero, linear values where they overflow. ``t`` is always
the last step of the trajectory.

=============  ===========================================================================================
vanishing      logistic RNN with |w| < 4/n: every Φ_q under n (¼‖W‖_A)^q, decaying exponentially [§3.1]
exploding      linear net with spectral radius ρ > 1: Φ_q grows like ρ^q (Frobenius norm exactly √n ρ^q)
cec            one linear unit with w = 1.0: Φ_q = 1.0 exactly for every q [1997 §3.2]
cec-gated      LSTM1997, truncated gradient: entry/exit scaling of eq. (41), constant in between
lstm-vs-rnn    tanh RNN and LSTM with equal H on a long-lag task, before and after BPTT + Adam
forget-gate    LSTMForget with forget-gate biases b: the carousel becomes the decay Π y^φ ≈ σ(b)^q
=============  ===========================================================================================

``input-conflict`` and ``output-conflict`` (:mod:`.conflict`): the naive CEC unit against LSTM1997 with an
input (output) gate, the per-step terms of ∂E/∂w_ji (∂E/∂w_kj) and training; extra keys ``naive``, ``gated``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import OptionError, message
from ..core.rng import make_rng
from ..core.validation import check_choice, check_int
from . import bounds
from .conflict import SUMMARIES as CONFLICT_SUMMARIES
from .conflict import input_conflict, output_conflict
from .errorflow import Flow, carousel_flow, error_flow
from .linearise import linearise
from .unitnet import UnitNet


def _log_list(values: np.ndarray) -> list[float | None]:
    """JSON-able floats; None where a value is not finite (log10 of an exact zero, an overflowed power)."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=np.float64)]


def _pairs(flow: Flow, target: str) -> list[dict[str, Any]]:
    out = []
    for q, matrix in sorted(flow.matrices.get(target, {}).items()):
        with np.errstate(divide="ignore"):
            logs = np.log10(np.abs(matrix))
        out.append({"lag": q, "source": flow.source, "target": target,
                    "log10_abs": [_log_list(row) for row in logs]})
    return out


def _result(name: str, definition: str, config: dict[str, Any], flow_log: np.ndarray,
            bound_log: np.ndarray | None, **extra: Any) -> dict[str, Any]:
    lags = np.arange(1, len(flow_log) + 1)
    with np.errstate(under="ignore", over="ignore"):
        flow = np.power(10.0, flow_log)
        bound = None if bound_log is None else np.power(10.0, bound_log)
    out = {
        "scenario": name, "summary": SCENARIOS[name].summary, "definition": definition, "config": config,
        "lags": lags.tolist(), "flow": _log_list(flow), "log10_flow": _log_list(flow_log),
        "bound": None if bound is None else _log_list(bound),
        "log10_bound": None if bound_log is None else _log_list(bound_log),
        "flow_label": "flow (max over unit pairs)", "curves": {}, "pairs": [], "gates": None, "checks": {},
    }
    out.update(extra)
    return out


def _keep(lags: int) -> list[int]:
    return sorted({1, max(1, lags // 10), max(1, lags // 2)})


# -- vanishing -------------------------------------------------------------------------------------------
def vanishing(lags: int, seed: int) -> dict[str, Any]:
    """Logistic RNN, n = 8 units, recurrent weights U[−w_max, w_max] with w_max = 0.9 · 4.0/n."""
    from ..cells.rnn import RNN

    rng = make_rng(seed)
    n, T = 8, lags + 1
    w_max = 0.9 * 4.0 / n
    cell = RNN(2, n, nonlinearity="logistic", seed=rng)
    cell.params["weight_hh_l0"][:] = rng.uniform(-w_max, w_max, size=(n, n))
    W = cell.params["weight_hh_l0"]
    trace = cell.forward(rng.standard_normal((T, 1, 2)))
    lin = linearise(cell, trace)
    flow = error_flow(lin, lags, targets=("net",), keep=_keep(lags))
    state = error_flow(lin, lags, source="h", targets=("h",))
    q = flow.lags
    weak = bounds.weak_upper_bound(W, q, 0.25, log10=True)  # (EB2)
    tau = bounds.tau(W)
    measured_fmax = float(np.max(lin.fprime))
    log_flow = flow.curves["net"].log10_max
    coth = _coth_data(W, lin.fprime)
    excess = np.nanmax(np.where(np.isfinite(log_flow), log_flow - weak, -np.inf))
    slope = float(np.polyfit(q, log_flow, 1)[0])
    return _result(
        "vanishing", "max over unit pairs of |∂ϑ_v(t−q)/∂ϑ_u(t)| = |∂net_u(t)/∂net_v(t−q)|, t = T−1",
        {"cell": "RNN", "nonlinearity": "logistic", "units": n, "inputs": 2, "steps": T, "w_max": w_max},
        log_flow, weak,
        curves={
            "‖Φ_q‖ Frobenius": _log_list(flow.curves["net"].log10_norm),
            "global flow max_v |Σ_u Φ_q|": _log_list(flow.curves["net"].log10_total),
            "state flow ∂h(t)/∂h(t−q)": _log_list(state.curves["h"].log10_max),
            "n τ^q (τ = n w_max / 4)": _log_list(bounds.tau_bound(n, tau, q, log10=True)),
            "n (f'_max,measured ‖W‖_A)^q": _log_list(bounds.weak_upper_bound(W, q, measured_fmax, log10=True)),
        },
        pairs=_pairs(flow, "net"),
        coth=coth,
        checks={"max_log10_flow_minus_bound": float(excess), "under_bound": bool(excess <= 0.0),
                "tau": tau, "row_sum_norm": bounds.row_sum_norm(W), "max_abs_w": float(np.max(np.abs(W))),
                "measured_fprime_max": measured_fmax, "log10_decay_per_step": slope,
                "max_one_step_scaling": coth["measured"]["max"]},
    )


def _coth_data(W: np.ndarray, fprime: np.ndarray) -> dict[str, Any]:
    """(SC1)–(SC3) of :mod:`.bounds` on a grid, and the one-step scalings |f'_v(net_v(t)) w_uv| measured."""
    grid = np.linspace(-20.0, 20.0, 801)
    curves, stationary = {}, {}
    for y in (1.0, 0.5, 0.25, 0.1):
        curves[f"y = {y}"] = bounds.logistic_scaling(grid, grid * y).tolist()  # φ(w, w y), rest r = 0
        ws = bounds.stationary_weights(y, 0.0, limit=20.0)
        stationary[f"y = {y}"] = {"w": ws.tolist(), "phi": bounds.logistic_scaling(ws, ws * y).tolist()}
    scal = np.abs(fprime[:, :, None] * W.T[None])  # [t, v, u] = |f'_v(net_v(t)) w_uv|
    per_pair = scal.max(axis=0)  # (n, n) max over the trajectory
    return {"w": grid.tolist(), "envelope": bounds.max_logistic_scaling(grid).tolist(), "curves": curves,
            "stationary": stationary,
            "measured": {"w": W.T.reshape(-1).tolist(), "scaling": per_pair.reshape(-1).tolist(),
                         "max": float(per_pair.max())}}


# -- exploding -------------------------------------------------------------------------------------------
def exploding(lags: int, seed: int) -> dict[str, Any]:
    """Linear net (f = identity), n = 8, W = ρ·(random orthogonal), ρ = 1.1; and a 32-unit tanh RNN, gain 3."""
    from ..cells.rnn import RNN

    rng = make_rng(seed)
    n, T, rho = 8, lags + 1, 1.1
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    W = rho * Q
    net = UnitNet(W, "identity", V=rng.standard_normal((n, 2)) * 0.1)
    trace = net.forward(rng.standard_normal((T, 1, 2)))
    flow = error_flow(linearise(net, trace), lags, keep=_keep(lags))
    q = flow.lags
    fro = flow.curves["net"].log10_norm
    predicted = 0.5 * np.log10(n) + q * np.log10(rho)  # ‖(ρQ)^q‖_F = √n ρ^q
    weak = bounds.weak_upper_bound(W, q, 1.0, log10=True)
    wide = 32  # random tanh nets with gain 3 are chaotic once they are this wide
    tanh = RNN(2, wide, nonlinearity="tanh", bias=False, seed=rng)
    tanh.params["weight_hh_l0"][:] = rng.standard_normal((wide, wide)) * 3.0 / np.sqrt(wide)
    tanh_flow = error_flow(linearise(tanh, tanh.forward(rng.standard_normal((T, 1, 2)) * 0.1)), lags)
    log_flow = flow.curves["net"].log10_max
    return _result(
        "exploding", "max over unit pairs of |∂ϑ_v(t−q)/∂ϑ_u(t)| (linear net: the entries of (W^q)ᵀ)",
        {"cell": "UnitNet", "activation": "identity", "units": n, "steps": T, "spectral_radius": rho,
         "tanh_units": wide, "tanh_gain": 3.0}, log_flow, weak,
        curves={"‖Φ_q‖ Frobenius": _log_list(fro), "√n ρ^q": _log_list(predicted),
                "tanh RNN, n = 32, gain 3 (chaotic)": _log_list(tanh_flow.curves["net"].log10_max)},
        pairs=_pairs(flow, "net"),
        checks={"max_abs_log10_error_frobenius_vs_sqrt_n_rho_q": float(np.max(np.abs(fro - predicted))),
                "log10_growth_per_step": float(np.polyfit(q, log_flow, 1)[0]),
                "tanh_log10_growth_per_step": float(np.polyfit(q, tanh_flow.curves["net"].log10_max, 1)[0])},
    )


# -- cec -------------------------------------------------------------------------------------------------
def _single_unit(w: float, activation: str, steps: int, x: np.ndarray, lags: int) -> Flow:
    unit = UnitNet(np.array([[w]]), activation, V=np.array([[1.0]]))
    return error_flow(linearise(unit, unit.forward(x[:steps])), lags)


def cec(lags: int, seed: int) -> dict[str, Any]:
    """One linear unit, self-weight 1.0 (the CEC), against w = 0.9, w = 1.1 and logistic units."""
    rng = make_rng(seed)
    T = lags + 1
    x = rng.standard_normal((T, 1, 1)) * 0.1
    flow = _single_unit(1.0, "identity", T, x, lags)
    values = flow.curves["net"].max
    curves = {}
    for label, w, f in (("linear, w = 0.9", 0.9, "identity"), ("linear, w = 1.1", 1.1, "identity"),
                        ("logistic, w = 1.0", 1.0, "logistic"), ("logistic, w = 4.0", 4.0, "logistic")):
        curves[label] = _log_list(_single_unit(w, f, T, x, lags).curves["net"].log10_max)
    return _result(
        "cec", "∂ϑ_j(t−q)/∂ϑ_j(t) of a single self-connected unit j: Π f'_j(net_j) w_jj",
        {"cell": "UnitNet", "activation": "identity", "units": 1, "w_jj": 1.0, "steps": T},
        flow.curves["net"].log10_max, bounds.weak_upper_bound(np.array([[1.0]]), flow.lags, 1.0, log10=True),
        curves=curves,
        checks={"exactly_one": bool(np.all(values == 1.0)), "min": float(values.min()), "max": float(values.max())},
    )


# -- cec-gated -------------------------------------------------------------------------------------------
def eq41(trace: Any, t: int, q: int, batch: int = 0, g: str = "g1997", h: str = "h1997") -> dict[str, np.ndarray]:
    """[1997 eq. 41] from the trajectory: Φ_q[v, u] of an error at cell output y^c_u(t) reaching s, net_c and
    net_in at t − q under truncation; rows v (cells, resp. blocks), columns u (cells). ``g``, ``h``: the
    cell's squashing functions."""
    from ..core import activations

    g_kind, h_kind = activations.code("eq41(g)", g), activations.code("eq41(h)", h)
    C = trace.y_in.shape[2]
    N = trace.s.shape[2]
    beta = np.repeat(np.arange(C), N // C)
    y_out = np.ones(N) if trace.y_out is None else trace.y_out[t, batch][beta]
    s_t = trace.s[t, batch]
    enter = y_out * activations.derivative_np(h_kind, s_t)  # y^out(t) h'(s(t))
    tq = t - q
    y_in = trace.y_in[tq, batch]
    g_prime = activations.derivative_np(g_kind, trace.net_c[tq, batch])
    f_in = y_in * (1.0 - y_in)
    to_c = np.diag(g_prime * y_in[beta] * enter)  # v = c_j: g'(net_c(t−q)) y^in(t−q)
    to_in = np.zeros((C, N))
    to_in[beta, np.arange(N)] = trace.g[tq, batch] * f_in[beta] * enter  # v = in_j: g(net_c) f'_in(net_in)
    return {"net_c": to_c, "net_in": to_in, "s": np.diag(enter)}


def cec_gated(lags: int, seed: int) -> dict[str, Any]:
    """LSTM1997, 2 blocks of 2 cells, 2 inputs, 1 output, truncated gradient [1997 App. A.2]."""
    from ..cells.lstm1997 import LSTM1997

    rng = make_rng(seed)
    T = lags + 1
    cell = LSTM1997(2, 2, 2, 1, init_range=0.5, input_gate_bias=[-1.0, -2.0], output_gate_bias=[-1.0, -2.0],
                    seed=rng)
    trace = cell.forward(rng.standard_normal((T, 1, 2)))
    lin = linearise(cell, trace, truncate=True)
    targets = ("s", "net_c", "net_in")
    flow = error_flow(lin, lags, source="y_c", targets=targets, keep="all")
    full = error_flow(linearise(cell, trace), lags, source="y_c", targets=("s", "net_c"))
    t = T - 1
    errors = {b: 0.0 for b in targets}
    for q in flow.lags:
        direct = eq41(trace, t, int(q))
        for b in targets:
            errors[b] = max(errors[b], float(np.max(np.abs(flow.matrices[b][int(q)] - direct[b]))))
    s_max = flow.curves["s"].max
    pairs = [p for p in _pairs(flow, "net_c") if p["lag"] in _keep(lags)]
    labels = {"y_in": "input gates y^in", "y_out": "output gates y^out", "s": "cell states s"}
    series = {label: getattr(trace, name)[:, 0].tolist() for name, label in labels.items()}
    return _result(
        "cec-gated", "max over cell pairs of |∂ϑ_s(t−q)/∂ϑ_yc(t)| under the 1997 truncation (error entering at "
        "the cell outputs y^c(t), measured at the cell states s(t−q))",
        {"cell": "LSTM1997", "blocks": 2, "block_size": 2, "inputs": 2, "outputs": 1, "steps": T,
         "truncate": True, "input_gate_bias": [-1.0, -2.0], "output_gate_bias": [-1.0, -2.0]},
        flow.curves["s"].log10_max, None,
        curves={"y^c → net_c (eq. 41, v = c_j)": _log_list(flow.curves["net_c"].log10_max),
                "y^c → net_in (eq. 41, v = in_j)": _log_list(flow.curves["net_in"].log10_max),
                "full BPTT y^c → s": _log_list(full.curves["s"].log10_max),
                "full BPTT y^c → net_c": _log_list(full.curves["net_c"].log10_max)},
        pairs=pairs, gates={"series": series},
        checks={"constant_into_s": bool(np.all(s_max == s_max[0])),
                **{f"eq41_max_abs_error_{b}": e for b, e in errors.items()}},
    )


# -- lstm-vs-rnn -----------------------------------------------------------------------------------------
def _mean_log_flow(cell: Any, x: np.ndarray, target: str = "h") -> np.ndarray:
    """Mean over sequences of log10 max |∂h(T−1)/∂target(T−1−q)|, q = 1…T."""
    trace = cell.forward(x)
    rows = [error_flow(linearise(cell, trace, batch=b), source="h", targets=(target,)).curves[target].log10_max
            for b in range(x.shape[1])]
    return np.mean(np.array(rows), axis=0)


def lstm_vs_rnn(lags: int, seed: int) -> dict[str, Any]:
    """tanh RNN and LSTM (H = 8 each) on the long-lag task of :mod:`.longlag`, sequences of ``lags`` steps."""
    from ..cells.lstm import LSTM
    from ..cells.rnn import RNN
    from .longlag import accuracy, long_lag_batch, train

    rng = make_rng(seed)
    H, T, steps = 8, lags, 600
    x_eval, _ = long_lag_batch(make_rng(seed + 1), T, 8)
    curves, checks = {}, {}
    rnn = RNN(2, H, nonlinearity="tanh", seed=rng)
    lstm = LSTM(2, H, seed=rng)
    lstm.params["bias_hh_l0"][H:2 * H] += 3.0  # forget gates start open: σ(≈3) ≈ 0.95
    for label, cell in (("RNN", rnn), ("LSTM", lstm)):
        curves[f"{label} before training"] = _mean_log_flow(cell, x_eval)
        run = train(cell, rng, steps, T, lr=0.005)
        curves[f"{label} after training"] = _mean_log_flow(cell, x_eval)
        checks[f"{label}_updates"] = len(run["losses"])
        checks[f"{label}_final_loss"] = float(np.mean(run["losses"][-20:]))
        checks[f"{label}_accuracy"] = accuracy(cell, run["weights"], make_rng(seed + 2), T)
    curves["LSTM after training, h → c"] = _mean_log_flow(lstm, x_eval, "c")
    sweep = lstm.forward(x_eval[:, :1]).layers[0][0]
    names = ("input gate i", "forget gate f", "cell input g", "output gate o")
    lstm_gates = {name: sweep.gates[:, 0, k * H:(k + 1) * H].tolist() for k, name in enumerate(names)}
    main = curves.pop("LSTM after training")
    return _result(
        "lstm-vs-rnn", "mean over 8 sequences of log10 max over unit pairs |∂h_u(T−1)/∂h_v(T−1−q)|",
        {"cells": ["RNN(tanh)", "LSTM"], "hidden_size": H, "inputs": 2, "sequence_length": T, "max_updates": steps,
         "optimiser": "Adam lr 0.005, global-norm clip 1.0, batch 32", "lstm_forget_bias_offset": 3.0},
        main, None, curves={k: _log_list(v) for k, v in curves.items()}, gates={"series": lstm_gates},
        checks=checks, flow_label="LSTM after training",
    )


# -- forget-gate -----------------------------------------------------------------------------------------
def forget_gate(lags: int, seed: int) -> dict[str, Any]:
    """LSTMForget, one block of one cell, forget-gate bias b ∈ {4, 2, 0}; LSTM1997 (no forget gate) alongside."""
    from ..cells.lstm1997 import LSTM1997
    from ..cells.lstm_forget import LSTMForget

    rng = make_rng(seed)
    T = lags + 1
    x = rng.standard_normal((T, 1, 2))
    base = dict(init_range=0.1, input_gate_bias=[-1.0], output_gate_bias=[1.0])
    curves, series, checks = {}, {}, {}
    reference = LSTM1997(2, 1, 1, 1, seed=0, **base)
    ref = error_flow(linearise(reference, reference.forward(x), truncate=True), lags, source="y_c", targets=("s",))
    curves["LSTM1997 (CEC, y^φ ≡ 1)"] = ref.curves["s"].log10_max
    main = None
    for b in (4.0, 2.0, 0.0):
        cell = LSTMForget(2, 1, 1, 1, seed=0, forget_gate_bias=[b], **base)
        trace = cell.forward(x)
        lin = linearise(cell, trace, truncate=True)
        flow = error_flow(lin, lags, source="y_c", targets=("s",))
        carousel = carousel_flow(lin, lags, log10=True)[:, 0]  # log10 Π y^φ
        enter = lin.step(T - 1)[lin.groups["y_c"], lin.groups["s"]][0, 0]  # y^out(t) h'(s(t)) y^φ(t)
        predicted = np.log10(abs(enter / trace.y_phi[T - 1, 0, 0])) + carousel
        if b == 2.0:
            main = flow.curves["s"].log10_max
        else:
            curves[f"b = {b:g}: truncated y^c → s"] = flow.curves["s"].log10_max
        curves[f"b = {b:g}: Π y^φ"] = carousel
        series[f"y^φ (b = {b:g})"] = trace.y_phi[:, 0].tolist()
        checks[f"b={b:g}_max_abs_log10_error_vs_product"] = float(np.max(np.abs(flow.curves["s"].log10_max
                                                                                 - predicted)))
        checks[f"b={b:g}_mean_forget_gate"] = float(np.mean(trace.y_phi))
        checks[f"b={b:g}_log10_decay_per_step"] = float(np.polyfit(flow.lags, flow.curves["s"].log10_max, 1)[0])
    return _result(
        "forget-gate", "max |∂ϑ_s(t−q)/∂ϑ_yc(t)| under truncation: y^out(t) h'(s(t)) Π_{m<q} y^φ(t−m)",
        {"cell": "LSTMForget", "blocks": 1, "block_size": 1, "inputs": 2, "outputs": 1, "steps": T,
         "forget_gate_biases": [4.0, 2.0, 0.0], "main_curve": "b = 2", "truncate": True},
        main, None, curves={k: _log_list(v) for k, v in curves.items()}, gates={"series": series}, checks=checks,
        flow_label="b = 2: truncated y^c → s",
    )


# -- the registry ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """A scenario's runner, one-line summary and allowed range of lags."""

    run: Callable[[int, int], dict[str, Any]]
    summary: str
    default_lags: int
    max_lags: int
    min_lags: int = 1


SCENARIOS: dict[str, Scenario] = {
    "vanishing": Scenario(vanishing, "logistic RNN, |w| < 4/n: measured flow under the bound n(¼‖W‖_A)^q", 100,
                          5000),
    "exploding": Scenario(exploding, "linear net with spectral radius 1.1: the flow grows like 1.1^q", 100, 5000),
    "cec": Scenario(cec, "single linear unit, w = 1.0: the flow is exactly 1.0 for every q", 100, 5000),
    "cec-gated": Scenario(cec_gated, "LSTM1997 with truncation: eq. 41 scaling at entry and exit, constant "
                          "in between", 100, 5000),
    "lstm-vs-rnn": Scenario(lstm_vs_rnn, "tanh RNN vs LSTM (H = 8) on a long-lag task, before and after training",
                            50, 100, 5),
    "forget-gate": Scenario(forget_gate, "forget gates below 1 turn the carousel into the decay Π y^φ", 100, 5000),
    "input-conflict": Scenario(input_conflict, CONFLICT_SUMMARIES["input"], 20, 200, 2),
    "output-conflict": Scenario(output_conflict, CONFLICT_SUMMARIES["output"], 20, 200, 2),
}


def scenario_names() -> tuple[str, ...]:
    return tuple(SCENARIOS)


def run_scenario(name: str, lags: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Run scenario ``name`` (see :data:`SCENARIOS`) for q = 1…``lags``; the JSON-able result dict."""
    check_choice("errorflow scenario", name, SCENARIOS)
    sc = SCENARIOS[name]
    if lags is None:
        lags = sc.default_lags
    else:
        lags = check_int(f"errorflow {name} lags", lags)
        if not sc.min_lags <= lags <= sc.max_lags:
            raise OptionError(message(f"errorflow {name} lags", f"an integer from {sc.min_lags} to {sc.max_lags}",
                                      lags, "The trajectory is built with lags + 1 steps" if name != "lstm-vs-rnn"
                                      else "The lag is the task's sequence length, which sets the training time"))
    seed = check_int("errorflow seed", seed, minimum=0)
    start = time.perf_counter()
    result = sc.run(lags, seed)
    result["seed"] = seed
    result["seconds"] = time.perf_counter() - start
    return result
