"""Stacked and bidirectional recurrence: the driver shared by the PyTorch-layout RNN, LSTM and GRU.

Each of those cells has one compiled forward and one compiled backward kernel that run a single layer in
a single direction over the whole sequence. This module stacks the layers and runs the reverse direction
(time read from T−1 down to 0), with PyTorch's layout and parameter names. D = 2 directions when
``bidirectional``, else 1; L = ``num_layers``; state arrays are ``(L·D, B, H)`` with row ``l·D + d``.

Forward, for layer l = 0…L−1 and direction d (→ runs t = 0…T−1, ← runs t = T−1…0)::

    (ST1)  x⁽⁰⁾(t) = x(t)                                                     (T, B, I)
    (ST2)  h⁽ˡᵈ⁾ = sweep(x⁽ˡ⁾, state₀[l·D + d])    the cell's own equations   (T, B, H)
    (ST3)  x⁽ˡ⁺¹⁾(t) = [h⁽ˡ→⁾(t) | h⁽ˡ←⁾(t)]       (only h⁽ˡ→⁾(t) when D = 1)   (T, B, D·H)
    (ST4)  outputs = x⁽ᴸ⁾;  final_state[l·D + d] = state of sweep (l, d) after its last step

Backward (δ· = ∂L/∂·, L = Σ δoutputs·outputs + Σ δfinal·final_state)::

    (ST5)  δx⁽ᴸ⁾ = δoutputs;  sweep (l, d) receives columns d·H…(d+1)·H of δx⁽ˡ⁺¹⁾ and, at its last
          step, δfinal_state[l·D + d]
    (ST6)  δx⁽ˡ⁾ = Σ_d δx⁽ˡᵈ⁾                      both directions read the same input
    (ST7)  δx = δx⁽⁰⁾;  δstate₀[l·D + d] = what sweep (l, d) passes back from its first step

Storage of one sweep: ``h`` is ``(T+1, B, H)`` in time order with one extra slot for the initial state,
``h[t + 1] = h(t)`` for → (initial state in ``h[0]``) and ``h[t] = h(t)`` for ← (initial state in
``h[T]``). With r = 0 for → and 1 for ←, step t reads ``h[t + r]`` and writes ``h[t + 1 − r]``, and the
rows ``h[r : T + r]`` are the previous states of all steps at once (one GEMM for the weight gradients).

The trajectory arrays are allocated here, with NumPy, and filled by the kernels: NumPy asks for
transparent huge pages for large arrays, which made first use of a fresh 50 MB buffer about 4x cheaper
than an allocation inside compiled code (9 ms against 36 ms on the development machine). float32 cells
evaluate tanh and σ with the fast rational form of :mod:`yetztml.core.squash`; float64 cells use libm's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..core.errors import DTypeError, ShapeError, message
from ..core.rng import make_rng, uniform
from ..core.validation import check_array, check_sizes
from .base import Cell, Grads, Trace
from .sweep import Sweep

_FLOAT32 = np.dtype(np.float32)


@dataclass
class StackTrace(Trace):
    """A :class:`Trace` with every layer's and direction's :class:`Sweep`: ``layers[l][d]``."""

    layers: list[tuple[Any, ...]] = field(default_factory=list)


def _check_bool(thing: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise DTypeError(message(thing, "True or False", f"{type(value).__name__} {value!r}"))
    return bool(value)


def _suffix(keys: tuple) -> str:
    """The layer and direction suffix of a parameter name ("_l0", "_l1_reverse", …)."""
    return keys[0].removeprefix("weight_ih")


def _sums_finite(a: np.ndarray) -> bool:
    """The quick finiteness test: one sum, without NumPy's warning when huge finite values overflow it (the
    full check that follows a non-finite sum tells those apart)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(a.sum())


