"""A linear network whose gains an LSTM sets in closed loop: the kernel of ModulationNet and SpatialNet.

Z units compute gain-modulated projections of the stimulus; a fixed readout sums them into the output; the
LSTM of ``closed_loop.py`` listens to stimulus and output and drives the gains through a kernel K and a
leaky integrator of time constant τ [Naumann et al. 2022, Eq. 7–10]. Per trial, step t = 0 … T−1:

Forward
    (MLF1) v_t = W_x x_t                                   (B, Z)   W_x (Z, I)
    (MLF2) z_t = M_{t−1} ⊙ v_t                             (B, Z)
    (MLF3) y_t = W_ro z_t                                  (B, K)   W_ro (K, Z), the output
    (MLF4) in_t = [x_t, y_t] | x_t | y_t                   (B, I_l) the LSTM input ('xy' | 'x' | 'y')
    (MLF5) u_t = LSTM(in_t; h_{t−1}, c_{t−1})              (B, U)   (CL1)–(CL5) of closed_loop_lstm.py
    (MLF6) M_t = M_{t−1} + (K u_t + k_0 − M_{t−1}) / τ     (B, Z)   K (Z, U); M_t = M_{t−1} where frozen

Backward (δM_t, δh_t, δc_t arrive from step t+1; δy_t from the loss)
    (MLB6) δu_t = Kᵀ δM_t / τ + δu_t^ext;  δM_{t−1} = (1 − 1/τ) δM_t   (frozen: δu_t = δu_t^ext, δM_{t−1} = δM_t)
    (MLB5) (CLB5)–(CLB1) of closed_loop_lstm.py give δh_{t−1}, δc_{t−1} and δin_t
    (MLB4) δx_t += δin_t^x;  δy_t += δin_t^y
    (MLB3) δz_t = W_roᵀ δy_t;   ∂W_ro += δy_t z_tᵀ
    (MLB2) δM_{t−1} += δz_t ⊙ v_t;  δv_t = δz_t ⊙ M_{t−1}
    (MLB1) δx_t += W_xᵀ δv_t;   ∂W_x += δv_t x_tᵀ

ModulationNet is this kernel with Z = n², W_x and W_ro the fixed 0/1 matrices that make y = W x for the
row-major W = M (``modulation.py``); SpatialNet uses it as is (``spatial.py``).
"""

from __future__ import annotations

import abc

import numba
import numpy as np

from ..core.validation import check_int
from .base import Grads, Trace
from .closed_loop import (
    INPUT_CODES,
    ClosedLoopModel,
    LoopState,
    Workspace,
    lstm_backward_start,
    lstm_start,
    lstm_step,
    lstm_step_backward,
    lstm_weight_grads,
)


@numba.njit(cache=True, inline="always")
def readout_buffers(x, WxT, Wro):
    """A backward kernel's zeroed δx (T, B, I), ∂W_xᵀ and ∂W_ro, and its δy_t buffer (K,)."""
    dt = x.dtype
    dx = np.zeros(x.shape, dtype=dt)
    return dx, np.zeros(WxT.shape, dtype=dt), np.zeros(Wro.shape, dtype=dt), np.empty(Wro.shape[0], dtype=dt)


@numba.njit(cache=True, inline="always")
def lstm_input(R, x, y, t, b, H, in_mode):
    """in_t = [x_t, y_t] | x_t | y_t (``in_mode`` 0 | 1 | 2) into R[t, b] after its H recurrent entries."""
    o = H
    if in_mode != 2:
        for j in range(x.shape[2]):
            R[t, b, o + j] = x[t, b, j]
        o += x.shape[2]
    if in_mode != 1:
        for k in range(y.shape[2]):
            R[t, b, o + k] = y[t, b, k]


