"""The cells behind the torch modules: one layer, one direction, one run of time steps, on NumPy arrays.

Each *kind* adapts one of :mod:`yetztml.cells` to the interface of the custom operator in
:mod:`yetztml.torch._ops`:

* ``forward(x, init, weights, reverse) -> arrays`` — x ``(T, B, I)`` time-major, ``init`` the state parts
  ``(B, H)`` (h, and c for LSTMs), ``weights`` the module's tensors of one layer and direction (as NumPy
  views, in :attr:`Kind.weight_names` order); returns the trajectories the backward needs, state parts
  first;
* ``backward(x, init, weights, saved, d_out, d_finals, reverse) -> (dx, d_init, d_weights)`` with
  ``d_out`` the error on the outputs ``(T, B, H)`` (time order of the run) and ``d_finals`` the error on
  the final state parts (the h part is always zero: the last output *is* the final h, its error arrives
  in ``d_out``);
* ``shapes(T, B, I, H)`` — the shapes of ``forward``'s arrays (what ``torch.compile`` traces with).

PyTorch-layout cells (:class:`~yetztml.cells.stack.Stacked`) run their compiled sweep kernels directly,
either direction. The 1997 memory-block cell (:mod:`~yetztml.cells.lstm1997`) runs forward only, so ←
reverses time around it; it is built with blocks of ``block_size`` cells, u(t) = [x(t); y^c(t−1)]
(``recurrent="cells"``) and an identity output layer (W_k = I, f_k = identity), so that the block's y^c(t)
is the module's h(t) and the error on y^k reaches y^c unchanged.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..cells.block_cell import BlockState, BlockTrace
from ..cells.gru import GRU
from ..cells.lstm import LSTM
from ..cells.lstm1997 import LSTM1997
from ..cells.lstm_cifg import LSTMCIFG
from ..cells.lstm_layernorm import LSTMLayerNorm
from ..cells.lstm_peephole_stacked import LSTMPeepholeStacked
from ..cells.lstm_zoneout import LSTMZoneout, ZoneoutSweep
from ..cells.rnn import RNN
from ..cells.sealing import release
from ..core.errors import OptionError, message


class Kind(ABC):
    """Shared description of a kind: state parts, weight names, how outputs sit in the first array."""

    #: number of state parts (1: h; 2: h and c).
    parts: ClassVar[int] = 1
    #: whether array 0 holds T + 1 rows (the initial state in slot 0 for →, slot T for ←).
    initial_slot: ClassVar[bool] = True
    #: whether the module reverses the outputs of a ← run (forward-only cells run on reversed time).
    runs_reversed: ClassVar[bool] = False

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.options = options

    @abstractmethod
    def weight_names(self, bias: bool) -> list[str]:
        """The cell's parameter names for one layer and direction (PyTorch's suffix-free names)."""

    @abstractmethod
    def weight_shapes(self, input_size: int, hidden_size: int, bias: bool) -> list[tuple[int, ...]]:
        """Their shapes, in the same order."""

    #: ``return_states``: name → (trajectory index, first column in units of H, width in units of H;
    #: 0 means one column per block); time rows as the outputs'.
    state_columns: ClassVar[dict[str, tuple[int, int, int]]] = {}

    def states(self, arrays: list, T: int, H: int, reverse: bool) -> dict:
        """Every gate activation and cell state of a run, ``name → (T, B, ·)`` in the run's time order as
        the outputs are (views of the trajectories; the module detaches them)."""
        out = {}
        for name, (index, start, width) in self.state_columns.items():
            a = arrays[index]
            rows = self.out_rows(T, reverse) if a.shape[0] == T + 1 else slice(0, T)
            cols = slice(start * H, (start + width) * H) if width else slice(None)
            out[name] = a[rows][:, :, cols]
        return out

    def out_rows(self, T: int, reverse: bool) -> slice:
        """Rows of array 0 that are the outputs h(t), in the run's time order."""
        if not self.initial_slot:
            return slice(0, T)
        return slice(0, T) if reverse else slice(1, T + 1)

    def final_slot(self, T: int, reverse: bool) -> int:
        """Row of the state arrays that holds the final state."""
        if not self.initial_slot:
            return T - 1
        return 0 if reverse else T


# -- PyTorch-layout cells -----------------------------------------------------------------------------------


