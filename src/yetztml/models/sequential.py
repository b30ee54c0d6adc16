"""Sequential: parts (cells and layers) applied one after another; the backward chains theirs.

With parts P_1 … P_n, input x and per-part initial states s_k (None: the part's zero state)::

    (SEQ1)  z_0 = x;   z_k, s_k' = P_k(z_{k−1}, s_k)                           forward of part k
    (SEQ2)  outputs = z_n;   final_state = (s_1', …, s_n')
    (SEQ3)  δz_n = δoutputs;   (δθ_k, δz_{k−1}, δs_k) = P_k.backward(trace_k, δz_k, δs_k')   k = n … 1

so ∂L/∂θ_k is part k's own hand-derived gradient fed with the error that the parts above it sent down
(δz_{k−1} is ``grads.inputs`` of part k). Parameters are named ``"<part>.<name>"`` (part names default to
their positions ``"0"``, ``"1"``…) and are the parts' own arrays, so an optimiser built on
``model.params`` updates the parts. Lengths (``forward(x, lengths=...)``) go to every part that declares
the ``"lengths"`` capability, up to the first part whose output has another number of steps than its
input (a :class:`~yetztml.layers.Pool`, ``Linear(steps="last")``): after it the lengths no longer apply.
A model declares the capability when any part does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cells.base import Cell, Grads, Trace, state_leaves
from ..core.errors import DTypeError, OptionError, ShapeError, message

__all__ = ["ModelTrace", "Sequential"]


@dataclass
class ModelTrace(Trace):
    """A model's trace: the parts' traces in order (``parts``) besides the usual fields."""

    parts: tuple[Trace, ...] = ()


class Sequential(Cell):
    """Cells and layers in sequence (SEQ1)–(SEQ3); a bare cell is the one-part model."""

    name = "sequential"

    def __init__(self, *parts: Cell, names: Sequence[str] | None = None) -> None:
        cls = type(self).__name__
        if not parts:
            raise OptionError(message(f"{cls}(*parts)", "at least one cell or layer", "none"))
        for k, part in enumerate(parts):
            if not isinstance(part, Cell):
                raise DTypeError(
                    message(f"{cls}(*parts)[{k}]", "a yetztml cell, layer or model", type(part).__name__,
                            "Wrap your own computation as a Cell subclass (docs/protocol.md).")
                )
        names = [str(k) for k in range(len(parts))] if names is None else [str(n) for n in names]
        if len(names) != len(parts) or len(set(names)) != len(names) or any("." in n or not n for n in names):
            raise OptionError(
                message(f"{cls}(names=...)", f"{len(parts)} distinct non-empty names without '.'", names)
            )
        for k in range(1, len(parts)):
            below, above = parts[k - 1], parts[k]
            if below.output_size != above.input_size:
                raise ShapeError(
                    message(f"{cls}: part {names[k]!r} ({type(above).__name__})",
                            f"input size {below.output_size}, the output size of part {names[k - 1]!r}",
                            f"input size {above.input_size}",
                            f"Build {type(above).__name__} with input size {below.output_size}.")
                )
        dtypes = {p.dtype for p in parts}
        if len(dtypes) != 1:
            raise DTypeError(
                message(f"{cls}(*parts)", "parts of one dtype", sorted(d.name for d in dtypes),
                        "Build every part with the same dtype= (or use part.astype(...)).")
            )
        layouts = {bool(getattr(p, "batch_first", False)) for p in parts}
        if len(layouts) != 1:
            raise OptionError(
                message(f"{cls}(*parts)", "parts with the same batch_first", "a mix",
                        "Build every part with the same batch_first=.")
            )
        super().__init__(parts[0].input_size, parts[-1].output_size, parts[0].dtype)
        self.parts: tuple[Cell, ...] = tuple(parts)
        self.names: tuple[str, ...] = tuple(names)
        self.batch_first = layouts.pop()
        self.params = {f"{n}.{k}": v for n, p in zip(self.names, self.parts, strict=True) for k, v in p.params.items()}

    @property
    def capabilities(self) -> frozenset[str]:  # type: ignore[override]
        """What any part declares of ``"lengths"``, ``"stochastic"`` and ``"truncate"``."""
        return frozenset(c for c in ("lengths", "stochastic", "truncate") if any(p.supports(c) for p in self.parts))

    def supports(self, capability: str) -> bool:  # type: ignore[override]
        return capability in self.capabilities

    # -- parts, modes, randomness, configuration ----------------------------------------------------
    def __getitem__(self, key: int | str) -> Cell:
        return self.parts[self.names.index(key) if isinstance(key, str) else key]

    def __len__(self) -> int:
        return len(self.parts)

    def train(self, mode: bool = True) -> Sequential:
        super().train(mode)
        for part in self.parts:
            part.train(mode)
        return self

    def rng_state(self) -> Any:
        states = [p.rng_state() for p in self.parts]
        return None if all(s is None for s in states) else states

    def set_rng_state(self, state: Any) -> None:
        states = [None] * len(self.parts) if state is None else state
        for part, s in zip(self.parts, states, strict=True):
            part.set_rng_state(s)

    def config(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "parts": [{"class": type(p).__name__, "config": p.config()} for p in self.parts],
        }

    def astype(self, dtype: object) -> Sequential:
        return Sequential(*(p.astype(dtype) for p in self.parts), names=self.names).train(self.training)

    def load_params(self, params: dict[str, np.ndarray]) -> None:
        """Load ``"<part>.<name>"`` values into the parts (checked first, written into the shared arrays)."""
        super().load_params(params)

    def describe(self) -> str:
        lines = [f"Sequential model of {len(self.parts)} parts, {self.num_weights} weights:"]
        for n, p in zip(self.names, self.parts, strict=True):
            lines.append(f"  {n}: {type(p).__name__} {p.input_size} → {p.output_size} ({p.num_weights} weights)")
        return "\n".join(lines)

    def check_x(self, thing: str, x: object) -> np.ndarray:
        return self.parts[0].check_x(thing, x)

    # -- forward and backward -------------------------------------------------------------------------
    def _states(self, state: Any) -> tuple[Any, ...]:
        if state is None:
            return (None,) * len(self.parts)
        if not isinstance(state, (tuple, list)) or len(state) != len(self.parts):
            raise ShapeError(
                message(f"{type(self).__name__}.forward(state)",
                        f"None or a tuple of {len(self.parts)} part states (None for a part's zero state)",
                        type(state).__name__)
            )
        return tuple(state)

    def forward(self, x: object, state: Any = None, lengths: object = None) -> ModelTrace:
        """(SEQ1)–(SEQ2)."""
        if lengths is not None and not self.supports("lengths"):
            raise OptionError(
                message(f"{type(self).__name__}.forward(lengths=...)", "a model with a part that uses lengths",
                        "none of its parts does", "Add a Pool or Linear(steps='last') part, or drop lengths.")
            )
        traces = []
        z = x
        time_axis = 1 if self.batch_first else 0
        for part, s in zip(self.parts, self._states(state), strict=True):
            uses = lengths is not None and part.supports("lengths")
            trace = part.forward(z, s, lengths=lengths) if uses else part.forward(z, s)  # (SEQ1)
            if lengths is not None and trace.outputs.shape[time_axis] != np.shape(trace.x)[time_axis]:
                lengths = None  # the steps were reduced: the lengths no longer apply
            traces.append(trace)
            z = trace.outputs
        return ModelTrace(  # (SEQ2)
            x=traces[0].x, outputs=z, initial_state=tuple(t.initial_state for t in traces),
            final_state=tuple(t.final_state for t in traces), parts=tuple(traces),
        )

    def backward(self, trace: ModelTrace, d_outputs: object, d_final_state: Any = None, **options: Any) -> Grads:
        """(SEQ3); ``options`` (e.g. ``truncate=True``) go to every part that declares them."""
        d = self._check_d_outputs(trace, d_outputs)
        d_fin = self._states(d_final_state)
        grads: dict[str, np.ndarray] = {}
        d_init: list[Any] = [None] * len(self.parts)
        rows: dict[str, np.ndarray] = {}
        for k in range(len(self.parts) - 1, -1, -1):
            part, name = self.parts[k], self.names[k]
            chosen = {o: v for o, v in options.items() if part.supports(o)}
            part_fin = d_fin[k] if d_fin[k] is not None and state_leaves(d_fin[k]) else None
            g = part.backward(trace.parts[k], d, part_fin, **chosen)  # (SEQ3)
            grads.update({f"{name}.{key}": value for key, value in g.items()})
            if getattr(g, "rows", None) is not None:
                rows[f"{name}.weight"] = g.rows
            d_init[k] = g.initial_state
            if k and g.inputs is None:
                raise OptionError(
                    message(f"{type(self).__name__}: part {name!r} ({type(part).__name__})",
                            "a part that passes a gradient to its input", "none",
                            "Only the first part may take non-differentiable input (e.g. token ids).")
                )
            d = g.inputs
        out = Grads(grads, inputs=d, initial_state=tuple(d_init))
        out.rows = rows
        return out
