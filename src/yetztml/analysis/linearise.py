"""Linearising a recorded trajectory: choosing the form of (L1)–(L3) for a cell and checking its trace.

The equations — the step Jacobian J(t), the entries A_a(t) and exits X_b(t), and their forms for Elman nets
(E1), the LSTM (M1)–(M2), memory blocks (K1)–(K4) and any other cell through its own backward (LG1) — are in
:mod:`yetztml.analysis.linearisation`, beside the classes that compute them (re-exported here).
"""

from __future__ import annotations

import numpy as np

from ..cells.base import Cell, Trace, state_leaves
from ..core.errors import DTypeError, UnsupportedError, message
from ..core.validation import check_array, check_choice, check_int
from .linearisation import (
    BackwardLinearisation,
    BlockLinearisation,
    ElmanLinearisation,
    Linearisation,
    LSTMLinearisation,
    f64,
)
from .unitnet import UnitNet

METHODS = ("auto", "analytic", "backward")
ANALYTIC = "UnitNet, RNN and LSTM (one layer, one direction), LSTM1997 and LSTMForget"


def _check_trace(cell: Cell, trace: object, batch: object) -> int:
    """Type, batch index and finiteness of a trace (every array it holds, and the parameters)."""
    cls = type(cell).__name__
    if not isinstance(trace, Trace):
        raise DTypeError(message("linearise(trace)", f"the trace returned by {cls}.forward", type(trace).__name__))
    batch = check_int("linearise(batch)", batch, minimum=0, maximum=trace.x.shape[1] - 1)
    for key, value in vars(trace).items():
        leaves = state_leaves(value) if isinstance(value, (np.ndarray, tuple)) else []
        if isinstance(value, list):
            leaves = [leaf for sweeps in value for sweep in sweeps for leaf in vars(sweep).values()
                      if isinstance(leaf, np.ndarray)]
        for k, leaf in enumerate(leaves):
            check_array(f"linearise(trace.{key}{'' if len(leaves) == 1 else f'[{k}]'})", leaf)
    for key, value in cell.params.items():
        check_array(f"linearise: {cls}.params[{key!r}]", value)
    return batch


def linearise(cell: Cell, trace: Trace, batch: int = 0, truncate: bool = False, method: str = "auto") -> Linearisation:
    """The linearisation (L1)–(L3) of ``trace`` (from ``cell.forward``) for batch element ``batch``.

    ``method``: "analytic" ((E1), (M1)–(M2), (K1)–(K4); supported: UnitNet, RNN and LSTM with one layer and
    one direction, LSTM1997, LSTMForget), "backward" ((LG1), any cell) or "auto" (analytic where supported).
    ``truncate=True`` is the 1997 truncated gradient (memory-block cells only).
    """
    from ..cells.block_cell import MemoryBlockCell
    from ..cells.lstm import LSTM
    from ..cells.rnn import RNN

    if not isinstance(cell, Cell):
        raise DTypeError(message("linearise(cell)", "a yetztml cell (e.g. RNN, LSTM, LSTM1997, UnitNet)",
                                 type(cell).__name__))
    cls = type(cell).__name__
    method = check_choice("linearise(method)", method, METHODS)
    if not isinstance(truncate, bool):
        raise DTypeError(message("linearise(truncate)", "True or False", repr(truncate)))
    if getattr(cell, "bidirectional", False):
        raise UnsupportedError(message("linearise(cell)", "a cell that runs forward in time only",
                                       f"{cls}(bidirectional=True)", "Error flow follows time backwards from t; "
                                       "build the cell with bidirectional=False."))
    blocks = isinstance(cell, MemoryBlockCell) and cell.supports("truncate")
    if truncate and not blocks:
        raise UnsupportedError(message("linearise(truncate=True)", "a memory-block cell (LSTM1997, LSTMForget, "
                                       "LSTMPeephole): the 1997 truncation is theirs", cls))
    batch = _check_trace(cell, trace, batch)
    single = getattr(cell, "num_layers", 1) == 1
    if method != "backward":
        if type(cell) is UnitNet:
            return ElmanLinearisation("UnitNet", "y", cell.params["W"], trace.net[:, batch], trace.y[:, batch],
                                      trace.initial_state[batch], cell.kind)
        if type(cell) is RNN and single:
            sweep = trace.layers[0][0]
            p = cell.params
            h = f64(sweep.h[:, batch])  # (T+1, H)
            net = f64(trace.x[:, batch]) @ f64(p["weight_ih_l0"]).T + h[:-1] @ f64(p["weight_hh_l0"]).T
            if cell.bias:
                net += f64(p["bias_ih_l0"]) + f64(p["bias_hh_l0"])  # (RNF1) of the RNN
            return ElmanLinearisation("RNN", "h", p["weight_hh_l0"], net, h[1:], h[0], cell.kind)
        if type(cell) is LSTM and single:
            return LSTMLinearisation(cell, trace, batch)
        if blocks and not cell.peepholes:
            return BlockLinearisation(cell, trace, batch, truncate)
        if method == "analytic":
            raise UnsupportedError(message("linearise(method='analytic')", f"one of: {ANALYTIC}", cls,
                                           "Use method='backward' (any cell, through its own backward)."))
    return BackwardLinearisation(cell, trace, batch, truncate)


__all__ = ["ANALYTIC", "METHODS", "BackwardLinearisation", "BlockLinearisation", "ElmanLinearisation",
           "LSTMLinearisation", "Linearisation", "linearise"]
