"""The matrix products of one LSTM layer's forward and backward, alone: the floor under the LSTM kernels.

Shared by ``bench_torch_bridge.py`` and ``profile_text_step.py`` (imported from the scripts' own folder).
"""

from __future__ import annotations

import numba

from yetztml.core.linalg import blas_product


@numba.njit(cache=True)
def lstm_products(x, w_ih, w_hh, h, gates, rec, dh, dx, dw_ih, dw_hh):
    """The matrix products of one LSTM layer's forward and backward, through the function our kernels call
    (the BLAS handed in, if any, else ``np.dot``), with no gate arithmetic between them. x (T, B, I), w_ih
    (G·H, I), w_hh (G·H, H), h (T+1, B, H), gates (T, B, G·H); rec (B, G·H), dh (B, H), dx (T, B, I), dw_ih and
    dw_hh receive the products."""
    T, B, I = x.shape
    H = h.shape[2]
    rows = gates.reshape(T * B, w_ih.shape[0])  # G·H gate rows (G = 4, or 3 for CIFG)
    blas_product(x.reshape(T * B, I), w_ih.T, rows, False)  # W_ih x(t), all steps
    for t in range(T):
        blas_product(h[t], w_hh.T, rec, False)  # W_hh h(t−1), one step
    for t in range(T):
        blas_product(gates[t], w_hh, dh, False)  # W_hhᵀ δa(t), one step
    blas_product(rows.T, x.reshape(T * B, I), dw_ih, False)  # δW_ih
    blas_product(rows.T, h[:T].reshape(T * B, H), dw_hh, False)  # δW_hh
    blas_product(rows, w_ih, dx.reshape(T * B, I), False)  # δx
