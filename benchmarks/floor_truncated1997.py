"""How fast can plain Numba run the 1997 Exp 4 net online? A single-purpose kernel as the yardstick.

The library's fused kernel (``yetztml.learning.online1997_fast``) serves every net of the 1997 and 2000
reproductions: options for forget gates, shortcuts, one-hot inputs, masks, windows, per-sequence updates.
This script holds a kernel for exactly one net — the 93-weight Exp 4 net (2 inputs, 2 blocks × 2 cells,
full recurrence, all biases, g = 4σ − 2, h = 2σ − 1, one logistic output, error at the last step) with
no options at all — and times both on the same adding-task sequences (T = 100), interleaved, after
checking that they make the same weight changes (≤ 1e-12). The single-purpose kernel's time is what this
machine gives for the arithmetic of this net in straightforward compiled code: the floor against which
the library kernel's time, and any per-step target, can be judged.

    (S1) net = W u                                    u = [x; y^c; y^in; y^out; 1]       [1997 eqs. 7–8]
    (S2) y^in, y^out = σ(net), g = 4σ(net_c) − 2, s += y^in g, y^c = y^out (2σ(s) − 1)    [1997 eq. 9]
    (S3) ∂s/∂w_c += g'(net_c) y^in u, ∂s/∂w_in += g f'_in u                        [1997 eqs. 25, 27]
    (S4) at the last step: e_k = f'_k (t − y) · 2 (squared-error gradient), Δw = α e y   [1997 eqs. 19–28]

Run from the repository root::

    python benchmarks/floor_truncated1997.py                  # --repeats 9 --sequences 3000
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from yetztml.cells.lstm1997 import LSTM1997  # noqa: E402
from yetztml.learning import online1997_fast as fast  # noqa: E402
from yetztml.tasks import make_task  # noqa: E402

LR = 0.25  # the paper's α = 0.5 with e_k = f'(t − y); with the squared error's factor 2: 0.25 · 2


@numba.njit(cache=True)
def floor_kernel(x, tgt, flags, starts, W, Wk, I, C, S, lr):  # noqa: N803
    """(S1)–(S4) over the packed sequences; W (H, U + 1) rows [cells, input gates, output gates]."""
    N = C * S
    H, U1 = W.shape
    K, V1 = Wk.shape
    u = np.zeros(U1)
    net = np.zeros(H)
    s = np.zeros(N)
    hs = np.zeros(N)
    dh = np.zeros(N)
    yc = np.zeros(N)
    yin = np.zeros(C)
    yout = np.zeros(C)
    fout = np.zeros(C)
    dSc = np.zeros((N, U1))
    dSi = np.zeros((N, U1))
    ek = np.zeros(K)
    eyc = np.zeros(N)
    for q in range(starts.shape[0] - 1):
        u[:] = 0.0
        u[U1 - 1] = 1.0
        s[:] = 0.0
        dSc[:, :] = 0.0
        dSi[:, :] = 0.0
        for t in range(starts[q], starts[q + 1]):
            for m in range(I):
                u[m] = x[t, m]
            for r in range(H):
                a = 0.0
                for m in range(U1):
                    a += W[r, m] * u[m]
                net[r] = a  # (S1)
            for j in range(C):
                yi = 1.0 / (1.0 + math.exp(-net[N + j]))
                fi = yi * (1.0 - yi)
                yo = 1.0 / (1.0 + math.exp(-net[N + C + j]))
                fout[j] = yo * (1.0 - yo)
                yin[j] = yi
                yout[j] = yo
                for k in range(S):
                    c = j * S + k
                    g = 4.0 / (1.0 + math.exp(-net[c])) - 2.0
                    s[c] += yi * g  # (S2)
                    kc = 0.25 * (2.0 + g) * (2.0 - g) * yi
                    ki = g * fi
                    for m in range(U1):
                        dSc[c, m] += kc * u[m]  # (S3)
                        dSi[c, m] += ki * u[m]
                    h = 2.0 / (1.0 + math.exp(-s[c])) - 1.0
                    hs[c] = h
                    dh[c] = 0.5 * (1.0 + h) * (1.0 - h)
                    yc[c] = yo * h
            if flags[t]:
                for k in range(K):
                    a = Wk[k, V1 - 1]
                    for c in range(N):
                        a += Wk[k, c] * yc[c]
                    yk = 1.0 / (1.0 + math.exp(-a))
                    ek[k] = -2.0 * (yk - tgt[t, k]) * yk * (1.0 - yk)  # (S4)
                for c in range(N):
                    a = 0.0
                    for k in range(K):
                        a += Wk[k, c] * ek[k]
                    eyc[c] = a
                for k in range(K):
                    a = lr * ek[k]
                    for c in range(N):
                        Wk[k, c] += a * yc[c]
                    Wk[k, V1 - 1] += a
                for j in range(C):
                    a = 0.0
                    for k in range(S):
                        a += hs[j * S + k] * eyc[j * S + k]
                    eo = lr * fout[j] * a
                    for m in range(U1):
                        W[N + C + j, m] += eo * u[m]
                    for k in range(S):
                        c = j * S + k
                        es = lr * yout[j] * dh[c] * eyc[c]
                        for m in range(U1):
                            W[c, m] += es * dSc[c, m]
                            W[N + j, m] += es * dSi[c, m]
            for c in range(N):
                u[I + c] = yc[c]
            for j in range(C):
                u[I + N + j] = yin[j]
                u[I + N + C + j] = yout[j]


def make_cell() -> LSTM1997:
    """The 93-weight Exp 4 net [1997 §5.4], as in bench_truncated1997.py."""
    return LSTM1997(2, 2, 2, 1, bias="all", init_range=0.1, input_gate_bias=[-3.0, -6.0], seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats of each kernel (default 9)")
    parser.add_argument("--sequences", type=int, default=3000, help="adding sequences, T = 100 (default 3000)")
    args = parser.parse_args()
    task = make_task("4", seed=0, T=100)
    packed = fast.pack([task.sample() for _ in range(args.sequences)])
    steps = packed.steps

    def run_library():
        net = fast.FastNet(make_cell())
        fast.train_online(net, packed, lr=LR, error_scale=2.0, trusted=True)
        return net.W, net.Wk

    def run_floor():
        net = fast.FastNet(make_cell())
        floor_kernel(packed.x, packed.targets, packed.flags, packed.starts, net.W, net.Wk, 2, 2, 2, LR)
        return net.W, net.Wk

    (wa, ka), (wb, kb) = run_library(), run_floor()
    diff = max(np.abs(wa - wb).max(), np.abs(ka - kb).max())
    print(f"# {os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.1f}; {args.sequences} sequences, "
          f"{steps} steps; largest weight difference after training: {diff:.1e}")
    if diff > 1e-12:
        raise SystemExit("the two kernels disagree: no timing")
    times: dict[str, list[float]] = {"library kernel": [], "single-purpose kernel": []}
    for _ in range(args.repeats):
        for name, fn in (("library kernel", run_library), ("single-purpose kernel", run_floor)):
            started = time.process_time()
            fn()
            times[name].append((time.process_time() - started) / steps * 1e6)
    print("| kernel | CPU µs per step, median (min–max) |")
    print("|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f}) |")
    ratio = statistics.median(times["library kernel"]) / statistics.median(times["single-purpose kernel"])
    print(f"library / single-purpose (medians): {ratio:.2f}; load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
