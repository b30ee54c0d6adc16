"""yetztml.report.bss_figures from hand-made results and arrays: which figures each model gets, and what
every panel draws (each line's data, colour and style, the violins, the titles, labels, scales and limits),
read back from the figures as they are saved."""

from __future__ import annotations

import matplotlib
import matplotlib.colors
import matplotlib.figure
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from yetztml.report import bss_figures as bf

matplotlib.use("Agg")

N = 8  # samples per context


@pytest.fixture(autouse=True)
def laid_out(monkeypatch) -> list:
    """The figures laid out by ``tight_layout``, recorded instead of computed (it draws the whole figure: seconds
    for these sizes); test_figures_are_written_as_png lays one out for real."""
    figures: list = []
    monkeypatch.setattr(matplotlib.figure.Figure, "tight_layout", lambda fig: figures.append(fig))
    return figures


def _arrays(kind: str, units: int = 30) -> dict:
    """Four contexts of N samples (the figures show the first three), two sources."""
    rng = np.random.default_rng(0)
    T = 4 * N
    arrays = {"s": rng.standard_normal((T, 2)), "y": rng.standard_normal((T, 2)), "x": rng.standard_normal((T, 2)),
              "A": np.array([[[2.0, 0.0], [0.0, 4.0]], [[1.0, 1.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 0.5]],
                             [[3.0, 0.0], [1.0, 1.0]]]),
              "output_error": np.arange(2 * N, dtype=float) + 1.0}
    if kind == "W":
        arrays["W"] = rng.standard_normal((T, 2, 2))
        arrays["weight_error"] = np.arange(2 * N, dtype=float) + 3.0
    elif kind == "W_eff":
        arrays["W_eff"] = rng.standard_normal((T, 2, 2))
    elif kind == "mod":
        arrays["mod"] = rng.standard_normal((T, units))
        arrays["K"] = np.array([0.1, 0.5, 1.0, 0.5, 0.1])
    return arrays


def _result(sweep: bool = True, curve: bool = True) -> dict:
    ev = {"clarity_stimulus_per_context": {"values": [0.5, 0.55, 0.6]},
          "clarity_output_per_context": {"values": [0.9, float("nan"), 0.95]},
          "n_test": 3, "clarity_stimulus": 0.5234, "clarity_output": 0.9345,
          "unit_clarity": {"x": {"values": [0.4, 0.5]}, "z": {"values": [0.45]}, "y": {"values": [0.9, 0.95, 0.97]}},
          "decoding_r2": {"x": {"values": [0.2, 0.3]}, "z": {"values": [0.96, 0.97]}, "y": {"values": [-0.5, 0.99]}}}
    if sweep:
        ev["noise_sweep"] = {"levels": [{"snr_db": 10.0, "clarity_output": 0.9, "clarity_stimulus": 0.55},
                                        {"snr_db": 0.0, "clarity_output": 0.6, "clarity_stimulus": 0.51}]}
    return {"model_class": "SpatialNet", "batches": 40,
            "config": {"n_steps": N, "kernel": "gauss", "width": 0.5, "lstm_input": "xy", "tau": 10.0},
            "training": {"loss": [0.5, 0.25, 0.125], "curve": [{"batch": 1, "clarity_output": 0.6},
                                                               {"batch": 3, "clarity_output": 0.8}] if curve else []},
            "evaluation": ev}


def _lines(ax) -> list[tuple]:
    return [(line.get_label(), np.asarray(line.get_xdata()).tolist(), np.asarray(line.get_ydata()).tolist(),
             matplotlib.colors.to_hex(line.get_color(), keep_alpha=True), line.get_linestyle(), line.get_linewidth(),
             line.get_marker()) for line in ax.get_lines()]