@numba.njit(cache=True, inline="always")
def lstm_input_backward(dRT, dx, dy, dyt, t, b, H, in_mode):
    """The error on in_t (column b of dRT, after its H recurrent rows) split: δx_t += δin_t^x into dx[t, b];
    dyt (K,) = δy_t from the loss + δin_t^y."""
    for k in range(dyt.shape[0]):
        dyt[k] = dy[t, b, k]
    o = H
    if in_mode != 2:
        for j in range(dx.shape[2]):
            dx[t, b, j] += dRT[o + j, b]
        o += dx.shape[2]
    if in_mode != 1:
        for k in range(dyt.shape[0]):
            dyt[k] += dRT[o + k, b]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gain_loop_forward(
    x, WxT, Wro, KT, k0, inv_tau, W, W_out, b_out, in_mode, frozen, h0, c0, M0, fast,
    y, R, gates, C, TC, U, V, Ms, hT, uT,
):
    """(MLF1)–(MLF6) over x (T, B, I), writing y (T, B, K), the LSTM arrays (closed_loop.py), U (T, B, U),
    V (T, B, Z) = v_t and Ms (T+1, B, Z) = M_{t−1} in row t. hT, uT are scratch (closed_loop.py).

    W_x and K come transposed, WxT (I, Z) and KT (U, Z), so that every loop over the Z units is contiguous.
    """
    T, B, I = x.shape
    Z = WxT.shape[1]
    n_out = Wro.shape[0]
    H = h0.shape[1]
    n_u = W_out.shape[0]
    typ = y.dtype.type
    zero = typ(0.0)
    rate = typ(inv_tau)
    lstm_start(R, C, h0, c0)
    Ms[0] = M0
    for t in range(T):
        for b in range(B):
            for z in range(Z):
                V[t, b, z] = zero
            for j in range(I):
                xj = x[t, b, j]
                for z in range(Z):
                    V[t, b, z] += WxT[j, z] * xj  # (MLF1)
            for k in range(n_out):
                acc = zero
                for z in range(Z):
                    acc += Wro[k, z] * (Ms[t, b, z] * V[t, b, z])  # (MLF2)
                y[t, b, k] = acc  # (MLF3)
            lstm_input(R, x, y, t, b, H, in_mode)  # (MLF4)
        lstm_step(R, t, W, W_out, b_out, U, gates, C, TC, hT, uT, fast)  # (MLF5)
        for b in range(B):
            if frozen[t]:
                for z in range(Z):
                    Ms[t + 1, b, z] = Ms[t, b, z]
                continue
            for z in range(Z):
                Ms[t + 1, b, z] = k0[z]
            for j in range(n_u):
                uj = U[t, b, j]
                for z in range(Z):
                    Ms[t + 1, b, z] += KT[j, z] * uj
            for z in range(Z):
                m_prev = Ms[t, b, z]
                Ms[t + 1, b, z] = m_prev + (Ms[t + 1, b, z] - m_prev) * rate  # (MLF6)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gain_loop_backward(
    x, WxT, Wro, KT, inv_tau, WT, W_out, in_mode, frozen, R, gates, C, TC, V, Ms, dy, du_ext, dh_T, dc_T, dM_T,
    dA, dU, dRT, dc, daT, duT,
):
    """(MLB6)–(MLB1) from t = T−1 down to 0, then (CLW); dA (T, B, 4H), dU (T, B, U) and the rest are scratch.

    Returns δx, δh_{−1}, δc_{−1}, δM_{−1}, ∂W (bias in the last column), ∂W_out, ∂b_out, ∂W_xᵀ (I, Z), ∂W_ro.
    """
    T, B, I = x.shape
    Z = WxT.shape[1]
    n_out = Wro.shape[0]
    H = dh_T.shape[1]
    n_u = W_out.shape[0]
    dt = x.dtype
    typ = dt.type
    zero = typ(0.0)
    rate = typ(inv_tau)
    keep = typ(1.0) - rate
    dx, dWxT, dWro, dyt = readout_buffers(x, WxT, Wro)
    dv = np.empty(Z, dtype=dt)
    lstm_backward_start(dRT, dc, dh_T, dc_T)
    dM = dM_T.copy()
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(n_u):
                acc = du_ext[t, b, j]
                if not frozen[t]:
                    for z in range(Z):
                        acc += KT[j, z] * dM[b, z] * rate  # (MLB6)
                dU[t, b, j] = acc
            if not frozen[t]:
                for z in range(Z):
                    dM[b, z] *= keep
        lstm_step_backward(t, dU, W_out, WT, gates, C, TC, dA, dRT, dc, daT, duT)  # (MLB5)
        for b in range(B):
            lstm_input_backward(dRT, dx, dy, dyt, t, b, H, in_mode)  # (MLB4)
            for z in range(Z):
                dv[z] = zero
            for k in range(n_out):
                dyk = dyt[k]
                for z in range(Z):
                    dv[z] += Wro[k, z] * dyk  # (MLB3) δz_t, held in dv for now
                    dWro[k, z] += dyk * (Ms[t, b, z] * V[t, b, z])
            for z in range(Z):
                dM[b, z] += dv[z] * V[t, b, z]  # (MLB2)
                dv[z] *= Ms[t, b, z]
            for j in range(I):
                acc = zero
                xj = x[t, b, j]
                for z in range(Z):
                    acc += WxT[j, z] * dv[z]  # (MLB1)
                    dWxT[j, z] += dv[z] * xj
                dx[t, b, j] += acc
    dW, dW_out, db_out = lstm_weight_grads(R, dA, dU)
    return dx, np.ascontiguousarray(dRT[:H].T), np.ascontiguousarray(dc.T), dM, dW, dW_out, db_out, dWxT, dWro


