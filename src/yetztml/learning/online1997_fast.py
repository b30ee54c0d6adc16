"""The 1997 online algorithm fused into one compiled call per chunk of sequences (memory blocks, B = 1).

The same mathematics as :mod:`~yetztml.learning.truncated1997` (its (TP1)–(TP3), (TE1)–(TE4), (TU1)–(TU5)) and
its online mode (:func:`~yetztml.learning.online.online_sgd`), specialised for the paper reproductions:
many short sequences presented one at a time, error at chosen steps, a weight change right after every
step with error. Per step t of a sequence, with u(t) = [x(t); y^c(t−1); y^in(t−1); y^φ(t−1); y^out(t−1); 1]
(the recurrent part set by the cell's ``recurrent`` option, the trailing 1 is the bias source) and
v(t) = [x(t) (shortcut only); y^c(t); 1]::

    (OF1) forward (BF1)–(BF9) of the cell and the partials (TP1)–(TP3) [1997 eqs. 7–9, 25, 27; Gers 2000]
    (OF2) at a step with error: d_k = ε (y^k(t) − t^k(t))          ε = ``error_scale`` (1: eqs. 19–28)
    (OF3) e_k = −f'_k(net_k(t)) d_k   (−d_k with ``output_derivative=False``)        [1997 eq. 19]
    (OF4) e_out, e_s from e_k through the output weights as (TE2)–(TE4)        [1997 eqs. 21, 23]
    (OF5) Δw = α m_w (e_l y^m)   for output units and output gates,                   [1997 eq. 22]
         Δw = α m_w Σ_v e_s ∂s/∂w for cells, input and forget gates         [1997 eqs. 24, 26, 28]
         α = lr · decayᶜ (c = steps since the sequence began, or since the run began), m_w ∈ {0, 1}
         the trainability mask (0 for absent biases and frozen weights)

With ε = 1 and the output derivative kept, (OF2)–(OF5) is the appendix's rule Δw = α e y with
e_k = f'_k (t^k − y^k): the "as written" reading. The generic kernel with the squared error
(gradient 2(y − t)) and learning rate lr/2 makes exactly the same changes; a test proves it.

Every weight change of a step reads the weights before any is written. Activations (and partials) start
from 0 at every sequence [1997 §5] unless a call continues the previous call's last sequence. With
``per_sequence`` the weights stay fixed within a sequence and the summed changes (OF5) are applied at its
end: then one sequence's change is −(α/2) × the ``truncated1997`` gradient of the squared error (a test).

Inputs are dense rows x(t) or, for the one-hot tasks, the index of the active unit: sums skip the zero
inputs, and without forget gates only the active input's column of ∂s/∂w changes (exactly). The two forms
are two compiled entry points, ``run_dense`` and ``run_onehot``, of one inlined loop.

Per-sequence records, over the steps flagged as criterion steps (``CRITERION``): the largest and the mean
|c^k − y^k| (c the criterion targets, e.g. the noise-free targets of Exp 3c), and over the error steps
Σ_k (t^k − y^k)². A sliding window over the last ``window`` sequences can stop training at the first
sequence after which the window is full, holds fewer than ``max_wrong`` sequences whose largest
criterion error is ≥ ``tolerance``, and whose mean criterion error is below ``max_mean_error`` (ST3(β) of
1997 Table 11 is window 2000, max_wrong 1, max_mean_error β). ``stop_tolerance`` > 0 ends the call at the
first criterion step with an error ≥ it (Gers 2000's streams), after that step's weight change.

The compiled kernel is :mod:`yetztml.learning.online1997_kernel` (IEEE arithmetic, bit-for-bit
reproducible); this module is its Python side: the packed data, the stacked weights, validation.

Shapes: S packed steps, n sequences, I inputs, K outputs, C blocks of S_b cells, N = C·S_b, H = N + C
(+ C forget gates) (+ C output gates) rows, U + 1 sources of cells and gates, V + 1 of the outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..cells.block_cell import MemoryBlockCell
from ..cells.block_step import REC_CELLS, REC_FULL
from ..core import activations
from ..core.errors import DTypeError, NonFiniteError, OptionError, ShapeError, UnsupportedError, message
from ..core.validation import check_float, check_int
from .online1997_kernel import CRITERION, ERROR, run_dense, run_onehot


@dataclass(frozen=True)
class Packed:
    """Sequences laid end to end. Sequence i is rows starts[i] … starts[i + 1] − 1 of:

    x (S, I) dense inputs, or ``index`` (S,) the one-hot input unit of each step (then x is (0, I));
    targets and criterion targets (S, K); flags (S,) uint8 with :data:`ERROR` and :data:`CRITERION`
    bits; starts (n + 1,) int64.
    """

    x: np.ndarray
    index: np.ndarray
    targets: np.ndarray
    criterion_targets: np.ndarray
    flags: np.ndarray
    starts: np.ndarray

    @property
    def count(self) -> int:
        """Number of sequences n."""
        return int(self.starts.shape[0] - 1)

    @property
    def steps(self) -> int:
        """Number of steps of all sequences."""
        return int(self.starts[-1])

    @property
    def onehot(self) -> bool:
        return self.x.shape[0] == 0

    def check(self, thing: str, input_size: int, output_size: int) -> Packed:
        """Validate shapes, dtypes, finiteness and index ranges; return self."""
        n = self.count
        if self.starts.dtype != np.int64 or self.starts.ndim != 1 or n < 0 or self.starts[0] != 0:
            raise ShapeError(message(f"{thing} starts", "int64 (n + 1,) beginning with 0", self.starts.dtype))
        if n > 0 and np.any(np.diff(self.starts) < 1):
            raise ShapeError(message(f"{thing} starts", "strictly increasing offsets", "an empty sequence"))
        S = self.steps
        arrays = [("targets", self.targets, output_size), ("criterion_targets", self.criterion_targets, output_size)]
        if not self.onehot:
            arrays.append(("x", self.x, input_size))
        for name, array, width in arrays:
            if array.dtype != np.float64:
                raise DTypeError(message(f"{thing} {name}", "float64", array.dtype))
            if array.ndim != 2 or array.shape[0] < S or array.shape[1] != width:
                raise ShapeError(message(f"{thing} {name}", f"shape (>= {S}, {width})", array.shape))
            if not np.all(np.isfinite(array[:S])):
                raise NonFiniteError(message(f"{thing} {name}", "finite values", "NaN/inf"))
        if self.onehot:
            index = self.index[:S]
            if self.index.dtype != np.int64 or index.shape[0] != S:
                raise ShapeError(message(f"{thing} index", f"int64 ({S},)", f"{self.index.dtype} {self.index.shape}"))
            if S and (index.min() < 0 or index.max() >= input_size):
                raise OptionError(message(f"{thing} index", f"input units in [0, {input_size})", "out of range"))
        if self.flags.dtype != np.uint8 or self.flags.shape[0] < S:
            raise ShapeError(message(f"{thing} flags", f"uint8 (>= {S},)", f"{self.flags.dtype} {self.flags.shape}"))
        return self


def pack(samples, *, criterion_targets=None, criterion_steps=None, onehot: bool = False) -> Packed:
    """Pack task samples (x (T, I), targets (T, K), mask (T,)) end to end.

    Error steps are the samples' masks; criterion steps (a list of (T,) bool) default to the same steps
    and criterion targets to the targets. ``onehot`` stores each step's input as the index of its single 1.
    """
    samples = list(samples)
    lengths = np.array([s.x.shape[0] for s in samples], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    x = np.concatenate([s.x for s in samples]).astype(np.float64)
    tgt = np.ascontiguousarray(np.concatenate([s.targets for s in samples]), dtype=np.float64)
    flags = np.concatenate([s.mask for s in samples]).astype(np.uint8) * np.uint8(ERROR)
    crit = flags.astype(bool) if criterion_steps is None else np.concatenate(list(criterion_steps))
    flags |= crit.astype(np.uint8) * np.uint8(CRITERION)
    ctgt = tgt if criterion_targets is None else np.concatenate(list(criterion_targets)).astype(np.float64)
    if onehot:
        if not np.all((x == 0.0) | (x == 1.0)) or not np.all(x.sum(axis=1) == 1.0):
            raise OptionError(message("pack(onehot=True)", "one-hot input rows", "other inputs"))
        index = x.argmax(axis=1).astype(np.int64)
        x = np.zeros((0, x.shape[1]))
    else:
        index = np.zeros(0, np.int64)
    return Packed(np.ascontiguousarray(x), index, tgt, np.ascontiguousarray(ctgt), flags, starts)


class FastNet:
    """A memory-block cell's weights stacked for the kernels, with a trainability mask and a workspace.

    W (H, U + 1): rows W_c, W_in, W_phi, W_out with their biases as the last column; Wk (K, V + 1): W_k
    and b_k. Absent biases are 0 with mask 0. ``to_cell`` writes the weights back into the cell.
    Supports LSTM1997 and LSTMForget (no peepholes), float64.
    """

    def __init__(self, cell: MemoryBlockCell) -> None:
        thing = "FastNet(cell)"
        if not isinstance(cell, MemoryBlockCell) or cell.peepholes:
            raise UnsupportedError(
                message(thing, "an LSTM1997 or LSTMForget cell (no peepholes)", type(cell).__name__)
            )
        if cell.dtype != np.float64:
            raise DTypeError(message(thing, "a float64 cell", str(cell.dtype), "Build the cell with dtype=np.float64."))
        self.cell = cell
        C, S, N = cell.num_blocks, cell.block_size, cell.num_cells
        Cf = C if cell.forget_gate else 0
        Co = C if cell.output_gate else 0
        U, K, V = cell.num_sources, cell.output_size, cell.num_output_sources
        self.rows = {"c": (0, N), "in": (N, N + C), "phi": (N + C, N + C + Cf), "out": (N + C + Cf, N + C + Cf + Co)}
        H = N + C + Cf + Co
        self.W = np.zeros((H, U + 1))
        self.Wk = np.zeros((K, V + 1))
        self.dW = np.zeros((H, U + 1))  # summed changes of a sequence (per-sequence updates)
        self.dWk = np.zeros((K, V + 1))
        self.MW = np.ones((H, U + 1))
        self.MWk = np.ones((K, V + 1))
        self.dims = (
            cell.input_size, C, S, Cf, Co, {"none": 0, "cells": REC_CELLS, "full": REC_FULL}[cell.recurrent],
            bool(cell.shortcut), activations.CODES[cell.g], activations.CODES[cell.h],
            activations.CODES[cell.output],
        )
        self.u = np.zeros(U + 1)
        self.v = np.zeros(V + 1)
        self.state = (np.zeros((10, max(N, C))), np.zeros((3 if Cf else 2, N, U + 1)))
        self.load()

    def load(self) -> None:
        """Copy the cell's parameters into W, Wk; absent biases get mask 0."""
        p = self.cell.params
        for unit, (a, b) in self.rows.items():
            if a == b:
                continue
            self.W[a:b, :-1] = p[f"W_{unit}"]
            bias = p.get(f"b_{unit}")
            self.W[a:b, -1] = 0.0 if bias is None else bias
            self.MW[a:b, -1] = 0.0 if bias is None else 1.0
        self.Wk[:, :-1] = p["W_k"]
        self.Wk[:, -1] = p.get("b_k", 0.0)
        self.MWk[:, -1] = 1.0 if "b_k" in p else 0.0

    def to_cell(self) -> None:
        """Write W, Wk back into the cell's parameter arrays (in place)."""
        p = self.cell.params
        for unit, (a, b) in self.rows.items():
            if a == b:
                continue
            p[f"W_{unit}"][...] = self.W[a:b, :-1]
            if f"b_{unit}" in p:
                p[f"b_{unit}"][...] = self.W[a:b, -1]
        p["W_k"][...] = self.Wk[:, :-1]
        if "b_k" in p:
            p["b_k"][...] = self.Wk[:, -1]

    def set_trainable(self, unit: str, trainable: bool, columns: slice | None = None) -> None:
        """Allow or forbid changes to a unit's weights ("c", "in", "phi", "out" or "k"; some columns).

        Absent biases stay untrainable.
        """
        value = 1.0 if trainable else 0.0
        cols = slice(None) if columns is None else columns
        if unit == "k":
            self.MWk[:, cols] = value
            self.MWk[:, -1] *= 1.0 if "b_k" in self.cell.params else 0.0
            return
        check_choice_unit = tuple(self.rows)
        if unit not in self.rows:
            raise OptionError(message("FastNet.set_trainable(unit)", f"one of {check_choice_unit + ('k',)}", unit))
        a, b = self.rows[unit]
        self.MW[a:b, cols] = value
        if f"b_{unit}" not in self.cell.params:
            self.MW[a:b, -1] = 0.0

    def check_finite(self) -> None:
        """NonFiniteError if a weight became NaN/inf (learning rate too large)."""
        if not (np.all(np.isfinite(self.W)) and np.all(np.isfinite(self.Wk))):
            raise NonFiniteError(
                message("weights after online training", "finite values", "NaN/inf", "Lower the learning rate.")
            )


