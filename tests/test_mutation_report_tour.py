"""yetztml.report.tour from a hand-made tour result: report.md word for word (the gradient-check table and
its verdicts, the pictures, the adding problem, error flow and weight-conflict sections, the equations),
what each section asks the figure writers to draw and where, and the adding figure read back line by line."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import matplotlib.colors
import pytest

from figures import grid_of
from yetztml.analysis.anatomy import anatomy, build
from yetztml.report import tour


def _conflict(name: str, seed: int, solved: bool) -> dict:
    config = {"steps": 11, "optimiser": "sgd(0.5)", "batch": 8, "max_updates": 3000, "criterion": "max |e| < 0.1",
              "evaluation_sequences": 64}
    net = {"weight": "w_a", "opposing_fraction": 0.48125, "solved": False, "updates": 3000, "final_loss": 0.765432,
           "balance": {"loss_at_balance": 0.909091}}
    gated = {"weight": "W_b", "opposing_fraction": 0.40437, "solved": solved, "updates": 1200,
             "final_loss": 0.145321}
    return {"config": config, "seed": seed, "naive": net, "gated": gated,
            "figures": {"per_step": f"conflict/{name}-per-step.png", "training": f"conflict/{name}-training.png"}}


def _pictures() -> dict:
    rnn = anatomy(build("rnn", 3, 4, num_layers=2))
    rnn.update(figure="pictures/rnn.png", options={"input_size": 3, "hidden_size": 4, "num_layers": 2})
    one = anatomy(build("gru", 2, 3))
    one.update(figure="pictures/gru.png", options={"input_size": 2, "hidden_size": 3})
    blocks = anatomy(build("lstm1997", 3, 2, block_size=2))
    blocks.update(figure="pictures/lstm1997.png", options={"input_size": 3, "hidden_size": 2, "block_size": 2})
    return {"rnn": rnn, "gru": one, "lstm1997": blocks}


RESULT = {
    "seed": 7, "seconds": 12.345, "workers": 2, "versions": {"yetztml": "1.0", "numpy": "2.0"},
    "gradcheck": {"tolerance": 1e-6, "cells": [
        {"class": "RNN", "max_error": 1e-6, "equations": "yetztml.report.tour",
         "configs": [{"errors": {"a": 0.0, "b": 0.0}}, {"errors": {"c": 0.0}}]},
        {"class": "LSTM", "max_error": 1.5e-6, "equations": "tour_without_doc", "configs": [{"errors": {"a": 0.0}}]},
    ]},
    "pictures": _pictures(),
    "adding": {
        "T": 100, "lstm_budget": 20000, "paper": {"sequences": 74000},
        "lstm1997": {
            "as-written": {"success": False, "sequences": 20000, "test": {"wrong": 2207, "mae": 0.123456},
                           "curve": {"sequences": [100, 1000, 20000], "mae": [0.3, 0.2, 0.1]}},
            "linear-output": {"success": True, "sequences": 15000, "test": {"wrong": 3, "mae": 0.004321},
                              "curve": {"sequences": [100, 15000], "mae": [0.25, 0.01]}},
        },
        "rnn": {"net": "Elman RNN", "num_weights": 61, "method": "BPTT, Adam", "sequences": 2560,
                "test": {"wrong": 2541, "mae": 0.16789}, "baseline_mae": 0.1625,
                "curve": [{"sequences": 256, "train_mae": 0.2}, {"sequences": 2560, "train_mae": 0.17}]},
    },
    "errorflow": {"vanishing": {"scenario": "vanishing"}, "cec": {"scenario": "cec"}},
    "conflict": {"input-conflict": _conflict("input-conflict", 3, True),
                 "output-conflict": _conflict("output-conflict", 4, False)},
}


@pytest.fixture
def calls(monkeypatch, saved):
    """The figure writers the report calls, recorded instead of drawing (the adding figure is drawn)."""
    seen: list[tuple] = []

    def write_scenario(result, figures):
        seen.append(("errorflow", result["scenario"], figures))
        name = result["scenario"]
        return [figures / f"{name}-flow.png", figures / f"{name}.json", figures / f"{name}-pairs.png"]

    monkeypatch.setattr(tour, "write_scenario", write_scenario)
    monkeypatch.setattr(tour, "summary_lines", lambda result: [f"{result['scenario']}: summary", "  line 2"])
    monkeypatch.setattr(tour, "write_conflict", lambda r, out: seen.append(("conflict", r["seed"], out)))
    monkeypatch.setattr(tour, "write_picture", lambda a, path: seen.append(("picture", a["class"], path)))
    monkeypatch.setitem(sys.modules, "tour_without_doc", types.ModuleType("tour_without_doc"))
    return seen


REPORT = """\
# yetztml run

