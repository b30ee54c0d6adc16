"""Matrix products for compiled kernels: plain loops for tiny operands, BLAS for large ones
(``np.dot``, or the gemm handed in by :mod:`yetztml.core.gemm_library`).

Kernels of tiny online nets (a few units, batch 1) spend their time in call overhead, not arithmetic, so
a BLAS call per time step would dominate; large hidden sizes are BLAS-bound and need it. These helpers
branch on the operand size once per call so every cell has one kernel for both regimes.

All functions write into a preallocated ``out`` (C-contiguous, same dtype as the operands) and either
overwrite it (``accumulate=False``) or add to it (``accumulate=True``).

Names say which operand is transposed: ``nn`` = A·B, ``nt`` = A·Bᵀ, ``tn`` = Aᵀ·B.
"""

from __future__ import annotations

import numba
import numpy as np

from .gemm_library import handed_in_product

#: Above this many multiply-adds a product goes to BLAS.
BLAS_THRESHOLD = 4096


@numba.njit(cache=True)
def blas_product(left, right, out, accumulate):
    """out (M, N) (+)= left (M, K) · right (K, N) by BLAS: the gemm handed in by
    :func:`~yetztml.core.gemm_library.handed_in_gemm` when there is one, else ``np.dot`` (SciPy's OpenBLAS)."""
    if handed_in_product(left, right, out, accumulate):
        return
    if accumulate:
        out += np.dot(left, right)
    else:
        np.dot(left, right, out)  # straight into ``out``: no temporary, the same BLAS call


@numba.njit(cache=True)
def gemm_nt(a, b, out, accumulate):
    """out (M, N) (+)= a (M, K) · b (N, K)ᵀ."""
    m, k = a.shape
    n = b.shape[0]
    if m * n * k >= BLAS_THRESHOLD:
        blas_product(a, b.T, out, accumulate)
        return
    if not accumulate:
        out[:, :] = 0.0  # never read what ``out`` held: it may be uninitialised (np.empty) memory
    for i in range(m):
        for j in range(n):
            acc = out[i, j]
            for p in range(k):
                acc += a[i, p] * b[j, p]
            out[i, j] = acc


@numba.njit(cache=True)
def gemm_nn(a, b, out, accumulate):
    """out (M, N) (+)= a (M, K) · b (K, N)."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k >= BLAS_THRESHOLD:
        blas_product(a, b, out, accumulate)
        return
    if not accumulate:
        out[:, :] = 0.0
    for i in range(m):
        for p in range(k):
            aip = a[i, p]
            for j in range(n):
                out[i, j] += aip * b[p, j]


@numba.njit(cache=True)
def gemm_tn(a, b, out, accumulate):
    """out (M, N) (+)= a (K, M)ᵀ · b (K, N): :func:`gemm_nn` of the transposed view (the same sums in the same
    order; ``np.dot`` takes the transpose as a BLAS flag)."""
    gemm_nn(a.T, b, out, accumulate)