class Window:
    """The sliding-window stop rule over training sequences (ST3(β) of 1997 Table 11 and relatives).

    Stop after the first sequence at which the last ``length`` sequences hold fewer than ``max_wrong``
    sequences whose largest criterion error is ≥ the tolerance, and their mean criterion error is
    below ``max_mean_error``. The window's contents persist across calls; ``active=False`` keeps
    filling it without stopping.
    """

    def __init__(self, length: int, max_wrong: float = 1.0, max_mean_error: float = math.inf) -> None:
        self.length = check_int("Window(length)", length, minimum=1)
        self.max_wrong = check_float("Window(max_wrong)", max_wrong, minimum=0.0)
        self.max_mean_error = float(max_mean_error)
        self.ring = np.zeros((self.length, 2))
        self.state = np.zeros(4)  # filled, next slot, wrong count, error sum
        self.active = True

    @property
    def filled(self) -> int:
        return int(self.state[0])

    @property
    def wrong(self) -> int:
        return int(round(self.state[2]))

    @property
    def mean_error(self) -> float:
        return float(self.state[3] / max(1, self.filled))


_NO_RING = np.zeros((0, 2))
_NO_OUTPUTS = np.zeros((0, 0))


@dataclass
class Outcome:
    """What one kernel call did: sequences processed, why it stopped, per-sequence records."""

    done: int
    reason: str  # "end", "window" or "error"
    count: int
    records: np.ndarray  # (done, 4): sse, max criterion error, mean criterion error, steps


