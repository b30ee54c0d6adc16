"""ModulationNet: a 2×2 (n×n) unmixing matrix W_t set in closed loop by an LSTM [Naumann et al. 2022, Fig. 1–2].

The output is the stimulus read through the current weights; the LSTM hears stimulus and output and moves
the weights, multiplicatively around a fixed W_0 ≈ 1 or additively around W_0 ≈ 0, with time constant τ
[Eq. 4–6; the authors' ``ModulationNet.get_new_w``]. Per trial, step t:

Forward
    (MOF1) y_t = W_{t−1} x_t                                     (B, n)   the output; W_{−1} = 0
    (MOF2) in_t = [x_t, y_t] | x_t | y_t                         (B, I_l)
    (MOF3) u_t = LSTM(in_t; h_{t−1}, c_{t−1}),  U_t = u_t as (n, n), row-major   (CL1)–(CL5) of closed_loop_lstm.py
    (MOF4) multiplicative: W_t = W_{t−1} + (W_0 ⊙ U_t − W_{t−1}) / τ
         additive:       W_t = W_{t−1} + (W_0 + U_t − W_{t−1}) / τ

Backward (δW_t, δh_t, δc_t from step t+1; δy_t from the loss)
    (MOB4) δU_t = W_0 ⊙ δW_t / τ (multiplicative) or δW_t / τ (additive);  δW_{t−1} = (1 − 1/τ) δW_t
    (MOB3) (CLB5)–(CLB1) of closed_loop_lstm.py give δh_{t−1}, δc_{t−1}, δin_t
    (MOB2) δx_t += δin_t^x;  δy_t += δin_t^y
    (MOB1) δW_{t−1} += δy_t x_tᵀ;  δx_t += W_{t−1}ᵀ δy_t

The code runs the kernel of ``modulated_linear.py`` with Z = n² units z_(ij) = W_ij x_j: W_x and W_ro are
the fixed 0/1 matrices that pick x_j and sum over j, the modulation state M is W itself, K = diag(W_0)
and k_0 = 0 (multiplicative) or K = I and k_0 = W_0 (additive). Then (MOF1) = (MLF1)–(MLF3), (MOF4) = (MLF6), and the
backward equations above are (MLB6)–(MLB1) of that kernel written for this case.

W_0 ~ N(1, 0.001) (multiplicative) or N(0, 0.001) (additive), 0.001 being a standard deviation; the
paper's Fig. 1 model has τ = 1 (W_t = W_0 ⊙ U_t) and LSTM input 'xy'.
"""

from __future__ import annotations

import numpy as np

from ..core.validation import check_choice, check_float
from .base import Trace
from .modulated_linear import GainLoopModel

MODES = ("multiplicative", "additive")


class ModulationNet(GainLoopModel):
    """Closed-loop unmixing weights W_t (n × n) driven by an LSTM of ``hidden_size`` units.

    >>> net = ModulationNet(n_sources=2, hidden_size=8, seed=0)
    >>> trace = net.forward(np.zeros((5, 3, 2)))
    >>> trace.outputs.shape, trace.extras["W"].shape
    ((5, 3, 2), (6, 3, 2, 2))
    """

    name = "modulation-net"

    def __init__(
        self,
        n_sources: int = 2,
        hidden_size: int = 100,
        tau: float = 1.0,
        mode: str = "multiplicative",
        lstm_input: str = "xy",
        w0_std: float = 0.001,
        seed=0,
        dtype: object = np.float64,
        fast_tanh: bool = False,
    ) -> None:
        cls = type(self).__name__
        self.mode = str(check_choice(f"{cls}(mode=...)", mode, MODES))
        self.tau = self._check_tau(cls, tau)
        w0_std = check_float(f"{cls}(w0_std=...)", w0_std, minimum=0.0)
        super().__init__(n_sources, hidden_size, n_sources * n_sources, lstm_input, seed, dtype, fast_tanh)
        n = self.n_sources
        mean = 1.0 if self.mode == "multiplicative" else 0.0
        W0 = self.rng.normal(mean, w0_std, size=(n, n)).astype(self.dtype)
        Wx = np.zeros((n * n, n), dtype=self.dtype)
        Wro = np.zeros((n, n * n), dtype=self.dtype)
        for i in range(n):
            for j in range(n):
                Wx[i * n + j, j] = 1.0  # z_(ij) = M_ij x_j
                Wro[i, i * n + j] = 1.0  # y_i = Σ_j z_(ij)
        if self.mode == "multiplicative":
            K, k0 = np.diag(W0.reshape(-1)), np.zeros(n * n, dtype=self.dtype)
        else:
            K, k0 = np.eye(n * n, dtype=self.dtype), W0.reshape(-1).copy()
        self.fixed = {"W0": W0, "W_x": Wx, "W_ro": Wro, "K": K.astype(self.dtype), "k0": k0}

    def _initial_mod(self, batch: int) -> np.ndarray:
        n = self.n_sources
        return np.zeros((batch, n, n), dtype=self.dtype)  # W_{−1} = 0: y_0 = 0

    def _to_kernel_mod(self, mod: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(mod.reshape(mod.shape[0], -1))

    def _from_kernel_mod(self, M: np.ndarray) -> np.ndarray:
        n = self.n_sources
        return M.reshape(M.shape[:-1] + (n, n))

    def forward(self, x, state=None, freeze=None, workspace=None, threads: int = 1) -> Trace:
        """As :meth:`ClosedLoopModel.forward`; ``trace.extras["W"]`` (T+1, B, n, n) holds W_{t−1} in row t."""
        trace = super().forward(x, state, freeze, workspace, threads)
        trace.extras["W"] = self._from_kernel_mod(trace.extras["M"])
        return trace
