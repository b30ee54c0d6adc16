"""The memory-block cells' vocabulary: option choices, state tuples, the trace, and the option checks.

:class:`~yetztml.cells.block_cell.MemoryBlockCell` (and through it LSTM1997, LSTMForget, LSTMPeephole)
builds on these; the kernels of :mod:`yetztml.cells.blocks` read the codes ``RECURRENT`` maps to. The
names are re-exported by :mod:`yetztml.cells.block_cell`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.validation import check_choice, check_float
from .base import Trace
from .block_step import REC_CELLS, REC_FULL, REC_NONE

G_CHOICES = ("g1997", "logistic", "tanh", "identity")
H_CHOICES = ("h1997", "logistic", "tanh", "identity")
OUTPUT_CHOICES = ("logistic", "identity", "tanh")
RECURRENT = {"none": REC_NONE, "cells": REC_CELLS, "full": REC_FULL}
BIAS_KINDS = ("cells", "gates", "outputs")
#: The paper's bias columns (Table 10): none, "ga" = gates, "b1" = all hidden units, "all" = all non-input.
BIAS_MODES = {
    "none": frozenset(),
    "gates": frozenset({"gates"}),
    "hidden": frozenset({"cells", "gates"}),
    "all": frozenset({"cells", "gates", "outputs"}),
}


class BlockState(NamedTuple):
    """State at t−1 of a cell without forget gate; each (B, ·). y_out is (B, 0) without output gate."""

    y_c: np.ndarray  # (B, N) cell outputs
    y_in: np.ndarray  # (B, C) input-gate activations
    y_out: np.ndarray  # (B, C) output-gate activations
    s: np.ndarray  # (B, N) internal (CEC) states


class ForgetBlockState(NamedTuple):
    """State at t−1 of a cell with forget gates; each (B, ·). y_out is (B, 0) without output gate."""

    y_c: np.ndarray  # (B, N)
    y_in: np.ndarray  # (B, C)
    y_phi: np.ndarray  # (B, C) forget-gate activations
    y_out: np.ndarray  # (B, C)
    s: np.ndarray  # (B, N)


@dataclass(kw_only=True)
class BlockTrace(Trace):
    """Every trajectory of a memory-block forward pass, time-major (T, B, ·).

    ``net_phi``/``y_phi`` are None without forget gate, ``net_out``/``y_out`` None without output gate.
    ``u`` and ``v`` are the source vectors of (BF1) and (BF8); ``g`` = g(net_c), ``h_s`` = h(s).
    """

    u: np.ndarray
    net_c: np.ndarray
    g: np.ndarray
    net_in: np.ndarray
    y_in: np.ndarray
    net_phi: np.ndarray | None
    y_phi: np.ndarray | None
    s: np.ndarray
    net_out: np.ndarray | None
    y_out: np.ndarray | None
    h_s: np.ndarray
    y_c: np.ndarray
    v: np.ndarray
    net_k: np.ndarray
    y_k: np.ndarray


def check_bool(thing: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise DTypeError(message(thing, "True or False", repr(value)))
    return bool(value)


def bias_kinds(thing: str, bias: object) -> frozenset[str]:
    """Resolve ``bias`` (a mode name or a collection of unit kinds) to a set of unit kinds."""
    if isinstance(bias, str):
        check_choice(thing, bias, tuple(BIAS_MODES))
        return BIAS_MODES[bias]
    if isinstance(bias, (set, frozenset, tuple, list)):
        kinds = frozenset(bias)
        unknown = sorted(str(k) for k in kinds if k not in BIAS_KINDS)
        if unknown:
            raise OptionError(
                message(thing, "unit kinds from " + ", ".join(map(repr, BIAS_KINDS)), f"unknown {unknown}")
            )
        return kinds
    raise OptionError(
        message(
            thing,
            "one of " + ", ".join(repr(m) for m in BIAS_MODES) + ", or a set of unit kinds from "
            + ", ".join(repr(k) for k in BIAS_KINDS),
            repr(bias),
        )
    )


def per_block(thing: str, values: object, num_blocks: int) -> np.ndarray:
    """One finite real per block (a list, tuple or 1-D array of length C)."""
    example = "[" + ", ".join(str(-float(j + 1)) for j in range(num_blocks)) + "]"
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ShapeError(message(thing, f"one value per block ({num_blocks})", f"shape {values.shape}"))
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise DTypeError(
            message(thing, f"a list of {num_blocks} numbers, one per block", repr(values), f"e.g. {example}")
        )
    if len(values) != num_blocks:
        raise ShapeError(
            message(thing, f"{num_blocks} values (one per block)", f"{len(values)} values", f"e.g. {example}")
        )
    return np.array([check_float(f"{thing}[{j}]", v) for j, v in enumerate(values)])
