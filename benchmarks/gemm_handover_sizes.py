"""One recurrent step's two products (B×H·H×4H and B×4H·4H×H) through ``blas_product``, the function the kernels
call, with their own BLAS and with PyTorch's handed in, over batch and hidden sizes; one thread, medians of 5.

Run from the repository root::

    python benchmarks/gemm_handover_sizes.py
"""

from __future__ import annotations

import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from yetztml.core.gemm_library import handed_in_gemm  # noqa: E402
from yetztml.core.linalg import blas_product  # noqa: E402
from yetztml.torch._blas import torch_gemm  # noqa: E402


@numba.njit(cache=True)
def _steps(h, w, rec, da, dh, n):
    for _ in range(n):
        blas_product(h, w.T, rec, False)
        blas_product(da, w, dh, False)


def main() -> None:
    torch.set_num_threads(1)
    addresses = torch_gemm()
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| dtype | B | H | own BLAS (µs) | PyTorch's handed in (µs) | handed in / own |")
    print("|---|---|---|---|---|---|")
    for dtype in (np.float32, np.float64):
        for B in (1, 8, 32, 64):
            for H in (16, 32, 64, 128, 256):
                h, w = rng.standard_normal((B, H)).astype(dtype), rng.standard_normal((4 * H, H)).astype(dtype)
                da = rng.standard_normal((B, 4 * H)).astype(dtype)
                rec, dh = np.empty((B, 4 * H), dtype), np.empty((B, H), dtype)
                n = max(10, int(2e7 / (B * H * 4 * H * 2)))
                _steps(h, w, rec, da, dh, 1)
                own, handed = [], []
                for _ in range(5):
                    start = time.perf_counter()
                    _steps(h, w, rec, da, dh, n)
                    own.append((time.perf_counter() - start) / n)
                    with handed_in_gemm(*addresses):
                        start = time.perf_counter()
                        _steps(h, w, rec, da, dh, n)
                        handed.append((time.perf_counter() - start) / n)
                o, m = statistics.median(own), statistics.median(handed)
                print(f"| {np.dtype(dtype).name} | {B} | {H} | {1e6 * o:.1f} | {1e6 * m:.1f} | {m / o:.2f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
