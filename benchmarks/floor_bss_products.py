"""How fast can this machine run the matrix products of one closed-loop training batch? A floor for bench_bss.

One training batch of `yetztml demo bss` (ModulationNet, B = 32, T = 1000, H = 100, K = H + 4 LSTM inputs + 1
bias, float32) must make three products whatever else it does:

    (L1)  per step   a_t  = W · r_t^T            (4H × K) · (K × B)        [cells/closed_loop.py, lstm_step]
    (LB1) per step   δr_t = W^T · δa_t            (K × 4H) · (4H × B)       [lstm_step_backward]
    (LW)  per batch  ∂W   = δA^T · R              (4H × T·B) · (T·B × K)    [lstm_weight_grads]

That is 3 · T · B · 4H · K ≈ 4.0 · 10⁹ multiply-adds per batch. This script makes exactly these products with
the same calls (NumPy's `np.dot` inside a Numba kernel, i.e. OpenBLAS sgemm), on random numbers, nothing
else: no activations, no modulated layer, no loss, no Adam. With `--threads 2` two threads each take half
the batch (B = 16), as `demo bss --threads 2` does. The time it reports is a lower bound for the batch on
this machine with this BLAS: the whole step (`bench_bss.py`) can only be slower.

    python benchmarks/floor_bss_products.py --repeats 7             # one thread, B = 32
    python benchmarks/floor_bss_products.py --repeats 7 --threads 2 # two threads, B = 16 each
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402


@numba.njit(cache=True, nogil=True)
def products(W, WT, R, daT, dA, A, dR):  # noqa: N803
    """(L1) and (LB1) at every step, then (LW) over all T·B rows (δa_t batch-major in dA, as the library
    keeps it); returns ∂W."""
    T, B, G = dA.shape
    for t in range(T):
        np.dot(W, R[t].T, A[t])  # (L1)
        np.dot(WT, daT[t], dR[t])  # (LB1)
    return np.dot(dA.reshape(T * B, G).T, R.reshape(T * B, R.shape[2]))  # (LW)


def _operands(rng: np.random.Generator, T: int, B: int, H: int, K: int) -> tuple:
    f32 = np.float32
    W = rng.standard_normal((4 * H, K)).astype(f32)
    return (W, np.ascontiguousarray(W.T), rng.standard_normal((T, B, K)).astype(f32),
            rng.standard_normal((T, 4 * H, B)).astype(f32), rng.standard_normal((T, B, 4 * H)).astype(f32),
            np.empty((T, 4 * H, B), f32), np.empty((T, K, B), f32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="threads, each with B / threads")
    parser.add_argument("--repeats", type=int, default=7, help="timed batches (default 7)")
    parser.add_argument("--T", type=int, default=1000, help="steps per batch (default 1000)")
    parser.add_argument("--B", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--H", type=int, default=100, help="LSTM units (default 100)")
    parser.add_argument("--inputs", type=int, default=4, help="LSTM inputs (default 4: x and y, 2 each)")
    args = parser.parse_args()
    K = args.H + args.inputs + 1
    rng = np.random.default_rng(0)
    halves = [_operands(rng, args.T, args.B // args.threads, args.H, K) for _ in range(args.threads)]
    pool = ThreadPoolExecutor(args.threads)

    def batch() -> None:
        list(pool.map(lambda ops: products(*ops), halves))

    batch()
    walls, cpus = [], []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        batch()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    macs = 3 * args.T * args.B * 4 * args.H * K
    wall = statistics.median(walls)
    print(f"# {os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.1f}; T = {args.T}, B = {args.B}, "
          f"H = {args.H}, K = {K}, {args.threads} thread(s); {macs / 1e9:.2f}e9 multiply-adds per batch")
    print(f"products of one batch: wall best {min(walls):.3f} / median {wall:.3f} s, "
          f"CPU best {min(cpus):.3f} / median {statistics.median(cpus):.3f} s; "
          f"{macs / wall / 1e9:.1f} G multiply-adds per second of wall time (median)")


if __name__ == "__main__":
    main()