def test_unmixing_figure_with_weights(tmp_path, saved, laid_out):
    arrays, result = _arrays("W"), _result()
    bf.figure_unmixing(tmp_path / "f.png", result, arrays)
    (fig, path, dpi), = saved
    assert laid_out == [fig]
    assert (path, dpi) == (tmp_path / "f.png", 110)
    assert tuple(fig.get_size_inches()) == pytest.approx((13, 7))
    assert fig._suptitle.get_text() == "SpatialNet: clarity x 0.523, y 0.934 after 40 batches"
    axes = np.array(fig.axes[:6]).reshape(2, 3)
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes[:6]] == [(2, 3, k, k) for k in range(6)]
    # a: a window from n − n/8 to n + n/4 around the first switch
    t = [7, 8, 9]
    a = _lines(axes[0, 0])
    s, y, x = arrays["s"], arrays["y"], arrays["x"]
    grey = matplotlib.colors.to_hex("0.7", keep_alpha=True)
    assert a[:2] == [("_child0", t, x[7:10, 0].tolist(), grey, "-", 0.6, "None"),
                     ("_child1", t, x[7:10, 1].tolist(), grey, "-", 0.6, "None")]
    assert a[2:6] == [("_child2", t, s[7:10, 0].tolist(), "#2c6e85ff", "-", 1.0, "None"),
                      ("_child3", t, y[7:10, 0].tolist(), "#2c6e85ff", "--", 1.0, "None"),
                      ("_child4", t, s[7:10, 1].tolist(), "#5fb89aff", "-", 1.0, "None"),
                      ("_child5", t, y[7:10, 1].tolist(), "#5fb89aff", "--", 1.0, "None")]
    assert [line.get_alpha() for line in axes[0, 0].get_lines()[2:6]] == [0.5, None, 0.5, None]
    assert a[6][1:] == ([8, 8], [0, 1], "#000000ff", "-", 0.5, "None")
    assert axes[0, 0].get_title() == "a  s (solid), y (dashed), x (grey); context switch"
    assert axes[0, 0].get_xlabel() == "time (samples)"
    # b: the four weights against the inverse of each context's mixing
    b = axes[0, 1].get_lines()
    target = np.linalg.inv(np.repeat(arrays["A"], N, axis=0))[: 3 * N].reshape(-1, 4)
    assert len(b) == 8
    for k in range(4):
        np.testing.assert_array_equal(b[k].get_ydata(), arrays["W"][: 3 * N].reshape(-1, 4)[:, k])
        np.testing.assert_array_equal(b[4 + k].get_ydata(), target[:, k])
        assert (b[k].get_linewidth(), b[4 + k].get_linestyle(), b[4 + k].get_color()) == (0.8, "--", "k")
        assert b[4 + k].get_linewidth() == 0.8
    assert axes[0, 1].get_title() == "b  weights W(t) and A⁻¹ (dashed)"
    assert (axes[0, 1].get_xlabel(), axes[0, 1].get_ylim()) == ("time (samples)", (-6.0, 6.0))
    # c: the violins of the clarities (the NaN left out)
    c = axes[0, 2]
    bodies = [p for p in c.collections if isinstance(p, PolyCollection)]
    assert len(bodies) == 2
    assert len(c.collections) == 2 + 4  # the violins, their extremes, bars and means
    assert [round(float(v.get_paths()[0].vertices[:, 1].max()), 6) for v in bodies] == [0.6, 0.95]
    assert [round(float(v.get_paths()[0].vertices[:, 1].min()), 6) for v in bodies] == [0.5, 0.9]
    assert [tick.get_text() for tick in c.get_xticklabels()] == ["stimulus x", "output y"]
    assert c.get_xticks().tolist() == [0, 1]
    assert (c.get_ylabel(), c.get_title(), c.get_ylim()) == ("signal clarity", "c  clarity over 3 contexts", (0, 1.05))
    # d: the mean error after a switch
    d = _lines(axes[1, 0])
    assert [row[0] for row in d] == ["‖s − y‖", "‖W − A⁻¹‖"]
    assert d[0][1:3] == (list(range(N)), (np.arange(2 * N).reshape(2, N).mean(axis=0) + 1.0).tolist())
    assert d[1][1:3] == (list(range(N)), (np.arange(2 * N).reshape(2, N).mean(axis=0) + 3.0).tolist())
    assert axes[1, 0].get_title() == "d  error after a switch (mean)"
    assert axes[1, 0].get_xlabel() == "samples into context"
    assert (axes[1, 0].get_xscale(), axes[1, 0].get_yscale()) == ("symlog", "log")
    assert [t.get_text() for t in axes[1, 0].get_legend().get_texts()] == ["‖s − y‖", "‖W − A⁻¹‖"]
    # e: clarity against SNR
    e = _lines(axes[1, 1])
    assert e[0][:3] == ("output y", [10.0, 0.0], [0.9, 0.6]) and e[0][4:] == ("-", 1.5, "o")
    assert e[1] == ("stimulus x", [10.0, 0.0], [0.55, 0.51], "#999999ff", "-", 1.5, "o")
    assert e[2][1:] == ([1.1, 1.1], [0, 1], "#000000ff", ":", 0.5, "None")
    assert axes[1, 1].get_title() == "e  clarity vs SNR (paper: chance ≈ 1.1 dB)"
    assert (axes[1, 1].get_xlabel(), axes[1, 1].get_ylim()) == ("SNR (dB)", (0, 1.05))
    assert [t.get_text() for t in axes[1, 1].get_legend().get_texts()] == ["output y", "stimulus x"]
    # f: the loss of every batch and the monitored clarity on a second axis
    f = _lines(axes[1, 2])
    assert f == [("_child0", [1, 2, 3], [0.5, 0.25, 0.125], "#808080ff", "-", 0.5, "None")]
    assert (axes[1, 2].get_yscale(), axes[1, 2].get_xlabel(), axes[1, 2].get_ylabel(), axes[1, 2].get_title()) == (
        "log", "batch", "loss", "f  training")
    twin = fig.axes[6]
    assert _lines(twin) == [("_child0", [1, 3], [0.6, 0.8], matplotlib.colors.to_hex("C3", keep_alpha=True), "-",
                             1.5, "o")]
    assert (twin.get_ylabel(), twin.get_ylim()) == ("output clarity (monitor)", (0, 1.05))


