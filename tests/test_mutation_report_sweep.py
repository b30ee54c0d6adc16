"""yetztml.report.sweep: the whole ``report.md`` of a sweep, word for word, and what its figure draws (read
back from the matplotlib figure as it is saved: panels, bar heights, the dash of an undefined value, labels,
size and resolution)."""

from __future__ import annotations

import matplotlib
import matplotlib.colors
import matplotlib.figure
import pytest

from yetztml.report import sweep

TABLE = {"command": "reproduce lstm1997", "options": ["seed", "lr"], "columns": ["success_pct", "sequences_mean"],
         "figure": ["success_pct", "sequences_mean"], "base": {"exp": "4", "trials": 2},
         "backend": "local, 2 processes",
         "rows": [{"point": "seed=0,lr=0.1", "seed": 0, "lr": 0.1, "success_pct": 50.0, "sequences_mean": 1234.0},
                  {"point": "seed=1,lr=0.1", "seed": 1, "lr": 0.1, "success_pct": 0.0, "sequences_mean": None}]}

TABLE_LINES = ["| point | seed | lr | success_pct | sequences_mean |",
               "|---|---|---|---|---|",
               "| seed=0,lr=0.1 | 0 | 0.1 | 50.0 | 1,234 |",
               "| seed=1,lr=0.1 | 1 | 0.1 | 0 | – |"]


def test_table_lines_put_point_options_then_columns():
    assert sweep.table_lines(TABLE) == TABLE_LINES


def test_report_without_figures_word_for_word(tmp_path):
    path = sweep.write_sweep_report(tmp_path, TABLE, figures=False)
    assert path == tmp_path / "report.md"
    assert path.read_text() == "\n".join([
        "# Sweep: `reproduce lstm1997`, 2 points",
        "",
        "Shared options: exp = 4, trials = 2. Varying: seed, lr. Backend: local, 2 processes.",
        "Each point's trials, result and configuration are in `points/<point>/`; the table is also `sweep.csv`.",
        "",
        *TABLE_LINES,
        "",
    ])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_report_with_no_shared_or_varying_options_says_none(tmp_path):
    table = {**TABLE, "base": {}, "options": []}
    text = sweep.write_sweep_report(tmp_path, table, figures=False).read_text()
    assert "Shared options: none. Varying: none. Backend: local, 2 processes." in text.splitlines()


def test_report_with_the_figure_links_it(tmp_path, saved):
    text = sweep.write_sweep_report(tmp_path, TABLE).read_text()
    assert text.endswith("| seed=1,lr=0.1 | 1 | 0.1 | 0 | – |\n\n![sweep.png](sweep.png)\n")
    assert [(path, dpi) for _, path, dpi in saved] == [(tmp_path / "sweep.png", 110)]


def test_figure_draws_each_column_per_point(tmp_path, saved):
    import matplotlib.pyplot as plt

    assert sweep.plot_sweep(TABLE, tmp_path / "f.png") == tmp_path / "f.png"
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "f.png", 110)
    assert fig.number not in plt.get_fignums()  # closed
    assert tuple(fig.get_size_inches()) == pytest.approx((5.0, 5.2))
    top, bottom = fig.axes
    assert [b.get_height() for b in top.patches] == [50.0, 0.0]
    assert [b.get_height() for b in bottom.patches] == [1234.0, 0.0]
    assert [b.get_x() + b.get_width() / 2 for b in bottom.patches] == [0.0, 1.0]
    assert matplotlib.colors.to_hex(top.patches[0].get_facecolor()) == matplotlib.colors.to_hex("tab:blue")
    assert [(t.get_text(), t.get_position(), t.get_ha(), t.get_va()) for t in top.texts] == []
    assert [(t.get_text(), t.get_position(), t.get_ha(), t.get_va()) for t in bottom.texts] == [
        ("–", (1, 0), "center", "bottom")]
    assert (top.get_ylabel(), bottom.get_ylabel()) == ("success pct", "sequences mean")
    assert top.get_title() == "yetztml sweep: reproduce lstm1997" and bottom.get_title() == ""
    labels = bottom.get_xticklabels()
    assert [t.get_text() for t in labels] == ["seed=0,lr=0.1", "seed=1,lr=0.1"]
    assert [(t.get_rotation(), t.get_ha(), t.get_fontsize()) for t in labels] == [(30.0, "right", 8.0)] * 2
    assert list(bottom.get_xticks()) == [0, 1]
    assert top.get_shared_x_axes().joined(top, bottom)


def test_figure_grows_with_the_points(tmp_path, saved):
    rows = [{"point": f"p{i}", "success_pct": float(i)} for i in range(10)]
    sweep.plot_sweep({**TABLE, "figure": ["success_pct"], "rows": rows}, tmp_path / "f.png")
    (fig, _, _), = saved
    assert tuple(fig.get_size_inches()) == pytest.approx((0.6 * 10 + 2.5, 2.6))
    assert [b.get_height() for b in fig.axes[0].patches] == [float(i) for i in range(10)]


def test_bars_are_blue_whatever_the_style(tmp_path, saved):
    from cycler import cycler

    with matplotlib.rc_context({"axes.prop_cycle": cycler(color=["red"])}):
        sweep.plot_sweep(TABLE, tmp_path / "f.png")
    (fig, _, _), = saved
    assert {matplotlib.colors.to_hex(b.get_facecolor()) for ax in fig.axes for b in ax.patches} == {
        matplotlib.colors.to_hex("tab:blue")}
