"""Dropout (inverted): in training mode each element is kept with probability 1 − p and scaled by 1/(1 − p).

    (DRP1)  m ~ Bernoulli(1 − p) elementwise,  y = x ⊙ m / (1 − p)          training mode
    (DRP2)  y = x                                                          evaluation mode, or p = 0
    (DRP3)  δx = δy ⊙ m / (1 − p)                                          (δx = δy in evaluation mode)

The masks come from the layer's own ``numpy.random.Generator`` (seeded at construction); its state is
:meth:`Dropout.rng_state`, which the training loop checkpoints, so a resumed run draws the same masks.
"""

from __future__ import annotations

import copy
from typing import Any

import numba
import numpy as np

from ..cells.base import Grads, Trace
from ..core.errors import OptionError, message
from ..core.rng import make_rng
from ..core.validation import check_float, check_int
from .base import Layer

__all__ = ["Dropout"]


@numba.njit(cache=True, error_model="numpy")
def _drop(u, p, kept, x, scale, y):  # pragma: no cover - compiled
    """(DRP1) in one pass over flat arrays: m = (u ≥ p) from the uniform draws u, scale = m · ``kept`` (= 1/(1 − p)
    rounded in the layer's dtype, so m/(1 − p) exactly) and y = x ⊙ scale."""
    zero = scale.dtype.type(0.0)
    for i in range(u.size):
        s = kept if u[i] >= p else zero
        scale[i] = s
        y[i] = x[i] * s


class Dropout(Layer):
    """Inverted dropout of rate ``p`` over ``size`` features (DRP1)–(DRP3)."""

    name = "dropout"
    capabilities = frozenset({"stochastic"})

    def __init__(
        self, size: int, p: float = 0.5, *, batch_first: bool = False, seed: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        cls = type(self).__name__
        size = check_int(f"{cls}(size=...)", size, minimum=1)
        super().__init__(size, size, dtype, batch_first)
        self.p = check_float(f"{cls}(p=...)", p, 0.0, 1.0)
        if self.p == 1.0:
            raise OptionError(message(f"{cls}(p=...)", "a rate in [0, 1)", p, "p = 1 would drop everything."))
        self.rng = make_rng(seed)

    def rng_state(self) -> dict[str, Any]:
        return copy.deepcopy(self.rng.bit_generator.state)

    def set_rng_state(self, state: Any) -> None:
        self.rng.bit_generator.state = copy.deepcopy(state)

    def forward(self, x: object, state: Any = None) -> Trace:
        """(DRP1) in training mode, (DRP2) otherwise."""
        x = self.check_x(f"{type(self).__name__}.forward(x)", x)
        self._check_empty_state(state)
        if not self.training or self.p == 0.0:
            return self._trace(x, x.copy(), scale=None)  # (DRP2)
        x = np.ascontiguousarray(x)
        scale, y = np.empty_like(x), np.empty_like(x)
        kept = self.dtype.type(1.0) / self.dtype.type(1.0 - self.p)
        _drop(self.rng.random(x.size), self.p, kept, x.reshape(-1), scale.reshape(-1), y.reshape(-1))  # (DRP1)
        return self._trace(x, y, scale=scale)

    def backward(self, trace: Trace, d_outputs: object, d_final_state: Any = None) -> Grads:
        """(DRP3)."""
        d = self._check_d_outputs(trace, d_outputs)
        scale = trace.extras["scale"]
        return self._grads({}, d.copy() if scale is None else d * scale)  # (DRP3)