def test_unmixing_figure_with_effective_weights_and_without_sweep_or_curve(tmp_path, saved):
    arrays = _arrays("W_eff")
    bf.figure_unmixing(tmp_path / "f.png", _result(sweep=False, curve=False), arrays)
    (fig, _, _), = saved
    assert len(fig.axes) == 6  # no twin axis without a monitoring curve
    b = fig.axes[1]
    target = np.linalg.inv(np.repeat(arrays["A"], N, axis=0))[: 3 * N].reshape(-1, 4)
    np.testing.assert_array_equal(b.get_lines()[2].get_ydata(), arrays["W_eff"][: 3 * N].reshape(-1, 4)[:, 2])
    np.testing.assert_array_equal(b.get_lines()[7].get_ydata(), target[:, 3])
    assert [(line.get_linewidth(), line.get_linestyle()) for line in b.get_lines()] == [(0.8, "-")] * 4 + [
        (0.8, "--")] * 4
    assert {line.get_color() for line in b.get_lines()[4:]} == {"k"}
    assert b.get_title() == "b  W_ro diag(M) W_x and A⁻¹ (dashed)"
    assert (b.get_xlabel(), b.get_ylim(), len(b.get_lines())) == ("time (samples)", (-6.0, 6.0), 8)
    assert [line.get_label() for line in fig.axes[3].get_lines()] == ["‖s − y‖"]
    assert not fig.axes[4].axison and fig.axes[4].get_lines() == []


def test_unmixing_figure_with_release_probabilities(tmp_path, saved):
    arrays = _arrays("mod")
    bf.figure_unmixing(tmp_path / "f.png", _result(), arrays)
    (fig, _, _), = saved
    b = fig.axes[1]
    lines = b.get_lines()
    assert len(lines) == 10  # every third of 30 units
    np.testing.assert_array_equal(lines[1].get_ydata(), arrays["mod"][: 3 * N, 3])
    assert lines[0].get_linewidth() == 0.8
    assert (b.get_title(), b.get_xlabel()) == ("b  release probabilities p (every 10th unit)", "time (samples)")


def test_unmixing_window_is_clipped_to_the_recording(tmp_path, saved):
    arrays = {k: v[: N + 1] if k in ("s", "y", "x") else v for k, v in _arrays("none").items()}
    bf.figure_unmixing(tmp_path / "f.png", _result(), arrays)
    (fig, _, _), = saved
    assert fig.axes[0].get_lines()[0].get_xdata().tolist() == [7, 8]
    assert fig.axes[1].get_lines() == [] and fig.axes[1].get_title() == ""


