"""A recording gemm for tests: a ctypes function with BLAS's Fortran interface that computes (GL1) of
:mod:`yetztml.core.gemm_library` with NumPy and keeps every call's arguments, so a test sees exactly which
products went through a handed-in gemm, with which flags, sizes and leading dimensions."""

from __future__ import annotations

import ctypes

import numpy as np


def _matrix(pointer, ctype, rows: int, cols: int, ld: int) -> np.ndarray:
    """The column-major (rows, cols) matrix with leading dimension ld at ``pointer``, as a writable view."""
    flat = np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctype)), shape=((cols - 1) * ld + rows,))
    return np.lib.stride_tricks.as_strided(flat, shape=(rows, cols), strides=(flat.itemsize, ld * flat.itemsize))


class RecordingGemm:
    """sgemm/dgemm stand-ins: (GL1) by NumPy, each call's (transa, transb, m, n, k, lda, ldb, ldc, beta) kept."""

    def __init__(self, integer: type = ctypes.c_int32) -> None:
        self.calls: list[tuple] = []
        self.integer = integer  # c_int32: the LP64 interface; c_int64: ILP64
        self.functions = [self._function(ctypes.c_float), self._function(ctypes.c_double)]

    def _function(self, real):
        char, integer, number = ctypes.POINTER(ctypes.c_char), ctypes.POINTER(self.integer), ctypes.POINTER(real)
        prototype = ctypes.CFUNCTYPE(None, char, char, integer, integer, integer, number, ctypes.c_void_p, integer,
                                     ctypes.c_void_p, integer, number, ctypes.c_void_p, integer)

        def gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
            ta, tb, m, n, k = ta[0].decode(), tb[0].decode(), m[0], n[0], k[0]
            self.calls.append((real.__name__, ta, tb, m, n, k, lda[0], ldb[0], ldc[0], beta[0]))
            op_a = _matrix(a, real, *((m, k) if ta == "N" else (k, m)), lda[0])
            op_b = _matrix(b, real, *((k, n) if tb == "N" else (n, k)), ldb[0])
            op_a, op_b = (op_a if ta == "N" else op_a.T), (op_b if tb == "N" else op_b.T)
            out = _matrix(c, real, m, n, ldc[0])
            out[...] = alpha[0] * (op_a @ op_b) + (beta[0] * out if beta[0] != 0 else 0)

        return prototype(gemm)

    def addresses(self) -> tuple[int, int]:
        return tuple(ctypes.cast(f, ctypes.c_void_p).value for f in self.functions)
