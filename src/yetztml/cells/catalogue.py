"""The catalogue of cells: names used by the CLI, and small random configurations for gradient checks.

Each entry maps a CLI name to the cell class and to a list of small configurations (constructor keyword
arguments plus the input shape) that together exercise every option whose backward path differs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import OptionError, message
from ..core.rng import make_rng
from .base import Cell


@dataclass(frozen=True)
class Entry:
    """A cell's CLI name, where its class lives, and its gradient-check configurations."""

    name: str
    module: str
    cls: str
    summary: str
    configs: list[dict[str, Any]] = field(default_factory=list)
    #: finite-difference step; smaller for cells whose normalisations curve strongly (error ∝ step²).
    fd_step: float = 1e-6

    def load(self) -> type[Cell]:
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.cls)


def _stacked(**two_layers: Any) -> list[dict[str, Any]]:
    """A PyTorch-layout cell's configurations: one layer, then two bidirectional ones with ``two_layers``."""
    return [
        dict(input_size=3, hidden_size=4),
        dict(input_size=2, hidden_size=3, num_layers=2, bidirectional=True, **two_layers),
    ]


CATALOGUE: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry(
            "rnn", "rnn", "RNN", "Elman RNN (tanh / relu / logistic), PyTorch layout",
            [
                dict(input_size=3, hidden_size=4, nonlinearity="tanh"),
                dict(input_size=2, hidden_size=3, nonlinearity="logistic", num_layers=2, bidirectional=True),
                dict(input_size=2, hidden_size=3, nonlinearity="relu", bias=False),
            ],
        ),
        Entry("lstm", "lstm", "LSTM", "modern LSTM (gates i, f, g, o), PyTorch layout", _stacked()),
        Entry("gru", "gru", "GRU", "GRU (gates r, z, n), PyTorch layout", _stacked()),
        Entry(
            "lstm-cifg", "lstm_cifg", "LSTMCIFG",
            "CIFG LSTM, coupled input and forget gate f = 1 − i (Greff et al. 2017)",
            _stacked(bias=False),
        ),
        Entry(
            "lstm-layernorm", "lstm_layernorm", "LSTMLayerNorm",
            "layer-normalised LSTM: LN per gate block and on the cell state (Ba, Kiros & Hinton 2016)",
            _stacked(bias=False),
            fd_step=1e-7,
        ),
        Entry(
            "lstm-zoneout", "lstm_zoneout", "LSTMZoneout",
            "LSTM with zoneout (Krueger et al. 2016) and recurrent dropout of g (Semeniuta et al. 2016)",
            [
                dict(input_size=3, hidden_size=4, zoneout_h=0.3, zoneout_c=0.2, recurrent_dropout=0.25,
                     training=False),
                dict(input_size=2, hidden_size=3, num_layers=2, bidirectional=True, zoneout_h=0.1,
                     zoneout_c=0.4, training=False),
            ],
        ),
        Entry(
            "lstm-peephole-stacked", "lstm_peephole_stacked", "LSTMPeepholeStacked",
            "peephole LSTM in PyTorch's layout (Gers et al. 2002), stacked and bidirectional",
            _stacked(bias=False),
        ),
        Entry(
            "lstm1997", "lstm1997", "LSTM1997",
            "Hochreiter & Schmidhuber 1997: memory blocks, CEC, input and output gates",
            [
                dict(input_size=2, num_blocks=2, block_size=2, output_size=1, bias="all"),
                dict(input_size=3, num_blocks=2, block_size=1, output_size=2, bias="gates"),
            ],
        ),
        Entry(
            "lstm-forget", "lstm_forget", "LSTMForget", "Gers et al. 2000: memory blocks with forget gates",
            [dict(input_size=2, num_blocks=2, block_size=2, output_size=1, bias="all")],
        ),
        Entry(
            "lstm-peephole", "lstm_peephole", "LSTMPeephole",
            "Gers et al. 2002: forget gates and peephole connections",
            [dict(input_size=2, num_blocks=2, block_size=2, output_size=1, bias="all")],
        ),
    ]
}


def entry(name: str) -> Entry:
    """The catalogue entry for ``name``; unknown names raise :class:`OptionError` listing the known ones."""
    if name not in CATALOGUE:
        raise OptionError(message("cell", "one of " + ", ".join(CATALOGUE), repr(name)))
    return CATALOGUE[name]


def gradient_check(name: str, seed: int = 0, steps: int = 5, batch: int = 2) -> dict[str, Any]:
    """Run float64 finite-difference checks of cell ``name`` on each catalogue configuration.

    Returns ``{"cell": name, "configs": [{"config": ..., "errors": {param: rel_err}}], "max_error": ...}``.
    """
    from .gradcheck import check_cell

    e = entry(name)
    cls = e.load()
    rng = make_rng(seed)
    results = []
    for config in e.configs:
        cell = cls(**config, seed=int(rng.integers(2**31)), dtype=np.float64)
        x = rng.standard_normal((steps, batch, cell.input_size))
        errors = check_cell(cell, x, rng, eps=e.fd_step)
        results.append({"config": config, "num_weights": cell.num_weights, "errors": errors})
    worst = max(max(r["errors"].values()) for r in results)
    return {"cell": name, "class": e.cls, "configs": results, "max_error": worst}
