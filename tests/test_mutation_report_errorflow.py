"""yetztml.report.errorflow from a hand-made scenario result: the terminal summary word for word, which files
are written where, and what each figure draws (read back from the matplotlib figures as they are saved)."""

from __future__ import annotations

import json

import matplotlib.colors
import matplotlib.figure
import numpy as np
import pytest

from figures import grid_of, hex_of
from yetztml.core.results import versions
from yetztml.report import errorflow as ef

RESULT = {
    "scenario": "vanishing", "summary": "the flow vanishes", "definition": "|∂v(t−q)/∂u(t)|",
    "lags": [2 * q for q in range(12)], "log10_flow": [-0.5 * q for q in range(11)] + [None],
    "log10_bound": [-0.25 * q for q in range(12)], "curves": {"mean": [-0.1, -0.2, None]},
    "pairs": [{"lag": 1, "source": "u", "target": "v", "log10_abs": [[0.0, -1.0], [None, -2.0]]},
              {"lag": 5, "source": "u", "target": "v", "log10_abs": [[-3.0] * 16]},
              {"lag": 9, "source": "u", "target": "v", "log10_abs": [[-4.0] * 17]}],
    "gates": {"series": {"input gate": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], "cell": [[1.0], [2.0], [3.0]],
                         "output gate": [[0.5], [0.25], [0.125]]}},
    "coth": {"w": [-5.0, 0.0, 5.0], "envelope": [1.25, 0.0, 1.25], "curves": {"y = 1": [0.1, 0.0, 0.1]},
             "stationary": {"y = 1": {"w": [2.4], "phi": [0.45]}},
             "measured": {"w": [1.0, -2.0], "scaling": [0.2, 0.4]}},
    "checks": {"ratio": 0.123456789, "passed": True},
}


def _data(line) -> tuple[list, list]:
    return [float(v) for v in line.get_xdata()], [float(v) for v in line.get_ydata()]


def test_summary_lines_word_for_word():
    assert ef.summary_lines(RESULT) == [
        "vanishing: the flow vanishes",
        "  flow = |∂v(t−q)/∂u(t)|",
        "  q =     0: log10 flow     -0.000   log10 bound     -0.000",
        "  q =    12: log10 flow     -3.000   log10 bound     -1.500",
        "  q =    18: log10 flow     -4.500   log10 bound     -2.250",
        "  q =    22: log10 flow -inf   log10 bound     -2.750",
        "  ratio: 0.123457",
        "  passed: True",
    ]
    short = {**RESULT, "lags": [1, 2, 3, 4, 5], "log10_flow": [0.0, -1.0, -2.0, -3.0, -4.0], "log10_bound": None,
             "checks": {}}
    assert ef.summary_lines(short)[2:] == ["  q =     1: log10 flow      0.000", "  q =     3: log10 flow     -2.000",
                                          "  q =     5: log10 flow     -4.000"]


def test_files_written_where_asked(tmp_path, saved):
    assert ef.write_scenario(RESULT) == []
    only_json = tmp_path / "r.json"
    assert ef.write_scenario(RESULT, json_path=only_json) == [only_json]
    assert json.loads(only_json.read_text()) == json.loads(json.dumps({**RESULT, "versions": versions()}))
    out = tmp_path / "a" / "b"
    names = ["vanishing-flow.png", "vanishing-pairs.png", "vanishing-gates.png", "vanishing-coth.png"]
    assert ef.write_scenario(RESULT, out) == [out / n for n in names] + [out / "vanishing.json"]
    assert [(p, dpi) for _, p, dpi in saved] == [(out / n, 120) for n in names]
    bare = {k: v for k, v in RESULT.items() if k != "coth"} | {"pairs": [], "gates": {}}
    other = tmp_path / "c.json"
    assert ef.write_scenario(bare, out, other) == [out / "vanishing-flow.png", other]


