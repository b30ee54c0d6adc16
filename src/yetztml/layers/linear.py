"""Linear readout: an affine map of every selected time step.

With x(t) the input at step t (B, I), W (K, I) and b (K,), for each selected step s = t_1 … t_S::

    (LIN1)  y(s) = W x(t_s) + b                                            (B, K)

Selected steps: every step (``steps=None``, S = T), the last valid step of each sequence
(``steps="last"``: t = lengths[b] − 1 for sequence b, or T − 1 without lengths), or given step indices
(``steps=[...]``, negative indices count from the end). Backward, with δy(s) = ∂L/∂y(s)::

    (LIN2)  δW = Σ_s δy(s)ᵀ x(t_s)                                         (K, I), over all B rows
    (LIN3)  δb = Σ_s Σ_b δy(s)                                             (K,)
    (LIN4)  δx(t_s) += δy(s) W;   δx(t) = 0 at steps that are not selected (B, I)

Parameters use PyTorch's ``nn.Linear`` names and initialisation: ``weight`` and ``bias`` drawn from
U[−1/√I, 1/√I].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..cells.base import Grads, Trace
from ..core.errors import DTypeError, OptionError, message
from ..core.rng import make_rng, uniform
from ..core.validation import check_int, check_sizes
from .base import Layer, check_bool, check_lengths

__all__ = ["Linear"]


class Linear(Layer):
    """``y = W x + b`` at every step, at each sequence's last step, or at chosen steps (LIN1)–(LIN4)."""

    name = "linear"
    capabilities = frozenset({"lengths"})

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        steps: None | str | Sequence[int] = None,
        batch_first: bool = False,
        seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        in_features, out_features = check_sizes(cls, in_features=in_features, out_features=out_features)
        super().__init__(in_features, out_features, dtype, batch_first)
        self.bias = check_bool(f"{cls}(bias=...)", bias)
        self.steps = _check_steps(f"{cls}(steps=...)", steps)
        rng = make_rng(seed)
        scale = 1.0 / np.sqrt(in_features)
        self.params["weight"] = uniform(rng, (out_features, in_features), scale, self.dtype)
        if self.bias:
            self.params["bias"] = uniform(rng, (out_features,), scale, self.dtype)

    def _selected(self, steps: int, batch: int, lengths: np.ndarray | None) -> np.ndarray:
        """(S, B) step index of each selected output for each sequence."""
        if self.steps is None:
            return np.repeat(np.arange(steps)[:, None], batch, axis=1)
        if self.steps == "last":
            last = lengths - 1 if lengths is not None else np.full(batch, steps - 1)
            return last[None, :].astype(np.int64)
        chosen = np.array([t + steps if t < 0 else t for t in self.steps], dtype=np.int64)
        if chosen.min() < 0 or chosen.max() >= steps:
            raise OptionError(
                message(f"{type(self).__name__}(steps={list(self.steps)})", f"steps within a sequence of {steps}",
                        "an index outside it")
            )
        return np.repeat(chosen[:, None], batch, axis=1)

    def forward(self, x: object, state: Any = None, lengths: object = None) -> Trace:
        """(LIN1) the readout of the selected steps; outputs (S, B, K) ((B, S, K) if batch_first)."""
        x = self.check_x(f"{type(self).__name__}.forward(x)", x)
        self._check_empty_state(state)
        xt = x.transpose(1, 0, 2) if self.batch_first else x  # (T, B, I)
        steps, batch = xt.shape[:2]
        if lengths is not None:
            lengths = check_lengths(f"{type(self).__name__}.forward(lengths)", lengths, steps, batch)
        where = self._selected(steps, batch, lengths)  # (S, B)
        picked = xt[where, np.arange(batch)[None, :]] if self.steps is not None else xt  # (S, B, I)
        y = picked @ self.params["weight"].T  # (LIN1) W x(t_s)
        if self.bias:
            y += self.params["bias"]  # (LIN1) + b
        out = y.transpose(1, 0, 2) if self.batch_first else y
        return self._trace(x, np.ascontiguousarray(out), picked=picked, where=where, steps=steps)

    def backward(self, trace: Trace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(LIN2)–(LIN4)."""
        d = self._check_d_outputs(trace, d_outputs)
        dy = d.transpose(1, 0, 2) if self.batch_first else d  # (S, B, K)
        picked, where = trace.extras["picked"], trace.extras["where"]
        S, B, K = dy.shape
        rows = dy.reshape(S * B, K)
        grads = {"weight": rows.T @ picked.reshape(S * B, -1)}  # (LIN2)
        if self.bias:
            grads["bias"] = rows.sum(axis=0)  # (LIN3)
        dpicked = dy @ self.params["weight"]  # (LIN4) δy(s) W
        if self.steps is None:
            dxt = dpicked
        else:
            dxt = np.zeros((trace.extras["steps"], B, self.input_size), dtype=self.dtype)
            np.add.at(dxt, (where, np.arange(B)[None, :]), dpicked)  # (LIN4) scattered to t_s
        dx = dxt.transpose(1, 0, 2) if self.batch_first else dxt
        return self._grads(grads, np.ascontiguousarray(dx))


def _check_steps(thing: str, steps: object) -> None | str | tuple[int, ...]:
    if steps is None or steps == "last":
        return steps
    if isinstance(steps, str):
        raise OptionError(message(thing, "None (every step), 'last' or a list of step indices", repr(steps)))
    try:
        chosen = tuple(steps)
    except TypeError:
        raise DTypeError(message(thing, "None, 'last' or a list of step indices", type(steps).__name__)) from None
    if not chosen:
        raise OptionError(message(thing, "at least one step index", "an empty list"))
    return tuple(check_int(f"{thing}[{i}]", t) for i, t in enumerate(chosen))
