"""Cells: each recurrent cell as its numbered equations, forward and hand-derived backward.

=================  ==========================================================================
``RNN``            Elman RNN, tanh / relu / logistic, PyTorch layout, stacked, bidirectional
``LSTM``           modern LSTM (gates i, f, g, o), PyTorch layout, stacked, bidirectional
``GRU``            GRU (gates r, z, n), PyTorch layout, stacked, bidirectional
``LSTMCIFG``       CIFG LSTM: coupled input and forget gate, f = 1 − i (Greff et al. 2017)
``LSTMLayerNorm``  layer-normalised LSTM (Ba, Kiros & Hinton 2016)
``LSTMZoneout``    LSTM with zoneout (Krueger et al. 2016) and recurrent dropout (Semeniuta et al. 2016)
``LSTMPeepholeStacked``  peephole LSTM (Gers et al. 2002) in PyTorch's layout, stacked, bidirectional
``LSTM1997``       Hochreiter & Schmidhuber 1997: memory blocks, CEC, input and output gates
``BaselineRNN``    Hochreiter & Schmidhuber 1997, Exp 2a: the one-hidden-unit baseline net
``LSTMForget``     Gers, Schmidhuber & Cummins 2000: memory blocks with forget gates
``LSTMPeephole``   Gers, Schraudolph & Schmidhuber 2002: forget gates and peepholes
``ModulationNet``  eLife 2022: an LSTM re-weighting a linear unmixing net in closed loop
``SpatialNet``     eLife 2022: feedback modulation with spatially smooth modulator kernels
``DaleRateNet``    eLife 2022: E/I rate network with Dale's law, gain modulation
=================  ==========================================================================

Cells are imported on first use, so ``import yetztml.cells`` compiles nothing.
"""

from __future__ import annotations

import importlib

from .base import Cell, Grads, Trace, state_leaves

_LAZY = {
    "RNN": "rnn",
    "LSTM": "lstm",
    "LSTMState": "lstm",
    "GRU": "gru",
    "LSTMCIFG": "lstm_cifg",
    "LSTMLayerNorm": "lstm_layernorm",
    "LSTMZoneout": "lstm_zoneout",
    "LSTMPeepholeStacked": "lstm_peephole_stacked",
    "LSTM1997": "lstm1997",
    "BaselineRNN": "baseline_rnn",
    "LSTMForget": "lstm_forget",
    "LSTMPeephole": "lstm_peephole",
    "MemoryBlockCell": "block_cell",
    "BlockState": "block_cell",
    "ForgetBlockState": "block_cell",
    "BlockTrace": "block_cell",
    "ModulationNet": "modulation",
    "SpatialNet": "spatial",
    "DaleRateNet": "dale",
    "DaleState": "dale",
    "LoopState": "closed_loop",
}

__all__ = ["Cell", "Grads", "Trace", "state_leaves", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