def test_spatial_figure(tmp_path, saved):
    arrays = _arrays("mod")
    arrays["mod"][5, 3] = 9.0  # the largest magnitude is positive: the colour scale is symmetric about 0
    bf.figure_spatial(tmp_path / "s.png", _result(), arrays)
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "s.png", 110)
    assert tuple(fig.get_size_inches()) == pytest.approx((11, 3.8))
    kernel, mod = fig.axes[:2]
    assert kernel.get_subplotspec().get_geometry() == (1, 2, 0, 0)
    assert kernel.get_lines()[0].get_ydata().tolist() == [0.1, 0.5, 1.0, 0.5, 0.1]
    assert kernel.get_title() == "a  kernel K (gauss, σ² = 0.5)"
    assert (kernel.get_xlabel(), kernel.get_ylabel()) == ("unit on the ring", "weight")
    (image,) = mod.get_images()
    np.testing.assert_array_equal(image.get_array(), arrays["mod"][: 3 * N].T)
    top = np.abs(arrays["mod"][: 3 * N]).max()
    assert image.get_clim() == (-top, top) and image.get_cmap().name == "RdBu_r"
    assert (image.get_interpolation(), mod.get_aspect()) == ("nearest", "auto")
    assert mod.get_title() == "b  modulation of each unit, three contexts"
    assert (mod.get_xlabel(), mod.get_ylabel()) == ("time (samples)", "unit")
    assert len(fig.axes) == 3 and fig.axes[2].get_label() == "<colorbar>"


def test_populations_figure(tmp_path, saved):
    bf.figure_populations(tmp_path / "p.png", _result())
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "p.png", 110)
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(1, 2, 0, 0), (1, 2, 1, 1)]
    assert dpi == 110 and tuple(fig.get_size_inches()) == pytest.approx((9, 3.8))
    units, decoding = fig.axes
    bodies = [p for p in units.collections if isinstance(p, PolyCollection)]
    assert len(bodies) == 2  # x and y have several units; z's single value is a point
    centres = [b.get_paths()[0].vertices[:, 0] for b in bodies]
    assert [round(float(c.min() + c.max()) / 2, 6) for c in centres] == [0.0, 2.0]
    (point,) = units.get_lines()
    assert (point.get_xdata().tolist(), point.get_ydata().tolist(), point.get_marker()) == ([1], [0.45], "o")
    assert [t.get_text() for t in units.get_xticklabels()] == ["x", "z", "y"]
    assert (units.get_ylabel(), units.get_title(), units.get_ylim()) == ("signal clarity per unit", "a  single units",
                                                                         (0, 1.05))
    assert [t.get_text() for t in decoding.get_xticklabels()] == ["x", "z", "y"]
    assert decoding.get_ylabel() == "linear decoding R²"
    assert decoding.get_title() == "b  population (decoder from other contexts)"
    assert decoding.get_ylim()[1] == 1.05 and decoding.get_ylim()[0] < -0.5


def test_populations_figure_floor_is_zero_when_nothing_is_negative(tmp_path, saved):
    result = _result()
    result["evaluation"]["decoding_r2"]["y"]["values"] = [0.5, 0.99]
    bf.figure_populations(tmp_path / "p.png", result)
    (fig, _, _), = saved
    assert fig.axes[1].get_ylim() == (0.0, 1.05)


def _freeze() -> tuple[dict, dict]:
    rng = np.random.default_rng(1)
    result = _result()
    result["config"]["n_steps"] = 400
    result["evaluation"]["freeze"] = {
        "angle_context_change": {"median": 1.84, "values": [1.0, 2.0, 3.0]},
        "angle_feedback": {"median": 34.56, "values": [30.0, 40.0, 50.0]},
        "same_side": [True, False, True], "context_distance": [0.5, 1.5, 2.5],
        "pearson_r_distance_angle_feedback": 0.4567, "repetitions": 3}
    example = {"s": rng.standard_normal((800, 2)), "y": rng.standard_normal((800, 2)),
               "subs": rng.standard_normal((800, 3))}
    return result, {"freeze_example": example}