Seed 7; 12.3 s on 2 worker process(es), compilation of the kernels included on a fresh install; \
versions: yetztml 1.0, numpy 2.0.

## Hand-derived gradients against float64 central finite differences

Every parameter, the inputs and the initial state of each cell; pass at ≤ 1e-06 (normwise relative \
error). Rerun with `yetztml gradcheck`.

| cell | configurations | quantities checked | max relative error | verdict |
|---|---|---|---|---|
| RNN | 2 | 3 | 1.00e-06 | pass |
| LSTM | 1 | 1 | 1.50e-06 | FAIL |

## The pictures: a net unfolded in time, and the inside of a cell with every dimension

Drawn from the configured cells: every size on the drawings is read from the parameter shapes \
(`yetztml.analysis.anatomy`), and `hidden_size` is the length of h, of c and of every gate vector — \
each "circle" of the usual drawings is a vector of that many numbers. See `docs/errorflow/pictures.md`.

### Elman RNN, input size 3, hidden size 4, num_layers = 2 (76 weights)

![rnn](pictures/rnn.png)

Top: the net unfolded over three steps, each box a state vector with its size; layer 2 reads layer 1's \
4 outputs through W_ih^(2) (4×4), and each layer carries its own h to the next step through W_hh. \
Bottom: the inside of one step.

Parameters: weight_ih_l0 4×3, weight_hh_l0 4×4, bias_ih_l0 4, bias_hh_l0 4, weight_ih_l1 4×4, \
weight_hh_l1 4×4, bias_ih_l1 4, bias_hh_l1 4; total 76 = `num_weights`. Redraw with `yetztml describe \
rnn --input-size 3 --hidden-size 4 --num-layers 2 --figure rnn.png`.

### GRU, input size 2, hidden size 3, num_layers = 1 (63 weights)

![gru](pictures/gru.png)

Top: the net unfolded over three steps, each box a state vector with its size; each layer carries its \
own h to the next step through W_hh. Bottom: the inside of one step.

Parameters: weight_ih_l0 9×2, weight_hh_l0 9×3, bias_ih_l0 9, bias_hh_l0 9; total 63 = `num_weights`. \
Redraw with `yetztml describe gru --input-size 2 --hidden-size 3 --figure gru.png`.

### LSTM1997 without a forget gate: 2 memory blocks of 2 cells, input size 3 (101 weights)

![lstm1997](pictures/lstm1997.png)

Top: the net unfolded over three steps, the cell and gate outputs of t−1 feeding u(t) (U = 11). Bottom: \
inside the cell — the CEC s(t) = s(t−1) + y^in g with self-weight 1.0, each input and output gate \
shared by the 2 cells of its block, and the size of every vector and matrix.

Parameters: W_c 4×11, b_c 4, W_in 2×11, b_in 2, W_out 2×11, b_out 2, W_k 1×4, b_k 1; total 101 = \
`num_weights`. Redraw with `yetztml describe lstm1997 --input-size 3 --hidden-size 2 --block-size 2 \
--figure lstm1997.png`.