class GainLoopModel(ClosedLoopModel):
    """A closed-loop model running :func:`gain_loop_forward`; subclasses provide W_x, W_ro, K, k_0, τ."""

    #: Names of W_x and W_ro; each lives in ``params`` if trained, else in ``fixed``.
    WX = "W_x"
    WRO = "W_ro"
    PUBLIC_EXTRAS = ("u", "v", "M")

    def zero_state(self, batch: int) -> LoopState:
        """h = c = 0 and the model's initial modulation (zero for both models)."""
        batch = check_int(f"{type(self).__name__}.zero_state(batch)", batch, minimum=1)
        H = self.hidden_size
        return LoopState(
            np.zeros((batch, H), dtype=self.dtype), np.zeros((batch, H), dtype=self.dtype), self._initial_mod(batch)
        )

    @abc.abstractmethod
    def _initial_mod(self, batch: int) -> np.ndarray:
        """The modulation state at the start of a run, (B, ·)."""

    def weight(self, name: str) -> np.ndarray:
        """Feedforward weight ``name`` (W_x, W_ro, ...), trained or fixed."""
        return self.params[name] if name in self.params else self.fixed[name]

    def _kernel_args(self) -> tuple:
        """(W_xᵀ, W_ro, Kᵀ, k_0, 1/τ) as the kernels take them."""
        return (
            np.ascontiguousarray(self.weight(self.WX).T),
            np.ascontiguousarray(self.weight(self.WRO)),
            np.ascontiguousarray(self.fixed["K"].T),
            np.ascontiguousarray(self.fixed["k0"]),
            1.0 / self.tau,
        )

    def _to_kernel_mod(self, mod: np.ndarray) -> np.ndarray:
        """The public modulation state as the kernel's M (B, Z)."""
        return np.ascontiguousarray(mod)

    def _from_kernel_mod(self, M: np.ndarray) -> np.ndarray:
        """The kernel's M (…, B, Z) as the public modulation state."""
        return M

    def _run(self, x, state, frozen, ws: Workspace) -> Trace:
        Wx, Wro, K, k0, inv_tau = self._kernel_args()
        W, _ = self.lstm_arrays()
        h0, c0, mod0 = state
        T, B, _ = x.shape
        Z = Wx.shape[1]
        R, gates, C, TC, U, hT, uT = self._lstm_buffers(ws, T, B)
        y = np.empty((T, B, self.output_size), dtype=self.dtype)
        V = ws.get("V", (T, B, Z), self.dtype)
        Ms = ws.get("M", (T + 1, B, Z), self.dtype)
        gain_loop_forward(
            x, Wx, Wro, K, k0, inv_tau, W, self.params["weight_out"], self.params["bias_out"],
            INPUT_CODES[self.lstm_input], frozen, h0, c0, self._to_kernel_mod(mod0), self.fast_tanh,
            y, R, gates, C, TC, U, V, Ms, hT, uT,
        )
        h_fin, c_fin = self._lstm_final(R, C, self.hidden_size)
        final = LoopState(h_fin, c_fin, self._from_kernel_mod(Ms[-1].copy()))
        extras = {"R": R, "gates": gates, "C": C, "TC": TC, "u": U, "v": V, "M": Ms, "frozen": frozen}
        return Trace(x=x, outputs=y, initial_state=state, final_state=final, extras=extras)

    def _run_backward(self, trace, d_outputs, d_final, d_u, ws: Workspace) -> Grads:
        e = trace.extras
        Wx, Wro, K, _, inv_tau = self._kernel_args()
        _, WT = self.lstm_arrays()
        dh_T, dc_T, dmod_T = d_final
        T, B, _ = trace.x.shape
        dA, dU, dRT, dc, daT, duT = self._lstm_grad_buffers(ws, T, B)
        dx, dh0, dc0, dM0, dW, dW_out, db_out, dWx, dWro = gain_loop_backward(
            trace.x, Wx, Wro, K, inv_tau, WT, self.params["weight_out"], INPUT_CODES[self.lstm_input],
            e["frozen"], e["R"], e["gates"], e["C"], e["TC"], e["v"], e["M"], d_outputs, d_u,
            dh_T, dc_T, self._to_kernel_mod(dmod_T), dA, dU, dRT, dc, daT, duT,
        )
        grads = self._lstm_grads(dW, dW_out, db_out)
        if self.WX in self.params:
            grads[self.WX] = np.ascontiguousarray(dWx.T)
        if self.WRO in self.params:
            grads[self.WRO] = dWro
        return Grads(grads, inputs=dx, initial_state=LoopState(dh0, dc0, self._from_kernel_mod(dM0)))

    def z(self, trace: Trace) -> np.ndarray:
        """The modulated units z_t = M_{t−1} ⊙ W_x x_t, (T, B, Z) (MLF2)."""
        return trace.extras["M"][:-1] * trace.extras["v"]
