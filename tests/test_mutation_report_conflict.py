"""yetztml.report.conflict from a hand-made scenario result: the terminal summary word for word, which files
are written where, and what the two figures draw (read back from the matplotlib figures as they are saved:
each line's data, style and label, the titles, axes and legends)."""

from __future__ import annotations

import json

import matplotlib.colors
import matplotlib.figure
import numpy as np
import pytest

from figures import grid_of, hex_of
from yetztml.core.results import versions
from yetztml.report import conflict


def _weights(rho_main: float, rho_gate: float, sign: float) -> dict:
    return {"w_out": {"per_step": [0.5 * sign, -0.25, 0.125], "opposing_fraction": rho_main, "gradient": 0.0123},
            "w_gate": {"per_step": [-1e-3, 2e-3, 3e-3], "opposing_fraction": rho_gate, "gradient": -4.5e-5}}


def _net(solved: bool, updates: int, losses: list[float]) -> dict:
    return {"weight": "w_out", "solved": solved, "updates": updates, "losses": losses, "max_error": 0.04321,
            "start": {"loss": 0.25, "weights": _weights(0.5, 0.125, 1.0)},
            "end": {"loss": 0.0123456, "weights": _weights(0.4567, 0.0312, -1.0)},
            "trajectory": {"updates": [0, 10, 20], "w_out": [0.5, 0.45, 0.4], "w_gate": [0.1, 0.05, 0.0]}}


RESULT = {"scenario": "output-conflict", "summary": "the gate resolves it", "definition": "rho = opposing share",
          "naive": {**_net(False, 30, [float(v) for v in np.linspace(1.0, 0.5, 30)]),
                    "balance": {"a_star": 0.70711, "loss_at_balance": 0.125, "a": 0.7}},
          "gated": _net(True, 4, [0.8, 0.4, 0.2, 0.1])}


def test_summary_lines_word_for_word():
    rows = [
        "    w_out          ρ 0.500 → 0.457   ∂E/∂w +1.23e-02 → +1.23e-02   p_0 -5.00e-01, p_T−1 +1.25e-01",
        "    w_gate         ρ 0.125 → 0.031   ∂E/∂w -4.50e-05 → -4.50e-05   p_0 -1.00e-03, p_T−1 +3.00e-03",
    ]
    assert conflict.summary_lines(RESULT) == [
        "output-conflict: the gate resolves it",
        "  rho = opposing share",
        "  naive (naive CEC unit): not solved after 30 updates, E 0.2500 → 0.0123, largest error 0.043",
        *rows,
        "  gated (LSTM1997 memory cell): solved after 4 updates, E 0.2500 → 0.0123, largest error 0.043",
        *rows,
        "  naive standstill predicted: a* = 0.7071, E = 0.1250; reached a = 0.7000",
    ]


def test_files_written_where_asked(tmp_path, saved):
    assert conflict.write_conflict(RESULT) == []
    only_json = tmp_path / "r.json"
    assert conflict.write_conflict(RESULT, json_path=only_json) == [only_json]
    assert json.loads(only_json.read_text()) == json.loads(json.dumps({**RESULT, "versions": versions()}))
    out = tmp_path / "a" / "b"
    assert conflict.write_conflict(RESULT, out) == [out / "output-conflict-per-step.png",
                                                    out / "output-conflict-training.png",
                                                    out / "output-conflict.json"]
    assert [(p, dpi) for _, p, dpi in saved] == [(out / "output-conflict-per-step.png", 120),
                                                 (out / "output-conflict-training.png", 120)]
    assert sorted(p.name for p in out.iterdir()) == ["output-conflict.json"]
    other = tmp_path / "c.json"
    assert conflict.write_conflict(RESULT, out, other)[-1] == other and other.is_file()


