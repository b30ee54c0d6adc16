"""Hochreiter's fully connected recurrent net (1997 §3.1), the object of the error-flow analysis.

n non-input units, every one connected to every one; w_ij is the weight on the connection from unit j to
unit i, v_ik the weight from input k to unit i; one squashing function f for all units::

    (UF1)  net_i(t) = Σ_j w_ij y^j(t−1) + Σ_k v_ik x_k(t)                      [1997 §3.1]   (B, n)
    (UF2)  y^i(t)   = f(net_i(t)),    y(−1) = the initial state (zeros by default)            (B, n)

Every unit is an output: ``outputs = y``. Conventional BPTT, with ϑ_j(t) = ∂L/∂net_j(t) (the paper's
error signal up to its sign) and ε(t) the error arriving at y(t) from the outputs and from step t+1::

    (UB1)  ε(t)     = δoutputs(t) + Wᵀ ϑ(t+1)        (ε(T−1) also receives δfinal_state)
    (UB2)  ϑ_j(t)   = f'(net_j(t)) ε_j(t)                                       [1997 §3.1]
    (UB3)  δW = Σ_t ϑ(t) y(t−1)ᵀ,  δV = Σ_t ϑ(t) x(t)ᵀ,  δx(t) = Vᵀ ϑ(t),  δy(−1) = Wᵀ ϑ(0)

With f = identity and W = [[1.0]] the net is the constant error carousel of 1997 §3.2.
Plain NumPy: the analysis runs it on tiny nets and short sequences only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..cells.base import Cell, Grads, Trace
from ..core import activations
from ..core.errors import ShapeError, message
from ..core.validation import check_array

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "g1997", "h1997")


@dataclass
class UnitTrace(Trace):
    """Trajectories of :class:`UnitNet`: ``net`` and ``y``, both (T, B, n)."""

    net: np.ndarray | None = None
    y: np.ndarray | None = None


class UnitNet(Cell):
    """A fully connected net of n units with weights ``W`` (n, n) and input weights ``V`` (n, I).

    >>> net = UnitNet(np.array([[1.0]]), activation="identity")     # the CEC: one linear unit, w = 1.0
    >>> net.forward(np.ones((3, 1, 1))).y[:, 0, 0].tolist()
    [1.0, 2.0, 3.0]
    """

    name: ClassVar[str] = "unit"
    state_names: ClassVar[tuple[str, ...]] = ("y",)

    def __init__(
        self,
        W: np.ndarray,
        activation: str = "logistic",
        V: np.ndarray | None = None,
        dtype: object = np.float64,
    ) -> None:
        W = check_array("UnitNet(W)", W, shape=(None, None), names="(n, n)")
        n = W.shape[0]
        if W.shape[1] != n:
            raise ShapeError(message("UnitNet(W)", "a square matrix (n, n)", f"shape {W.shape}"))
        if V is None:
            V = np.ones((n, 1))
        V = check_array("UnitNet(V)", V, shape=(n, None), names="(n, I)")
        super().__init__(V.shape[1], n, dtype)
        self.kind = activations.code("UnitNet(activation=...)", activation, ACTIVATIONS)
        self.activation = activations.NAMES[self.kind]
        self.params = {"W": W.astype(self.dtype), "V": V.astype(self.dtype)}

    @property
    def num_units(self) -> int:
        """n, the number of non-input units."""
        return self.params["W"].shape[0]

    def forward(self, x: np.ndarray, state: np.ndarray | None = None) -> UnitTrace:
        """Run (UF1)–(UF2) over x (T, B, I) from y(−1) = ``state`` (B, n) (default zeros)."""
        x = self._check_input(x)
        self._check_params_finite()
        T, B, _ = x.shape
        n = self.num_units
        zero = np.zeros((B, n), self.dtype)
        y0 = zero if state is None else self._check_state("UnitNet.forward(state)", state, zero)
        W, V = self.params["W"], self.params["V"]
        net = np.einsum("tbi,ni->tbn", x, V)  # (T, B, n) the input part of (UF1)
        y = np.empty_like(net)
        prev = y0
        for t in range(T):
            net[t] += prev @ W.T  # (UF1) Σ_j w_ij y^j(t−1)
            y[t] = activations.apply_np(self.kind, net[t])  # (UF2)
            prev = y[t]
        return UnitTrace(x=x, outputs=y, initial_state=y0, final_state=y[-1].copy(), net=net, y=y)

    def backward(self, trace: UnitTrace, d_outputs: np.ndarray, d_final_state: np.ndarray | None = None) -> Grads:
        """Gradient of Σ d_outputs·y (+ Σ d_final_state·y(T−1)) by (UB1)–(UB3)."""
        d_outputs = self._check_d_outputs(trace, d_outputs)
        T, B, n = trace.y.shape
        W, V = self.params["W"], self.params["V"]
        eps = np.zeros((B, n), self.dtype)
        if d_final_state is not None:
            eps = eps + check_array("UnitNet.backward(d_final_state)", d_final_state, shape=(B, n), dtype=self.dtype)
        fprime = activations.derivative_np(self.kind, trace.net)  # f'(net(t)), (T, B, n)
        theta = np.empty_like(trace.net)
        for t in range(T - 1, -1, -1):
            eps = eps + d_outputs[t]  # (UB1)
            theta[t] = fprime[t] * eps  # (UB2)
            eps = theta[t] @ W  # (UB1) Wᵀ ϑ(t) reaches y(t−1)
        previous = np.concatenate([trace.initial_state[None], trace.y[:-1]], axis=0)  # y(t−1), (T, B, n)
        grads = {
            "W": np.einsum("tbi,tbj->ij", theta, previous),  # (UB3)
            "V": np.einsum("tbi,tbk->ik", theta, trace.x),  # (UB3)
        }
        return Grads(grads, inputs=np.einsum("tbi,ik->tbk", theta, V), initial_state=eps)  # (UB3)