def test_freeze_figure(tmp_path, saved):
    result, arrays = _freeze()
    ex = arrays["freeze_example"]
    bf.figure_freeze(tmp_path / "z.png", result, arrays)
    (fig, path, dpi), = saved
    assert (path, dpi, tuple(fig.get_size_inches())) == (tmp_path / "z.png", 110, (13.0, 7.0))
    course, space, scatter, box = fig.axes
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(2, 3, 0, 2), (2, 3, 3, 3), (2, 3, 4, 4),
                                                                        (2, 3, 5, 5)]
    lines = _lines(course)
    t = list(range(200, 800))
    assert lines == [("_child0", t, ex["s"][200:, 0].tolist(), "#2c6e85ff", "-", 1.5, "None"),
                     ("_child1", t, ex["y"][200:, 0].tolist(), "#2c6e85ff", "--", 1.5, "None"),
                     ("_child2", t, ex["s"][200:, 1].tolist(), "#5fb89aff", "-", 1.5, "None"),
                     ("_child3", t, ex["y"][200:, 1].tolist(), "#5fb89aff", "--", 1.5, "None")]
    assert [line.get_alpha() for line in course.get_lines()] == [0.5, None, 0.5, None]
    (span,) = course.patches
    assert span.get_label() == "feedback frozen" and span.get_alpha() == 0.15
    assert matplotlib.colors.to_hex(span.get_facecolor()) == matplotlib.colors.to_hex("tomato")
    assert (span.get_x(), span.get_width()) == (400, 200)
    assert course.get_title() == "a  context 1, context 2 with frozen feedback, feedback restored"
    assert course.get_xlabel() == "time (samples)" and course.get_legend()._loc == 1
    # b: the three stretches in (y1, y2, PC1), each from 100 samples into it
    paths = [line.get_data_3d() for line in space.get_lines()]
    for (xs, ys, zs), (lo, hi) in zip(paths, ((300, 400), (500, 600), (700, 800)), strict=True):
        np.testing.assert_array_equal(np.stack([xs, ys, zs], axis=1), ex["subs"][lo:hi])
    assert [line.get_label() for line in space.get_lines()] == [
        "context 1", "ctx change (frozen): 1.8° median", "FB mod: 34.6° median"]
    assert [matplotlib.colors.to_hex(line.get_color()) for line in space.get_lines()] == [
        "#2f9498", matplotlib.colors.to_hex("tomato"), matplotlib.colors.to_hex("C2")]
    assert {line.get_linewidth() for line in space.get_lines()} == {0.8}
    assert (space.get_xlabel(), space.get_ylabel(), space.get_zlabel()) == ("y₁", "y₂", "PC₁")
    assert space.get_title() == "b  activity in (y₁, y₂, PC₁)"
    assert space.get_legend().get_texts()[0].get_fontsize() == 7
    # c: angle against context distance, same side and other side apart
    same, other = [c for c in scatter.collections if isinstance(c, PathCollection)]
    assert same.get_offsets().tolist() == [[0.5, 30.0], [2.5, 50.0]] and same.get_label() == "same side"
    assert other.get_offsets().tolist() == [[1.5, 40.0]] and other.get_label() == "other side"
    assert (scatter.get_xlabel(), scatter.get_ylabel(), scatter.get_title()) == (
        "context distance ‖A₁ − A₂‖", "angle FB mod (°)", "c  r = 0.46")
    assert scatter.get_legend() is not None
    # d: box plots of the two angles
    medians = [line.get_ydata().tolist() for line in box.get_lines() if line.get_color() == "C1"]
    assert medians == [[2.0, 2.0], [40.0, 40.0]]
    assert [t.get_text() for t in box.get_xticklabels()] == ["ctx change", "FB mod"]
    assert box.get_xticks().tolist() == [1, 2]
    assert (box.get_ylabel(), box.get_title(), box.get_ylim()) == ("angle to context-1 plane (°)", "d  3 repetitions",
                                                                   (0, 90))


