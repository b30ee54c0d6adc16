"""What a configured cell is made of: every parameter with its shape, and every vector of one step with its size.

All sizes are read from the parameter shapes of an actual cell, so the labels of a table or a picture
cannot drift from what the cell computes. For a stacked cell (PyTorch layout, L layers, D = 2 directions
if bidirectional, else 1, G = 1 / 4 / 3 gate blocks for RNN / LSTM / GRU)::

    (AN1) W_ih^(l) (G·H, I_l),  W_hh^(l) (G·H, H),  b_ih^(l), b_hh^(l) (G·H,)   per layer l and direction
    (AN2) I_1 = I,  I_l = D·H for l ≥ 2;  the output of the last layer is D·H wide
    (AN3) total = Σ_l D·(G·H·(I_l + H) + 2·G·H)      (bias=True), PyTorch's count for the same module

For a memory-block cell (C blocks of S cells, N = C·S, U and V the widths of u(t) and v(t), K outputs)::

    (AN4) W_c (N, U), W_in (C, U), [W_phi (C, U)], [W_out (C, U)], [peepholes (C, S)], W_k (K, V), biases
    (AN5) U = I + N + C·(number of gates)   (recurrent="full");   V = N (+ I with shortcut)

>>> a = anatomy(build("rnn", input_size=3, hidden_size=4, num_layers=2))
>>> a["parameters"]["weight_ih_l1"], a["total"]
({'shape': [4, 4], 'count': 16}, 76)
"""

from __future__ import annotations

from typing import Any

from ..cells.base import Cell
from ..cells.catalogue import CATALOGUE, entry
from ..core.errors import OptionError, UnsupportedError, message
from ..core.validation import check_int

STACKED = {"rnn": 1, "lstm": 4, "gru": 3}  # G, the gate blocks packed in the rows of W_ih, W_hh
GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def build(name: str, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
          block_size: int = 1, output_size: int = 1) -> Cell:
    """The catalogue cell ``name`` configured as asked (seed 0). For memory-block cells ``hidden_size`` is
    the number of blocks C; they have one layer and one direction."""
    e = entry(name)
    input_size = check_int("describe --input-size", input_size, minimum=1)
    hidden_size = check_int("describe --hidden-size", hidden_size, minimum=1)
    num_layers = check_int("describe --num-layers", num_layers, minimum=1)
    cls = e.load()
    if name in STACKED:
        return cls(input_size, hidden_size, num_layers, bidirectional=bool(bidirectional), seed=0)
    from ..cells.block_cell import MemoryBlockCell

    if not issubclass(cls, MemoryBlockCell):
        drawn = ", ".join([*STACKED, *(n for n in CATALOGUE if n not in STACKED and
                                       issubclass(entry(n).load(), MemoryBlockCell))])
        raise UnsupportedError(message(f"describe {name} --input-size/--hidden-size", f"one of the cells drawn "
                                       f"with their sizes: {drawn}", repr(name),
                                       f"`yetztml describe {name}` prints its equations."))
    if num_layers != 1 or bidirectional:
        raise OptionError(message(f"describe {name}", "one layer, one direction (a memory-block cell)",
                                  f"num_layers={num_layers}, bidirectional={bool(bidirectional)}",
                                  "Leave out --num-layers and --bidirectional, or use rnn, lstm or gru."))
    block_size = check_int("describe --block-size", block_size, minimum=1)
    output_size = check_int("describe --output-size", output_size, minimum=1)
    return cls(input_size, num_blocks=hidden_size, block_size=block_size, output_size=output_size, seed=0)


def parameters(cell: Cell) -> dict[str, dict[str, Any]]:
    """Every parameter: name → {"shape", "count"}, in the cell's order."""
    return {k: {"shape": list(v.shape), "count": int(v.size)} for k, v in cell.params.items()}


