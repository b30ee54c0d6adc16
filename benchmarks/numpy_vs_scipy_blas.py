"""NumPy's OpenBLAS against SciPy's, called directly with the same Fortran-interface arguments.

Two checks behind the kernels' default BLAS (``yetztml.core.gemm_library``):

* time: the per-step products of a recurrent layer (B×H·H×4H and B×4H·4H×H, float32) and one large readout
  product, each library timed in turn, best of 3 samples; ratio = NumPy's / SciPy's time;
* equality: 10 shapes × 4 flag pairs × β ∈ {0, 1} × float32/float64, the two results compared byte for byte.

Run from the repository root, one thread::

    OPENBLAS_NUM_THREADS=1 python benchmarks/numpy_vs_scipy_blas.py
"""

from __future__ import annotations

import ctypes
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402, F401  (loads SciPy's OpenBLAS)
from threadpoolctl import threadpool_info  # noqa: E402

from yetztml.core.gemm_library import gemm_pair, numpy_gemm  # noqa: E402


def _scipy_gemm() -> tuple[int, int]:
    for info in threadpool_info():
        if info.get("internal_api") == "openblas" and "scipy.libs" in info["filepath"]:
            pair = gemm_pair(info["filepath"], "scipy_sgemm_", "scipy_dgemm_")
            if pair is not None:
                return pair
    raise SystemExit("numpy_vs_scipy_blas: SciPy's OpenBLAS (scipy_sgemm_) not found")


def _caller(address: int, integer, real):
    fn = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 13)(address)

    def call(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, beta=0.0):
        refs = [ctypes.c_char(ta), ctypes.c_char(tb), integer(m), integer(n), integer(k), real(1.0), integer(lda),
                integer(ldb), real(beta), integer(ldc)]
        p = [ctypes.addressof(r) for r in refs]
        fn(p[0], p[1], p[2], p[3], p[4], p[5], a.ctypes.data, p[6], b.ctypes.data, p[7], p[8], c.ctypes.data, p[9])
    return call


def main() -> None:
    found = numpy_gemm()
    if found is None:
        raise SystemExit("numpy_vs_scipy_blas: NumPy's BLAS is not an OpenBLAS found in the process")
    ours_s, ours_d, wide = found
    theirs_s, theirs_d = _scipy_gemm()
    int_numpy = ctypes.c_int64 if wide else ctypes.c_int32
    i32, f32, f64 = ctypes.c_int32, ctypes.c_float, ctypes.c_double
    libs = {np.float32: (_caller(ours_s, int_numpy, f32), _caller(theirs_s, i32, f32)),
            np.float64: (_caller(ours_d, int_numpy, f64), _caller(theirs_d, i32, f64))}
    versions = {i["filepath"].split("/")[-2]: i["version"] for i in threadpool_info()
                if i.get("internal_api") == "openblas"}
    print(f"OpenBLAS versions: {versions}; load {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(0)
    print("| (M, K, N), row-major out = L·R, float32 | NumPy's (µs) | SciPy's (µs) | NumPy's / SciPy's |")
    print("|---|---|---|---|")
    numpy_call, scipy_call = libs[np.float32]
    for M, K, N in [(32, 128, 512), (64, 128, 512), (32, 512, 128), (64, 512, 128), (896, 256, 5921)]:
        L, R = rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)
        out = np.empty((M, N), np.float32)
        best = {}
        for name, call in (("numpy", numpy_call), ("scipy", scipy_call)):
            reps = 2000 if M < 500 else 10
            samples = []
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(reps):
                    call(b"N", b"N", N, M, K, R, N, L, K, out, N)  # outᵀ = Rᵀ·Lᵀ, column-major
                samples.append((time.perf_counter() - start) / reps * 1e6)
            best[name] = min(samples)
        print(f"| ({M}, {K}, {N}) | {best['numpy']:.1f} | {best['scipy']:.1f} | {best['numpy'] / best['scipy']:.2f}x |")
    same = total = 0
    for dt, (new, old) in libs.items():
        for M, K, N in [(1, 7, 3), (4, 16, 64), (32, 128, 512), (64, 128, 512), (64, 512, 128), (7, 33, 129),
                        (200, 64, 512), (896, 256, 700), (1, 300, 1200), (512, 3200, 128)]:
            for ta in (b"N", b"T"):
                for tb in (b"N", b"T"):
                    A, B = rng.standard_normal(M * K).astype(dt), rng.standard_normal(K * N).astype(dt)
                    lda, ldb = (M if ta == b"N" else K), (K if tb == b"N" else N)
                    for beta in (0.0, 1.0):
                        c_old = rng.standard_normal(M * N).astype(dt)
                        c_new = c_old.copy()
                        old(ta, tb, M, N, K, A, lda, B, ldb, c_old, M, beta)
                        new(ta, tb, M, N, K, A, lda, B, ldb, c_new, M, beta)
                        same += c_old.tobytes() == c_new.tobytes()
                        total += 1
    print(f"equal byte for byte: {same} of {total} products (threads: {os.environ['OPENBLAS_NUM_THREADS']})")


if __name__ == "__main__":
    main()