def test_freeze_figure_short_contexts_start_the_paths_at_a_quarter(tmp_path, saved):
    result, arrays = _freeze()
    result["config"]["n_steps"] = 200
    arrays["freeze_example"] = {k: v[:400] for k, v in arrays["freeze_example"].items()}
    bf.figure_freeze(tmp_path / "z.png", result, arrays)
    (fig, _, _), = saved
    first = fig.axes[1].get_lines()[0].get_data_3d()[0]
    np.testing.assert_array_equal(first, arrays["freeze_example"]["subs"][150:200, 0])
    assert fig.axes[0].get_lines()[0].get_xdata().tolist() == list(range(100, 400))


def test_variants_figure(tmp_path, saved):
    def run(name, tau, mean, std):
        return {"config": {"lstm_input": name, "tau": tau, "n_steps": 500},
                "evaluation": {"clarity_output_per_context": {"mean": mean, "std": std}}}

    runs = [run("y", 100.0, 0.7, 0.05), run("xy", 100.0, 0.9, 0.01), run("xy", 10.0, 0.8, 0.02)]
    bf.figure_variants(tmp_path / "v.png", runs)
    (fig, path, dpi), = saved
    assert (path, dpi, tuple(fig.get_size_inches())) == (tmp_path / "v.png", 110, (5.5, 4.0))
    (ax,) = fig.axes
    bars = ax.containers
    assert [c.get_label() for c in bars] == ["LSTM input xy", "LSTM input y"]
    assert bars[0].lines[0].get_xdata().tolist() == [10.0, 100.0]
    assert bars[0].lines[0].get_ydata().tolist() == [0.8, 0.9]
    assert bars[0].lines[0].get_marker() == "o"
    segments = bars[0].lines[2][0].get_segments()
    assert np.concatenate([s[:, 1] for s in segments]).tolist() == pytest.approx([0.78, 0.82, 0.89, 0.91])
    assert len(bars[0].lines[1]) == 2 and bars[0].lines[1][0].get_markersize() == 2 * 3
    assert bars[1].lines[0].get_ydata().tolist() == [0.7]
    switch = ax.get_lines()[-1]
    assert (list(switch.get_xdata()), switch.get_linestyle(), switch.get_linewidth(), switch.get_color()) == (
        [500, 500], ":", 0.5, "k")
    assert (ax.get_xscale(), ax.get_xlabel()) == ("log", "modulation time constant τ (samples)")
    assert (ax.get_ylabel(), ax.get_ylim(), ax.get_title()) == ("output clarity", (0, 1.05),
                                                                "timescale and input of the feedback")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["LSTM input xy", "LSTM input y"]


def test_variants_figure_without_runs_draws_no_switch(tmp_path, saved):
    with pytest.warns(UserWarning, match="No artists with labels found to put in legend"):
        bf.figure_variants(tmp_path / "v.png", [])
    (fig, _, _), = saved
    assert fig.axes[0].get_lines() == []


def test_write_figures_picks_the_figures_of_the_model(tmp_path, monkeypatch):
    drawn = []
    result, arrays = _freeze()
    arrays.update(K=np.ones(3), mod=np.ones((3, 3)))

    def record(name):
        def draw(path, given, *given_arrays):
            drawn.append((name, path, given is result, [a is arrays for a in given_arrays]))
        return draw

    for name in ("figure_unmixing", "figure_spatial", "figure_freeze", "figure_populations"):
        monkeypatch.setattr(bf, name, record(name))
    assert bf.write_figures(tmp_path, result, arrays) == ["fig1_unmixing.png", "fig3_spatial.png",
                                                           "fig4_populations.png", "fig5_freeze.png"]
    assert drawn == [("figure_unmixing", tmp_path / "fig1_unmixing.png", True, [True]),
                     ("figure_spatial", tmp_path / "fig3_spatial.png", True, [True]),
                     ("figure_populations", tmp_path / "fig4_populations.png", True, []),
                     ("figure_freeze", tmp_path / "fig5_freeze.png", True, [True])]
    drawn.clear()
    del result["evaluation"]["freeze"], result["evaluation"]["unit_clarity"]["z"]
    assert bf.write_figures(tmp_path, result, {"K": 1}) == ["fig1_unmixing.png"]
    assert bf.write_figures(tmp_path, result, {"mod": 1}) == ["fig1_unmixing.png"]


