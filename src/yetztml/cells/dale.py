"""DaleRateNet: rate neurons with Dale's law whose release probabilities an LSTM sets in closed loop
[Naumann et al. 2022, Fig. 6–7, Eq. 11–14; the authors' ``DaleRateNet``].

(About 400 lines on purpose: one module per cell — the equations, the compiled forward, the hand-derived
backward directly below it and the class that checks options and states; the shared closed-loop machinery
is already in :mod:`~yetztml.cells.closed_loop`, and splitting the kernels from their equations would send a
reader of (DB3) to another file.)

A lower population z^L (rectified projection of the stimulus) drives a higher population z^H through positive
excitatory weights |W^HL| and feedforward inhibition W_inh = W^HI W^IL (both positive, so each neuron is
excitatory or inhibitory); feedback scales the higher neurons' input by a gain p = 1 − σ(K m) (stronger
feedback, lower release probability). Per trial, step t (N_L lower, N_H higher units, U feedback signals):

Forward
    (DF1) z^L_t = [W_x x_t]_+                                      (B, N_L)  W_x (N_L, n) ~ N(0, 0.5²)
    (DF2) e_t = |W^HL| z^L_t,  ι_t = W_inh z^L_t                   (B, N_H)  excitation, inhibition
    (DF3) gain:        z^H_t = p_{t−1} ⊙ [e_t − ι_t]_+             (B, N_H)  (the code's mod_target 0)
         excitation:  z^H_t = [p_{t−1} ⊙ e_t − ι_t]_+                       (mod_target 1)
         inhibition:  z^H_t = [e_t − p_{t−1} ⊙ ι_t]_+                       (mod_target 2)
    (DF4) y_t = W_ro z^H_t                                         (B, n)    W_ro (n, N_H) ~ N(0, 0.5²)
    (DF5) u_t = LSTM(in_t; h_{t−1}, c_{t−1}), in_t = [x_t, y_t] | x_t | y_t   (CL1)–(CL5) of closed_loop_lstm.py
    (DF6) m_t = m_{t−1} + (u_t − m_{t−1}) / τ                      (B, U)
    (DF7) p_t = 1 − σ(K m_t)                                       (B, N_H)  K (N_H, U) as in SpatialNet;
                                                                            p_t = p_{t−1} while frozen

Backward (δp_t, δm_t, δh_t, δc_t from step t+1; δy_t from the loss)
    (DB7) δm_t += Kᵀ(−δp_t ⊙ s(1 − s)) with s = 1 − p_t            (frozen: δp_{t−1} = δp_t instead)
    (DB6) δu_t = δm_t / τ + δu_t^ext;  δm_{t−1} = (1 − 1/τ) δm_t
    (DB5) (CLB5)–(CLB1) of closed_loop_lstm.py give δh_{t−1}, δc_{t−1}, δin_t;  δx_t += δin^x, δy_t += δin^y
    (DB4) δz^H = W_roᵀ δy_t;  ∂W_ro += δy_t z^Hᵀ
    (DB3) with q the rectifier's argument and 1[q > 0] its derivative:
         gain:        δp_{t−1} += δz^H ⊙ [e − ι]_+;  δe = δz^H ⊙ p ⊙ 1[q>0];  δι = −δe
         excitation:  δq = δz^H ⊙ 1[q>0];  δp_{t−1} += δq ⊙ e;  δe = δq ⊙ p;  δι = −δq
         inhibition:  δq = δz^H ⊙ 1[q>0];  δp_{t−1} −= δq ⊙ ι;  δe = δq;  δι = −δq ⊙ p
    (DB2) δz^L = |W^HL|ᵀ δe + W_injᵀ δι;  ∂|W^HL| += δe z^Lᵀ, ∂W^HL = sign(W^HL) ⊙ ∂|W^HL|
    (DB1) δv = δz^L ⊙ 1[W_x x_t > 0];  δx_t += W_xᵀ δv;  ∂W_x += δv x_tᵀ

Initialisation as the authors' code (scale 20, halved on the side the feedback does not target):
|W^HL| = |N(1, 0.5²)|·20/N_H, W^IL = |N(1, 0.5²)|/N_I, W^HI = |N(1, 1)|·20/N_H, W_inh = W^HI W^IL (fixed).
Defaults N_L = 40, N_H = 100, N_I = 20, U = 4, σ² = 0.2, τ = 100 [Table 2]. W_x, W^HL and W_ro are trained
when ``learn_wx``, ``learn_hl``, ``learn_ro`` (the code's ``learn_wx``, ``learn_baseline``, ``learn_ro``);
the paper also trains W^HI and W^IL, which the authors' code cannot (W_inh is precomputed) and neither does
this module. The zero state has m = 0 and p = ½ = 1 − σ(0); the authors draw p_{−1} ~ N(0.5, 0.01²)
(training) or N(0.5, 0.1²) (testing), which a caller passes as the initial state.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ..core.validation import check_choice, check_int, check_sizes
from .base import Grads, Trace
from .closed_loop import (
    INPUT_CODES,
    ClosedLoopModel,
    Workspace,
    fast_tanh,
    lstm_backward_start,
    lstm_start,
    lstm_step,
    lstm_step_backward,
    lstm_weight_grads,
)
from .modulated_linear import lstm_input, lstm_input_backward, readout_buffers
from .spatial import KERNELS, modulation_kernel

TARGETS = ("gain", "excitation", "inhibition")


class DaleState(NamedTuple):
    """LSTM (h, c) (B, H); feedback m (B, U); release probabilities p (B, N_H)."""

    h: np.ndarray
    c: np.ndarray
    m: np.ndarray
    p: np.ndarray


@numba.njit(cache=True, nogil=True, error_model="numpy")
def dale_forward(
    x, WxT, WcatT, Wro, KT, inv_tau, target, W, W_out, b_out, in_mode, frozen, h0, c0, m0, p0, fast,
    y, R, gates, C, TC, U, ZL, EI, ZH, Mm, P, hT, uT,
):
    """(DF1)–(DF7) over x (T, B, I). WcatT (N_L, 2N_H) = [|W^HL|; W_inh]ᵀ, so EI[t] = [e_t, ι_t] is one product.

    Writes y, the LSTM arrays, U, ZL (T, B, N_L), EI (T, B, 2N_H), ZH (T, B, N_H), Mm (T+1, B, U) with m_{t−1}
    in row t, and P (T+1, B, N_H) with p_{t−1} in row t.
    """
    T, B, I = x.shape
    NL = WxT.shape[1]
    NH = Wro.shape[1]
    n_out = Wro.shape[0]
    H = h0.shape[1]
    n_u = W_out.shape[0]
    lstm_start(R, C, h0, c0)
    Mm[0] = m0
    P[0] = p0
    for t in range(T):
        for b in range(B):
            zl = ZL[t, b]
            zl[:] = 0.0
            for j in range(I):
                xj = x[t, b, j]
                for l in range(NL):
                    zl[l] += WxT[j, l] * xj
            for l in range(NL):
                zl[l] = max(zl[l], 0.0)  # (DF1)
        np.dot(ZL[t], WcatT, EI[t])  # (DF2) (B, N_L)·(N_L, 2N_H)
        for b in range(B):
            ei = EI[t, b]
            p = P[t, b]
            zh = ZH[t, b]
            if target == 0:  # (DF3)
                for n in range(NH):
                    zh[n] = p[n] * max(ei[n] - ei[NH + n], 0.0)
            elif target == 1:
                for n in range(NH):
                    zh[n] = max(p[n] * ei[n] - ei[NH + n], 0.0)
            else:
                for n in range(NH):
                    zh[n] = max(ei[n] - p[n] * ei[NH + n], 0.0)
            for k in range(n_out):
                acc = 0.0
                for n in range(NH):
                    acc += Wro[k, n] * zh[n]
                y[t, b, k] = acc  # (DF4)
            lstm_input(R, x, y, t, b, H, in_mode)  # in_t of (DF5)
        lstm_step(R, t, W, W_out, b_out, U, gates, C, TC, hT, uT, fast)  # (DF5)
        for b in range(B):
            m_prev = Mm[t, b]
            m_new = Mm[t + 1, b]
            for j in range(n_u):
                m_new[j] = m_prev[j] + (U[t, b, j] - m_prev[j]) * inv_tau  # (DF6)
            p_new = P[t + 1, b]
            if frozen[t]:
                p_new[:] = P[t, b]
                continue
            p_new[:] = 0.0
            for j in range(n_u):
                mj = m_new[j]
                for n in range(NH):
                    p_new[n] += KT[j, n] * mj
            if fast:
                for n in range(NH):
                    p_new[n] = 0.5 - 0.5 * fast_tanh(0.5 * p_new[n])  # (DF7) 1 − σ(a) = ½ − ½ tanh(a/2)
            else:
                for n in range(NH):
                    p_new[n] = 0.5 - 0.5 * math.tanh(0.5 * p_new[n])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def dale_backward(
    x, WxT, Wcat, Wro, KT, inv_tau, target, WT, W_out, in_mode, frozen, R, gates, C, TC, ZL, EI, ZH, P,
    dy, du_ext, dh_T, dc_T, dm_T, dp_T, dA, dU, dRT, dc, daT, duT, DEI, dZL,
):
    """(DB7)–(DB1) from t = T−1 down to 0, then (CLW). DEI (T, B, 2N_H) keeps [δe, δι]; dZL (B, N_L) is scratch.

    Returns δx, δh_{−1}, δc_{−1}, δm_{−1}, δp_{−1}, ∂W (bias in the last column), ∂W_out, ∂b_out, ∂W_xᵀ,
    ∂|W^HL|, ∂W_ro.
    """
    T, B, I = x.shape
    NL = WxT.shape[1]
    NH = Wro.shape[1]
    n_out = Wro.shape[0]
    H = dh_T.shape[1]
    n_u = W_out.shape[0]
    dt = x.dtype
    dx, dWxT, dWro, dyt = readout_buffers(x, WxT, Wro)
    dzh = np.empty(NH, dtype=dt)
    lstm_backward_start(dRT, dc, dh_T, dc_T)
    dm = dm_T.copy()
    dp = dp_T.copy()
    for t in range(T - 1, -1, -1):
        for b in range(B):
            dpb = dp[b]
            dmb = dm[b]
            if not frozen[t]:
                p_new = P[t + 1, b]
                for n in range(NH):
                    s = 1.0 - p_new[n]
                    dzh[n] = -dpb[n] * s * (1.0 - s)  # (DB7) δ(K m_t), held in dzh for now
                for j in range(n_u):
                    acc = 0.0
                    for n in range(NH):
                        acc += KT[j, n] * dzh[n]
                    dmb[j] += acc
                dpb[:] = 0.0
            for j in range(n_u):
                dU[t, b, j] = du_ext[t, b, j] + dmb[j] * inv_tau  # (DB6)
                dmb[j] *= 1.0 - inv_tau
        lstm_step_backward(t, dU, W_out, WT, gates, C, TC, dA, dRT, dc, daT, duT)  # (DB5)
        for b in range(B):
            lstm_input_backward(dRT, dx, dy, dyt, t, b, H, in_mode)  # δx_t, δy_t of (DB5)
            zh = ZH[t, b]
            dzh[:] = 0.0
            for k in range(n_out):
                dyk = dyt[k]
                for n in range(NH):
                    dzh[n] += Wro[k, n] * dyk  # (DB4)
                    dWro[k, n] += dyk * zh[n]
            ei = EI[t, b]
            p = P[t, b]
            dpb = dp[b]
            dei = DEI[t, b]
            if target == 0:  # (DB3)
                for n in range(NH):
                    q = ei[n] - ei[NH + n]
                    on = 1.0 if q > 0.0 else 0.0
                    dpb[n] += dzh[n] * q * on
                    de = dzh[n] * p[n] * on
                    dei[n] = de
                    dei[NH + n] = -de
            elif target == 1:
                for n in range(NH):
                    q = p[n] * ei[n] - ei[NH + n]
                    dq = dzh[n] if q > 0.0 else 0.0
                    dpb[n] += dq * ei[n]
                    dei[n] = dq * p[n]
                    dei[NH + n] = -dq
            else:
                for n in range(NH):
                    q = ei[n] - p[n] * ei[NH + n]
                    dq = dzh[n] if q > 0.0 else 0.0
                    dpb[n] -= dq * ei[NH + n]
                    dei[n] = dq
                    dei[NH + n] = -dq * p[n]
        np.dot(DEI[t], Wcat, dZL)  # (DB2) (B, 2N_H)·(2N_H, N_L)
        for b in range(B):
            zl = ZL[t, b]
            dzl = dZL[b]
            for l in range(NL):
                if zl[l] <= 0.0:
                    dzl[l] = 0.0  # (DB1) the rectifier passes no gradient where it is off
            for j in range(I):
                acc = 0.0
                xj = x[t, b, j]
                for l in range(NL):
                    acc += WxT[j, l] * dzl[l]
                    dWxT[j, l] += dzl[l] * xj
                dx[t, b, j] += acc
    dW, dW_out, db_out = lstm_weight_grads(R, dA, dU)
    dWcat = np.dot(DEI.reshape(T * B, 2 * NH).T, ZL.reshape(T * B, NL))  # (DB2) ∂[|W^HL|; W_inh]
    dh0, dc0 = np.ascontiguousarray(dRT[:H].T), np.ascontiguousarray(dc.T)
    return dx, dh0, dc0, dm, dp, dW, dW_out, db_out, dWxT, dWcat[:NH].copy(), dWro


class DaleRateNet(ClosedLoopModel):
    """Dalean rate network (N_L → N_H, feedforward inhibition) with LSTM-set release probabilities.

    >>> net = DaleRateNet(hidden_size=8, n_lower=6, n_higher=10, n_inhibitory=3, n_feedback=2, seed=0)
    >>> trace = net.forward(np.zeros((5, 3, 2)))
    >>> trace.outputs.shape, trace.extras["p"].shape
    ((5, 3, 2), (6, 3, 10))
    """

    name = "dale-rate-net"
    WX, WHL, WRO = "W_x", "W_HL", "W_ro"
    PUBLIC_EXTRAS = ("u", "zL", "EI", "zH", "m", "p")

    def __init__(
        self,
        n_sources: int = 2,
        hidden_size: int = 100,
        n_lower: int = 40,
        n_higher: int = 100,
        n_inhibitory: int = 20,
        n_feedback: int = 4,
        kernel: str = "von_mises",
        width: float = 0.2,
        tau: float = 100.0,
        target: str = "gain",
        lstm_input: str = "xy",
        learn_wx: bool = False,
        learn_hl: bool = False,
        learn_ro: bool = False,
        seed=0,
        dtype: object = np.float64,
        fast_tanh: bool = False,
    ) -> None:
        cls = type(self).__name__
        self.tau = self._check_tau(cls, tau)
        self.n_lower, self.n_higher, self.n_inhibitory, n_feedback = check_sizes(
            cls, n_lower=n_lower, n_higher=n_higher, n_inhibitory=n_inhibitory, n_feedback=n_feedback
        )
        self.kernel = str(check_choice(f"{cls}(kernel=...)", kernel, KERNELS))
        self.target = str(check_choice(f"{cls}(target=...)", target, TARGETS))
        K = modulation_kernel(self.kernel, self.n_higher, n_feedback, width)
        self.width = float(width)
        super().__init__(n_sources, hidden_size, n_feedback, lstm_input, seed, dtype, fast_tanh)
        n, NL, NH, NI = self.n_sources, self.n_lower, self.n_higher, self.n_inhibitory
        scale_exc = 10.0 if self.target == "inhibition" else 20.0
        scale_inh = 10.0 if self.target == "excitation" else 20.0
        normal = lambda mean, std, shape: self.rng.normal(mean, std, size=shape)
        Wx = normal(0.0, 0.5, (NL, n))
        Wro = normal(0.0, 0.5, (n, NH))
        W_HL = np.abs(normal(1.0, 0.5, (NH, NL))) * scale_exc / NH
        W_IL = np.abs(normal(1.0, 0.5, (NI, NL))) / NI
        W_HI = np.abs(normal(1.0, 1.0, (NH, NI))) * scale_inh / NH
        cast = lambda a: np.ascontiguousarray(a, dtype=self.dtype)
        self.fixed = {"W_IL": cast(W_IL), "W_HI": cast(W_HI), "W_inh": cast(W_HI @ W_IL), "K": cast(K)}
        (self.params if bool(learn_wx) else self.fixed)[self.WX] = cast(Wx)
        (self.params if bool(learn_hl) else self.fixed)[self.WHL] = cast(W_HL)
        (self.params if bool(learn_ro) else self.fixed)[self.WRO] = cast(Wro)

    def _torch_names(self) -> dict[str, str]:
        return {**super()._torch_names(), "W_x": "wx", "W_HL": "w0", "W_ro": "Wro"}

    def weight(self, name: str) -> np.ndarray:
        """Feedforward weight ``name`` (W_x, W_ro, ...), trained or fixed."""
        return self.params[name] if name in self.params else self.fixed[name]

    def zero_state(self, batch: int) -> DaleState:
        """h = c = 0, m = 0 and p = 1 − σ(K·0) = ½."""
        batch = check_int(f"{type(self).__name__}.zero_state(batch)", batch, minimum=1)
        z = lambda *shape: np.zeros(shape, dtype=self.dtype)
        p = np.full((batch, self.n_higher), 0.5, dtype=self.dtype)
        return DaleState(z(batch, self.hidden_size), z(batch, self.hidden_size), z(batch, self.n_feedback), p)

    def _kernel_args(self) -> tuple:
        """(W_xᵀ, [|W^HL|; W_inh] (2N_H, N_L), its transpose, W_ro, Kᵀ, 1/τ, target code)."""
        Wcat = np.ascontiguousarray(np.concatenate([np.abs(self.weight(self.WHL)), self.fixed["W_inh"]], axis=0))
        return (
            np.ascontiguousarray(self.weight(self.WX).T),
            Wcat,
            np.ascontiguousarray(Wcat.T),
            np.ascontiguousarray(self.weight(self.WRO)),
            np.ascontiguousarray(self.fixed["K"].T),
            1.0 / self.tau,
            TARGETS.index(self.target),
        )

    def _run(self, x, state, frozen, ws: Workspace) -> Trace:
        WxT, _, WcatT, Wro, KT, inv_tau, target = self._kernel_args()
        W, _ = self.lstm_arrays()
        T, B, _ = x.shape
        NL, NH, dt = self.n_lower, self.n_higher, self.dtype
        R, gates, C, TC, U, hT, uT = self._lstm_buffers(ws, T, B)
        y = np.empty((T, B, self.output_size), dtype=dt)
        ZL = ws.get("ZL", (T, B, NL), dt)
        EI = ws.get("EI", (T, B, 2 * NH), dt)
        ZH = ws.get("ZH", (T, B, NH), dt)
        Mm = ws.get("m", (T + 1, B, self.n_feedback), dt)
        P = ws.get("p", (T + 1, B, NH), dt)
        h0, c0, m0, p0 = state
        dale_forward(
            x, WxT, WcatT, Wro, KT, inv_tau, target, W, self.params["weight_out"], self.params["bias_out"],
            INPUT_CODES[self.lstm_input], frozen, h0, c0, m0, p0, self.fast_tanh,
            y, R, gates, C, TC, U, ZL, EI, ZH, Mm, P, hT, uT,
        )
        h_fin, c_fin = self._lstm_final(R, C, self.hidden_size)
        final = DaleState(h_fin, c_fin, Mm[-1].copy(), P[-1].copy())
        extras = {"R": R, "gates": gates, "C": C, "TC": TC, "u": U, "zL": ZL, "EI": EI, "zH": ZH,
                  "m": Mm, "p": P, "frozen": frozen}
        return Trace(x=x, outputs=y, initial_state=state, final_state=final, extras=extras)

    def _run_backward(self, trace, d_outputs, d_final, d_u, ws: Workspace) -> Grads:
        e = trace.extras
        WxT, Wcat, _, Wro, KT, inv_tau, target = self._kernel_args()
        _, WT = self.lstm_arrays()
        T, B, _ = trace.x.shape
        dA, dU, dRT, dc, daT, duT = self._lstm_grad_buffers(ws, T, B)
        DEI = ws.get("dEI", (T, B, 2 * self.n_higher), self.dtype)
        dZL = ws.get("dZL", (B, self.n_lower), self.dtype)
        dh_T, dc_T, dm_T, dp_T = d_final
        dx, dh0, dc0, dm0, dp0, dW, dW_out, db_out, dWxT, dWabs, dWro = dale_backward(
            trace.x, WxT, Wcat, Wro, KT, inv_tau, target, WT, self.params["weight_out"],
            INPUT_CODES[self.lstm_input], e["frozen"], e["R"], e["gates"], e["C"], e["TC"], e["zL"], e["EI"],
            e["zH"], e["p"], d_outputs, d_u, dh_T, dc_T, dm_T, dp_T, dA, dU, dRT, dc, daT, duT, DEI, dZL,
        )
        grads = self._lstm_grads(dW, dW_out, db_out)
        if self.WX in self.params:
            grads[self.WX] = np.ascontiguousarray(dWxT.T)
        if self.WHL in self.params:
            grads[self.WHL] = np.sign(self.params[self.WHL]) * dWabs  # d|w|/dw = sign(w), 0 at 0 as in torch
        if self.WRO in self.params:
            grads[self.WRO] = dWro
        return Grads(grads, inputs=dx, initial_state=DaleState(dh0, dc0, dm0, dp0))
