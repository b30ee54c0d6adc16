"""Shared machinery of the memory-block cells: options, parameters, states, traces, validation.

The equations live in :mod:`yetztml.cells.block_step` (the one step) and :mod:`yetztml.cells.blocks` (the
compiled forward and backward kernels) and, cell by cell, in
:mod:`~yetztml.cells.lstm1997`, :mod:`~yetztml.cells.lstm_forget` and :mod:`~yetztml.cells.lstm_peephole`.
This module turns the user's options into the kernels' flags and checks every input before compiled code
runs; the option choices, states, trace and option checks are :mod:`yetztml.cells.block_types` (re-exported
here).

Parameters, named by the math (C blocks, S cells per block, N = C·S, U sources of cells and gates, V
sources of the output layer)::

    W_c (N, U)   b_c (N,)     cell inputs                     bias on "cells"
    W_in (C, U)  b_in (C,)    input gates                     bias on "gates"
    W_phi (C, U) b_phi (C,)   forget gates (forget cells)     bias on "gates"
    W_out (C, U) b_out (C,)   output gates (output_gate=True) bias on "gates"
    P_in, P_phi, P_out (C, S) peepholes (peephole cells; P_phi with a forget gate, P_out with an output gate)
    W_k (K, V)   b_k (K,)     output units                    bias on "outputs"

Column order of u(t): x(t) (I), then per ``recurrent``: "none" nothing; "cells" y^c(t−1) (N); "full"
y^c(t−1) (N), y^in(t−1) (C), y^φ(t−1) (C, forget gate), y^out(t−1) (C, output gate). Column order of
v(t): x(t) (I, only with ``shortcut=True``), then y^c(t) (N).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from ..core import activations
from ..core.errors import DTypeError, OptionError, ShapeError, message
from ..core.rng import make_rng, uniform
from ..core.validation import check_choice, check_float, check_int, check_sizes
from .base import Cell, Grads, state_leaves
from .block_types import (
    BIAS_KINDS,
    BIAS_MODES,
    G_CHOICES,
    H_CHOICES,
    OUTPUT_CHOICES,
    RECURRENT,
    BlockState,
    BlockTrace,
    ForgetBlockState,
    bias_kinds,
    check_bool,
    per_block,
)
from .blocks import block_backward, block_forward


class MemoryBlockCell(Cell):
    """Memory blocks of S cells sharing their gates, feeding an output layer (see the module docstring).

    One constructor serves the family: a subclass names its paper's cell by the options it pins
    (:attr:`pinned`: passing another value raises :class:`~yetztml.core.errors.OptionError`) and by the
    defaults it changes (:attr:`defaults`); ``None`` for ``forget_gate``, ``peepholes`` or ``h`` means the
    cell's own value.
    """

    #: options this cell fixes: its paper's gates
    pinned: ClassVar[dict[str, object]] = {}
    #: defaults this cell's paper changes from the family's (forget gate on, no peepholes, h = "h1997")
    defaults: ClassVar[dict[str, object]] = {}

    def __init__(
        self,
        input_size: int,
        num_blocks: int,
        block_size: int,
        output_size: int,
        *,
        forget_gate: bool | None = None,
        peepholes: bool | None = None,
        g: str = "g1997",
        h: str | None = None,
        output: str = "logistic",
        recurrent: str = "full",
        shortcut: bool = False,
        bias: str | Iterable[str] = "all",
        output_gate: bool = True,
        init_range: float = 0.1,
        input_gate_bias: object = None,
        output_gate_bias: object = None,
        forget_gate_bias: object = None,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        given = {"forget_gate": forget_gate, "peepholes": peepholes, "h": h}
        for name, value in self.pinned.items():
            if given[name] not in (None, value):
                raise OptionError(
                    message(f"{cls}({name}=...)", f"{value!r} (the cell's equations fix it)", repr(given[name]),
                            "LSTM1997 has neither forget gate nor peepholes, LSTMForget has a forget gate and "
                            "no peepholes, LSTMPeephole has peepholes.")
                )
        family = {"forget_gate": True, "peepholes": False, "h": "h1997", **self.defaults, **self.pinned}
        forget_gate, peepholes, h = (family[k] if v is None else v for k, v in given.items())
        input_size, self.num_blocks, self.block_size, output_size = check_sizes(
            cls, input_size=input_size, num_blocks=num_blocks, block_size=block_size, output_size=output_size
        )
        super().__init__(input_size, output_size, dtype)
        self.forget_gate = check_bool(f"{cls}(forget_gate=...)", forget_gate)
        self.peepholes = check_bool(f"{cls}(peepholes=...)", peepholes)
        self.output_gate = check_bool(f"{cls}(output_gate=...)", output_gate)
        self.shortcut = check_bool(f"{cls}(shortcut=...)", shortcut)
        self.g = activations.ALIASES.get(g, g) if isinstance(g, str) else g
        self.h = activations.ALIASES.get(h, h) if isinstance(h, str) else h
        self.output = activations.ALIASES.get(output, output) if isinstance(output, str) else output
        self._g_kind = activations.code(f"{cls}(g=...)", g, G_CHOICES)
        self._h_kind = activations.code(f"{cls}(h=...)", h, H_CHOICES)
        self._k_kind = activations.code(f"{cls}(output=...)", output, OUTPUT_CHOICES)
        self.recurrent = check_choice(f"{cls}(recurrent=...)", recurrent, tuple(RECURRENT))
        self.bias = bias_kinds(f"{cls}(bias=...)", bias)
        self.init_range = check_float(f"{cls}(init_range=...)", init_range, minimum=0.0)
        overrides = {}
        for name, values, gate, present in (
            ("input_gate_bias", input_gate_bias, "b_in", True),
            ("output_gate_bias", output_gate_bias, "b_out", self.output_gate),
            ("forget_gate_bias", forget_gate_bias, "b_phi", self.forget_gate),
        ):
            if values is None:
                continue
            if not present:
                thing = f"{cls}({name}=...)"
                raise OptionError(message(thing, "None (the cell has no such gate)", repr(values)))
            if "gates" not in self.bias:
                raise OptionError(
                    message(
                        f"{cls}({name}=...)", "a bias mode with gate biases", f"bias={sorted(self.bias)}",
                        "Use bias='gates', 'hidden' or 'all', or a set containing 'gates'.",
                    )
                )
            overrides[gate] = per_block(f"{cls}({name}=...)", values, self.num_blocks)
        self._init_params(make_rng(seed), overrides)

    # -- sizes --------------------------------------------------------------------------------------
    @property
    def num_cells(self) -> int:
        """N = C·S memory cells."""
        return self.num_blocks * self.block_size

    @property
    def num_sources(self) -> int:
        """U: width of u(t) (BF1), the sources of cells and gates."""
        C, N = self.num_blocks, self.num_cells
        if self.recurrent == "none":
            return self.input_size
        if self.recurrent == "cells":
            return self.input_size + N
        return self.input_size + N + C * (1 + self.forget_gate + self.output_gate)

    @property
    def num_output_sources(self) -> int:
        """V: width of v(t) (BF8), the sources of the output units."""
        return self.num_cells + (self.input_size if self.shortcut else 0)

    # -- parameters ---------------------------------------------------------------------------------
    def _gates(self) -> list[str]:
        """Gate names in the row order of W_h."""
        return ["in"] + (["phi"] if self.forget_gate else []) + (["out"] if self.output_gate else [])

    def _init_params(self, rng: np.random.Generator, overrides: dict[str, np.ndarray]) -> None:
        """All weights and biases U[−r, r] [1997 §5], then the per-block gate-bias overrides."""
        C, S, N, U = self.num_blocks, self.block_size, self.num_cells, self.num_sources
        K, V, r, dt = self.output_size, self.num_output_sources, self.init_range, self.dtype
        p: dict[str, np.ndarray] = {"W_c": uniform(rng, (N, U), r, dt)}
        if "cells" in self.bias:
            p["b_c"] = uniform(rng, (N,), r, dt)
        for gate in self._gates():
            p[f"W_{gate}"] = uniform(rng, (C, U), r, dt)
            if "gates" in self.bias:
                p[f"b_{gate}"] = uniform(rng, (C,), r, dt)
        if self.peepholes:
            for gate in self._gates():
                p[f"P_{gate}"] = uniform(rng, (C, S), r, dt)
        p["W_k"] = uniform(rng, (K, V), r, dt)
        if "outputs" in self.bias:
            p["b_k"] = uniform(rng, (K,), r, dt)
        for name, values in overrides.items():
            p[name] = values.astype(dt)
        self.params = p

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """W_h (H, U), b_h (H,), P (3, C, S), b_k (K,) for the kernels; absent pieces are zeros."""
        p, C, S, N, dt = self.params, self.num_blocks, self.block_size, self.num_cells, self.dtype
        W_h = np.concatenate([p["W_c"]] + [p[f"W_{gate}"] for gate in self._gates()], axis=0)
        b_h = np.concatenate(
            [p.get("b_c", np.zeros(N, dt))] + [p.get(f"b_{gate}", np.zeros(C, dt)) for gate in self._gates()]
        )
        P = np.zeros((3, C, S), dt)
        for row, gate in enumerate(("in", "phi", "out")):
            if f"P_{gate}" in p:
                P[row] = p[f"P_{gate}"]
        b_k = p.get("b_k", np.zeros(self.output_size, dt))
        return np.ascontiguousarray(W_h), b_h, P, b_k

    # -- states -------------------------------------------------------------------------------------
    def zero_state(self, batch: int):
        """The state before the first step: all activations and cell states 0 [1997 §5]."""
        batch = check_int(f"{type(self).__name__}.zero_state(batch)", batch, minimum=1)
        C, N, dt = self.num_blocks, self.num_cells, self.dtype
        Co = C if self.output_gate else 0
        if self.forget_gate:
            return ForgetBlockState(
                np.zeros((batch, N), dt), np.zeros((batch, C), dt), np.zeros((batch, C), dt),
                np.zeros((batch, Co), dt), np.zeros((batch, N), dt),
            )
        return BlockState(
            np.zeros((batch, N), dt), np.zeros((batch, C), dt), np.zeros((batch, Co), dt),
            np.zeros((batch, N), dt),
        )

    def _state(self, thing: str, state: object, batch: int):
        """A user state checked against the zero state and rebuilt as this cell's NamedTuple."""
        template = self.zero_state(batch)
        self._check_state(thing, state, template)
        return type(template)(*[np.ascontiguousarray(a) for a in state_leaves(state)])

    def _flags(self) -> tuple:
        return (
            self.num_blocks, self.block_size, self._g_kind, self._h_kind, self._k_kind,
            RECURRENT[self.recurrent], self.shortcut, self.forget_gate, self.output_gate, self.peepholes,
        )

    # -- forward (BF1)–(BF9) --------------------------------------------------------------------------
    def forward(self, x: np.ndarray, state=None) -> BlockTrace:
        """Run (BF1)–(BF9) over x (T, B, I) from ``state`` (default: zero state); return the full trace."""
        cls = type(self).__name__
        x = self._check_input(x)
        self._check_params_finite()
        batch = x.shape[1]
        st = self.zero_state(batch) if state is None else self._state(f"{cls}.forward(state)", state, batch)
        if self.forget_gate:
            y_c0, y_in0, y_phi0, y_out0, s0 = st
        else:
            y_c0, y_in0, y_out0, s0 = st
            y_phi0 = np.zeros((batch, 0), self.dtype)
        W_h, b_h, P, b_k = self._stacked()
        C, S, g_kind, h_kind, k_kind, rec, shortcut, forget, out, peep = self._flags()
        traj = block_forward(
            x, W_h, b_h, P, self.params["W_k"], b_k, y_c0, y_in0, y_phi0, y_out0, s0,
            C, S, g_kind, h_kind, k_kind, rec, shortcut, forget, out, peep,
        )
        u, v, net_c, g_c, net_in, y_in, net_phi, y_phi, s, net_out, y_out, h_s, y_c, net_k, y_k = traj
        last = (y_c[-1].copy(), y_in[-1].copy(), y_phi[-1].copy(), y_out[-1].copy(), s[-1].copy())
        final = ForgetBlockState(*last) if forget else BlockState(last[0], last[1], last[3], last[4])
        return BlockTrace(
            x=x, outputs=y_k, initial_state=st, final_state=final, u=u, net_c=net_c, g=g_c,
            net_in=net_in, y_in=y_in, net_phi=net_phi if forget else None, y_phi=y_phi if forget else None,
            s=s, net_out=net_out if out else None, y_out=y_out if out else None, h_s=h_s, y_c=y_c,
            v=v, net_k=net_k, y_k=y_k,
        )

    # -- backward (BB1)–(BB10) ------------------------------------------------------------------------
    def backward(
        self, trace: BlockTrace, d_outputs: np.ndarray, d_final_state=None, truncate: bool = False
    ) -> Grads:
        """Gradient of Σ d_outputs·outputs (+ Σ d_final_state·final_state) by (BB1)–(BB10).

        ``truncate=False`` is exact BPTT; ``truncate=True`` is the 1997 truncated gradient (see
        :mod:`yetztml.cells.blocks`). Uses the current ``params``: call it before changing them.
        """
        cls = type(self).__name__
        truncate = check_bool(f"{cls}.backward(truncate=...)", truncate)
        self._check_trace(trace)
        d_outputs = np.ascontiguousarray(self._check_d_outputs(trace, d_outputs))
        self._check_params_finite()
        T, batch, _ = trace.x.shape
        if d_final_state is None:
            d_fin = self.zero_state(batch)
        else:
            d_fin = self._state(f"{cls}.backward(d_final_state)", d_final_state, batch)
        if self.forget_gate:
            e_c, e_in, e_phi, e_out, e_s = d_fin
        else:
            e_c, e_in, e_out, e_s = d_fin
            e_phi = np.zeros((batch, 0), self.dtype)
        empty = np.zeros((T, batch, 0), self.dtype)
        y_phi = empty if trace.y_phi is None else trace.y_phi
        y_out = empty if trace.y_out is None else trace.y_out
        s0 = np.ascontiguousarray(trace.initial_state.s)
        W_h, _, P, _ = self._stacked()
        C, S, g_kind, h_kind, k_kind, rec, shortcut, forget, out, peep = self._flags()
        dW_h, db_h, dP, dW_k, db_k, dx, d_c, d_in, d_phi, d_out, d_s = block_backward(
            trace.u, trace.v, trace.net_c, trace.g, trace.y_in, y_phi, trace.s, y_out, trace.h_s,
            trace.net_k, trace.y_k, s0, W_h, P, self.params["W_k"], d_outputs, e_c, e_in, e_phi, e_out, e_s,
            C, S, self.input_size, g_kind, h_kind, k_kind, rec, shortcut, forget, out, peep, truncate,
        )
        grads = self._unstack(dW_h, db_h, dP, dW_k, db_k)
        if forget:
            d_init = ForgetBlockState(d_c, d_in, d_phi, d_out, d_s)
        else:
            d_init = BlockState(d_c, d_in, d_out, d_s)
        return Grads(grads, inputs=dx, initial_state=d_init)

    def _unstack(self, dW_h, db_h, dP, dW_k, db_k) -> dict[str, np.ndarray]:
        """Split the kernels' stacked gradients into arrays keyed like ``params``."""
        C, N = self.num_blocks, self.num_cells
        rows = {"c": slice(0, N)}
        for i, gate in enumerate(self._gates()):
            rows[gate] = slice(N + i * C, N + (i + 1) * C)
        found = {"W_k": dW_k, "b_k": db_k}
        for unit, sl in rows.items():
            found[f"W_{unit}"] = dW_h[sl]
            found[f"b_{unit}"] = db_h[sl]
        for row, gate in enumerate(("in", "phi", "out")):
            found[f"P_{gate}"] = dP[row]
        return {name: np.ascontiguousarray(found[name]) for name in self.params}

    def _check_trace(self, trace: object) -> None:
        """The trace must come from ``forward`` of a cell with this cell's sizes and options."""
        cls = type(self).__name__
        if not isinstance(trace, BlockTrace):
            raise DTypeError(
                message(f"{cls}.backward(trace)", "the BlockTrace returned by forward", type(trace).__name__)
            )
        T, batch, _ = trace.x.shape
        want = {
            "u": (T, batch, self.num_sources), "v": (T, batch, self.num_output_sources),
            "s": (T, batch, self.num_cells), "y_in": (T, batch, self.num_blocks),
            "y_k": (T, batch, self.output_size),
        }
        for name, shape in want.items():
            got = getattr(trace, name)
            if got.shape != shape or got.dtype != self.dtype:
                raise ShapeError(
                    message(
                        f"{cls}.backward(trace.{name})", f"shape {shape}, dtype {self.dtype}",
                        f"shape {got.shape}, dtype {got.dtype}",
                        "Pass the trace returned by this cell's forward",
                    )
                )
        if (trace.y_phi is None) == self.forget_gate or (trace.y_out is None) == self.output_gate:
            raise OptionError(
                message(f"{cls}.backward(trace)", "a trace of a cell with the same gates", "different gates")
            )


__all__ = [
    "BIAS_KINDS", "BIAS_MODES", "G_CHOICES", "H_CHOICES", "OUTPUT_CHOICES", "RECURRENT",
    "BlockState", "BlockTrace", "ForgetBlockState", "MemoryBlockCell",
]