def test_flow_figure(tmp_path, saved):
    ef.plot_flow(RESULT, tmp_path / "f.png")
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "f.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 4.5))
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    (ax,) = fig.axes
    mean, flow, bound = ax.lines
    assert _data(mean)[0] == [0, 2, 4] and np.isnan(_data(mean)[1][2]) and _data(mean)[1][:2] == [-0.1, -0.2]
    assert (mean.get_linewidth(), mean.get_alpha(), mean.get_label()) == (1.0, 0.8, "mean")
    assert _data(flow)[1][:11] == [-0.5 * q for q in range(11)] and np.isnan(_data(flow)[1][11])
    assert (hex_of(flow.get_color()), flow.get_linewidth(), flow.get_label()) == ("#000000", 2.0, "flow")
    assert _data(flow)[0] == [2 * q for q in range(12)]
    assert _data(bound) == ([2 * q for q in range(12)], [-0.25 * q for q in range(12)])
    assert (hex_of(bound.get_color()), bound.get_linestyle(), bound.get_linewidth(), bound.get_label()) == (
        "#000000", "--", 1.5, "bound")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("lag q (steps back from t)", "log10 scaling factor")
    assert (ax.get_title(), ax.title.get_fontsize()) == ("vanishing: the flow vanishes", 9)
    assert grid_of(ax) == (True, 0.3)
    assert [t.get_fontsize() for t in ax.get_legend().get_texts()] == [7, 7, 7]


def test_flow_figure_without_a_bound_names_its_flow(tmp_path, saved):
    ef.plot_flow({**RESULT, "log10_bound": None, "curves": {}, "flow_label": "max flow"}, tmp_path / "f.png")
    assert [line.get_label() for line in saved[0][0].axes[0].lines] == ["max flow"]


def test_pairs_figure(tmp_path, saved):
    ef.plot_pairs(RESULT, tmp_path / "p.png")
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "p.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((10.4, 3.4))
    small, sixteen, wide = fig.axes[:3]
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes[:3]] == [(1, 3, k, k) for k in range(3)]
    colorbars = fig.axes[3:]
    image = small.images[0]
    values = np.ma.filled(image.get_array().astype(float), np.nan)  # None drawn as NaN: masked, left blank
    assert values[0].tolist() == [0.0, -1.0] and np.isnan(values[1, 0]) and values[1, 1] == -2.0
    assert (image.get_cmap().name, small.get_aspect()) == ("viridis", "auto")
    assert (list(small.get_xticks()), list(small.get_yticks())) == ([0, 1], [0, 1])
    assert (small.get_title(), small.title.get_fontsize()) == ("q = 1: u(t) → v(t−q)", 8)
    assert (small.get_xlabel(), small.get_ylabel()) == ("source unit u", "target unit v")
    assert (list(sixteen.get_xticks()), list(sixteen.get_yticks())) == (list(range(16)), [0])
    assert list(wide.get_xticks()) != list(range(17))  # seventeen units: matplotlib's own ticks, not one each
    assert [cb.get_ylabel() for cb in colorbars] == ["log10 |Φ_q[v, u]|"] * 3


def test_gates_figure(tmp_path, saved):
    ef.plot_gates(RESULT, tmp_path / "g.png")
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "g.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 6.0))
    gate, cell, out = fig.axes
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(3, 1, k, k) for k in range(3)]
    assert [_data(line) for line in gate.lines] == [([0, 1, 2], [0.1, 0.3, 0.5]), ([0, 1, 2], [0.2, 0.4, 0.6])]
    assert [_data(line) for line in cell.lines] == [([0, 1, 2], [1.0, 2.0, 3.0])]
    assert {line.get_linewidth() for line in gate.lines + cell.lines} == {0.9}
    assert [(ax.get_ylabel(), ax.yaxis.label.get_fontsize(), grid_of(ax)) for ax in (gate, cell)] == [
        ("input gate", 8, (True, 0.3)), ("cell", 8, (True, 0.3))]
    assert (gate.get_xlabel(), cell.get_xlabel(), out.get_xlabel()) == ("", "", "time step t")
    assert gate.get_shared_x_axes().joined(gate, cell)
    assert (fig._suptitle.get_text(), fig._suptitle.get_fontsize()) == (
        "vanishing: activations over time (one line per unit)", 9)


