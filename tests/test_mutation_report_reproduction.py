"""yetztml.report.reproduction from a hand-made ``result.json``: how each kind of number is shown, the tables,
the whole ``report.md`` word for word, and what its two figures draw (read back from the matplotlib figures as
they are saved)."""

from __future__ import annotations

import json
import math

import matplotlib.colors
import matplotlib.figure
import pytest

from yetztml.report import reproduction as rep


def _trial(k: int, success: bool, sequences: int, **extra) -> dict:
    return {"trial": k, "success": success, "sequences": sequences, "reason": "solved" if success else "cap",
            "wall_s": 1.5 + k, "us_per_step": 12.25, **extra}


RESULT = {
    "paper": "LSTM1997", "row": "4a", "table": 7, "label": "adding problem",
    "variant": {"name": "as written", "summary": "the paper's net", "reason": "the baseline"},
    "config": {"trials": 2, "seed": 3, "max_sequences": 100000, "jobs": 1}, "seconds": 12.34,
    "conventions": {"error": "absolute", "success": "all < 0.04"},
    "paper_values": {"success_pct": 100, "sequences": 8000},
    "summary": {"success_pct": 50.0, "sequences_mean": 7500.5, "st1_mean": 3.0},
    "trials": [_trial(0, True, 7000, test={"wrong": 0, "mae": 0.0123}, st1=2,
                      curve={"sequences": [100, 200], "mae": [0.5, 0.25]}),
               _trial(1, False, 9000, test=None, curve={"sequences": [100, 200, 300], "mae": [0.6, 0.3, 0.2]})],
    "versions": {"yetztml": "0.1.0"},
}

SIDE = ["| quantity | paper | this run |", "|---|---|---|",
        "| % success | 100 | 50.0 |", "| sequences (mean) | 8,000 | 7,500 |"]
TRIALS = ["| trial | success | sequences | reason | st1 | test wrong | test MAE | wall s | µs/step |",
          "|---|---|---|---|---|---|---|---|---|",
          "| 0 | yes | 7,000 | solved | 2 | 0 | 0.0123 | 1.5 | 12.2 |",
          "| 1 | no | 9,000 | cap | – | – | – | 2.5 | 12.2 |"]


@pytest.mark.parametrize("value, shown", [
    (None, "–"), (True, "yes"), (False, "no"), (1234567, "1,234,567"), (-5, "-5"), (math.nan, "–"),
    (math.inf, "∞"), (1000.0, "1,000"), (-2500.4, "-2,500"), (999.94, "999.9"), (10.0, "10.0"), (-10.0, "-10.0"),
    (9.996, "10"), (0.1, "0.1"), (0.0, "0"), (0.012345, "0.0123"), (-0.5, "-0.5"), ("abc", "abc")])
def test_fmt_shows_each_kind_of_number(value, shown):
    assert rep.fmt(value) == shown


def test_side_by_side_rows_are_the_papers_quantities_and_success_always():
    assert rep.side_by_side(RESULT) == SIDE
    no_paper = {"paper_values": None, "summary": {"success_pct": 50.0, "sequences_mean": 7500.5}}
    assert rep.side_by_side(no_paper) == SIDE[:2] + ["| % success | – | 50.0 |"]
    only_paper = {"paper_values": {"st1": 1}, "summary": {}}
    assert rep.side_by_side(only_paper) == SIDE[:2] + ["| ST1 sequences | 1 | – |"]
    skipped_first = {"paper_values": {"st2": 5}, "summary": {"sequences_mean": 1.0, "st2_mean": 3.0}}
    assert rep.side_by_side(skipped_first) == SIDE[:2] + ["| ST2 sequences | 5 | 3 |"]


def test_trial_table_adds_the_columns_some_trial_has():
    trials = [{"trial": 0, "success": True, "sequences": 5, "st2": 1, "phase1_sequences": 2, "streams": 3,
               "class": "a"}]
    assert rep._trial_table({"trials": trials})[0] == (
        "| trial | success | sequences | reason | st2 | phase1_sequences | streams | class | test wrong | test MAE "
        "| wall s | µs/step |")


def test_report_word_for_word_from_the_result_file(tmp_path):
    (tmp_path / "result.json").write_text(json.dumps(RESULT))
    path = rep.write_report(tmp_path, figures=False)
    assert path == tmp_path / "report.md"
    assert path.read_text() == "\n".join([
        "# LSTM1997: row 4a (Table 7), adding problem", "",
        "Variant: **as written** — the paper's net. Reason: the baseline.", "",
        "Trials: 2, seed 3, cap 100,000 sequences per trial, 1 parallel jobs, 12.3 s wall time for this invocation.",
        "", "- error: absolute", "- success: all < 0.04",
        "", "## The paper beside this run", "", *SIDE,
        "", "## Trials", "", *TRIALS,
        "", "Versions: {'yetztml': '0.1.0'}", ""])