## The adding problem (1997 Exp 4, T = 100): LSTM1997 next to an Elman RNN

Each LSTM1997 trial is the paper's 93-weight net trained online with the 1997 truncated gradient, \
capped at 20,000 sequences; `linear-output` is a named variant (an identity output unit), not the \
paper's configuration — see `docs/reproduction.md`. Test: 2560 fresh sequences, correct when |error| < \
0.04. Full reproduction: `yetztml reproduce lstm1997 --exp 4 --T 100`.

| net | training | sequences | stopped because | test wrong (of 2560) | test mean abs. error |
|---|---|---|---|---|---|
| paper, Table 7 (mean of 10 trials) | online, truncated gradient | 74,000 | ST3(0.01) | – | < 0.01 |
| LSTM1997 as-written (93 weights) | online, truncated gradient | 20,000 | budget reached before \
ST3(0.01) | 2207 | 0.1235 |
| LSTM1997 linear-output (93 weights) | online, truncated gradient | 15,000 | ST3(0.01) met | 3 | \
0.0043 |
| Elman RNN (61 weights) | BPTT, Adam | 2,560 | budget | 2541 | 0.1679 |

The best constant output has mean absolute error 0.1625: a net that stays there has learned nothing \
about the two marked numbers. ST3(0.01) is the paper's stop: mean training error below 0.01 and the \
2000 most recent sequences all correct; the curves show how far each net got before its budget ran out.

![adding](adding.png)

## Error flow: why RNNs forget and the constant error carousel does not

Hochreiter's scaling factor ∂ϑ_v(t−q)/∂ϑ_u(t) [1997 eq. 1] measured along a recorded trajectory for \
every lag q (log10 scale), with the weak upper bound where one is defined. Each scenario is explained \
in `docs/errorflow/` and can be rerun with `yetztml errorflow --scenario NAME`.

### vanishing

```text
vanishing: summary
  line 2
```

![vanishing-flow](errorflow/vanishing-flow.png)
![vanishing-pairs](errorflow/vanishing-pairs.png)

### cec

```text
cec: summary
  line 2
```

![cec-flow](errorflow/cec-flow.png)
![cec-pairs](errorflow/cec-pairs.png)

## Weight conflict (1997 §3.2): why the constant error carousel needs gates

A naive constant-error unit (identity activation, self-weight 1.0) has one incoming weight that must \
both store the relevant input x(0) and keep the irrelevant inputs after it out (`input-conflict`), and \
one outgoing weight that must both answer at the last step and stay silent before it \
(`output-conflict`). Beside it, the 1997 memory cell with an input (output) gate; both nets are trained \
on the same task (T = 11 steps, sgd(0.5), batch 8, at most 3000 updates). The opposing fraction ρ (WC5) \
is the share of the summed per-step terms of ∂E/∂w whose sign opposes the whole gradient, for the \
weight in question after training; solved: max |e| < 0.1 on 64 evaluation sequences. Each scenario is \
explained in `docs/errorflow/` (there with T = 21) and gives these numbers again with `yetztml \
errorflow --scenario NAME --lags 10 --seed 3`.

| scenario | net | weight in question | ρ after training | solved | updates | E at the end |
|---|---|---|---|---|---|---|
| input-conflict | naive CEC unit | w_a | 0.481 | no | 3,000 | 0.7654 |
| input-conflict | LSTM1997 memory cell | W_b | 0.404 | yes | 1,200 | 0.1453 |
| output-conflict | naive CEC unit | w_a | 0.481 | no | 3,000 | 0.7654 |
| output-conflict | LSTM1997 memory cell | W_b | 0.404 | no | 1,200 | 0.1453 |