def test_per_step_figure(tmp_path, saved):
    conflict.plot_per_step(RESULT, tmp_path / "p.png")
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "p.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((10.0, 6.4))
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    assert (fig._suptitle.get_text(), fig._suptitle.get_fontsize()) == ("output-conflict: the gate resolves it", 9)
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(2, 2, k, k) for k in range(4)]
    titles = [[ax.get_title() for ax in row] for row in axes]
    assert titles == [["naive CEC unit, before training (E = 0.25)", "naive CEC unit, after 30 updates (E = 0.0123)"],
                      ["LSTM1997 memory cell, before training (E = 0.25)",
                       "LSTM1997 memory cell, after 4 updates (E = 0.0123)"]]
    for row in range(2):
        for col in range(2):
            ax = axes[row, col]
            assert ax.title.get_fontsize() == 9
            assert (ax.get_ylabel(), ax.yaxis.label.get_fontsize()) == ("p_t = mean step-t term of ∂E/∂w", 8)
            assert ax.get_xlabel() == ("" if row == 0 else
                                       "time step t (the relevant input at t = 0, the target at t = T−1)")
            assert grid_of(ax) == (True, 0.3)
            assert ax.get_shared_x_axes().joined(ax, axes[0, 0])
            main, gate, zero = ax.lines
            sign = 1.0 if col == 0 else -1.0
            assert (list(main.get_xdata()), list(main.get_ydata())) == ([0, 1, 2], [0.5 * sign, -0.25, 0.125])
            assert (main.get_linewidth(), hex_of(main.get_color()), main.get_marker(), main.get_markersize()) == (
                2.0, "#000000", "o", 3)
            assert (gate.get_linewidth(), gate.get_marker(), gate.get_markersize()) == (1.2, "o", 3)
            assert list(gate.get_ydata()) == [-1e-3, 2e-3, 3e-3]
            assert (list(zero.get_ydata()), hex_of(zero.get_color()), zero.get_linewidth()) == (
                [0.0, 0.0], hex_of("grey"), 0.8)
            legend = ax.get_legend()
            rho = ("0.50", "0.12") if col == 0 else ("0.46", "0.03")
            assert [t.get_text() for t in legend.get_texts()] == [f"w_out: ρ = {rho[0]}", f"w_gate: ρ = {rho[1]}"]
            assert legend.get_texts()[0].get_fontsize() == 7


def test_training_figure(tmp_path, saved):
    conflict.plot_training(RESULT, tmp_path / "t.png")
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "t.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((10.0, 4.2))
    assert (fig._suptitle.get_text(), fig._suptitle.get_fontsize()) == (
        "output-conflict: training through yetztml.learning.Trainer", 9)
    loss_ax, rho_ax = fig.axes
    assert [ax.get_subplotspec().get_geometry() for ax in (loss_ax, rho_ax)] == [(1, 2, 0, 0), (1, 2, 1, 1)]
    naive_loss, gated_loss, standstill = loss_ax.lines
    naive = np.linspace(1.0, 0.5, 30)
    np.testing.assert_array_equal(naive_loss.get_xdata(), np.arange(25, 31))
    np.testing.assert_allclose(naive_loss.get_ydata(), np.convolve(naive, np.ones(25) / 25, mode="valid"),
                               rtol=1e-15)
    assert naive_loss.get_ydata()[0] == pytest.approx(np.mean(naive[:25]), rel=1e-14)
    np.testing.assert_array_equal(gated_loss.get_xdata(), [4])
    assert gated_loss.get_ydata()[0] == pytest.approx(0.375, rel=1e-14)
    assert (hex_of(naive_loss.get_color()), hex_of(gated_loss.get_color())) == (hex_of("tab:red"), hex_of("tab:blue"))
    assert (list(standstill.get_ydata()), hex_of(standstill.get_color()), standstill.get_linestyle(),
            standstill.get_linewidth()) == ([0.125, 0.125], hex_of("tab:red"), "--", 1.0)
    legend = loss_ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "naive CEC unit (not solved, 30 updates)", "LSTM1997 memory cell (solved, 4 updates)",
        "naive standstill (WC6/7): 0.125"]
    assert legend.get_texts()[0].get_fontsize() == 7
    assert loss_ax.get_yscale() == "log" and grid_of(loss_ax) == (True, 0.3)
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel()) == ("updates (Adam, batch 16)",
                                                            "E per sequence (mean of 25 updates)")
    *curves, half = rho_ax.lines
    assert [(ln.get_label(), ln.get_linestyle(), hex_of(ln.get_color()), ln.get_marker(), ln.get_markersize(),
             ln.get_markerfacecolor(), list(ln.get_xdata()), list(ln.get_ydata())) for ln in curves] == [
        ("naive: w_out", "-", hex_of("tab:red"), "o", 4, "none", [0, 10, 20], [0.5, 0.45, 0.4]),
        ("naive: w_gate", ":", hex_of("tab:red"), "s", 4, "none", [0, 10, 20], [0.1, 0.05, 0.0]),
        ("gated: w_out", "-", hex_of("tab:blue"), "o", 4, "none", [0, 10, 20], [0.5, 0.45, 0.4]),
        ("gated: w_gate", ":", hex_of("tab:blue"), "s", 4, "none", [0, 10, 20], [0.1, 0.05, 0.0])]
    assert (list(half.get_ydata()), hex_of(half.get_color()), half.get_linewidth(), half.get_linestyle()) == (
        [0.5, 0.5], hex_of("grey"), 0.8, "--")
    assert rho_ax.get_ylim() == (-0.02, 0.6)
    assert (rho_ax.get_xlabel(), rho_ax.get_ylabel()) == ("updates", "opposing fraction ρ (WC5)")
    rho_legend = rho_ax.get_legend()
    assert (rho_legend.get_texts()[0].get_fontsize(), rho_legend._ncols) == (6, 2)
    assert grid_of(rho_ax) == (True, 0.3)


