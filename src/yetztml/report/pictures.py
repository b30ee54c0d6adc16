"""The pictures of a configured cell, drawn from its :func:`~yetztml.analysis.anatomy.anatomy` (every size on
the drawing is read from the cell's parameter shapes):

* the net **unfolded in time** over three steps with its L layers (the ``num_layers = 2`` picture): boxes
  are the state vectors with their sizes, arrows the weight matrices with their shapes;
* the **inside of the cell**: every gate, the state (for memory blocks the CEC with its self-weight 1.0), the
  products, and the dimension of every vector and matrix (the "circles represent dimensionality" view:
  ``hidden_size`` is the length of h, of c and of every gate vector).

matplotlib is imported inside the functions; the file type follows the suffix (``.png``, ``.svg``, ``.pdf``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import OptionError, message

SUFFIXES = (".png", ".svg", ".pdf")
GATE_NAMES = {"i": "input gate", "f": "forget gate", "g": "cell input", "o": "output gate",
              "r": "reset gate", "z": "update gate", "n": "candidate", "h": "hidden"}


def _shape(a: dict[str, Any], name: str) -> str:
    return "×".join(str(n) for n in a["parameters"][name]["shape"])


def _box(ax, x: float, y: float, text: str, color: str = "#dde8f5", size: float = 8.0):
    """A rounded box of text at (x, y); returns the Text (its bbox patch is where arrows end)."""
    return ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=3,
                   bbox={"boxstyle": "round,pad=0.35", "fc": color, "ec": "#335", "lw": 0.9})


def _arrow(ax, a, b, label: str = "", style: str = "-", color: str = "#333",
           offset: tuple[float, float] = (0.0, 0.0), rad: float = 0.0) -> None:
    """An arrow from box ``a`` to box ``b`` (Text artists from :func:`_box`), clipped at their edges."""
    start, end = a.get_position(), b.get_position()
    ax.annotate("", xy=end, xytext=start, zorder=2,
                arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.0, "ls": style, "shrinkA": 2,
                            "shrinkB": 2, "patchA": a.get_bbox_patch(), "patchB": b.get_bbox_patch(),
                            "connectionstyle": f"arc3,rad={rad}"})
    if label:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, label, fontsize=6.5, ha="center", va="center", color=color, zorder=4,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})


# -- unfolded ------------------------------------------------------------------------------------------
def draw_unfolded(ax, a: dict[str, Any], steps: int = 3) -> None:
    """The net over ``steps`` time steps; rows: input, each layer, output."""
    xs = [2.2 * k for k in range(steps)]
    names = ["t−1", "t", "t+1", "t+2"][:steps]
    stacked = a["kind"] == "stacked"
    L = a["num_layers"]
    D = 2 if a["bidirectional"] else 1
    top = L + 1
    grid = {}
    for k, (x, t) in enumerate(zip(xs, names, strict=True)):
        grid[k, 0] = _box(ax, x, 0, f"x({t})\nI = {a['input_size']}", "#f3e6c8")
        for layer in range(1, L + 1):
            if stacked:
                H = a["hidden_size"]
                state = "h, c" if a["cell"] == "lstm" else "h"
                text = (f"→ and ← {state}$^{{({layer})}}$({t})\n2×H = 2×{H}" if D == 2
                        else f"{state}$^{{({layer})}}$({t})\nH = {H}")
            else:
                text = (f"{a['num_blocks']} blocks × {a['block_size']} cells\n"
                        f"s({t}), y$^c$({t}): N = {a['num_cells']}")
            grid[k, layer] = _box(ax, x, layer, text)
            if stacked:
                label = f"W$_{{ih}}^{{({layer})}}$ {_shape(a, f'weight_ih_l{layer - 1}')}"
            else:
                label = f"W_c {_shape(a, 'W_c')}, W_in {_shape(a, 'W_in')}, …"
            _arrow(ax, grid[k, layer - 1], grid[k, layer], label if k == 0 else "", offset=(0.0, -0.05))
        if stacked:
            grid[k, top] = _box(ax, x, top, f"output({t})\n{D}·H = {D * a['hidden_size']}", "#d9f0d3")
            _arrow(ax, grid[k, L], grid[k, top])
        else:
            grid[k, top] = _box(ax, x, top, f"y$^k$({t})\nK = {a['output_size']}", "#d9f0d3")
            _arrow(ax, grid[k, L], grid[k, top], f"W_k {_shape(a, 'W_k')}" if k == 0 else "")
    for layer in range(1, L + 1):
        if stacked:
            rec = f"W$_{{hh}}^{{({layer})}}$ {_shape(a, f'weight_hh_l{layer - 1}')}"
        else:
            rec = f"y$^c$, gates (t−1) → u(t), U = {a['sources']}"
        for k in range(steps - 1):
            _arrow(ax, grid[k, layer], grid[k + 1, layer], rec if k == 0 else "", offset=(0.0, 0.14))
            if D == 2:
                _arrow(ax, grid[k + 1, layer], grid[k, layer], "← direction" if k == 0 else "", style="--",
                       color="#a33", offset=(0.0, -0.3), rad=-0.25)
        ax.text(xs[0] - 1.25, layer, "…", fontsize=12, ha="center", va="center")
        ax.text(xs[-1] + 1.25, layer, "…", fontsize=12, ha="center", va="center")
        ax.text(xs[-1] + 1.7, layer, f"layer {layer}", fontsize=8, ha="left", va="center", style="italic")
    ax.set_xlim(xs[0] - 1.5, xs[-1] + 2.4)
    ax.set_ylim(-0.5, top + 0.5)
    ax.axis("off")
    what = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}.get(a["cell"], a["class"])
    ax.set_title(f"{what} unfolded in time, num_layers = {L}{', bidirectional' if D == 2 else ''} "
                 f"({a['total']} weights)", fontsize=9)


# -- inside ---------------------------------------------------------------------------------------------
def _inside_stacked(ax, a: dict[str, Any]) -> None:
    H, lay = a["hidden_size"], a["layers"][0]
    rows = lay["gate_rows"]
    x = _box(ax, 0.0, 0.0, f"x(t)\nI = {lay['input']}", "#f3e6c8")
    h0 = _box(ax, 0.0, 2.0, f"h(t−1)\nH = {H}")
    pre = "a(t) = W$_{ih}$x + b$_{ih}$ + W$_{hh}$h + b$_{hh}$" if a["cell"] != "gru" else \
        "p(t) = W$_{ih}$x + b$_{ih}$,  q(t) = W$_{hh}$h + b$_{hh}$"
    mid = _box(ax, 2.3, 1.0, f"{pre}\n{rows} = {rows // H}·H rows", "#eee")
    _arrow(ax, x, mid, f"W_ih {_shape(a, 'weight_ih_l0')}", offset=(-0.3, -0.25))
    _arrow(ax, h0, mid, f"W_hh {_shape(a, 'weight_hh_l0')}", offset=(-0.3, 0.25))
    gates = a["gates"]
    if a["cell"] == "rnn":
        out = _box(ax, 5.2, 1.0, f"h(t) = tanh(a(t))\nH = {H}", "#d9f0d3")
        _arrow(ax, mid, out, "tanh")
        return
    ys = [2.5 - 3.0 * k / max(1, len(gates) - 1) for k in range(len(gates))]
    boxes = {}
    for j, (g, y) in enumerate(zip(gates, ys, strict=True)):
        squash = "tanh" if g in ("g", "n") else "σ"
        boxes[g] = _box(ax, 4.9, y, f"{g}(t) = {squash}(·): {GATE_NAMES[g]}\nH = {H}",
                        "#fde0dd" if g not in ("g", "n") else "#eee")
        _arrow(ax, mid, boxes[g], f"rows {j * H}…{(j + 1) * H - 1}", offset=(0.0, 0.1))
    if a["cell"] == "lstm":
        c = _box(ax, 7.4, 1.8, f"c(t) = f⊙c(t−1) + i⊙g\nH = {H}", "#d9f0d3")
        h = _box(ax, 7.4, -0.3, f"h(t) = o⊙tanh(c(t))\nH = {H}", "#d9f0d3")
        for g in ("i", "f", "g"):
            _arrow(ax, boxes[g], c)
        _arrow(ax, boxes["o"], h)
        _arrow(ax, c, h, "tanh", offset=(0.25, 0.0))
        prev = _box(ax, 7.4, 3.0, f"c(t−1)\nH = {H}")
        _arrow(ax, prev, c, "⊙ f", offset=(0.25, 0.0))
    else:
        h = _box(ax, 7.4, 1.0, f"h(t) = (1−z)⊙n + z⊙h(t−1)\nH = {H}", "#d9f0d3")
        for g in gates:
            _arrow(ax, boxes[g], h)


def _inside_blocks(ax, a: dict[str, Any]) -> None:
    N, C, S, U = a["num_cells"], a["num_blocks"], a["block_size"], a["sources"]
    K, V = a["output_size"], a["output_sources"]
    u = _box(ax, 0.0, 1.2, f"u(t) = [x(t); y$^c$(t−1);\ngate outputs (t−1)]\nU = {U}", "#f3e6c8")
    branches = [("W_c", "net$_c$ = W$_c$u, g(net$_c$)", N, "cell inputs"),
                ("W_in", "y$^{in}$ = σ(W$_{in}$u)", C, "input gates")]
    if a["forget_gate"]:
        branches.append(("W_phi", "y$^φ$ = σ(W$_φ$u)", C, "forget gates"))
    if a["output_gate"]:
        branches.append(("W_out", "y$^{out}$ = σ(W$_{out}$u)", C, "output gates"))
    ys = [2.7 - 3.2 * k / max(1, len(branches) - 1) for k in range(len(branches))]
    box = {}
    for (w, text, size, what), y in zip(branches, ys, strict=True):
        box[w] = _box(ax, 2.9, y, f"{text}\n{what}: {size}", "#fde0dd" if w != "W_c" else "#eee")
        _arrow(ax, u, box[w], f"{w} {_shape(a, w)}", offset=(0.3, 0.12))
    prod = _box(ax, 5.3, 2.2, f"y$^{{in}}$ ⊙ g\neach gate shared by\nits S = {S} cells: {C} → {N}", "#fff")
    _arrow(ax, box["W_c"], prod)
    _arrow(ax, box["W_in"], prod)
    keep = "y$^φ$(t) s(t−1)" if a["forget_gate"] else "s(t−1)"
    s = _box(ax, 7.7, 2.2, f"s(t) = {keep} + y$^{{in}}$g\nCEC, N = {N}", "#d9f0d3")
    _arrow(ax, prod, s)
    ax.annotate("", xy=(8.25, 2.45), xytext=(7.15, 2.45), zorder=1,
                arrowprops={"arrowstyle": "-|>", "lw": 1.2, "color": "#171", "connectionstyle": "arc3,rad=-1.2"})
    ax.text(7.7, 3.35, "self-weight 1.0 (no forget gate)" if not a["forget_gate"] else "self-weight y$^φ$(t)",
            fontsize=7, ha="center", color="#171")
    if a["forget_gate"]:
        _arrow(ax, box["W_phi"], s, style=":")
    text = "y$^c$ = y$^{out}$ ⊙ h(s)" if a["output_gate"] else "y$^c$ = h(s)"
    yc = _box(ax, 7.7, -0.3, f"{text}\nN = {N}", "#d9f0d3")
    _arrow(ax, s, yc, "h", offset=(0.2, 0.0))
    if a["output_gate"]:
        _arrow(ax, box["W_out"], yc, f"{C} → {N}", offset=(0.0, -0.15))
    yk = _box(ax, 10.0, -0.3, f"y$^k$ = f$_k$(W$_k$v + b$_k$)\nK = {K}", "#f3e6c8")
    _arrow(ax, yc, yk, f"W_k {_shape(a, 'W_k')}, v: V = {V}", offset=(0.0, 0.3))
    if a["peepholes"]:
        ax.text(5.3, -1.2, "peepholes P (C×S): s feeds the gates of its block", fontsize=7, ha="center")


def draw_inside(ax, a: dict[str, Any]) -> None:
    """Every gate, the state and the dimension of every vector and matrix (layer 1, → direction)."""
    if a["kind"] == "stacked":
        _inside_stacked(ax, a)
        ax.set_xlim(-1.0, 9.0)
        ax.set_ylim(-1.0, 3.5)
        title = f"inside one {a['cell'].upper()} step (layer 1, → direction): H = {a['hidden_size']}"
    else:
        _inside_blocks(ax, a)
        ax.set_xlim(-1.4, 11.4)
        ax.set_ylim(-1.5, 3.6)
        gates = "input" + (", forget" if a["forget_gate"] else "") + (", output" if a["output_gate"] else "")
        title = (f"inside {a['class']}: {a['num_blocks']} blocks × {a['block_size']} cells, gates: {gates}"
                 + ("" if a["forget_gate"] else " (no forget gate)"))
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def torch_total(a: dict[str, Any]) -> int | None:
    """PyTorch's parameter count for the same module (nn.RNN / nn.LSTM / nn.GRU); None where PyTorch has no
    such cell or is not installed."""
    if a["kind"] != "stacked":
        return None
    try:
        import torch
    except ImportError:
        return None
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a["cell"]](
        a["input_size"], a["hidden_size"], num_layers=a["num_layers"], bidirectional=a["bidirectional"])
    return int(sum(p.numel() for p in module.parameters()))


def table_lines(a: dict[str, Any], torch_count: int | None) -> list[str]:
    """The parameter table, the total (beside PyTorch's where it has the cell) and the vectors of one step."""
    lines = [f"{a['class']}: parameters", f"  {'name':<22} {'shape':<12} {'count':>8}"]
    for name, row in a["parameters"].items():
        shape = "×".join(str(n) for n in row["shape"])
        lines.append(f"  {name:<22} {shape:<12} {row['count']:>8}")
    total = f"  {'total':<22} {'':<12} {a['total']:>8}   (num_weights {a['num_weights']}"
    lines.append(total + (f", PyTorch {torch_count})" if torch_count is not None else ")"))
    lines.append("vectors of one step")
    for v in a["vectors"]:
        lines.append(f"  {v['name']:<22} {v['size']:>6}   {v['what']}")
    return lines


def write_picture(a: dict[str, Any], path: str | Path) -> Path:
    """Both drawings, one above the other, into ``path`` (.png, .svg or .pdf)."""
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise OptionError(message("describe --figure", "a path ending in " + ", ".join(SUFFIXES), str(path)))
    rows = a["num_layers"] + 2
    fig = Figure(figsize=(11.0, 1.1 * rows + 3.8), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[rows, 3.8])
    draw_unfolded(top, a)
    draw_inside(bottom, a)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    return path