ρ near ½ means that a weight's per-step terms are in balance and the weight has stopped moving. The \
naive unit comes to that balance at a high loss, the standstill (WC6)/(WC7) predicts, because storing \
(answering) and protecting pull one additive weight in opposite directions; in the memory cell the gate \
multiplies those terms, so the cell's weight can store (answer) while the protect terms are shut out, \
and the opposing signals reach the gate's weights as its timing (open at the store or answer step, shut \
at the others).

### input-conflict

Naive unit: E = 0.7654 after 3,000 updates, predicted standstill 0.9091; memory cell: E = 0.1453, \
solved after 1,200 updates.

![input-conflict-per-step](conflict/input-conflict-per-step.png)

The mean term p_t of every step t in ∂E/∂w, before and after training (rows: the naive unit, the memory \
cell; the weight in question in black, ρ in the legend): the one store step (t = 0) against the protect \
steps after it.

![input-conflict-training](conflict/input-conflict-training.png)

The loss over the updates, the naive unit levelling off at its predicted standstill (dashed) while the \
memory cell meets the criterion, and ρ of every reported weight at each checkpoint.

### output-conflict

Naive unit: E = 0.7654 after 3,000 updates, predicted standstill 0.9091; memory cell: E = 0.1453, not \
solved after 1,200 updates.

![output-conflict-per-step](conflict/output-conflict-per-step.png)

The mean term p_t of every step t in ∂E/∂w, before and after training (rows: the naive unit, the memory \
cell; the weight in question in black, ρ in the legend): the one answer step (t = T−1) against the \
silent steps before it.

![output-conflict-training](conflict/output-conflict-training.png)

The loss over the updates, the naive unit levelling off at its predicted standstill (dashed) while the \
memory cell meets the criterion, and ρ of every reported weight at each checkpoint.

## The equations

### RNN

```text
The report of the ``yetztml run`` tour (``report.md`` and figures), built from its result dict: the \
figures
of the error-flow and weight-conflict scenarios come from :mod:`.errorflow` and :mod:`.conflict`, the \
pictures
of the configured cells from :mod:`.pictures`, each into the path the result names.
```

### LSTM

