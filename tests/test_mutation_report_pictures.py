"""yetztml.report.pictures element by element: every box (text, place, fill), arrow (ends, line style,
colour, bend), arrow label (text, place, colour) and loose text of both drawings for each kind of cell, the
styles all boxes, labels and arrows share, the titles and limits; the parameter table line by line;
PyTorch's count; the file written and the suffixes refused."""

from __future__ import annotations

import sys

import matplotlib.colors
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from yetztml.analysis.anatomy import anatomy, build
from yetztml.core.errors import OptionError
from yetztml.report import pictures

BOX_STYLE = {"fontsize": 8.0, "ha": "center", "va": "center", "zorder": 3, "boxstyle": ("Round", 0.35),
             "ec": "#333355ff", "lw": 0.9}
LABEL_STYLE = {"fontsize": 6.5, "ha": "center", "va": "center", "zorder": 4,
               "boxstyle": ("Round", 0.1), "fc": "#ffffffd9", "ec": "#00000000", "lw": 1.0}
ARROW_STYLE = {"arrowstyle": "-|>", "lw": 1.0, "shrinkA": 2, "shrinkB": 2, "zorder": 2}


def _r(point) -> tuple[float, float]:
    return tuple(round(float(v), 3) for v in point)


def _bbox_style(text) -> dict:
    patch = text.get_bbox_patch()
    style = patch.get_boxstyle()
    return {"fontsize": text.get_fontsize(), "ha": text.get_ha(), "va": text.get_va(), "zorder": text.get_zorder(),
            "boxstyle": (type(style).__name__, style.pad),
            "ec": matplotlib.colors.to_hex(patch.get_edgecolor(), keep_alpha=True), "lw": patch.get_linewidth()}


def _drawing(ax) -> list[tuple]:
    """What an axes shows, in drawing order; boxes are numbered in the order drawn and arrows name them.
    Asserts on the way that every box, label and arrow has the shared style."""
    boxes: dict[int, int] = {}
    items: list[tuple] = []
    for t in ax.texts:
        patch = t.get_bbox_patch()
        if isinstance(t, Annotation):
            p = t.arrowprops
            if "patchA" in p:
                a, b = boxes[id(p["patchA"])], boxes[id(p["patchB"])]
                assert (_r(t.xyann), _r(t.xy)) == (_r(ax.texts[a].get_position()), _r(ax.texts[b].get_position()))
                assert {k: p[k] for k in ("arrowstyle", "lw", "shrinkA", "shrinkB")} | {"zorder": t.get_zorder()} \
                    == ARROW_STYLE
                items.append(("arrow", a, b, p["ls"], p["color"], p["connectionstyle"]))
            else:
                items.append(("curve", _r(t.xyann), _r(t.xy), p["arrowstyle"], p["lw"], p["color"],
                              p["connectionstyle"], t.get_zorder()))
            assert t.get_text() == ""
        elif patch is not None and t.get_zorder() == 3:
            boxes[id(patch)] = ax.texts.index(t)
            assert _bbox_style(t) == BOX_STYLE
            items.append(("box", ax.texts.index(t), t.get_text(), _r(t.get_position()),
                          matplotlib.colors.to_hex(patch.get_facecolor())))
        elif patch is not None:
            assert _bbox_style(t) | {"fc": matplotlib.colors.to_hex(patch.get_facecolor(), keep_alpha=True)} \
                == LABEL_STYLE
            items.append(("label", t.get_text(), _r(t.get_position()), t.get_color()))
        else:
            items.append(("text", t.get_text(), _r(t.get_position()), t.get_fontsize(), t.get_ha(), t.get_va(),
                          t.get_style(), t.get_color()))
    return items


def _frame(ax) -> tuple:
    return (_r(ax.get_xlim()), _r(ax.get_ylim()), ax.get_title(), ax.title.get_fontsize(), ax.axison)


def _a(name: str, **options) -> dict:
    return anatomy(build(name, 3, 4 if name in ("rnn", "lstm", "gru") else 2, **options))


def _draw(function, a: dict, **kwargs):
    ax = Figure().subplots()
    function(ax, a, **kwargs)
    return ax