def test_coth_figure(tmp_path, saved):
    ef.plot_coth(RESULT, tmp_path / "c.png")
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "c.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 4.5))
    (ax,) = fig.axes
    envelope, curve, stationary, measured, one = ax.lines
    assert _data(envelope) == ([-5.0, 0.0, 5.0], [1.25, 0.0, 1.25])
    assert (hex_of(envelope.get_color()), envelope.get_linewidth(), envelope.get_label()) == (
        "#000000", 1.5, "max over net: |w|/4")
    assert _data(curve) == ([-5.0, 0.0, 5.0], [0.1, 0.0, 0.1])
    assert (curve.get_linewidth(), curve.get_label()) == (1.0, "|σ'(w y) w|, y = 1")
    assert _data(stationary) == ([2.4], [0.45])
    assert (stationary.get_marker(), stationary.get_linestyle(), stationary.get_markersize()) == ("o", "None", 4)
    assert stationary.get_color() == curve.get_color()
    assert _data(measured) == ([1.0, -2.0], [0.2, 0.4])
    assert (measured.get_marker(), hex_of(measured.get_color()), measured.get_markersize(), measured.get_label()) == (
        ".", "#000000", 3, "measured (max over t)")
    assert (_data(one)[1], hex_of(one.get_color()), one.get_linestyle(), one.get_linewidth(), one.get_label()) == (
        [1.0, 1.0], hex_of("red"), "--", 1.0, "1.0")
    (span,) = ax.patches
    assert (span.get_x(), span.get_x() + span.get_width()) == (-4.0, 4.0)
    assert (hex_of(span.get_facecolor()), span.get_alpha(), span.get_label()) == (hex_of("grey"), 0.1, "|w| < 4.0")
    assert ax.get_ylim() == (0.0, 2.6)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("weight w", "one-step scaling |f'(net) w|")
    assert (ax.get_title(), ax.title.get_fontsize()) == (
        "logistic units: |f'(net) w| < 1 whenever |w| < 4.0 (dots: coth stationary points)", 9)
    assert [t.get_fontsize() for t in ax.get_legend().get_texts()] == [7] * 5
    assert grid_of(ax) == (True, 0.3)


def test_run_errorflow_passes_its_options_and_writes_the_result(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(ef, "run_scenario", lambda scenario, lags, seed: asked.append((scenario, lags, seed)) or RESULT)
    path = tmp_path / "r.json"
    assert ef.run_errorflow("vanishing", json_path=path, lags=7, seed=3) == {"result": RESULT, "files": [path]}
    assert asked == [("vanishing", 7, 3)] and path.is_file()
    assert ef.run_errorflow("exploding") == {"result": RESULT, "files": []}
    assert asked[-1] == ("exploding", None, 0)


def test_flow_legend_sits_where_it_hides_least_whatever_the_style(tmp_path, saved):
    with matplotlib.rc_context({"legend.loc": "upper right"}):
        ef.plot_flow(RESULT, tmp_path / "f.png")
    assert saved[0][0].axes[0].get_legend()._get_loc() == 0  # 0: "best"


def test_run_errorflow_draws_into_out(tmp_path, monkeypatch, saved):
    monkeypatch.setattr(ef, "run_scenario", lambda scenario, lags, seed: RESULT)
    files = ef.run_errorflow("vanishing", out=tmp_path)["files"]
    assert [f.name for f in files] == ["vanishing-flow.png", "vanishing-pairs.png", "vanishing-gates.png",
                                       "vanishing-coth.png", "vanishing.json"]


def test_line_widths_and_colour_map_hold_whatever_the_style(tmp_path, saved):
    with matplotlib.rc_context({"lines.linewidth": 3.0, "image.cmap": "gray"}):
        ef.plot_flow(RESULT, tmp_path / "f.png")
        ef.plot_pairs(RESULT, tmp_path / "p.png")
        ef.plot_coth(RESULT, tmp_path / "c.png")
    flow, pairs, coth = (fig for fig, _, _ in saved)
    assert [line.get_linewidth() for line in flow.axes[0].lines] == [1.0, 2.0, 1.5]
    assert {ax.images[0].get_cmap().name for ax in pairs.axes[:3]} == {"viridis"}
    assert coth.axes[0].lines[0].get_linewidth() == 1.5


def test_each_colour_bar_is_its_own_maps(tmp_path, saved):
    ef.plot_pairs(RESULT, tmp_path / "p.png")
    fig = saved[0][0]
    maps = [ax.images[0] for ax in fig.axes[:3]]
    assert [cax._colorbar.mappable for cax in fig.axes[3:]] == maps