def test_training_figure_without_losses_draws_only_the_standstill(tmp_path, saved):
    result = {**RESULT, "gated": {**RESULT["gated"], "losses": []}}
    conflict.plot_training(result, tmp_path / "t.png")
    labels = [line.get_label() for line in saved[0][0].axes[0].lines]
    assert labels == ["naive CEC unit (not solved, 30 updates)", "naive standstill (WC6/7): 0.125"]


def test_run_errorflow_passes_its_options_and_writes_the_result(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(conflict, "run_scenario",
                        lambda scenario, lags, seed: asked.append((scenario, lags, seed)) or RESULT)
    path = tmp_path / "r.json"
    assert conflict.run_errorflow("output-conflict", json_path=path, lags=7, seed=3) == {"result": RESULT,
                                                                                       "files": [path]}
    assert asked == [("output-conflict", 7, 3)] and path.is_file()
    assert conflict.run_errorflow("input-conflict") == {"result": RESULT, "files": []}
    assert asked[-1] == ("input-conflict", None, 0)


def test_run_errorflow_draws_into_out(tmp_path, monkeypatch, saved):
    monkeypatch.setattr(conflict, "run_scenario", lambda scenario, lags, seed: RESULT)
    files = conflict.run_errorflow("output-conflict", out=tmp_path)["files"]
    assert files == [tmp_path / "output-conflict-per-step.png", tmp_path / "output-conflict-training.png",
                     tmp_path / "output-conflict.json"]


def test_legends_sit_where_they_hide_least_whatever_the_style(tmp_path, saved):
    with matplotlib.rc_context({"legend.loc": "upper right"}):
        conflict.plot_per_step(RESULT, tmp_path / "p.png")
    assert {ax.get_legend()._get_loc() for ax in saved[0][0].axes} == {0}  # 0: "best"


def test_each_reported_weight_has_its_own_marker(tmp_path, saved):
    def net(solved):
        data = _net(solved, 4, [0.5, 0.25])
        for moment in ("start", "end"):
            data[moment]["weights"]["w_in"] = {"per_step": [0.0, 0.0, 0.0], "opposing_fraction": 0.0, "gradient": 0.0}
        data["trajectory"]["w_in"] = [0.2, 0.2, 0.2]
        return data

    result = {**RESULT, "naive": {**net(False), "balance": RESULT["naive"]["balance"]}, "gated": net(True)}
    conflict.plot_training(result, tmp_path / "t.png")
    rho_ax = saved[0][0].axes[1]
    assert [(ln.get_label(), ln.get_marker()) for ln in rho_ax.lines[:3]] == [
        ("naive: w_out", "o"), ("naive: w_gate", "s"), ("naive: w_in", "D")]