INSIDE_RNN = (
    ('box', 0, 'x(t)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, 'h(t−1)\nH = 4', (0.0, 2.0), '#dde8f5'),
    ('box', 2, 'a(t) = W$_{ih}$x + b$_{ih}$ + W$_{hh}$h + b$_{hh}$\n4 = 1·H rows', (2.3, 1.0), '#eeeeee'),
    ('arrow', 0, 2, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_ih 4×3', (0.85, 0.25), '#333'),
    ('arrow', 1, 2, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_hh 4×4', (0.85, 1.75), '#333'),
    ('box', 7, 'h(t) = tanh(a(t))\nH = 4', (5.2, 1.0), '#d9f0d3'),
    ('arrow', 2, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'tanh', (3.75, 1.0), '#333'),
)  # draw_inside rnn {} {} None
INSIDE_RNN_FRAME = ((-1.0, 9.0), (-1.0, 3.5),
    'inside one RNN step (layer 1, → direction): H = 4')

INSIDE_LSTM = (
    ('box', 0, 'x(t)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, 'h(t−1)\nH = 4', (0.0, 2.0), '#dde8f5'),
    (   'box',
        2,
        'a(t) = W$_{ih}$x + b$_{ih}$ + W$_{hh}$h + b$_{hh}$\n16 = 4·H rows',
        (2.3, 1.0),
        '#eeeeee'),
    ('arrow', 0, 2, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_ih 16×3', (0.85, 0.25), '#333'),
    ('arrow', 1, 2, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_hh 16×4', (0.85, 1.75), '#333'),
    ('box', 7, 'i(t) = σ(·): input gate\nH = 4', (4.9, 2.5), '#fde0dd'),
    ('arrow', 2, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 0…3', (3.6, 1.85), '#333'),
    ('box', 10, 'f(t) = σ(·): forget gate\nH = 4', (4.9, 1.5), '#fde0dd'),
    ('arrow', 2, 10, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 4…7', (3.6, 1.35), '#333'),
    ('box', 13, 'g(t) = tanh(·): cell input\nH = 4', (4.9, 0.5), '#eeeeee'),
    ('arrow', 2, 13, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 8…11', (3.6, 0.85), '#333'),
    ('box', 16, 'o(t) = σ(·): output gate\nH = 4', (4.9, -0.5), '#fde0dd'),
    ('arrow', 2, 16, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 12…15', (3.6, 0.35), '#333'),
    ('box', 19, 'c(t) = f⊙c(t−1) + i⊙g\nH = 4', (7.4, 1.8), '#d9f0d3'),
    ('box', 20, 'h(t) = o⊙tanh(c(t))\nH = 4', (7.4, -0.3), '#d9f0d3'),
    ('arrow', 7, 19, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 10, 19, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 13, 19, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 16, 20, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 19, 20, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'tanh', (7.65, 0.75), '#333'),
    ('box', 27, 'c(t−1)\nH = 4', (7.4, 3.0), '#dde8f5'),
    ('arrow', 27, 19, '-', '#333', 'arc3,rad=0.0'),
    ('label', '⊙ f', (7.65, 2.4), '#333'),
)  # draw_inside lstm {} {} None
INSIDE_LSTM_FRAME = ((-1.0, 9.0), (-1.0, 3.5),
    'inside one LSTM step (layer 1, → direction): H = 4')

INSIDE_GRU = (
    ('box', 0, 'x(t)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, 'h(t−1)\nH = 4', (0.0, 2.0), '#dde8f5'),
    (   'box',
        2,
        'p(t) = W$_{ih}$x + b$_{ih}$,  q(t) = W$_{hh}$h + b$_{hh}$\n12 = 3·H rows',
        (2.3, 1.0),
        '#eeeeee'),
    ('arrow', 0, 2, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_ih 12×3', (0.85, 0.25), '#333'),
    ('arrow', 1, 2, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_hh 12×4', (0.85, 1.75), '#333'),
    ('box', 7, 'r(t) = σ(·): reset gate\nH = 4', (4.9, 2.5), '#fde0dd'),
    ('arrow', 2, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 0…3', (3.6, 1.85), '#333'),
    ('box', 10, 'z(t) = σ(·): update gate\nH = 4', (4.9, 1.0), '#fde0dd'),
    ('arrow', 2, 10, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 4…7', (3.6, 1.1), '#333'),
    ('box', 13, 'n(t) = tanh(·): candidate\nH = 4', (4.9, -0.5), '#eeeeee'),
    ('arrow', 2, 13, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'rows 8…11', (3.6, 0.35), '#333'),
    ('box', 16, 'h(t) = (1−z)⊙n + z⊙h(t−1)\nH = 4', (7.4, 1.0), '#d9f0d3'),
    ('arrow', 7, 16, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 10, 16, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 13, 16, '-', '#333', 'arc3,rad=0.0'),
)  # draw_inside gru {} {} None
INSIDE_GRU_FRAME = ((-1.0, 9.0), (-1.0, 3.5),
    'inside one GRU step (layer 1, → direction): H = 4')

INSIDE_LSTM1997 = (
    ('box', 0, 'u(t) = [x(t); y$^c$(t−1);\ngate outputs (t−1)]\nU = 9', (0.0, 1.2), '#f3e6c8'),
    ('box', 1, 'net$_c$ = W$_c$u, g(net$_c$)\ncell inputs: 2', (2.9, 2.7), '#eeeeee'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_c 2×9', (1.75, 2.07), '#333'),
    ('box', 4, 'y$^{in}$ = σ(W$_{in}$u)\ninput gates: 2', (2.9, 1.1), '#fde0dd'),
    ('arrow', 0, 4, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_in 2×9', (1.75, 1.27), '#333'),
    ('box', 7, 'y$^{out}$ = σ(W$_{out}$u)\noutput gates: 2', (2.9, -0.5), '#fde0dd'),
    ('arrow', 0, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_out 2×9', (1.75, 0.47), '#333'),
    ('box', 10, 'y$^{in}$ ⊙ g\neach gate shared by\nits S = 1 cells: 2 → 2', (5.3, 2.2), '#ffffff'),
    ('arrow', 1, 10, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 4, 10, '-', '#333', 'arc3,rad=0.0'),
    ('box', 13, 's(t) = s(t−1) + y$^{in}$g\nCEC, N = 2', (7.7, 2.2), '#d9f0d3'),
    ('arrow', 10, 13, '-', '#333', 'arc3,rad=0.0'),
    ('curve', (7.15, 2.45), (8.25, 2.45), '-|>', 1.2, '#171', 'arc3,rad=-1.2', 1),
    (   'text',
        'self-weight 1.0 (no forget gate)',
        (7.7, 3.35),
        7.0,
        'center',
        'baseline',
        'normal',
        '#171'),
    ('box', 17, 'y$^c$ = y$^{out}$ ⊙ h(s)\nN = 2', (7.7, -0.3), '#d9f0d3'),
    ('arrow', 13, 17, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'h', (7.9, 0.95), '#333'),
    ('arrow', 7, 17, '-', '#333', 'arc3,rad=0.0'),
    ('label', '2 → 2', (5.3, -0.55), '#333'),
    ('box', 22, 'y$^k$ = f$_k$(W$_k$v + b$_k$)\nK = 1', (10.0, -0.3), '#f3e6c8'),
    ('arrow', 17, 22, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_k 1×2, v: V = 2', (8.85, 0.0), '#333'),
)  # draw_inside lstm1997 {} {} None
INSIDE_LSTM1997_FRAME = ((-1.4, 11.4), (-1.5, 3.6),
    'inside LSTM1997: 2 blocks × 1 cells, gates: input, output (no forget gate)')

INSIDE_PEEPHOLE = (
    ('box', 0, 'u(t) = [x(t); y$^c$(t−1);\ngate outputs (t−1)]\nU = 15', (0.0, 1.2), '#f3e6c8'),
    ('box', 1, 'net$_c$ = W$_c$u, g(net$_c$)\ncell inputs: 6', (2.9, 2.7), '#eeeeee'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_c 6×15', (1.75, 2.07), '#333'),
    ('box', 4, 'y$^{in}$ = σ(W$_{in}$u)\ninput gates: 2', (2.9, 1.633), '#fde0dd'),
    ('arrow', 0, 4, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_in 2×15', (1.75, 1.537), '#333'),
    ('box', 7, 'y$^φ$ = σ(W$_φ$u)\nforget gates: 2', (2.9, 0.567), '#fde0dd'),
    ('arrow', 0, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_phi 2×15', (1.75, 1.003), '#333'),
    ('box', 10, 'y$^{out}$ = σ(W$_{out}$u)\noutput gates: 2', (2.9, -0.5), '#fde0dd'),
    ('arrow', 0, 10, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_out 2×15', (1.75, 0.47), '#333'),
    ('box', 13, 'y$^{in}$ ⊙ g\neach gate shared by\nits S = 3 cells: 2 → 6', (5.3, 2.2), '#ffffff'),
    ('arrow', 1, 13, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 4, 13, '-', '#333', 'arc3,rad=0.0'),
    ('box', 16, 's(t) = y$^φ$(t) s(t−1) + y$^{in}$g\nCEC, N = 6', (7.7, 2.2), '#d9f0d3'),
    ('arrow', 13, 16, '-', '#333', 'arc3,rad=0.0'),
    ('curve', (7.15, 2.45), (8.25, 2.45), '-|>', 1.2, '#171', 'arc3,rad=-1.2', 1),
    ('text', 'self-weight y$^φ$(t)', (7.7, 3.35), 7.0, 'center', 'baseline', 'normal', '#171'),
    ('arrow', 7, 16, ':', '#333', 'arc3,rad=0.0'),
    ('box', 21, 'y$^c$ = y$^{out}$ ⊙ h(s)\nN = 6', (7.7, -0.3), '#d9f0d3'),
    ('arrow', 16, 21, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'h', (7.9, 0.95), '#333'),
    ('arrow', 10, 21, '-', '#333', 'arc3,rad=0.0'),
    ('label', '2 → 6', (5.3, -0.55), '#333'),
    ('box', 26, 'y$^k$ = f$_k$(W$_k$v + b$_k$)\nK = 2', (10.0, -0.3), '#f3e6c8'),
    ('arrow', 21, 26, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_k 2×6, v: V = 6', (8.85, 0.0), '#333'),
    (   'text',
        'peepholes P (C×S): s feeds the gates of its block',
        (5.3, -1.2),
        7.0,
        'center',
        'baseline',
        'normal',
        'black'),
)  # draw_inside lstm-peephole {'block_size': 3, 'output_size': 2} {} None
INSIDE_PEEPHOLE_FRAME = ((-1.4, 11.4), (-1.5, 3.6),
    'inside LSTMPeephole: 2 blocks × 3 cells, gates: input, forget, output')

INSIDE_NO_OUTPUT_GATE = (
    ('box', 0, 'u(t) = [x(t); y$^c$(t−1);\ngate outputs (t−1)]\nU = 11', (0.0, 1.2), '#f3e6c8'),
    ('box', 1, 'net$_c$ = W$_c$u, g(net$_c$)\ncell inputs: 2', (2.9, 2.7), '#eeeeee'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_c 2×11', (1.75, 2.07), '#333'),
    ('box', 4, 'y$^{in}$ = σ(W$_{in}$u)\ninput gates: 2', (2.9, 1.1), '#fde0dd'),
    ('arrow', 0, 4, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_in 2×11', (1.75, 1.27), '#333'),
    ('box', 7, 'y$^φ$ = σ(W$_φ$u)\nforget gates: 2', (2.9, -0.5), '#fde0dd'),
    ('arrow', 0, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_phi 2×11', (1.75, 0.47), '#333'),
    ('box', 10, 'y$^{in}$ ⊙ g\neach gate shared by\nits S = 1 cells: 2 → 2', (5.3, 2.2), '#ffffff'),
    ('arrow', 1, 10, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 4, 10, '-', '#333', 'arc3,rad=0.0'),
    ('box', 13, 's(t) = y$^φ$(t) s(t−1) + y$^{in}$g\nCEC, N = 2', (7.7, 2.2), '#d9f0d3'),
    ('arrow', 10, 13, '-', '#333', 'arc3,rad=0.0'),
    ('curve', (7.15, 2.45), (8.25, 2.45), '-|>', 1.2, '#171', 'arc3,rad=-1.2', 1),
    ('text', 'self-weight y$^φ$(t)', (7.7, 3.35), 7.0, 'center', 'baseline', 'normal', '#171'),
    ('arrow', 7, 13, ':', '#333', 'arc3,rad=0.0'),
    ('box', 18, 'y$^c$ = h(s)\nN = 2', (7.7, -0.3), '#d9f0d3'),
    ('arrow', 13, 18, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'h', (7.9, 0.95), '#333'),
    ('box', 21, 'y$^k$ = f$_k$(W$_k$v + b$_k$)\nK = 1', (10.0, -0.3), '#f3e6c8'),
    ('arrow', 18, 21, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_k 1×2, v: V = 2', (8.85, 0.0), '#333'),
)  # draw_inside lstm-forget {} {} output_gate
INSIDE_NO_OUTPUT_GATE_FRAME = ((-1.4, 11.4), (-1.5, 3.6),
    'inside LSTMForget: 2 blocks × 1 cells, gates: input, forget')

UNFOLDED_RNN = (
    ('box', 0, 'x(t−1)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, 'h$^{(1)}$(t−1)\nH = 4', (0.0, 1.0), '#dde8f5'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{ih}^{(1)}$ 4×3', (0.0, 0.45), '#333'),
    ('box', 4, 'h$^{(2)}$(t−1)\nH = 4', (0.0, 2.0), '#dde8f5'),
    ('arrow', 1, 4, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{ih}^{(2)}$ 4×4', (0.0, 1.45), '#333'),
    ('box', 7, 'output(t−1)\n1·H = 4', (0.0, 3.0), '#d9f0d3'),
    ('arrow', 4, 7, '-', '#333', 'arc3,rad=0.0'),
    ('box', 9, 'x(t)\nI = 3', (2.2, 0.0), '#f3e6c8'),
    ('box', 10, 'h$^{(1)}$(t)\nH = 4', (2.2, 1.0), '#dde8f5'),
    ('arrow', 9, 10, '-', '#333', 'arc3,rad=0.0'),
    ('box', 12, 'h$^{(2)}$(t)\nH = 4', (2.2, 2.0), '#dde8f5'),
    ('arrow', 10, 12, '-', '#333', 'arc3,rad=0.0'),
    ('box', 14, 'output(t)\n1·H = 4', (2.2, 3.0), '#d9f0d3'),
    ('arrow', 12, 14, '-', '#333', 'arc3,rad=0.0'),
    ('box', 16, 'x(t+1)\nI = 3', (4.4, 0.0), '#f3e6c8'),
    ('box', 17, 'h$^{(1)}$(t+1)\nH = 4', (4.4, 1.0), '#dde8f5'),
    ('arrow', 16, 17, '-', '#333', 'arc3,rad=0.0'),
    ('box', 19, 'h$^{(2)}$(t+1)\nH = 4', (4.4, 2.0), '#dde8f5'),
    ('arrow', 17, 19, '-', '#333', 'arc3,rad=0.0'),
    ('box', 21, 'output(t+1)\n1·H = 4', (4.4, 3.0), '#d9f0d3'),
    ('arrow', 19, 21, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 1, 10, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{hh}^{(1)}$ 4×4', (1.1, 1.14), '#333'),
    ('arrow', 10, 17, '-', '#333', 'arc3,rad=0.0'),
    ('text', '…', (-1.25, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', '…', (5.65, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', 'layer 1', (6.1, 1.0), 8.0, 'left', 'center', 'italic', 'black'),
    ('arrow', 4, 12, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{hh}^{(2)}$ 4×4', (1.1, 2.14), '#333'),
    ('arrow', 12, 19, '-', '#333', 'arc3,rad=0.0'),
    ('text', '…', (-1.25, 2.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', '…', (5.65, 2.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', 'layer 2', (6.1, 2.0), 8.0, 'left', 'center', 'italic', 'black'),
)  # draw_unfolded rnn {'num_layers': 2} {} None
UNFOLDED_RNN_FRAME = ((-1.5, 6.8), (-0.5, 3.5),
    'Elman RNN unfolded in time, num_layers = 2 (76 weights)')

UNFOLDED_LSTM_BI = (
    ('box', 0, 'x(t−1)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, '→ and ← h, c$^{(1)}$(t−1)\n2×H = 2×4', (0.0, 1.0), '#dde8f5'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{ih}^{(1)}$ 16×3', (0.0, 0.45), '#333'),
    ('box', 4, 'output(t−1)\n2·H = 8', (0.0, 2.0), '#d9f0d3'),
    ('arrow', 1, 4, '-', '#333', 'arc3,rad=0.0'),
    ('box', 6, 'x(t)\nI = 3', (2.2, 0.0), '#f3e6c8'),
    ('box', 7, '→ and ← h, c$^{(1)}$(t)\n2×H = 2×4', (2.2, 1.0), '#dde8f5'),
    ('arrow', 6, 7, '-', '#333', 'arc3,rad=0.0'),
    ('box', 9, 'output(t)\n2·H = 8', (2.2, 2.0), '#d9f0d3'),
    ('arrow', 7, 9, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 1, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{hh}^{(1)}$ 16×4', (1.1, 1.14), '#333'),
    ('arrow', 7, 1, '--', '#a33', 'arc3,rad=-0.25'),
    ('label', '← direction', (1.1, 0.7), '#a33'),
    ('text', '…', (-1.25, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', '…', (3.45, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', 'layer 1', (3.9, 1.0), 8.0, 'left', 'center', 'italic', 'black'),
)  # draw_unfolded lstm {'bidirectional': True} {'steps': 2} None
UNFOLDED_LSTM_BI_FRAME = ((-1.5, 4.6), (-0.5, 2.5),
    'LSTM unfolded in time, num_layers = 1, bidirectional (288 weights)')

UNFOLDED_GRU = (
    ('box', 0, 'x(t−1)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, 'h$^{(1)}$(t−1)\nH = 4', (0.0, 1.0), '#dde8f5'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{ih}^{(1)}$ 12×3', (0.0, 0.45), '#333'),
    ('box', 4, 'output(t−1)\n1·H = 4', (0.0, 2.0), '#d9f0d3'),
    ('arrow', 1, 4, '-', '#333', 'arc3,rad=0.0'),
    ('box', 6, 'x(t)\nI = 3', (2.2, 0.0), '#f3e6c8'),
    ('box', 7, 'h$^{(1)}$(t)\nH = 4', (2.2, 1.0), '#dde8f5'),
    ('arrow', 6, 7, '-', '#333', 'arc3,rad=0.0'),
    ('box', 9, 'output(t)\n1·H = 4', (2.2, 2.0), '#d9f0d3'),
    ('arrow', 7, 9, '-', '#333', 'arc3,rad=0.0'),
    ('box', 11, 'x(t+1)\nI = 3', (4.4, 0.0), '#f3e6c8'),
    ('box', 12, 'h$^{(1)}$(t+1)\nH = 4', (4.4, 1.0), '#dde8f5'),
    ('arrow', 11, 12, '-', '#333', 'arc3,rad=0.0'),
    ('box', 14, 'output(t+1)\n1·H = 4', (4.4, 2.0), '#d9f0d3'),
    ('arrow', 12, 14, '-', '#333', 'arc3,rad=0.0'),
    ('box', 16, 'x(t+2)\nI = 3', (6.6, 0.0), '#f3e6c8'),
    ('box', 17, 'h$^{(1)}$(t+2)\nH = 4', (6.6, 1.0), '#dde8f5'),
    ('arrow', 16, 17, '-', '#333', 'arc3,rad=0.0'),
    ('box', 19, 'output(t+2)\n1·H = 4', (6.6, 2.0), '#d9f0d3'),
    ('arrow', 17, 19, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 1, 7, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W$_{hh}^{(1)}$ 12×4', (1.1, 1.14), '#333'),
    ('arrow', 7, 12, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 12, 17, '-', '#333', 'arc3,rad=0.0'),
    ('text', '…', (-1.25, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', '…', (7.85, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', 'layer 1', (8.3, 1.0), 8.0, 'left', 'center', 'italic', 'black'),
)  # draw_unfolded gru {} {'steps': 4} None
UNFOLDED_GRU_FRAME = ((-1.5, 9.0), (-0.5, 2.5),
    'GRU unfolded in time, num_layers = 1 (108 weights)')

UNFOLDED_LSTM1997 = (
    ('box', 0, 'x(t−1)\nI = 3', (0.0, 0.0), '#f3e6c8'),
    ('box', 1, '2 blocks × 1 cells\ns(t−1), y$^c$(t−1): N = 2', (0.0, 1.0), '#dde8f5'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_c 2×9, W_in 2×9, …', (0.0, 0.45), '#333'),
    ('box', 4, 'y$^k$(t−1)\nK = 1', (0.0, 2.0), '#d9f0d3'),
    ('arrow', 1, 4, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_k 1×2', (0.0, 1.5), '#333'),
    ('box', 7, 'x(t)\nI = 3', (2.2, 0.0), '#f3e6c8'),
    ('box', 8, '2 blocks × 1 cells\ns(t), y$^c$(t): N = 2', (2.2, 1.0), '#dde8f5'),
    ('arrow', 7, 8, '-', '#333', 'arc3,rad=0.0'),
    ('box', 10, 'y$^k$(t)\nK = 1', (2.2, 2.0), '#d9f0d3'),
    ('arrow', 8, 10, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 1, 8, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'y$^c$, gates (t−1) → u(t), U = 9', (1.1, 1.14), '#333'),
    ('text', '…', (-1.25, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', '…', (3.45, 1.0), 12.0, 'center', 'center', 'normal', 'black'),
    ('text', 'layer 1', (3.9, 1.0), 8.0, 'left', 'center', 'italic', 'black'),
)  # draw_unfolded lstm1997 {} {'steps': 2} None
UNFOLDED_LSTM1997_FRAME = ((-1.5, 4.6), (-0.5, 2.5),
    'LSTM1997 unfolded in time, num_layers = 1 (63 weights)')



INSIDE_GATE_ONLY = (  # LSTM1997 without its output gate: the input gate is its only gate
    ('box', 0, 'u(t) = [x(t); y$^c$(t−1);\ngate outputs (t−1)]\nU = 9', (0.0, 1.2), '#f3e6c8'),
    ('box', 1, 'net$_c$ = W$_c$u, g(net$_c$)\ncell inputs: 2', (2.9, 2.7), '#eeeeee'),
    ('arrow', 0, 1, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_c 2×9', (1.75, 2.07), '#333'),
    ('box', 4, 'y$^{in}$ = σ(W$_{in}$u)\ninput gates: 2', (2.9, -0.5), '#fde0dd'),
    ('arrow', 0, 4, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_in 2×9', (1.75, 0.47), '#333'),
    ('box', 7, 'y$^{in}$ ⊙ g\neach gate shared by\nits S = 1 cells: 2 → 2', (5.3, 2.2), '#ffffff'),
    ('arrow', 1, 7, '-', '#333', 'arc3,rad=0.0'),
    ('arrow', 4, 7, '-', '#333', 'arc3,rad=0.0'),
    ('box', 10, 's(t) = s(t−1) + y$^{in}$g\nCEC, N = 2', (7.7, 2.2), '#d9f0d3'),
    ('arrow', 7, 10, '-', '#333', 'arc3,rad=0.0'),
    ('curve', (7.15, 2.45), (8.25, 2.45), '-|>', 1.2, '#171', 'arc3,rad=-1.2', 1),
    ('text', 'self-weight 1.0 (no forget gate)', (7.7, 3.35), 7.0, 'center', 'baseline', 'normal', '#171'),
    ('box', 14, 'y$^c$ = h(s)\nN = 2', (7.7, -0.3), '#d9f0d3'),
    ('arrow', 10, 14, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'h', (7.9, 0.95), '#333'),
    ('box', 17, 'y$^k$ = f$_k$(W$_k$v + b$_k$)\nK = 1', (10.0, -0.3), '#f3e6c8'),
    ('arrow', 14, 17, '-', '#333', 'arc3,rad=0.0'),
    ('label', 'W_k 1×2, v: V = 2', (8.85, 0.0), '#333'),
)
INSIDE_GATE_ONLY_FRAME = ((-1.4, 11.4), (-1.5, 3.6),
    'inside LSTM1997: 2 blocks × 1 cells, gates: input (no forget gate)')


@pytest.mark.parametrize(("expected", "frame", "function", "name", "options", "kwargs", "off"), [
    (INSIDE_RNN, INSIDE_RNN_FRAME, "draw_inside", "rnn", {}, {}, None),
    (INSIDE_LSTM, INSIDE_LSTM_FRAME, "draw_inside", "lstm", {}, {}, None),
    (INSIDE_GRU, INSIDE_GRU_FRAME, "draw_inside", "gru", {}, {}, None),
    (INSIDE_LSTM1997, INSIDE_LSTM1997_FRAME, "draw_inside", "lstm1997", {}, {}, None),
    (INSIDE_PEEPHOLE, INSIDE_PEEPHOLE_FRAME, "draw_inside", "lstm-peephole", {"block_size": 3, "output_size": 2}, {},
     None),
    (INSIDE_NO_OUTPUT_GATE, INSIDE_NO_OUTPUT_GATE_FRAME, "draw_inside", "lstm-forget", {}, {}, "output_gate"),
    (INSIDE_GATE_ONLY, INSIDE_GATE_ONLY_FRAME, "draw_inside", "lstm1997", {}, {}, "output_gate"),
    (UNFOLDED_RNN, UNFOLDED_RNN_FRAME, "draw_unfolded", "rnn", {"num_layers": 2}, {}, None),
    (UNFOLDED_LSTM_BI, UNFOLDED_LSTM_BI_FRAME, "draw_unfolded", "lstm", {"bidirectional": True}, {"steps": 2}, None),
    (UNFOLDED_GRU, UNFOLDED_GRU_FRAME, "draw_unfolded", "gru", {}, {"steps": 4}, None),
    (UNFOLDED_LSTM1997, UNFOLDED_LSTM1997_FRAME, "draw_unfolded", "lstm1997", {}, {"steps": 2}, None),
], ids=["inside-rnn", "inside-lstm", "inside-gru", "inside-lstm1997", "inside-peephole", "inside-no-output-gate",
        "inside-gate-only", "unfolded-rnn-2-layers", "unfolded-lstm-bidirectional", "unfolded-gru-4-steps",
        "unfolded-lstm1997"])
def test_drawing_element_by_element(expected, frame, function, name, options, kwargs, off):
    a = _a(name, **options)
    if off:
        a[off] = False  # a memory-block cell without an output gate
    ax = _draw(getattr(pictures, function), a, **kwargs)
    assert _drawing(ax) == list(expected)
    assert _frame(ax) == (*frame, 9.0, False)


def test_unknown_cell_kind_is_titled_by_its_class():
    a = _a("gru")
    a["cell"], a["class"] = "other", "MyCell"
    ax = _draw(pictures.draw_unfolded, a, steps=1)
    assert ax.get_title() == "MyCell unfolded in time, num_layers = 1 (108 weights)"
    assert [t.get_text() for t in ax.texts if t.get_bbox_patch() is not None][:2] == ["x(t−1)\nI = 3",
                                                                                      "h$^{(1)}$(t−1)\nH = 4"]


def test_box_and_arrow_helpers_defaults():
    ax = Figure().subplots()
    a = pictures._box(ax, 1.0, 2.0, "A")
    b = pictures._box(ax, 3.0, 2.0, "B", "#ff0000", size=5.0)
    pictures._arrow(ax, a, b)
    assert (a.get_fontsize(), matplotlib.colors.to_hex(a.get_bbox_patch().get_facecolor())) == (8.0, "#dde8f5")
    assert (b.get_fontsize(), matplotlib.colors.to_hex(b.get_bbox_patch().get_facecolor())) == (5.0, "#ff0000")
    (arrow,) = [t for t in ax.texts if isinstance(t, Annotation)]
    assert (arrow.arrowprops["ls"], arrow.arrowprops["color"], arrow.arrowprops["connectionstyle"]) == (
        "-", "#333", "arc3,rad=0.0")
    assert len(ax.texts) == 3  # no label without text
    pictures._arrow(ax, a, b, "w", offset=(0.5, -1.0))
    label = ax.texts[-1]
    assert (label.get_text(), _r(label.get_position())) == ("w", (2.5, 1.0))


def test_table_lines_with_and_without_pytorch_count():
    a = _a("gru")
    expected = [
        "GRU: parameters",
        "  name                   shape           count",
        "  weight_ih_l0           12×3               36",
        "  weight_hh_l0           12×4               48",
        "  bias_ih_l0             12                 12",
        "  bias_hh_l0             12                 12",
        "  total                                    108   (num_weights 108, PyTorch 108)",
        "vectors of one step",
        "  x^(1)(t)                    3   input",
        "  h^(1)(t−1)                  4   previous hidden state, per direction",
        "  r^(1)(t)                    4   gate / cell input",
        "  z^(1)(t)                    4   gate / cell input",
        "  n^(1)(t)                    4   gate / cell input",
        "  h^(1)(t)                    4   hidden state, per direction",
        "  output(t)                   4   last layer, directions concatenated",
    ]
    assert pictures.table_lines(a, 108) == expected
    assert pictures.table_lines(a, None) == [*expected[:6],
                                             "  total                                    108   (num_weights 108)",
                                             *expected[7:]]


@pytest.mark.torch
def test_torch_total_counts_pytorch_parameters():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    assert pictures.torch_total(_a("rnn", num_layers=2, bidirectional=True)) == 2 * (4 * 3 + 4 * 4 + 8) + 2 * (
        4 * 8 + 4 * 4 + 8)
    assert pictures.torch_total(_a("lstm")) == 4 * (4 * 3 + 4 * 4 + 8)
    assert pictures.torch_total(_a("gru", num_layers=2)) == 3 * (4 * 3 + 4 * 4 + 8) + 3 * (4 * 4 + 4 * 4 + 8)
    assert pictures.torch_total(_a("lstm1997")) is None


def test_torch_total_without_pytorch_is_none(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert pictures.torch_total(_a("lstm")) is None


def test_write_picture_lays_out_both_drawings(tmp_path, saved):
    a = _a("rnn", num_layers=2)
    target = tmp_path / "new" / "dir" / "cell.PNG"
    assert pictures.write_picture(a, str(target)) == target
    assert (tmp_path / "new" / "dir").is_dir()
    (fig, path, dpi), = saved
    assert (path, dpi) == (target, 130)
    assert tuple(fig.get_size_inches()) == pytest.approx((11.0, 1.1 * 4 + 3.8))
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    top, bottom = fig.axes
    assert top.get_subplotspec().get_gridspec().get_height_ratios() == [4, 3.8]
    assert top.get_subplotspec().get_geometry() == (2, 1, 0, 0)
    assert top.get_title() == "Elman RNN unfolded in time, num_layers = 2 (76 weights)"
    assert bottom.get_title() == "inside one RNN step (layer 1, → direction): H = 4"


def test_write_picture_writes_the_file(tmp_path):
    path = pictures.write_picture(_a("gru"), tmp_path / "g.svg")
    assert "inside one GRU step" in path.read_text()


def test_write_picture_refuses_other_suffixes(tmp_path):
    with pytest.raises(OptionError) as info:
        pictures.write_picture(_a("gru"), tmp_path / "out" / "g.txt")
    assert str(info.value) == ("describe --figure: expected a path ending in .png, .svg, .pdf, got "
                               f"{tmp_path / 'out' / 'g.txt'}")
    assert not (tmp_path / "out").exists()


def test_gates_are_spread_from_top_to_bottom_however_many():
    a = _a("gru")
    a["gates"] = ["z", "n"]  # a cell with two gate blocks
    ax = _draw(pictures.draw_inside, a)
    gates = [(t.get_text().split("(t)")[0], _r(t.get_position())) for t in ax.texts
             if t.get_text().startswith(("z(t)", "n(t)"))]
    assert gates == [("z", (4.9, 2.5)), ("n", (4.9, -0.5))]


def test_more_steps_than_named_are_refused():
    with pytest.raises(ValueError, match="zip"):
        _draw(pictures.draw_unfolded, _a("rnn"), steps=5)


def test_backward_arrows_are_labelled_once():
    ax = _draw(pictures.draw_unfolded, _a("lstm", bidirectional=True), steps=3)
    backward = [item for item in _drawing(ax) if item[0] == "arrow" and item[3] == "--"]
    assert len(backward) == 2
    labels = [item[1] for item in _drawing(ax) if item[0] == "label" and item[3] == "#a33"]
    assert labels == ["← direction"]


@pytest.mark.parametrize(("name", "title"), [("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "Elman RNN")])
def test_stacked_cells_are_titled_by_their_kind_not_their_class(name, title):
    a = _a(name)
    a["class"] = "Renamed"
    assert _draw(pictures.draw_unfolded, a, steps=1).get_title().startswith(f"{title} unfolded in time")
