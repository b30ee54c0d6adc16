"""The named error-flow scenarios, their JSON and figures, recomputed from the trajectories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yetztml.analysis import scenarios
from yetztml.analysis.errorflow import error_flow
from yetztml.analysis.linearise import linearise
from yetztml.analysis.unitnet import UnitNet
from yetztml.cells.lstm1997 import LSTM1997
from yetztml.core import activations
from yetztml.core.errors import OptionError
from yetztml.report.errorflow import run_errorflow, summary_lines, write_scenario

REQUIRED = {"lags", "flow", "bound", "scenario", "config"}


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_cec_flow_is_exactly_one_for_every_lag(rng):
    unit = UnitNet(np.array([[1.0]]), "identity", V=np.array([[1.0]]))
    flow = error_flow(linearise(unit, unit.forward(rng.standard_normal((501, 1, 1)))))
    for curve in (flow.curves["net"].max, flow.curves["net"].norm, flow.curves["net"].total):
        assert np.all(curve == 1.0) and len(curve) == 500
    result = scenarios.run_scenario("cec", lags=300)
    assert result["flow"] == [1.0] * 300
    assert result["checks"]["exactly_one"] is True
    assert result["curves"]["linear, w = 0.9"][-1] == pytest.approx(300 * np.log10(0.9), abs=1e-9)


def test_vanishing_flow_is_under_the_bound_at_every_lag():
    result = scenarios.run_scenario("vanishing", lags=200, seed=3)
    flow, bound = np.array(result["log10_flow"], dtype=float), np.array(result["log10_bound"], dtype=float)
    assert len(flow) == 200 and np.all(np.isfinite(flow))
    assert np.all(flow <= bound)
    assert result["checks"]["tau"] < 1.0 and result["checks"]["max_abs_w"] < 4.0 / result["config"]["units"]
    # seed 3, no training: float64 products of 8 × 8 matrices, pinned to 1e-9 relative (BLAS summation order)
    assert (result["checks"]["tau"], result["checks"]["max_abs_w"]) == pytest.approx(
        (0.8996454509133568, 0.4498227254566784), rel=1e-9)
    assert result["checks"]["log10_decay_per_step"] == pytest.approx(-0.7055833046730909, rel=1e-9)
    assert (flow[0], flow[-1]) == pytest.approx((-0.9514836390979481, -141.45070574534645), rel=1e-9)
    assert np.all(np.diff(flow[::10]) < 0)  # exponential decay
    tau_curve = np.array(result["curves"]["n τ^q (τ = n w_max / 4)"], dtype=float)
    assert np.all(bound <= tau_curve + 1e-12)
    assert result["coth"]["measured"]["max"] == pytest.approx(0.11245567994640233, rel=1e-9)


def test_exploding_frobenius_norm_is_sqrt_n_rho_to_the_q():
    result = scenarios.run_scenario("exploding", lags=150)
    q = np.array(result["lags"])
    n, rho = result["config"]["units"], result["config"]["spectral_radius"]
    fro = np.array(result["curves"]["‖Φ_q‖ Frobenius"], dtype=float)
    assert np.max(np.abs(fro - (0.5 * np.log10(n) + q * np.log10(rho)))) <= 1e-10
    # the fitted growth of the identity net's flow is near log10(1.1) = 0.0414; the tanh net's at gain 3
    assert result["checks"]["log10_growth_per_step"] == pytest.approx(0.04138143980076986, rel=1e-9)
    assert result["checks"]["tanh_log10_growth_per_step"] == pytest.approx(0.12122611750497676, rel=1e-9)
    assert np.all(np.array(result["log10_flow"]) <= np.array(result["log10_bound"]))
    # independently: seed 0 draws W = 1.1 Q (Q from the QR of an 8 × 8 normal draw); the linear net's flow at
    # lag q is max |(W^q)_ij| and the bound is n ‖W‖_A^q. Catches a flow off by one lag, a transposed or
    # squared product, or a bound with another norm or f'_max.
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))
    W = rho * Q
    flow = [np.log10(np.abs(np.linalg.matrix_power(W, lag)).max()) for lag in q]
    assert np.max(np.abs(np.array(result["log10_flow"]) - flow)) <= 1e-12
    bound = np.log10(n) + q * np.log10(np.abs(W).sum(axis=1).max())
    assert np.max(np.abs(np.array(result["log10_bound"]) - bound)) <= 1e-12
    # float64 products of 8 × 8 matrices: 1e-9 relative leaves room for another BLAS's summation order
    assert (result["log10_flow"][0], result["log10_flow"][-1]) == pytest.approx(
        (-0.07286827034427663, 6.146894747264603), rel=1e-9)
    assert (result["log10_bound"][0], result["log10_bound"][-1]) == pytest.approx(
        (1.3423563124706916, 66.79303880880418), rel=1e-9)


def test_cec_gated_matches_eq41_computed_from_the_trajectory(rng):
    """[1997 eq. 41], recomputed here from the trace fields, against the truncated Jacobian products."""
    cell = LSTM1997(2, 2, 2, 1, init_range=0.5, input_gate_bias=[-1.0, -2.0], seed=7)
    trace = cell.forward(rng.standard_normal((40, 1, 2)))
    flow = error_flow(linearise(cell, trace, truncate=True), source="y_c", targets=("s", "net_c", "net_in"),
                      keep="all")
    t = 39
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    h_prime = lambda x: 2 * sig(x) * (1 - sig(x))  # h = 2σ − 1
    g_prime = lambda x: 4 * sig(x) * (1 - sig(x))  # g = 4σ − 2
    for q in range(1, 40):
        for u in range(4):
            j = u // 2
            entry = trace.y_out[t, 0, j] * h_prime(trace.s[t, 0, u])  # y^out(t) h'(s(t))
            exit_c = g_prime(trace.net_c[t - q, 0, u]) * trace.y_in[t - q, 0, j]
            exit_in = (4 * sig(trace.net_c[t - q, 0, u]) - 2) * sig(trace.net_in[t - q, 0, j]) * (
                1 - sig(trace.net_in[t - q, 0, j]))
            assert flow.matrices["s"][q][u, u] == pytest.approx(entry, rel=1e-12)
            assert flow.matrices["net_c"][q][u, u] == pytest.approx(entry * exit_c, rel=1e-10)
            assert flow.matrices["net_in"][q][j, u] == pytest.approx(entry * exit_in, rel=1e-10)
            assert flow.matrices["net_in"][q][1 - j, u] == 0.0
        assert np.count_nonzero(flow.matrices["net_c"][q] - np.diag(np.diag(flow.matrices["net_c"][q]))) == 0
    assert np.all(flow.curves["s"].max == flow.curves["s"].max[0])  # constant between entry and exit
    direct = scenarios.eq41(trace, t, 5)
    assert np.max(np.abs(direct["net_c"] - flow.matrices["net_c"][5])) <= 1e-15
    assert activations.code("g", cell.g) == activations.G1997


def test_cec_gated_scenario_checks():
    result = scenarios.run_scenario("cec-gated", lags=60)
    checks = result["checks"]
    assert checks["constant_into_s"] is True
    assert max(checks[f"eq41_max_abs_error_{b}"] for b in ("s", "net_c", "net_in")) <= 1e-15
    assert len(set(result["flow"])) == 1 and result["flow"][0] == pytest.approx(0.06112473613683163, rel=1e-9)


def test_forget_gate_turns_the_carousel_into_a_decay():
    result = scenarios.run_scenario("forget-gate", lags=80)
    checks = result["checks"]
    for b in ("4", "2", "0"):
        assert checks[f"b={b}_max_abs_log10_error_vs_product"] <= 1e-12
    decay = [checks[f"b={b}_log10_decay_per_step"] for b in ("4", "2", "0")]
    assert decay[0] > decay[1] > decay[2]  # smaller forget-gate bias, faster decay
    assert decay == pytest.approx([-0.008242057157779304, -0.05789134423437989, -0.30978712218540616], rel=1e-9)
    gates = [checks[f"b={b}_mean_forget_gate"] for b in ("4", "2", "0")]
    assert gates == pytest.approx([0.9811935853974922, 0.875241240859186, 0.49036688095862785], rel=1e-9)
    ratio = checks["b=2_mean_forget_gate"]
    assert decay[1] == pytest.approx(np.log10(ratio), abs=0.02)
    assert result["curves"]["LSTM1997 (CEC, y^φ ≡ 1)"][0] == result["curves"]["LSTM1997 (CEC, y^φ ≡ 1)"][-1]


def test_lstm_vs_rnn_runs_and_reports_both_cells():
    """Seed 1, T = 12: both cells learn the task (the RNN in 360 updates, the LSTM in 78) and training
    changes their flows. Counts and accuracies are exact; the losses and flows come from 78–360 Adam steps
    through BLAS products, pinned to 1e-6 relative (room for another BLAS's summation order)."""
    result = scenarios.run_scenario("lstm-vs-rnn", lags=12, seed=1)
    checks = result["checks"]
    assert {k: checks[k] for k in ("RNN_updates", "RNN_accuracy", "LSTM_updates", "LSTM_accuracy")} == {
        "RNN_updates": 360, "RNN_accuracy": 1.0, "LSTM_updates": 78, "LSTM_accuracy": 255 / 256}
    assert checks["RNN_final_loss"] == pytest.approx(0.009376830117995895, rel=1e-6)
    assert checks["LSTM_final_loss"] == pytest.approx(0.007297205383751171, rel=1e-6)
    assert len(result["flow"]) == 12
    assert [result["flow"][q - 1] for q in (1, 5, 12)] == pytest.approx(
        [0.1301650704048006, 0.005071263938637938, 0.031505702163614265], rel=1e-6)
    curves = result["curves"]
    expected = {  # log10 flow at q = 1 and q = 12
        "RNN before training": (-0.4697243354642687, -4.429641737824265),
        "RNN after training": (-0.24490026367634588, 0.8310641915802542),
        "LSTM before training": (-0.9587339561613141, -1.3330708354414689),
        "LSTM after training, h → c": (-1.607184757884289, -1.3679602031133327),
    }
    for label, (first, last) in expected.items():
        assert len(curves[label]) == 12
        assert (curves[label][0], curves[label][-1]) == pytest.approx((first, last), rel=1e-6), label
    assert set(result["gates"]["series"]) == {"input gate i", "forget gate f", "cell input g", "output gate o"}
    forget = np.array(result["gates"]["series"]["forget gate f"])
    assert forget.shape == (12, 8)
    # the trained LSTM's forget gates along the probe sequence (a series of another gate would differ)
    assert (forget[0, 0], forget[-1, -1], forget.sum()) == pytest.approx(
        (0.9633652347206043, 0.9793423375170487, 92.87517041211399), rel=1e-6)


def test_unknown_scenario_and_bad_lags_name_the_allowed_values():
    with pytest.raises(OptionError, match="'vanishing', 'exploding', 'cec', 'cec-gated', 'lstm-vs-rnn'"):
        scenarios.run_scenario("vanish")
    with pytest.raises(OptionError, match="from 5 to 100"):
        scenarios.run_scenario("lstm-vs-rnn", lags=500)
    with pytest.raises(OptionError, match="from 1 to 5000"):
        scenarios.run_scenario("cec", lags=0)


@pytest.mark.parametrize("name", ["vanishing", "cec-gated"])
def test_written_json_and_figures(tmp_path, name):
    out = run_errorflow(name, out=tmp_path / "figs", lags=30)
    files = {p.name for p in out["files"]}
    assert f"{name}-flow.png" in files and f"{name}-pairs.png" in files and f"{name}.json" in files
    if name == "vanishing":
        assert "vanishing-coth.png" in files
    else:
        assert "cec-gated-gates.png" in files
    for path in out["files"]:
        assert path.stat().st_size > 1000
    data = strict_json((tmp_path / "figs" / f"{name}.json").read_text())
    assert REQUIRED <= set(data) and data["scenario"] == name and data["lags"] == list(range(1, 31))
    assert "versions" in data and data["seed"] == 0
    # the JSON holds the scenario's values at lags 30, seed 0 (float64, 8 × 8 or 2-cell products: 1e-9)
    first, last, bound = {"vanishing": (0.10871735135454014, 5.626990951607565e-24,
                                        (4.72515476348251, 1.1037520020694125e-06)),
                          "cec-gated": (0.09768887285133651, 0.09768887285133651, None)}[name]
    assert (data["flow"][0], data["flow"][-1]) == pytest.approx((first, last), rel=1e-9)
    if bound is None:
        assert data["bound"] is None
    else:
        assert (data["bound"][0], data["bound"][-1]) == pytest.approx(bound, rel=1e-9)


def test_json_path_without_figures(tmp_path):
    result = scenarios.run_scenario("cec", lags=5)
    files = write_scenario(result, json_path=tmp_path / "cec.json")
    assert [p.name for p in files] == ["cec.json"]
    data = strict_json(files[0].read_text())
    assert data["flow"] == [1.0] * 5 and data["bound"] == [1.0] * 5
    lines = summary_lines(result)
    assert lines[0].startswith("cec: ") and "  q =     5: log10 flow      0.000   log10 bound      0.000" in lines
    assert "  exactly_one: True" in lines
