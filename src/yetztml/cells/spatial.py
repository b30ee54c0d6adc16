"""SpatialNet: a population of Z units on a ring, gain-modulated by a few feedback signals [Naumann et al. 2022,
Fig. 3–5].

The stimulus is projected onto Z units through fixed random weights; each unit's gain is a smooth function
of its position on the ring, set by U ≪ Z feedback signals through a kernel K; a fixed readout sums the
units into the output [Eq. 7–10; the authors' ``SpatialNet``]. Per trial, step t:

Forward
    (SPF1) z_t = M_{t−1} ⊙ (W_x x_t)                             (B, Z)   W_x (Z, n) ~ N(0, 0.5²); M_{−1} = 0
    (SPF2) y_t = W_ro z_t                                        (B, n)   W_ro (n, Z) ~ N(0, 0.5²), the output
    (SPF3) u_t = LSTM(in_t; h_{t−1}, c_{t−1}), in_t = [x_t, y_t] | x_t | y_t     (CL1)–(CL5) of closed_loop_lstm.py
    (SPF4) M_t = M_{t−1} + (K u_t − M_{t−1}) / τ                 (B, Z)   M_t = M_{t−1} while frozen

Backward: (MLB6)–(MLB1) of ``modulated_linear.py`` with k_0 = 0 (this model is that kernel as it stands).

Kernels K (Z, U), unit positions ζ_i = 2πi/Z, feedback positions λ_j = 2πj/U:
    von Mises  K_ij = exp(cos(ζ_i − λ_j)/σ²) / max_i exp(cos(ζ_i − λ_j)/σ²)   (each column peaks at 1)
    box        K_ij = 1 for the Z//U contiguous units of signal j, else 0     (the code's width 0)
    uniform    K_ij = 1                                                       (the paper's width ∞)

The paper's Eq. 10 has no column normalisation; the authors' code has it, and so does this module. Their
code selects the kernel by one number (0 → box, ≥ 10 → uniform, else von Mises of that width); here the
kind is named and ``width`` is σ². Defaults are the paper's: Z = 100, U = 4, σ² = 0.2, τ = 100. W_x and
W_ro are fixed unless ``learn_wx`` / ``learn_ro`` (the code's ``learn_baseline`` / ``learn_ro``).
"""

from __future__ import annotations

import numpy as np

from ..core.validation import check_choice, check_float, check_int, check_sizes
from .modulated_linear import GainLoopModel

KERNELS = ("von_mises", "box", "uniform")


def modulation_kernel(kind: str, n_units: int, n_feedback: int, width: float = 0.2) -> np.ndarray:
    """The kernel K (Z, U) spreading U feedback signals over Z units on a ring (module docstring)."""
    kind = str(check_choice("modulation_kernel(kind)", kind, KERNELS))
    n_units = check_int("modulation_kernel(n_units)", n_units, minimum=1)
    n_feedback = check_int("modulation_kernel(n_feedback)", n_feedback, minimum=1)
    if kind == "uniform":
        return np.ones((n_units, n_feedback))
    if kind == "box":
        K = np.zeros((n_units, n_feedback))
        size = n_units // n_feedback
        for j in range(n_feedback):
            K[j * size:(j + 1) * size, j] = 1.0
        return K
    width = check_float("modulation_kernel(width)", width, minimum=0.0, strict_minimum=True)
    zeta = np.linspace(0.0, 2.0 * np.pi, n_units, endpoint=False)
    lam = 2.0 * np.pi * np.arange(n_feedback) / n_feedback
    # exp(cos(·)/σ² − 1/σ²) keeps the exponent ≤ 0 (no overflow for narrow kernels); the max-normalisation
    # removes the constant factor again.
    K = np.exp((np.cos(zeta[:, None] - lam[None, :]) - 1.0) / width)
    return K / K.max(axis=0, keepdims=True)


class SpatialNet(GainLoopModel):
    """Z gain-modulated units, U feedback signals through kernel K, LSTM of ``hidden_size`` units.

    >>> net = SpatialNet(n_units=10, n_feedback=2, hidden_size=8, seed=0)
    >>> trace = net.forward(np.zeros((5, 3, 2)))
    >>> trace.outputs.shape, net.z(trace).shape
    ((5, 3, 2), (5, 3, 10))
    """

    name = "spatial-net"

    def __init__(
        self,
        n_sources: int = 2,
        hidden_size: int = 100,
        n_units: int = 100,
        n_feedback: int = 4,
        kernel: str = "von_mises",
        width: float = 0.2,
        tau: float = 100.0,
        lstm_input: str = "xy",
        learn_wx: bool = False,
        learn_ro: bool = False,
        seed=0,
        dtype: object = np.float64,
        fast_tanh: bool = False,
    ) -> None:
        cls = type(self).__name__
        self.tau = self._check_tau(cls, tau)
        n_units, n_feedback = check_sizes(cls, n_units=n_units, n_feedback=n_feedback)
        self.kernel = str(check_choice(f"{cls}(kernel=...)", kernel, KERNELS))
        self.width = check_float(f"{cls}(width=...)", width, minimum=0.0, strict_minimum=True)
        self.n_units = n_units
        super().__init__(n_sources, hidden_size, n_feedback, lstm_input, seed, dtype, fast_tanh)
        n = self.n_sources
        Wx = self.rng.normal(0.0, 0.5, size=(n_units, n)).astype(self.dtype)
        Wro = self.rng.normal(0.0, 0.5, size=(n, n_units)).astype(self.dtype)
        K = modulation_kernel(self.kernel, n_units, n_feedback, self.width).astype(self.dtype)
        self.fixed = {"K": K, "k0": np.zeros(n_units, dtype=self.dtype)}
        (self.params if bool(learn_wx) else self.fixed)["W_x"] = Wx
        (self.params if bool(learn_ro) else self.fixed)["W_ro"] = Wro

    def _torch_names(self) -> dict[str, str]:
        return {**super()._torch_names(), "W_x": "w0", "W_ro": "Wro"}

    def _initial_mod(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.n_units), dtype=self.dtype)  # M_{−1} = 0