_REASONS = ("end", "window", "error")


def train_online(
    net: FastNet,
    data: Packed,
    *,
    lr: float,
    order: np.ndarray | None = None,
    tolerance: float = math.inf,
    window: Window | None = None,
    error_scale: float = 1.0,
    output_derivative: bool = True,
    decay: float = 1.0,
    reset_count: bool = True,
    count: int = 0,
    stop_tolerance: float = 0.0,
    continue_state: bool = False,
    per_sequence: bool = False,
    trusted: bool = False,
) -> Outcome:
    """Train ``net`` online on the sequences of ``data`` (in ``order``, default all in turn).

    ``lr`` is the paper's α with ``error_scale=1`` (eqs. 19–28: Δw = α e y). ``tolerance`` defines a
    correct sequence for the window rule; ``stop_tolerance`` > 0 stops at the first step whose criterion
    error reaches it. ``decay`` < 1 scales α by decayᶜ, c the steps since the sequence began
    (``reset_count``) or since the run began (``count`` carried by the caller). ``continue_state``
    continues the first sequence from the state and partials the previous call left (a stream cut into
    chunks). ``per_sequence`` holds the weights fixed within each sequence and applies the summed changes
    at its end (the same rule, other timing). Weights stay in ``net`` (``net.to_cell()`` writes them back).
    ``trusted`` skips the checks of ``data`` (for sets built by compiled generators, many small calls).
    """
    return _call(net, data, order, True, lr, tolerance, window, error_scale, output_derivative, decay,
                 reset_count, count, stop_tolerance, continue_state, None, per_sequence, trusted, False)