class StackedKind(Kind):
    """RNN, GRU, LSTM (and every :class:`Stacked` cell): the cell's ``_sweep`` / ``_sweep_back``."""

    def __init__(self, name: str, cls: type, options=None,
                 state_columns: dict[str, tuple[int, int, int]] | None = None) -> None:
        super().__init__(name, options or {})
        self.cls = cls
        self.fields = [field for field, *_ in cls.trajectories]  # the sweep's arrays, in the kernel's order
        self.parts = len(cls.state_names)
        self.state_columns = state_columns or {}

    @functools.lru_cache(maxsize=64)  # noqa: B019 (kinds live as long as the process)
    def cell(self, input_size: int, hidden_size: int, bias: bool, dtype: np.dtype, thread: int = 0):
        """The cell that runs the kernels, one per size, dtype and calling thread (a call swaps its
        parameters for the module's tensors, so threads must not share one)."""
        return self.cls(input_size, hidden_size, 1, bias=bias, seed=0, dtype=dtype, **self.options)

    def weight_names(self, bias: bool) -> list[str]:
        return [k for k in self.cell(1, 1, bias, np.dtype(np.float64)).params]

    def weight_shapes(self, input_size: int, hidden_size: int, bias: bool) -> list[tuple[int, ...]]:
        cell = self.cell(input_size, hidden_size, bias, np.dtype(np.float64))
        return [cell.params[k].shape for k in cell.params]

    def shapes(self, T: int, B: int, I: int, H: int) -> list[tuple[int, ...]]:
        return self.cls.trajectory_shapes(T, B, H)

    def _bind(self, x: np.ndarray, H: int, weights: list[np.ndarray]):
        cell = self.cell(x.shape[2], H, len(weights) > 2 + self._extra_weights(), x.dtype, threading.get_ident())
        cell.params = dict(zip(cell.params, weights, strict=True))
        return cell, cell._keys[0]

    def _extra_weights(self) -> int:
        return len(self.weight_names(False)) - 2

    def forward(self, x, init, weights, reverse):
        cell, keys = self._bind(x, init[0].shape[1], weights)
        sweep = cell._sweep(x, keys, tuple(init), int(reverse))
        return [getattr(sweep, name) for name in self.fields]

    def backward(self, x, init, weights, saved, d_out, d_finals, reverse):
        cell, keys = self._bind(x, init[0].shape[1], weights)
        arrays = dict(zip(self.fields, saved, strict=True))
        sweep = cell._sweep_type(x=x, reverse=int(reverse), **arrays)
        dx, grads, d_init = cell._sweep_back(sweep, keys, d_out, tuple(d_finals))
        return dx, list(d_init), [grads[k] for k in cell.params]