```text

```
"""


def test_report_word_for_word_and_the_figures_asked_for(tmp_path, calls, saved):
    path = tour.write_tour_report(str(tmp_path), RESULT)
    assert path == tmp_path / "report.md"
    assert path.read_text(encoding="utf-8") == REPORT
    assert calls == [
        ("picture", "RNN", tmp_path / "pictures/rnn.png"),
        ("picture", "GRU", tmp_path / "pictures/gru.png"),
        ("picture", "LSTM1997", tmp_path / "pictures/lstm1997.png"),
        ("errorflow", "vanishing", tmp_path / "errorflow"),
        ("errorflow", "cec", tmp_path / "errorflow"),
        ("conflict", 3, tmp_path / "conflict"),
        ("conflict", 4, tmp_path / "conflict"),
    ]
    assert [(p, dpi) for _, p, dpi in saved] == [(tmp_path / "adding.png", 120)]


def test_paper_wrong_count_is_shown_when_known(tmp_path, calls, saved):
    result = {**RESULT, "adding": {**RESULT["adding"], "paper": {"sequences": 74000, "wrong": 5}}}
    text = tour.write_tour_report(tmp_path, result).read_text(encoding="utf-8")
    assert ("| paper, Table 7 (mean of 10 trials) | online, truncated gradient | 74,000 | ST3(0.01) | 5 | < 0.01 |\n"
            in text)


def test_adding_figure_line_by_line(tmp_path, saved):
    assert tour.plot_adding(RESULT["adding"], tmp_path / "a.png") == tmp_path / "a.png"
    (fig, path, dpi), = saved
    assert (path, dpi) == (tmp_path / "a.png", 120)
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 4.2))
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    (ax,) = fig.axes
    lines = [(line.get_label(), list(line.get_xdata()), list(line.get_ydata()), line.get_linestyle(),
              line.get_linewidth()) for line in ax.get_lines()]
    assert lines == [
        ("LSTM1997, as-written (truncated gradient, online SGD)", [100, 1000, 20000], [0.3, 0.2, 0.1], "-", 1.5),
        ("LSTM1997, linear-output (truncated gradient, online SGD)", [100, 15000], [0.25, 0.01], "-", 1.5),
        ("Elman RNN, BPTT, Adam", [256, 2560], [0.2, 0.17], "-", 1.5),
        ("best constant output (0.1625)", [0, 1], [0.1625, 0.1625], ":", 1.0),
        ("criterion |error| < 0.04", [0, 1], [0.04, 0.04], "--", 1.0),
    ]
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()[3:]]
    assert colours == ["#000000", "#808080"]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("training sequences", "mean |error| at the sequence end")
    assert (ax.get_title(), ax.title.get_fontsize()) == ("Adding problem (1997 Exp 4), T = 100", 10.0)
    assert grid_of(ax) == (True, 0.3)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [label for label, *_ in lines]
    assert legend.get_texts()[0].get_fontsize() == 7.0


def test_adding_figure_minor_grid_is_drawn(tmp_path, saved):
    tour.plot_adding(RESULT["adding"], tmp_path / "a.png")
    (fig, _, _), = saved
    (ax,) = fig.axes
    fig.canvas.draw()
    minor = ax.xaxis.get_minor_ticks()
    assert minor and all(tick.gridline.get_visible() for tick in minor)
    assert minor[0].gridline.get_alpha() == 0.3


def test_gradcheck_table_verdict_at_the_tolerance():
    cells = [{"class": "A", "max_error": 2e-6, "configs": [{"errors": {"x": 1}}]},
             {"class": "B", "max_error": 2.0000001e-6, "configs": []}]
    assert tour._gradcheck_table(cells, 2e-6) == [
        "| cell | configurations | quantities checked | max relative error | verdict |",
        "|---|---|---|---|---|",
        "| A | 1 | 1 | 2.00e-06 | pass |",
        "| B | 0 | 0 | 2.00e-06 | FAIL |",
    ]


def test_describe_command_spells_each_option_as_a_flag():
    assert tour._describe_command("lstm", {"input_size": 3, "num_layers": 2}, "a/b/lstm.svg") == (
        "yetztml describe lstm --input-size 3 --num-layers 2 --figure lstm.svg")
    assert tour._describe_command("gru", {}, Path("x.png")) == "yetztml describe gru  --figure x.png"


def test_adding_figure_keeps_its_widths_and_title_size_whatever_the_style(tmp_path, saved):
    with matplotlib.rc_context({"lines.linewidth": 3.0, "font.size": 14.0, "axes.titlesize": 14.0}):
        tour.plot_adding(RESULT["adding"], tmp_path / "a.png")
    (fig, _, _), = saved
    (ax,) = fig.axes
    assert [line.get_linewidth() for line in ax.get_lines()] == [1.5, 1.5, 1.5, 1.0, 1.0]
    assert ax.title.get_fontsize() == 10.0


def test_lstm_picture_is_titled_lstm(tmp_path, calls):
    a = anatomy(build("lstm", 2, 3, bidirectional=True))
    a.update(figure="pictures/lstm.png", options={"bidirectional": True})
    lines = tour._pictures_section(tmp_path, {"lstm": a})
    assert lines[4] == f"### LSTM, input size 2, hidden size 3, num_layers = 1 ({a['total']} weights)"
    assert lines[-2] == (f"Parameters: weight_ih_l0 12×2, weight_hh_l0 12×3, bias_ih_l0 12, bias_hh_l0 12, "
                         f"weight_ih_l0_reverse 12×2, weight_hh_l0_reverse 12×3, bias_ih_l0_reverse 12, "
                         f"bias_hh_l0_reverse 12; total {a['total']} = `num_weights`. Redraw with "
                         "`yetztml describe lstm --bidirectional True --figure lstm.png`.")