class Stacked(Cell):
    """Base of the PyTorch-layout cells: parameters, validation, and the layer/direction driver.

    Subclasses set ``gate_blocks`` (rows of ``weight_ih`` per hidden unit), ``state_type`` (None for a
    one-part state h, else a NamedTuple such as :class:`~yetztml.cells.sweep.LSTMState`), ``_sweep_type``,
    ``trajectories``, ``extra_params`` (what each layer and direction has beside ``nn.LSTM``'s four) and
    two methods around their compiled kernels:

    * ``_sweep(x, keys, init, reverse) -> Sweep`` — forward of one layer and direction;
    * ``_sweep_back(sweep, keys, d_out, d_final) -> (δx, {key: grad}, δinitial state parts)``.

    The two given here call ``_forward_kernel`` and ``_backward_kernel``, kernels that take and return::

        forward(x, W_ih, W_hh, b_ih, b_hh, *extras, *initial state, *options, reverse, fast, *trajectories)
        backward(x, W_ih, W_hh, *extras, *trajectories, δoutputs, *δfinal state, *options, reverse,
                 *workspaces, δx)
            → δW_ih, δW_hh, δb_ih[, δb_hh], *δextras, *δinitial state

    (``options``: what :meth:`_kernel_options` returns, e.g. the RNN's activation code; ``workspaces``: one
    scratch array per name in ``_workspaces``, (T, B, G·H) like the gates; δb_hh left out means it equals
    δb_ih). A cell whose kernels take more overrides the methods.
    """

    gate_blocks: ClassVar[int] = 1
    state_type: ClassVar[type | None] = None
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    _sweep_type: ClassVar[type] = Sweep
    #: (name, width in units of H, fill) per extra parameter; fill None draws U(−1/√H, 1/√H) after every
    #: other parameter, layer by layer and direction by direction.
    extra_params: ClassVar[tuple[tuple[str, int, float | None], ...]] = ()
    #: the arrays a sweep fills, in the order its forward kernel takes them: (field of ``_sweep_type``,
    #: rows beyond T, columns per hidden unit, columns more); shaped (T + rows, B, per·H + more).
    trajectories: ClassVar[tuple[tuple[str, int, int, int], ...]] = (("h", 1, 1, 0),)
    _workspaces: ClassVar[tuple[str, ...]] = ("da",)
    _forward_kernel: ClassVar[Any] = None
    _backward_kernel: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.state_type is not None:
            cls.state_names = tuple(cls.state_type._fields)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        bias: bool = True,
        batch_first: bool = False,
        bidirectional: bool = False,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        input_size, self.hidden_size, self.num_layers = check_sizes(
            cls, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers
        )
        self.bias = _check_bool(f"{cls}(bias=...)", bias)
        self.batch_first = _check_bool(f"{cls}(batch_first=...)", batch_first)
        self.bidirectional = _check_bool(f"{cls}(bidirectional=...)", bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        super().__init__(input_size, self.num_directions * self.hidden_size, dtype)
        rng = make_rng(seed)
        H, D, G = self.hidden_size, self.num_directions, self.gate_blocks
        scale = 1.0 / math.sqrt(H)
        self._keys: list[tuple[str, str, str | None, str | None]] = []
        self._shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.num_layers):
            width = input_size if layer == 0 else D * H  # I_l
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                keys = (f"weight_ih{sfx}", f"weight_hh{sfx}")
                shapes = [(G * H, width), (G * H, H)]
                if self.bias:
                    keys += (f"bias_ih{sfx}", f"bias_hh{sfx}")
                    shapes += [(G * H,), (G * H,)]
                for key, shape in zip(keys, shapes, strict=True):  # PyTorch's order and U(−1/√H, 1/√H)
                    self.params[key] = uniform(rng, shape, scale, self.dtype)
                    self._shapes[key] = shape
                self._keys.append(keys if self.bias else keys + (None, None))
        for keys in self._keys:
            for name, width, fill in self.extra_params:
                shape = (width * H,)
                value = uniform(rng, shape, scale, self.dtype) if fill is None else np.full(shape, fill, self.dtype)
                self.params[name + _suffix(keys)] = value
                self._shapes[name + _suffix(keys)] = shape
        self._scratch: dict[str, np.ndarray] = {}

    def _pack(self, leaves: tuple[np.ndarray, ...]) -> Any:
        """The user-facing state object made of ``leaves`` (an ndarray for a one-part state)."""
        return leaves[0] if self.state_type is None else self.state_type(*leaves)

    # -- helpers ----------------------------------------------------------------------------------
    @property
    def _fast(self) -> bool:
        """Whether the kernels use the fast rational tanh (float32 cells, see :mod:`yetztml.core.squash`)."""
        return self.dtype == _FLOAT32

    def _weights(self, keys: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(W_ih, W_hh, b_ih, b_hh) of one layer and direction; zero biases when ``bias=False``."""
        p = self.params
        w_ih = np.ascontiguousarray(p[keys[0]])
        w_hh = np.ascontiguousarray(p[keys[1]])
        if keys[2] is None:
            zero = np.zeros(w_hh.shape[0], dtype=self.dtype)
            return w_ih, w_hh, zero, zero
        return w_ih, w_hh, np.ascontiguousarray(p[keys[2]]), np.ascontiguousarray(p[keys[3]])

    @classmethod
    def trajectory_shapes(cls, T: int, B: int, H: int) -> list[tuple[int, int, int]]:
        """The shapes of ``trajectories`` for T steps, B sequences and H hidden units."""
        return [(T + rows, B, per * H + more) for _, rows, per, more in cls.trajectories]

    def _allocate(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Empty ``trajectories`` for a sweep over x (T, B, I), by field name in the kernel's order."""
        T, B, _ = x.shape
        shapes = self.trajectory_shapes(T, B, self.hidden_size)
        return {name: np.empty(shape, self.dtype) for (name, *_), shape in zip(self.trajectories, shapes, strict=True)}

    def _extras(self, keys: tuple) -> list[np.ndarray]:
        """The ``extra_params`` of one layer and direction, in their declared order, C-contiguous."""
        return [np.ascontiguousarray(self.params[name + _suffix(keys)]) for name, _, _ in self.extra_params]

    def _grads(self, keys: tuple, dw_ih, dw_hh, db_ih, db_hh=None, extras=()) -> dict[str, np.ndarray]:
        """{key: gradient} of one layer and direction: δb_hh is a copy of δb_ih unless given (the cells whose
        two biases enter only as their sum); ``extras`` in the order of ``extra_params``."""
        grads = {keys[0]: dw_ih, keys[1]: dw_hh}
        if keys[2] is not None:
            grads[keys[2]] = db_ih
            grads[keys[3]] = db_ih.copy() if db_hh is None else db_hh
        for (name, _, _), value in zip(self.extra_params, extras, strict=True):
            grads[name + _suffix(keys)] = value
        return grads

    def _workspace(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A scratch array kept between calls (one per name), for what a backward kernel uses and drops.

        Only the kernel reads and writes it, and a kernel holds the GIL for its whole run, so reuse is
        safe; it saves faulting in fresh pages (tens of MB at large sizes) on every call.
        """
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape or buf.dtype != self.dtype:
            buf = self._scratch[name] = np.empty(shape, self.dtype)
        return buf

    def _input(self, x: object) -> np.ndarray:
        """x time-major ``(T, B, I)`` and C-contiguous. One sum tests finiteness; the full check, with its
        messages, runs only when that quick test fails (or a huge finite x overflows the sum)."""
        if (
            type(x) is np.ndarray
            and x.dtype == self.dtype
            and x.ndim == 3
            and x.shape[2] == self.input_size
            and x.size
            and _sums_finite(x)
        ):
            return np.ascontiguousarray(x.transpose(1, 0, 2) if self.batch_first else x)
        return self._check_input(x, self.batch_first)

    def _d_outputs(self, trace: StackTrace, d_outputs: object) -> np.ndarray:
        """δoutputs time-major ``(T, B, D·H)``; quick test first, like :meth:`_input`."""
        d = d_outputs
        if not (
            type(d) is np.ndarray
            and d.dtype == self.dtype
            and d.shape == trace.outputs.shape
            and _sums_finite(d)
        ):
            d = self._check_d_outputs(trace, d)
        return d.transpose(1, 0, 2) if self.batch_first else d

    def _check_params(self) -> None:
        cls = type(self).__name__
        params = self.params
        for key, shape in self._shapes.items():
            value = params.get(key)
            if (
                type(value) is not np.ndarray
                or value.dtype != self.dtype
                or value.shape != shape
                or not _sums_finite(value)
            ):
                check_array(f"{cls}.params[{key!r}]", value, shape=shape, dtype=self.dtype)

    def _check_states(self, thing: str, state: Any, batch: int) -> tuple[np.ndarray, ...]:
        """Validate a state (or state gradient) and return its parts as C-contiguous ``(L·D, B, H)``."""
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        names = "(num_layers·D, B, H)"
        if len(self.state_names) == 1:
            if isinstance(state, (tuple, list)) and len(state) == 1:
                state = state[0]
            parts = (state,)
        else:
            want = "(" + ", ".join(self.state_names) + ")"
            if not isinstance(state, (tuple, list)) or len(state) != len(self.state_names):
                got = f"tuple of {len(state)}" if isinstance(state, (tuple, list)) else type(state).__name__
                raise DTypeError(message(thing, f"a tuple {want} of arrays {names} = {shape}", got))
            parts = tuple(state)
        suffixes = ("",) if len(parts) == 1 else tuple(f".{n}" for n in self.state_names)
        return tuple(
            np.ascontiguousarray(check_array(thing + sfx, part, shape=shape, dtype=self.dtype, names=names))
            for sfx, part in zip(suffixes, parts, strict=True)
        )

    def _states_or_zeros(self, thing: str, state: Any, batch: int) -> tuple[np.ndarray, ...]:
        """The parts of a given state (or state gradient) checked by :meth:`_check_states`; zeros for None."""
        if state is None:
            return self._new_states(batch, np.zeros)
        return self._check_states(thing, state, batch)

    def _new_states(self, batch: int, make: Any = np.empty) -> tuple[np.ndarray, ...]:
        """One new ``(L·D, B, H)`` array per state part; ``make`` is ``np.empty`` or ``np.zeros``."""
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        return tuple(make(shape, dtype=self.dtype) for _ in self.state_names)

    def _check_trace(self, trace: object) -> StackTrace:
        cls = type(self).__name__
        thing = f"{cls}.backward(trace)"
        if not isinstance(trace, StackTrace) or not trace.layers:
            raise DTypeError(message(thing, f"the trace returned by {cls}.forward", type(trace).__name__))
        first = trace.layers[0][0]
        if (
            type(first) is not self._sweep_type
            or len(trace.layers) != self.num_layers
            or len(trace.layers[0]) != self.num_directions
            or first.h.shape[2] != self.hidden_size
            or first.x.shape[2] != self.input_size
        ):
            raise ShapeError(message(thing, f"a trace of this {cls} ({self._config()})", "a trace of another cell"))
        if trace.outputs.dtype != self.dtype:
            raise DTypeError(
                message(thing, f"dtype {self.dtype} (the cell's dtype)", str(trace.outputs.dtype),
                        "Run forward again after astype().")
            )
        return trace

    def _config(self) -> str:
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, num_layers={self.num_layers}, "
            f"bidirectional={self.bidirectional}"
        )

    # -- one layer and direction ------------------------------------------------------------------
    def _kernel_options(self) -> tuple:
        """The kernels' arguments beside weights, states and arrays (none here; see the class docstring)."""
        return ()

    def _sweep(self, x: np.ndarray, keys: tuple, init: tuple[np.ndarray, ...], reverse: int) -> Any:
        """(ST2) with ``_forward_kernel`` (see the class docstring)."""
        arrays = self._allocate(x)
        self._forward_kernel(x, *self._weights(keys), *self._extras(keys), *init, *self._kernel_options(), reverse,
                             self._fast, *arrays.values())
        return self._sweep_type(x=x, reverse=reverse, **arrays)

    def _sweep_back(self, sweep: Any, keys: tuple, d_out: np.ndarray, d_final: tuple[np.ndarray, ...]) -> tuple:
        """The backward of :meth:`_sweep` with ``_backward_kernel``: (δx, {key: gradient}, δinitial state)."""
        w_ih, w_hh, _, _ = self._weights(keys)
        extras = self._extras(keys)
        saved = [getattr(sweep, name) for name, *_ in self.trajectories]
        shape = (*d_out.shape[:2], self.gate_blocks * self.hidden_size)  # (T, B, G·H)
        work = [self._workspace(name, shape) for name in self._workspaces]
        dx = np.empty(sweep.x.shape, self.dtype)
        out = self._backward_kernel(sweep.x, w_ih, w_hh, *extras, *saved, d_out, *d_final, *self._kernel_options(),
                                    sweep.reverse, *work, dx)
        parts, n_extras = len(self.state_names), len(extras)
        d_extras = out[len(out) - parts - n_extras : len(out) - parts]
        grads = self._grads(keys, *out[: len(out) - parts - n_extras], extras=d_extras)
        return dx, grads, tuple(out[len(out) - parts :])

    # -- the driver -------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, state: Any = None) -> StackTrace:
        """Run all layers and directions over ``x`` ((T, B, I), or (B, T, I) when ``batch_first``).

        ``state`` is shaped like PyTorch's initial state ``(num_layers·D, B, H)`` (LSTM: a pair (h, c));
        ``None`` starts from zeros. ``trace.outputs`` is ``(T, B, D·H)`` in the caller's layout (read-only)
        and ``trace.final_state`` is shaped like ``state``.
        """
        cls = type(self).__name__
        x = self._input(x)  # (T, B, I)
        self._check_params()
        B = x.shape[1]
        L, D = self.num_layers, self.num_directions
        init = self._states_or_zeros(f"{cls}.forward(state)", state, B)
        finals = self._new_states(B)
        layers = []
        inp = x
        for layer in range(L):
            sweeps = []
            for d in range(D):
                k = layer * D + d
                sweep = self._sweep(inp, self._keys[k], tuple(s[k] for s in init), d)  # (ST2)
                for final, value in zip(finals, sweep.finals(), strict=True):
                    final[k] = value  # (ST4)
                sweeps.append(sweep)
            layers.append(tuple(sweeps))
            inp = sweeps[0].outputs if D == 1 else np.concatenate([s.outputs for s in sweeps], axis=2)  # (ST3)
        outputs = inp.transpose(1, 0, 2) if self.batch_first else inp[:]  # (ST4)
        outputs.flags.writeable = False
        return StackTrace(
            x=x, outputs=outputs, initial_state=self._pack(init), final_state=self._pack(finals), layers=layers
        )

    def backward(self, trace: StackTrace, d_outputs: np.ndarray, d_final_state: Any = None) -> Grads:
        """Gradient of Σ d_outputs·outputs (+ Σ d_final_state·final_state) by hand-derived BPTT."""
        cls = type(self).__name__
        trace = self._check_trace(trace)
        delta = self._d_outputs(trace, d_outputs)  # (T, B, D·H)
        B = delta.shape[1]
        L, D, H = self.num_layers, self.num_directions, self.hidden_size
        d_final = self._states_or_zeros(f"{cls}.backward(d_final_state)", d_final_state, B)
        d_init = self._new_states(B)
        grads: dict[str, np.ndarray] = {}
        for layer in reversed(range(L)):
            d_x = None
            for d, sweep in enumerate(trace.layers[layer]):
                k = layer * D + d
                d_out = np.ascontiguousarray(delta if D == 1 else delta[:, :, d * H : (d + 1) * H])  # (ST5)
                dx, g, d0 = self._sweep_back(sweep, self._keys[k], d_out, tuple(f[k] for f in d_final))
                grads.update(g)
                for part, value in zip(d_init, d0, strict=True):
                    part[k] = value  # (ST7)
                d_x = dx if d_x is None else d_x + dx  # (ST6)
            delta = d_x
        inputs = delta.transpose(1, 0, 2) if self.batch_first else delta  # (ST7)
        return Grads({key: grads[key] for key in self._shapes}, inputs=inputs, initial_state=self._pack(d_init))
