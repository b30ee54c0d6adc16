"""The protocol every cell follows, and the checks shared by all cells.

A cell owns named float parameters and maps an input sequence to an output sequence::

    cell = yetztml.cells.LSTM(input_size=2, hidden_size=4, seed=0)
    trace = cell.forward(x)                    # x: (T, B, I); trace.outputs: (T, B, K)
    grads = cell.backward(trace, d_outputs)    # dict like cell.params: gradient of Σ d_outputs·outputs

* ``cell.params`` — dict name → ndarray, names from the equations (``W_in``, ``weight_hh_l0``…).
* ``cell.num_weights`` — total number of trainable scalars.
* ``forward(x, state=None)`` returns a :class:`Trace` holding every gate and state trajectory, the
  outputs and the final state; ``state=None`` starts from the cell's zero state.
* ``backward(trace, d_outputs, d_final_state=None)`` returns :class:`Grads`: a dict with the same keys
  and shapes as ``params``, plus ``grads.inputs`` (∂/∂x, shaped like x) and ``grads.initial_state``
  (∂/∂ initial state, shaped like the state). ``d_final_state`` adds an error arriving at the final state
  (truncated BPTT carries it between chunks).

States are an ndarray or a tuple (NamedTuple) of ndarrays; :func:`state_leaves` flattens either.
Inputs are validated before any compiled code runs; errors come from :mod:`yetztml.core.errors`.

The same protocol holds for the non-recurrent layers (:mod:`yetztml.layers`) and the models composed of
them (:mod:`yetztml.models`); what a class can do beyond it is declared, never guessed:

* ``capabilities`` — a frozenset of names: ``"truncate"`` (``backward(..., truncate=True)`` cuts the
  recurrent paths, the 1997 truncated gradient), ``"lengths"`` (``forward(x, state, lengths=...)`` honours
  each sequence's own length), ``"stochastic"`` (draws random numbers in training mode; its generator
  state is in :meth:`Cell.rng_state`), and the gradient methods a class has an exact implementation of
  (``"rtrl"``, ``"truncated1997"``). Declarations are not inherited: a subclass may change the equations,
  so it supports what its own class body declares, and anything else fails with a clear error instead of
  silently running its parent's mathematics.
* ``config()`` — the constructor arguments as JSON (recorded when the object is built), so that a model
  saves as ``.npz`` + JSON and loads without pickle (:mod:`yetztml.models.io`).
* ``training`` / ``train(mode)`` / ``eval()`` — training mode (the default) or evaluation mode; only
  stochastic parts (dropout) behave differently.
* ``check_x(thing, x)`` — validates an input and returns it; cells take float ``(T, B, I)`` arrays, an
  embedding takes integer token ids ``(T, B)``.

Every ``forward`` defined by a subclass is checked on the way out: outputs with NaN or inf (finite inputs
and weights can still overflow, e.g. weights of 1e308 whose products meet as ``inf − inf``) raise
:class:`~yetztml.core.errors.NonFiniteError` naming the class, rather than being returned silently. The
check is one sum over the outputs (the element-wise test runs only when that sum is not finite) and
changes no number.

A trace cannot be changed silently between ``forward`` and ``backward``: the outermost ``forward`` copies
the caller's arrays and makes the trace's arrays read-only, and ``backward`` refuses a trace one of whose
arrays was made writable again (:mod:`yetztml.cells.sealing`).

A full walk-through of writing a cell or layer of your own is in ``docs/protocol.md``.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..core.errors import NonFiniteError, OptionError, ShapeError, UnsupportedError, message
from ..core.validation import check_array, check_dtype
from . import sealing

State = Any  # ndarray | tuple[ndarray, ...]


def state_leaves(state: State) -> list[np.ndarray]:
    """The arrays of a state, in order (an ndarray is its own single leaf)."""
    if isinstance(state, np.ndarray):
        return [state]
    return [leaf for part in state for leaf in state_leaves(part)]


@dataclass
class Trace:
    """The record of one forward pass. Cells subclass it to add their gate and state trajectories.

    Attributes are time-major ``(T, B, ·)`` except ``outputs``, which follows the caller's layout
    (``(B, T, K)`` when a cell was built with ``batch_first=True``).
    """

    x: np.ndarray
    outputs: np.ndarray
    initial_state: State
    final_state: State
    extras: dict[str, Any] = field(default_factory=dict)


class Grads(dict):
    """Parameter gradients keyed like ``cell.params``; ``.inputs`` and ``.initial_state`` ride along."""

    inputs: np.ndarray | None
    initial_state: State | None

    def __init__(self, params: dict[str, np.ndarray], inputs=None, initial_state=None):
        super().__init__(params)
        self.inputs = inputs
        self.initial_state = initial_state


class Cell:
    """Base class: parameter storage, dtype handling and input validation shared by all cells."""

    #: Short name used by the CLI (``yetztml describe NAME``).
    name: ClassVar[str] = "cell"
    #: What this class supports beyond the protocol (see the module docstring).
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is not None and not getattr(forward, "checks_outputs", False):
            cls.forward = _checking_outputs(forward)
        backward = cls.__dict__.get("backward")
        if backward is not None and not getattr(backward, "checks_trace", False):
            cls.backward = _checking_trace(backward)

    def __new__(cls, *args: Any, **kwargs: Any) -> Cell:
        self = super().__new__(cls)
        self._init_args = (args, kwargs)  # for config(); copy.copy() passes none and keeps the original's
        return self

    def __init__(self, input_size: int, output_size: int, dtype: object) -> None:
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.dtype = check_dtype(f"{type(self).__name__}(dtype=...)", dtype)
        self.params: dict[str, np.ndarray] = {}
        self.training = True

    # -- declared capabilities, modes, configuration ------------------------------------------------
    @classmethod
    def supports(cls, capability: str) -> bool:
        """Whether this class itself declares ``capability`` (see the module docstring; not inherited)."""
        return capability in cls.__dict__.get("capabilities", frozenset())

    def train(self, mode: bool = True) -> Cell:
        """Training mode (``mode=True``) or evaluation mode; returns self."""
        if not isinstance(mode, bool):
            raise OptionError(message(f"{type(self).__name__}.train(mode)", "True or False", repr(mode)))
        self.training = mode
        return self

    def eval(self) -> Cell:
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def rng_state(self) -> Any:
        """The state of the random generators this object draws from (None: it draws none)."""
        return None

    def set_rng_state(self, state: Any) -> None:
        """Restore what :meth:`rng_state` returned."""
        if state is not None:
            raise OptionError(message(f"{type(self).__name__}.set_rng_state", "None", type(state).__name__))

    def config(self) -> dict[str, Any]:
        """The constructor arguments as JSON values (the seed left out: the weights are saved instead).

        Recorded when the object was built; ``dtype`` is the current one. An argument with no JSON form
        (a Generator passed as something other than ``seed``, an object) raises
        :class:`~yetztml.core.errors.UnsupportedError` naming it.
        """
        cls = type(self)
        args, kwargs = getattr(self, "_init_args", ((), {}))
        bound = inspect.signature(cls.__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        out: dict[str, Any] = {}
        for name, value in list(bound.arguments.items())[1:]:
            if name == "seed":
                continue
            if name == "dtype":
                value = self.dtype.name
            out[name] = _jsonable(f"{cls.__name__}.config() argument {name!r}", value)
        return out

    # -- parameters -----------------------------------------------------------------------------
    @property
    def num_weights(self) -> int:
        """Total number of trainable scalars (the papers' "# weights")."""
        return int(sum(p.size for p in self.params.values()))

    def zero_grads(self) -> dict[str, np.ndarray]:
        """A dict of zero arrays shaped like ``params``."""
        return {k: np.zeros_like(v) for k, v in self.params.items()}

    def load_params(self, params: dict[str, np.ndarray]) -> None:
        """Replace parameter values (copied, cast to the cell's dtype) after checking names and shapes.

        The values are written into the existing arrays, so a model or optimiser holding them sees the
        new values."""
        cls = type(self).__name__
        missing = sorted(set(self.params) - set(params))
        extra = sorted(set(params) - set(self.params))
        if missing or extra:
            raise OptionError(
                message(f"{cls}.load_params", f"keys {sorted(self.params)}", f"missing {missing}, unexpected {extra}")
            )
        for key, value in params.items():
            value = np.asarray(value)
            if value.shape != self.params[key].shape:
                raise ShapeError(
                    message(f"{cls}.load_params[{key!r}]", f"shape {self.params[key].shape}", f"shape {value.shape}")
                )
            check_array(f"{cls}.load_params[{key!r}]", value.astype(self.dtype))
        for key, value in params.items():
            target = self.params[key]
            if target.dtype == self.dtype and target.flags.writeable:
                target[...] = np.asarray(value, dtype=self.dtype)
            else:
                self.params[key] = np.array(value, dtype=self.dtype, copy=True)

    def astype(self, dtype: object) -> Cell:
        """A copy of this cell with parameters cast to ``dtype`` (float32 or float64)."""
        import copy

        other = copy.copy(self)
        other.dtype = check_dtype(f"{type(self).__name__}.astype", dtype)
        other.params = {k: v.astype(other.dtype) for k, v in self.params.items()}
        return other

    def describe(self) -> str:
        """The cell's numbered equations (its module docstring)."""
        import inspect

        return inspect.getdoc(inspect.getmodule(type(self))) or ""

    # -- validation -----------------------------------------------------------------------------
    def check_x(self, thing: str, x: object) -> np.ndarray:
        """Validate an input: a float array ``(T, B, I)`` (``(B, T, I)`` for ``batch_first``) of this dtype."""
        batch_first = getattr(self, "batch_first", False)
        return check_array(
            thing, x, shape=(None, None, self.input_size), dtype=self.dtype,
            names="(B, T, I)" if batch_first else "(T, B, I)",
        )

    def _check_params_finite(self) -> None:
        for key, value in self.params.items():
            check_array(f"{type(self).__name__}.params[{key!r}]", value, dtype=self.dtype)

    def _check_input(self, x: object, batch_first: bool = False) -> np.ndarray:
        """Validate x and return it time-major ``(T, B, I)`` and C-contiguous."""
        cls = type(self).__name__
        names = "(B, T, I)" if batch_first else "(T, B, I)"
        x = check_array(f"{cls}.forward(x)", x, shape=(None, None, self.input_size), dtype=self.dtype, names=names)
        if batch_first:
            x = x.transpose(1, 0, 2)
        return np.ascontiguousarray(x)

    def _check_d_outputs(self, trace: Trace, d_outputs: object) -> np.ndarray:
        cls = type(self).__name__
        return check_array(
            f"{cls}.backward(d_outputs)", d_outputs, shape=trace.outputs.shape, dtype=self.dtype,
            names="like trace.outputs",
        )

    def _check_state(self, thing: str, state: State, template: State) -> State:
        """Check a user-supplied state against the zero state ``template`` (same structure and shapes)."""
        got = state_leaves(state) if isinstance(state, (np.ndarray, tuple, list)) else None
        want = state_leaves(template)
        if got is None or len(got) != len(want):
            raise ShapeError(
                message(thing, f"{len(want)} array(s) shaped {[w.shape for w in want]}", type(state).__name__)
            )
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            check_array(f"{thing}[{i}]", g, shape=w.shape, dtype=self.dtype)
        return state


def check_outputs_finite(cell: Cell, outputs: object) -> None:
    """Raise :class:`NonFiniteError` naming ``cell``'s class if float ``outputs`` hold NaN or inf."""
    if not isinstance(outputs, np.ndarray) or outputs.dtype.kind != "f" or not outputs.size:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(outputs.sum()):
            return
    bad = int(outputs.size - np.count_nonzero(np.isfinite(outputs)))
    if not bad:  # huge finite outputs whose sum overflowed
        return
    cls = type(cell).__name__
    largest = max((float(np.max(np.abs(p))) for p in getattr(cell, "params", {}).values() if p.size), default=0.0)
    raise NonFiniteError(message(
        f"{cls}.forward", "finite outputs", f"{bad} NaN/inf of {outputs.size} (largest |weight| {largest:.3g})",
        "Finite but huge weights or inputs overflowed: scale the weights down (re-initialise, lower the learning "
        "rate, clip the gradients), scale the inputs, or use float64."))


def _checking_outputs(forward: Any) -> Any:
    """``forward`` followed by :func:`check_outputs_finite` on the returned trace's outputs; the outermost
    call also copies the caller's arrays first and seals the trace (:mod:`yetztml.cells.sealing`)."""

    @functools.wraps(forward)
    def checked(self: Cell, *args: Any, **kwargs: Any) -> Any:
        with sealing.Nested() as outer:
            if not outer:
                args, kwargs = sealing.copy_inputs(args), sealing.copy_inputs(kwargs)
            trace = forward(self, *args, **kwargs)
            check_outputs_finite(self, getattr(trace, "outputs", None))
            if not outer:
                sealing.seal(trace, self.params)
            return trace

    checked.checks_outputs = True  # type: ignore[attr-defined]
    return checked


def _checking_trace(backward: Any) -> Any:
    """``backward`` after checking that the trace is as ``forward`` sealed it (outermost call only),
    with the trace's arrays opened while it runs."""

    @functools.wraps(backward)
    def checked(self: Cell, *args: Any, **kwargs: Any) -> Any:
        with sealing.Nested() as outer:
            if outer:
                return backward(self, *args, **kwargs)
            trace = args[0] if args else kwargs.get("trace")
            sealing.check(self, trace)
            with sealing.Opened(trace):
                return backward(self, *args, **kwargs)

    checked.checks_trace = True  # type: ignore[attr-defined]
    return checked


def _jsonable(thing: str, value: Any) -> Any:
    """``value`` as plain JSON types (tuples become lists, NumPy scalars and arrays numbers and lists)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(thing, v) for v in items]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(thing, v) for k, v in value.items()}
    raise UnsupportedError(
        message(thing, "a value with a JSON form (number, string, list, dict)", type(value).__name__,
                "Build the object from plain values to save it.")
    )