def _stacked_layers(cell: Cell, gates: int) -> list[dict[str, Any]]:
    """(AN1)–(AN2) per layer, read from the → direction's matrices."""
    layers = []
    for layer in range(cell.num_layers):
        W_ih, W_hh = cell.params[f"weight_ih_l{layer}"], cell.params[f"weight_hh_l{layer}"]
        H = W_hh.shape[1]
        layers.append({"layer": layer + 1, "input": int(W_ih.shape[1]), "hidden": int(H),
                       "gate_rows": int(W_ih.shape[0]), "gate_size": int(W_ih.shape[0] // gates)})
    return layers


def vectors(name: str, cell: Cell) -> list[dict[str, Any]]:
    """The vectors of one step t with their sizes: [{"name", "size", "what"}]."""
    if name in STACKED:
        G = STACKED[name]
        dirs = 2 if cell.bidirectional else 1
        out = []
        for lay in _stacked_layers(cell, G):
            l, H = lay["layer"], lay["hidden"]
            out.append({"name": f"x^({l})(t)", "size": lay["input"],
                        "what": "input" if l == 1 else f"output of layer {l - 1} ({dirs}·H)"})
            out.append({"name": f"h^({l})(t−1)", "size": H, "what": "previous hidden state, per direction"})
            for g in GATES[name]:
                if name != "rnn":
                    out.append({"name": f"{g}^({l})(t)", "size": lay["gate_size"], "what": "gate / cell input"})
            if name == "lstm":
                out.append({"name": f"c^({l})(t)", "size": H, "what": "cell state, per direction"})
            out.append({"name": f"h^({l})(t)", "size": H, "what": "hidden state, per direction"})
        out.append({"name": "output(t)", "size": dirs * H, "what": "last layer, directions concatenated"})
        return out
    p = cell.params
    N, U = p["W_c"].shape
    C = p["W_in"].shape[0]
    K, V = p["W_k"].shape
    out = [{"name": "x(t)", "size": cell.input_size, "what": "input"},
           {"name": "u(t)", "size": U, "what": "sources of cells and gates (BF1)"},
           {"name": "net_c(t), g(t)", "size": N, "what": "cell inputs, one per cell"},
           {"name": "y^in(t)", "size": C, "what": "input gates, one per block"}]
    if "W_phi" in p:
        out.append({"name": "y^φ(t)", "size": C, "what": "forget gates, one per block"})
    out.append({"name": "s(t)", "size": N, "what": "internal states (the CEC), one per cell"})
    if "W_out" in p:
        out.append({"name": "y^out(t)", "size": C, "what": "output gates, one per block"})
    out += [{"name": "y^c(t)", "size": N, "what": "cell outputs y^out h(s)"},
            {"name": "v(t)", "size": V, "what": "sources of the output units (BF8)"},
            {"name": "y^k(t)", "size": K, "what": "output units"}]
    return out


def anatomy(cell: Cell, name: str | None = None) -> dict[str, Any]:
    """Parameters, total, the step's vectors and the sizes the pictures need, of a configured cell."""
    if name is None:
        name = next(n for n, e in CATALOGUE.items() if e.cls == type(cell).__name__)
    table = parameters(cell)
    total = sum(row["count"] for row in table.values())
    out: dict[str, Any] = {"cell": name, "class": type(cell).__name__, "parameters": table, "total": total,
                           "num_weights": cell.num_weights, "vectors": vectors(name, cell),
                           "input_size": cell.input_size}
    if name in STACKED:
        out.update(kind="stacked", gates=list(GATES[name]), num_layers=cell.num_layers,
                   bidirectional=bool(cell.bidirectional), layers=_stacked_layers(cell, STACKED[name]),
                   hidden_size=cell.hidden_size)
    else:
        p = cell.params
        out.update(kind="blocks", num_blocks=p["W_in"].shape[0], block_size=p["W_c"].shape[0] // p["W_in"].shape[0],
                   num_cells=p["W_c"].shape[0], sources=p["W_c"].shape[1], output_sources=p["W_k"].shape[1],
                   output_size=p["W_k"].shape[0], forget_gate="W_phi" in p, output_gate="W_out" in p,
                   peepholes="P_in" in p, num_layers=1, bidirectional=False)
    return out