def test_figures_are_written_as_png(tmp_path, monkeypatch):
    monkeypatch.undo()  # the real tight_layout
    run = {"config": {"lstm_input": "x", "tau": 1.0, "n_steps": 5},
           "evaluation": {"clarity_output_per_context": {"mean": 0.5, "std": 0.1}}}
    bf.figure_variants(tmp_path / "v.png", [run])
    assert (tmp_path / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unmixing_figure_with_few_units_draws_each(tmp_path, saved):
    arrays = _arrays("mod", units=5)
    bf.figure_unmixing(tmp_path / "f.png", _result(), arrays)
    (fig, _, _), = saved
    assert len(fig.axes[1].get_lines()) == 5


def test_sources_cycle_through_the_three_colours(tmp_path, saved):
    rng = np.random.default_rng(3)
    T = 3 * N
    arrays = {"s": rng.standard_normal((T, 4)), "y": rng.standard_normal((T, 4)), "x": rng.standard_normal((T, 4)),
              "output_error": np.ones(N)}
    bf.figure_unmixing(tmp_path / "f.png", _result(), arrays)
    result, freeze = _freeze()
    freeze["freeze_example"].update(s=np.ones((800, 4)), y=np.ones((800, 4)))
    bf.figure_freeze(tmp_path / "z.png", result, freeze)
    (unmixing, _, _), (frozen, _, _) = saved
    colours = ["#2c6e85", "#5fb89a", "#a63a50", "#2c6e85"]
    drawn = [matplotlib.colors.to_hex(line.get_color()) for line in unmixing.axes[0].get_lines()[4:12:2]]
    assert drawn == colours
    drawn = [matplotlib.colors.to_hex(line.get_color()) for line in frozen.axes[0].get_lines()[::2]]
    assert drawn == colours


def test_freeze_paths_start_at_most_200_samples_into_each_stretch(tmp_path, saved):
    result, arrays = _freeze()
    result["config"]["n_steps"] = 1000
    rng = np.random.default_rng(2)
    arrays["freeze_example"] = {k: rng.standard_normal((2000, v.shape[1])) for k, v in arrays["freeze_example"].items()}
    result["evaluation"]["freeze"]["same_side"] = [1, 0, 1]  # 0/1 read as False/True
    bf.figure_freeze(tmp_path / "z.png", result, arrays)
    (fig, _, _), = saved
    first = fig.axes[1].get_lines()[0].get_data_3d()[0]
    np.testing.assert_array_equal(first, arrays["freeze_example"]["subs"][700:1000, 0])
    same, other = [c for c in fig.axes[2].collections if isinstance(c, PathCollection)]
    assert (same.get_offsets().tolist(), other.get_offsets().tolist()) == ([[0.5, 30.0], [2.5, 50.0]],
                                                                           [[1.5, 40.0]])


def test_weights_of_three_sources_are_nine_lines(tmp_path, saved):
    rng = np.random.default_rng(4)
    T = 3 * N
    arrays = {"s": rng.standard_normal((T, 3)), "y": rng.standard_normal((T, 3)), "x": rng.standard_normal((T, 3)),
              "A": np.stack([np.eye(3) * (k + 1) for k in range(3)]), "W": rng.standard_normal((T, 3, 3)),
              "output_error": np.ones(N)}
    arrays["W_eff"] = arrays["W"]
    bf.figure_unmixing(tmp_path / "f.png", _result(), {k: v for k, v in arrays.items() if k != "W"})
    bf.figure_unmixing(tmp_path / "f.png", _result(), arrays)
    (effective, _, _), (fig, _, _) = saved
    assert len(effective.axes[1].get_lines()) == 18
    lines = fig.axes[1].get_lines()
    assert len(lines) == 18
    np.testing.assert_array_equal(lines[4].get_ydata(), arrays["W"][:, 1, 1])
    np.testing.assert_array_equal(lines[9 + 8].get_ydata(), np.repeat([1.0, 0.5, 1 / 3], N))