def evaluate(
    net: FastNet,
    data: Packed,
    *,
    order: np.ndarray | None = None,
    tolerance: float = math.inf,
    stop_tolerance: float = 0.0,
    continue_state: bool = False,
    outputs: np.ndarray | None = None,
    trusted: bool = False,
    stop_each: bool = False,
) -> Outcome:
    """Forward only over ``data``: per-sequence records; y at the flagged steps into ``outputs`` (S, K).

    ``stop_each`` makes ``stop_tolerance`` end only the sequence with the error (its record's step count
    says where), not the call: many independent streams scored in one call.
    """
    return _call(net, data, order, False, 0.0, tolerance, None, 1.0, True, 1.0, True, 0, stop_tolerance,
                 continue_state, outputs, False, trusted, stop_each)


def _call(net, data, order, train, lr, tolerance, window, error_scale, output_derivative, decay, reset_count,
          count, stop_tolerance, continue_state, outputs, per_sequence, trusted, stop_each) -> Outcome:
    thing = "train_online" if train else "evaluate"
    if not isinstance(net, FastNet):
        raise DTypeError(message(f"{thing}(net)", "a FastNet", type(net).__name__))
    if not isinstance(data, Packed):
        raise DTypeError(message(f"{thing}(data)", "a Packed data set", type(data).__name__))
    if not trusted:
        data.check(f"{thing}(data)", net.cell.input_size, net.cell.output_size)
    if order is None:
        order = np.arange(data.count, dtype=np.int64)
    elif order.dtype != np.int64 or order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= data.count)):
        raise OptionError(message(f"{thing}(order)", f"int64 sequence numbers in [0, {data.count})", "other values"))
    lr = check_float(f"{thing}(lr)", lr, minimum=0.0)
    error_scale = check_float(f"{thing}(error_scale)", error_scale)
    decay = check_float(f"{thing}(decay)", decay, minimum=0.0, maximum=1.0, strict_minimum=True)
    stop_tolerance = check_float(f"{thing}(stop_tolerance)", stop_tolerance, minimum=0.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, float | int) or not tolerance > 0:
        raise OptionError(message(f"{thing}(tolerance)", "a number > 0", repr(tolerance)))
    count = check_int(f"{thing}(count)", count, minimum=0)
    ring, wstate, max_wrong, max_mean = _NO_RING, np.zeros(4), 0.0, 0.0
    if window is not None:
        ring, wstate = window.ring, window.state
        if window.active:
            max_wrong, max_mean = float(window.max_wrong), float(window.max_mean_error)
    if outputs is None:
        outputs = _NO_OUTPUTS
    elif outputs.shape != (data.steps, net.cell.output_size) or outputs.dtype != np.float64:
        raise ShapeError(message(f"{thing}(outputs)", f"float64 {(data.steps, net.cell.output_size)}", outputs.shape))
    records = np.zeros((order.shape[0], 4))
    xi = data.index if data.onehot else np.zeros(0, np.int64)
    kernel = run_onehot if data.onehot else run_dense
    done, reason, final = kernel(
        (data.x, xi, data.targets, data.criterion_targets, data.flags, data.starts, order),
        (net.W, net.Wk, net.MW, net.MWk, net.u, net.v, net.state, net.dims, net.dW, net.dWk),
        (train, lr, decay, count, bool(reset_count), error_scale, bool(output_derivative), bool(continue_state),
         bool(per_sequence)),
        (float(tolerance), max_wrong, max_mean, stop_tolerance, bool(stop_each), ring, wstate),
        (records, outputs),
    )
    if train:
        net.check_finite()
    return Outcome(int(done), _REASONS[reason], int(final), records[:done])


__all__ = ["CRITERION", "ERROR", "FastNet", "Outcome", "Packed", "Window", "evaluate", "pack", "run_dense",
           "run_onehot", "train_online"]