class ZoneoutKind(StackedKind):
    """:class:`~yetztml.cells.lstm_zoneout.LSTMZoneout` with its masks (d_h, d_c, m_g), each ``(T, B, H)``,
    passed after the weights (drawn by the module, so that they follow torch's generator)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, LSTMZoneout, state_columns=_LSTM_STATES)

    def forward(self, x, init, weights, reverse):
        cell, keys = self._bind(x, init[0].shape[1], weights[:-3])
        sweep = cell.sweep_with_masks(x, keys, tuple(init), int(reverse), weights[-3:])
        return [getattr(sweep, name) for name in self.fields]

    def backward(self, x, init, weights, saved, d_out, d_finals, reverse):
        cell, keys = self._bind(x, init[0].shape[1], weights[:-3])
        arrays = dict(zip(self.fields, saved, strict=True))
        d_h, d_c, m_g = weights[-3:]
        sweep = ZoneoutSweep(x=x, reverse=int(reverse), d_h=d_h, d_c=d_c, m_g=m_g, **arrays)
        dx, grads, d_init = cell._sweep_back(sweep, keys, d_out, tuple(d_finals))
        return dx, list(d_init), [grads[k] for k in cell.params] + [np.zeros_like(m) for m in weights[-3:]]


# -- memory-block cells -------------------------------------------------------------------------------------

_BLOCK_FIELDS = ("y_c", "s", "u", "net_c", "g", "net_in", "y_in", "net_out", "y_out", "h_s", "v", "net_k", "y_k")
_BLOCK_ROWS = ("c", "in", "out")  # row order of weight_ih / weight_hh: cell inputs (H), input gates, output gates


class BlockKind(Kind):
    """The 1997 memory-block cell (:class:`~yetztml.cells.lstm1997.LSTM1997`), one layer and direction, behind
    torch-layout weights: ``weight_ih`` ``(H + 2C, I)`` and ``weight_hh`` ``(H + 2C, H)`` are the rows of
    W_h = [W_ih | W_hh] (cell inputs, input gates, output gates), the biases add up to b_h."""

    parts = 2
    initial_slot = False
    runs_reversed = True

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.block_size = int(options["block_size"])
        index = {field: k for k, field in enumerate(_BLOCK_FIELDS)}
        self.state_columns = {"i": (index["y_in"], 0, 0), "o": (index["y_out"], 0, 0), "g": (index["g"], 0, 1),
                              "c": (index["s"], 0, 1)}

    @functools.lru_cache(maxsize=64)  # noqa: B019 (kinds live as long as the process)
    def cell(self, input_size: int, hidden_size: int, bias: bool, dtype: np.dtype, thread: int = 0):
        """The block cell, one per size, dtype and calling thread (see :meth:`StackedKind.cell`)."""
        S = self.block_size
        cell = LSTM1997(
            input_size, hidden_size // S, S, hidden_size, g=self.options["g"], h=self.options["h"],
            output="identity", recurrent="cells", bias="hidden" if bias else "none", seed=0, dtype=dtype,
        )
        cell.params["W_k"] = np.eye(hidden_size, dtype=dtype)  # (BF9) with f_k = identity: y^k = y^c
        return cell

    def states(self, arrays: list, T: int, H: int, reverse: bool) -> dict:
        out = super().states(arrays, T, H, reverse)
        return {k: v.flip(0) for k, v in out.items()} if reverse else out

    def _slices(self, H: int) -> dict[str, slice]:
        C = H // self.block_size
        return {"c": slice(0, H), "in": slice(H, H + C), "out": slice(H + C, H + 2 * C)}

    def weight_names(self, bias: bool) -> list[str]:
        return ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])

    def weight_shapes(self, input_size: int, hidden_size: int, bias: bool) -> list[tuple[int, ...]]:
        R = hidden_size + 2 * (hidden_size // self.block_size)
        return [(R, input_size), (R, hidden_size)] + ([(R,), (R,)] if bias else [])

    def shapes(self, T: int, B: int, I: int, H: int) -> list[tuple[int, ...]]:
        C = H // self.block_size
        widths = {"u": I + H, "net_in": C, "y_in": C, "net_out": C, "y_out": C}
        return [(T, B, widths.get(name, H)) for name in _BLOCK_FIELDS]

    def _bind(self, x: np.ndarray, H: int, weights: list[np.ndarray]):
        """The block cell with parameters assembled from the torch-layout weights."""
        bias = len(weights) > 2
        cell = self.cell(x.shape[2], H, bias, x.dtype, threading.get_ident())
        p = {"W_k": cell.params["W_k"]}
        for unit, rows in self._slices(H).items():
            p[f"W_{unit}"] = np.concatenate([weights[0][rows], weights[1][rows]], axis=1)  # W_h = [W_ih | W_hh]
            if bias:
                p[f"b_{unit}"] = weights[2][rows] + weights[3][rows]
        cell.params = p
        return cell

    def _state(self, cell, init: list[np.ndarray]) -> BlockState:
        """The block state with y^c = h and s = c; the gates' previous activations are unused (u has none)."""
        zero = np.zeros((init[0].shape[0], cell.num_blocks), cell.dtype)
        return BlockState(init[0], zero, zero, init[1])

    def forward(self, x, init, weights, reverse):
        cell = self._bind(x, init[0].shape[1], weights)
        if reverse:
            x = x[::-1].copy()
        trace = release(cell.forward(x, self._state(cell, init)))  # the arrays become torch's
        return [getattr(trace, name) for name in _BLOCK_FIELDS]

    def backward(self, x, init, weights, saved, d_out, d_finals, reverse):
        H = init[0].shape[1]
        cell = self._bind(x, H, weights)
        arrays = dict(zip(_BLOCK_FIELDS, saved, strict=True))  # x gives only its shape: u holds the inputs
        state = self._state(cell, init)
        trace = BlockTrace(x=x, outputs=arrays["y_k"], initial_state=state, final_state=state, net_phi=None,
                           y_phi=None, **arrays)
        grads = cell.backward(trace, d_out, self._state(cell, [np.zeros_like(d_finals[1]), d_finals[1]]))
        dx = grads.inputs[::-1].copy() if reverse else grads.inputs
        I = x.shape[2]
        d_w = [np.concatenate([grads[f"W_{u}"][:, :I] for u in _BLOCK_ROWS]),
               np.concatenate([grads[f"W_{u}"][:, I:] for u in _BLOCK_ROWS])]
        if len(weights) > 2:
            db = np.concatenate([grads[f"b_{u}"] for u in _BLOCK_ROWS])
            d_w += [db, db.copy()]
        return np.ascontiguousarray(dx), [grads.initial_state.y_c, grads.initial_state.s], d_w


_LSTM_STATES = {"i": (2, 0, 1), "f": (2, 1, 1), "g": (2, 2, 1), "o": (2, 3, 1), "c": (1, 0, 1)}


@functools.cache
def get(spec: str) -> Kind:
    """The kind named by ``spec``: ``lstm``, ``gru``, ``cifg``, ``layernorm``, ``zoneout``, ``rnn:tanh``,
    ``rnn:relu``, ``peephole``, ``lstm1997:<g>:<h>:<block_size>``."""
    name, *args = spec.split(":")
    if name == "lstm":
        return StackedKind(spec, LSTM, state_columns=_LSTM_STATES)
    if name == "gru":
        return StackedKind(spec, GRU, state_columns={"r": (1, 0, 1), "z": (1, 1, 1), "n": (1, 2, 1)})
    if name == "cifg":
        return StackedKind(spec, LSTMCIFG,
                           state_columns={"i": (2, 0, 1), "g": (2, 1, 1), "o": (2, 2, 1), "c": (1, 0, 1)})
    if name == "zoneout":
        return ZoneoutKind(spec)
    if name == "layernorm":
        return StackedKind(spec, LSTMLayerNorm, state_columns=_LSTM_STATES)
    if name == "rnn":
        return StackedKind(spec, RNN, {"nonlinearity": args[0]})
    if name == "peephole":
        return StackedKind(spec, LSTMPeepholeStacked, state_columns=_LSTM_STATES)
    if name == "lstm1997":
        g, h, size = args
        return BlockKind(spec, {"g": g, "h": h, "block_size": size})
    raise OptionError(message("yetztml.torch kind", "lstm, gru, rnn:…, peephole or lstm1997:…", repr(spec)))
