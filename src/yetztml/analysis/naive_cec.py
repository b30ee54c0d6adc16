"""The naive constant-error unit of 1997 §3.2 with one output unit: the net that has the weight conflicts.

One CEC unit j (identity activation, self-weight w_jj = 1.0, fixed) fed by the inputs through w_ji, read
by K linear output units through w_kj at the same step::

    (NC1)  s(t)   = s(t−1) + Σ_i w_ji x_i(t),   s(−1) = 0       the CEC: :class:`UnitNet` with W = [[1.0]]
    (NC2)  y_k(t) = w_kj s(t)                                    same-step output [1997 §5 intro]

Backward: the CEC's part is :class:`UnitNet`'s own (UB1)–(UB3) with the error ∂L/∂s(t) from (NC3)::

    (NC3)  ∂L/∂s(t) = Σ_k w_kj ∂L/∂y_k(t)                        then UnitNet (UB1)–(UB3): δw_ji = Σ_t ϑ(t) x_i(t)
    (NC4)  ∂L/∂w_kj = Σ_t ∂L/∂y_k(t) s(t)

Every unit is linear and w_jj stays 1.0, so whatever reaches s(t) reaches s(t−q) unchanged — which is why
w_ji and w_kj see the error of every step at full strength: the input and output weight conflicts.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ..cells.base import Cell, Grads
from ..core.rng import make_rng, uniform
from ..core.validation import check_float, check_int
from .unitnet import UnitNet, UnitTrace


class NaiveCEC(Cell):
    """One CEC unit (f = identity, w_jj = 1.0) with input weights ``w_ji`` (1, I) and outputs ``w_kj`` (K, 1).

    >>> net = NaiveCEC(1, 1, seed=0)
    >>> net.params["w_ji"][:] = 0.5; net.params["w_kj"][:] = 2.0
    >>> net.forward(np.ones((3, 1, 1))).outputs[:, 0, 0].tolist()     # (NC1)–(NC2): 2.0 · 0.5 · t
    [1.0, 2.0, 3.0]
    """

    name: ClassVar[str] = "naive-cec"
    state_names: ClassVar[tuple[str, ...]] = ("s",)

    def __init__(self, input_size: int, output_size: int = 1, *, init_range: float = 0.1,
                 seed: int | np.random.Generator = 0, dtype: object = np.float64) -> None:
        input_size = check_int("NaiveCEC(input_size=...)", input_size, minimum=1)
        output_size = check_int("NaiveCEC(output_size=...)", output_size, minimum=1)
        init_range = check_float("NaiveCEC(init_range=...)", init_range, minimum=0.0)
        super().__init__(input_size, output_size, dtype)
        rng = make_rng(seed)
        self.params = {"w_ji": uniform(rng, (1, input_size), init_range, self.dtype),
                       "w_kj": uniform(rng, (output_size, 1), init_range, self.dtype)}

    def _unit(self) -> UnitNet:
        """The CEC as Hochreiter's one-unit net: W = [[1.0]], f = identity, V = w_ji."""
        return UnitNet(np.array([[1.0]]), "identity", V=self.params["w_ji"], dtype=self.dtype)

    def forward(self, x: np.ndarray, state: np.ndarray | None = None) -> UnitTrace:
        """(NC1)–(NC2) over x (T, B, I) from s(−1) = ``state`` (B, 1) (default zeros); ``trace.y`` is s."""
        x = self._check_input(x)
        self._check_params_finite()
        trace = self._unit().forward(x, state)  # (NC1)
        outputs = trace.y @ self.params["w_kj"].T  # (NC2) (T, B, K)
        return dataclasses.replace(trace, outputs=outputs)

    def backward(self, trace: UnitTrace, d_outputs: np.ndarray, d_final_state: np.ndarray | None = None) -> Grads:
        """Gradient of Σ d_outputs·outputs (+ Σ d_final_state·s(T−1)) by (NC3)–(NC4) and UnitNet (UB1)–(UB3)."""
        d_outputs = self._check_d_outputs(trace, d_outputs)
        w_kj = self.params["w_kj"]
        d_s = d_outputs @ w_kj  # (NC3) (T, B, 1)
        inner = self._unit().backward(dataclasses.replace(trace, outputs=trace.y), d_s, d_final_state)
        grads = {"w_ji": inner["V"],  # UnitNet (UB3)
                 "w_kj": np.einsum("tbk,tbj->kj", d_outputs, trace.y)}  # (NC4)
        return Grads(grads, inputs=inner.inputs, initial_state=inner.initial_state)
