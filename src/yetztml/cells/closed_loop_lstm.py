"""The closed-loop models' LSTM, one step at a time: compiled forward, backward and weight gradients.

The models and their shared machinery are in :mod:`yetztml.cells.closed_loop`; this module is the LSTM that
runs inside their loop (the models' kernels call these functions once per time step).

Forward, one step (per trial; r_t = [h_{t−1}, in_t, 1] and W = [W_hh | W_ih | b_ih + b_hh], gates in torch
order i, f, g, o):

    (CL1) a_t = W r_t = W_hh h_{t−1} + W_ih in_t + b_ih + b_hh         (B, 4H)
    (CL2) i_t = σ(a_t^i), f_t = σ(a_t^f), g_t = tanh(a_t^g), o_t = σ(a_t^o)
    (CL3) c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t                              (B, H)
    (CL4) h_t = o_t ⊙ tanh(c_t)                                        (B, H)
    (CL5) u_t = W_out h_t + b_out                                      (B, U)

Backward, one step, given δu_t, δh_t arriving from step t+1 (through (CL1)) and δc_t:

    (CLB5) δh_t += W_outᵀ δu_t
    (CLB4) δo = δh_t ⊙ tanh(c_t);  δc_t += δh_t ⊙ o_t ⊙ (1 − tanh²(c_t))
    (CLB3) δi = δc_t ⊙ g_t,  δg = δc_t ⊙ i_t,  δf = δc_t ⊙ c_{t−1};  δc_{t−1} = δc_t ⊙ f_t
    (CLB2) δa_t = [δi ⊙ i(1−i), δf ⊙ f(1−f), δg ⊙ (1−g²), δo ⊙ o(1−o)]
    (CLB1) δr_t = Wᵀ δa_t = [δh_{t−1}, δin_t, ·]

Weight gradients are summed over all T·B rows after the sweep, one matrix product each (the constant 1 in
r_t makes the last column of ∂W the bias gradient):

    (CLW) ∂W = Σ_t δa_tᵀ r_t,  ∂b_ih = ∂b_hh = ∂W[:, −1],  ∂W_out = Σ_t δu_tᵀ h_t,  ∂b_out = Σ_t δu_t

Storage (time-major): ``R`` (T+1, B, H+I_l+1) holds r_t in row t and h_{T−1} in row T; ``gates`` (T, 4H, B)
the activations i, f, g, o; ``C`` (T+1, H, B) holds c_{t−1} in row t; ``TC`` (T, H, B) holds tanh(c_t);
``dA`` (T, B, 4H) holds δa_t. R and dA are batch-major because (CLW) reads them as (T·B, ·) matrices; the
arrays only the step functions read are feature-major, (·, B), so that every elementwise loop runs over a
contiguous block of H·B numbers and the per-step products need no transposed copies.

Speed: the per-step products (CL1) and (CLB1) are computed feature-major, (4H, K)·(K, B) (r_t read in place
through a transposed view of R[t]) and (K, 4H)·(4H, B): OpenBLAS runs these shapes 1.4–1.8× faster than the
batch-major (B, K)·(K, 4H) and (B, 4H)·(4H, K). Transcendentals are the other cost (5 per hidden unit and
sample), and libm's tanh is not vectorised: with ``fast_tanh=True`` the kernels use the rational
approximation (A4) of :mod:`yetztml.core.squash` (|error| < 4e-9 everywhere), which the compiler vectorises;
σ(x) = ½(1 + tanh(x/2)) in both modes. The exact mode (``math.tanh``) is the default and is what the
gradient checks use. Elementwise arithmetic stays in the arrays' dtype (``squash_inplace``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.squash import squash_inplace


@numba.njit(cache=True, error_model="numpy")
def lstm_step(R, t, W, W_out, b_out, U, gates, C, TC, hT, uT, fast):
    """(CL1)–(CL5) at step t: reads r_t = R[t] (its last entry is set to 1 here), writes gates[t], C[t+1],
    TC[t], h_t into R[t+1, :, :H] and u_t into U[t]. hT (H, B) and uT (U, B) are scratch.

    Feature-major inside: the product (CL1) lands in gates[t] (4H, B), so each activation of (CL2) and the
    cell update (CL3)–(CL4) is one flat loop over a contiguous block of H·B numbers (every block a view that
    starts at index 0, which lets the compiler vectorise the loops).
    """
    H = C.shape[1]
    B, K = R.shape[1], R.shape[2]
    HB = H * B
    n_u = W_out.shape[0]
    r = R[t]
    for b in range(B):
        r[b, K - 1] = 1.0
    a2 = gates[t]
    np.dot(W, r.T, a2)  # (CL1) (4H, K)·(K, B) → (4H, B)
    a = a2.reshape(4 * HB)
    squash_inplace(a[:2 * HB], True, fast)  # (CL2) i, f
    squash_inplace(a[2 * HB:3 * HB], False, fast)  # (CL2) g
    squash_inplace(a[3 * HB:], True, fast)  # (CL2) o
    i_g, f_g, g_g, o_g = a[:HB], a[HB:2 * HB], a[2 * HB:3 * HB], a[3 * HB:]
    c_prev = C[t].reshape(HB)
    c_new = C[t + 1].reshape(HB)
    tc = TC[t].reshape(HB)
    for k in range(HB):
        c = f_g[k] * c_prev[k] + i_g[k] * g_g[k]  # (CL3)
        c_new[k] = c
        tc[k] = c
    squash_inplace(tc, False, fast)
    h = hT.reshape(HB)
    for k in range(HB):
        h[k] = o_g[k] * tc[k]  # (CL4)
    h_row = R[t + 1]
    for k in range(H):
        for b in range(B):
            h_row[b, k] = hT[k, b]
    for j in range(n_u):
        u = uT[j]
        for b in range(B):
            u[b] = b_out[j]
        for k in range(H):
            w = W_out[j, k]
            hk = hT[k]
            for b in range(B):
                u[b] += w * hk[b]  # (CL5)
    for b in range(B):
        for j in range(n_u):
            U[t, b, j] = uT[j, b]


@numba.njit(cache=True, error_model="numpy")
def lstm_step_backward(t, dU, W_out, WT, gates, C, TC, dA, dRT, dc, daT, duT):
    """(CLB5)–(CLB1) at step t, feature-major. dRT[:H] (H, B) enters as δh_t and dc (H, B) as δc_t; they leave
    as δh_{t−1} and δc_{t−1}, with δin_t in dRT[H:H+I_l] (row j = input j, column b = trial b).

    Writes δa_t into dA[t] (B, 4H) for the weight gradient (CLW); daT (4H, B) and duT (U, B) are scratch.
    """
    H = dc.shape[0]
    B = dc.shape[1]
    G = 4 * H
    HB = H * B
    n_u = W_out.shape[0]
    one = daT.dtype.type(1.0)
    for b in range(B):
        for j in range(n_u):
            duT[j, b] = dU[t, b, j]
    for j in range(n_u):
        du = duT[j]
        for k in range(H):
            w = W_out[j, k]
            dhk = dRT[k]
            for b in range(B):
                dhk[b] += du[b] * w  # (CLB5)
    a = gates[t].reshape(4 * HB)
    i_g, f_g, g_g, o_g = a[:HB], a[HB:2 * HB], a[2 * HB:3 * HB], a[3 * HB:]
    c_prev = C[t].reshape(HB)
    tc = TC[t].reshape(HB)
    dh = dRT[:H].reshape(HB)
    dcf = dc.reshape(HB)
    da = daT.reshape(4 * HB)
    da_i, da_f, da_g, da_o = da[:HB], da[HB:2 * HB], da[2 * HB:3 * HB], da[3 * HB:]
    for k in range(HB):
        o = o_g[k]
        th = tc[k]
        da_o[k] = dh[k] * th * o * (one - o)  # (CLB4), (CLB2) δa^o
        dcf[k] += dh[k] * o * (one - th * th)  # (CLB4)
    for k in range(HB):
        i = i_g[k]
        f = f_g[k]
        g = g_g[k]
        da_i[k] = dcf[k] * g * i * (one - i)  # (CLB3), (CLB2) δa^i
        da_f[k] = dcf[k] * c_prev[k] * f * (one - f)  # δa^f
        da_g[k] = dcf[k] * i * (one - g * g)  # δa^g
        dcf[k] *= f  # (CLB3) δc_{t−1}
    da_rows = dA[t]
    for k in range(G):
        for b in range(B):
            da_rows[b, k] = daT[k, b]
    np.dot(WT, daT, dRT)  # (CLB1) (K, 4H)·(4H, B) → (K, B)


@numba.njit(cache=True, error_model="numpy")
def lstm_weight_grads(R, dA, dU):
    """(CLW): ∂W (4H, K) with the bias gradient in its last column (one product over all T·B rows),
    ∂W_out (U, H), ∂b_out (U) (a loop: a product with U = 4 rows runs slower in BLAS)."""
    T, B, G = dA.shape
    width = R.shape[2]
    H = G // 4
    n_u = dU.shape[2]
    dW = np.dot(dA.reshape(T * B, G).T, R[:T].reshape(T * B, width))
    dW_out = np.zeros((n_u, H), dtype=dA.dtype)
    db_out = np.zeros(n_u, dtype=dA.dtype)
    for t in range(T):
        for b in range(B):
            h = R[t + 1, b, :H]
            for j in range(n_u):
                du = dU[t, b, j]
                db_out[j] += du
                row = dW_out[j]
                for k in range(H):
                    row[k] += du * h[k]
    return dW, dW_out, db_out


@numba.njit(cache=True, error_model="numpy")
def lstm_start(R, C, h0, c0):
    """Row 0 of the trajectories from the initial state: h_{−1} into R[0, :, :H], c_{−1} into C[0] (H, B)."""
    B, H = h0.shape
    K = R.shape[2]
    T = R.shape[0] - 1
    for b in range(B):
        for k in range(H):
            R[0, b, k] = h0[b, k]
            C[0, k, b] = c0[b, k]
        for k in range(H, K):
            R[T, b, k] = 0.0


@numba.njit(cache=True, error_model="numpy")
def lstm_backward_start(dRT, dc, dh_T, dc_T):
    """δh_T into dRT[:H] and δc_T into dc, both feature-major (H, B)."""
    B, H = dh_T.shape
    for b in range(B):
        for k in range(H):
            dRT[k, b] = dh_T[b, k]
            dc[k, b] = dc_T[b, k]


__all__ = ["lstm_backward_start", "lstm_start", "lstm_step", "lstm_step_backward", "lstm_weight_grads"]