def test_report_without_table_number_or_conventions(tmp_path):
    result = {k: v for k, v in RESULT.items() if k not in ("table", "conventions", "versions")}
    text = rep.write_report(tmp_path, result, figures=False).read_text()
    assert text.startswith("# LSTM1997: row 4a (Table –), adding problem\n")
    assert "invocation.\n\n\n## The paper beside this run" in text
    assert text.endswith("\nVersions: None\n")


def test_report_with_figures_links_them(tmp_path, saved):
    text = rep.write_report(tmp_path, RESULT).read_text()
    (tmp_path / "plain").mkdir()
    head, tail = rep.write_report(tmp_path / "plain", RESULT, figures=False).read_text().split("\nVersions:")
    figures = "\n## Figures\n\n![curves.png](curves.png)\n![sequences.png](sequences.png)\n"
    assert text == head + figures + "\nVersions:" + tail
    assert [(p, dpi) for _, p, dpi in saved] == [(tmp_path / "curves.png", 110), (tmp_path / "sequences.png", 110)]


def test_figures_draw_curves_and_sequences_per_trial(tmp_path, saved):
    import matplotlib.pyplot as plt

    assert rep._figures(tmp_path, RESULT) == ["curves.png", "sequences.png"]
    (curves, _, _), (bars, _, _) = saved
    assert not {curves.number, bars.number} & set(plt.get_fignums())  # both closed
    assert tuple(curves.get_size_inches()) == pytest.approx((7, 4))
    (ax,) = curves.axes
    assert [(list(ln.get_xdata()), list(ln.get_ydata()), ln.get_linewidth(), ln.get_label()) for ln in ax.lines] == [
        ([100, 200], [0.5, 0.25], 0.8, "trial 0"), ([100, 200, 300], [0.6, 0.3, 0.2], 0.8, "trial 1")]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale(), ax.get_title()) == (
        "training sequences", "mean |error| at criterion steps (training)", "log",
        "4a (as written): learning curves")
    assert [t.get_fontsize() for t in ax.get_legend().get_texts()] == [7, 7]
    assert tuple(bars.get_size_inches()) == pytest.approx((7, 3.5))
    (ax,) = bars.axes
    assert [(b.get_x() + b.get_width() / 2, b.get_height()) for b in ax.patches] == [(0, 7000), (1, 9000)]
    assert [matplotlib.colors.to_hex(b.get_facecolor()) for b in ax.patches] == [
        matplotlib.colors.to_hex("tab:blue"), matplotlib.colors.to_hex("tab:red")]
    (paper,) = ax.lines
    assert (list(paper.get_ydata()), matplotlib.colors.to_hex(paper.get_color()), paper.get_linestyle(),
            paper.get_linewidth(), paper.get_label()) == ([8000, 8000], "#000000", "--", 1, "paper mean 8,000")
    assert [t.get_fontsize() for t in ax.get_legend().get_texts()] == [8]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "trial (red: no success within the cap)", "sequences", "4a (as written): sequences per trial")


def test_figures_of_ten_trials_still_have_a_legend(tmp_path, saved):
    trials = [_trial(k, True, 100 * k, curve={"sequences": [1], "mae": [0.1]}) for k in range(10)]
    rep._figures(tmp_path, {**RESULT, "trials": trials})
    assert [t.get_text() for t in saved[0][0].axes[0].get_legend().get_texts()] == [f"trial {k}" for k in range(10)]


def test_figures_of_many_trials_have_no_legend_and_named_axes(tmp_path, saved):
    trials = [_trial(k, True, 100 * k, curve={"sequences": [1], "mae": [0.1]}) for k in range(11)]
    result = {**RESULT, "trials": trials, "paper_values": None, "curve_x": "streams", "curve_y": "error"}
    rep._figures(tmp_path, result)
    (curves, _, _), (bars, _, _) = saved
    ax = curves.axes[0]
    assert ax.get_legend() is None and (ax.get_xlabel(), ax.get_ylabel()) == ("streams", "error")
    assert {ln.get_label() for ln in ax.lines} == {f"_child{k}" for k in range(11)}
    assert bars.axes[0].get_legend() is None and len(bars.axes[0].lines) == 0


def test_comparison_rows_put_each_run_beside_the_paper():
    runs = [("as written", RESULT), ("missing", None)]
    assert rep.comparison_rows({"success_pct": 100, "sequences": 8000, "st2": 5}, runs) == [
        "| quantity | paper | as written | missing |", "|---|---|---|---|",
        "| % success | 100 | 50.0 | – |", "| sequences (mean) | 8,000 | 7,500 | – |",
        "| ST2 sequences | 5 | – | – |"]
