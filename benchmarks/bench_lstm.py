"""LSTM forward + backward: yetztml's ``LSTM`` against ``torch.nn.LSTM`` and an eager ``nn.LSTMCell`` loop.

Three sizes, float32, one thread for everyone (set below, before NumPy and torch load their BLAS):

* tiny online net  I=2,   H=4,   B=1,  T=1000
* mid              I=4,   H=100, B=32, T=1000
* standard         I=128, H=512, B=64, T=100

All three implementations use the same weights and inputs and compute the same gradients: every
parameter and the input (torch's input has ``requires_grad=True``, as yetztml always returns δx).
The loss is Σ outputs·d with a fixed random d. Before timing, the gradients are compared (printed as
"max rel err") so the table times equal work. A warm-up run per implementation comes first
(compilation happens there). Each timed sample is k back-to-back calls, k chosen per implementation
so that a sample lasts at least ``--min-sample`` seconds (like ``timeit``'s autorange; short calls are
otherwise dominated by preemption on a shared machine), and is reported per call. Each repeat takes
one sample of each implementation in turn (interleaved, so that load from other processes hits all of
them alike). The table reports medians over the repeats; ratios are "other / ours" (> 1: ours faster).

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python benchmarks/bench_lstm.py
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from yetztml.cells.lstm import LSTM  # noqa: E402
from yetztml.core.gradcheck import relative_error  # noqa: E402
from yetztml.interop.torch import to_torch  # noqa: E402

SIZES = [  # (I, H, B, T)
    (2, 4, 1, 1000),
    (4, 100, 32, 1000),
    (128, 512, 64, 100),
]

TARGETS = {  # size -> (description, check(ours, fused, eager))
    SIZES[0]: ("≥ 100x faster than eager, ≥ 4x faster than fused", lambda o, f, e: e / o >= 100 and f / o >= 4),
    SIZES[1]: ("≥ 1.5x faster than eager", lambda o, f, e: e / o >= 1.5),
    SIZES[2]: ("≤ 1.25x the time of fused", lambda o, f, e: o / f <= 1.25),
}


class Workload:
    """One size: the same weights, input and output weighting d for all three implementations."""

    def __init__(self, size: tuple[int, int, int, int], seed: int) -> None:
        I, H, B, T = size
        rng = np.random.default_rng(seed)
        self.cell = LSTM(I, H, seed=seed, dtype=np.float32)
        self.x = rng.standard_normal((T, B, I)).astype(np.float32)
        self.d = rng.standard_normal((T, B, H)).astype(np.float32)
        self.fused = to_torch(self.cell)
        self.step = torch.nn.LSTMCell(I, H, dtype=torch.float32)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.step, name).copy_(getattr(self.fused, name + "_l0"))
        self.xt = torch.from_numpy(self.x)
        self.dt = torch.from_numpy(self.d)

    def ours(self) -> dict[str, np.ndarray]:
        trace = self.cell.forward(self.x)
        grads = self.cell.backward(trace, self.d)
        return {**grads, "inputs": grads.inputs}

    def torch_fused(self) -> dict[str, np.ndarray]:
        self.fused.zero_grad(set_to_none=True)
        x = self.xt.clone().requires_grad_(True)
        out, _ = self.fused(x)
        out.backward(self.dt)
        grads = {k: p.grad for k, p in self.fused.named_parameters()}
        return {**grads, "inputs": x.grad}

    def torch_eager(self) -> dict[str, np.ndarray]:
        self.step.zero_grad(set_to_none=True)
        x = self.xt.clone().requires_grad_(True)
        B, H = x.shape[1], self.step.hidden_size
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        outs = []
        for t in range(x.shape[0]):
            h, c = self.step(x[t], (h, c))
            outs.append(h)
        torch.stack(outs).backward(self.dt)
        grads = {k + "_l0": p.grad for k, p in self.step.named_parameters()}
        return {**grads, "inputs": x.grad}


def _max_error(ours: dict, theirs: dict) -> float:
    return max(relative_error(ours[k], theirs[k].numpy()) for k in ours)


def _time(fn, calls: int = 1) -> float:
    """Seconds per call of ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per size (default 7, at least 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")
    parser.add_argument("--min-sample", type=float, default=0.2, help="seconds per timed sample (default 0.2)")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")
    torch.set_num_threads(1)
    threads = ", ".join(f"{v}={os.environ[v]}" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    print(f"# bench_lstm: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"numpy {np.__version__}, torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
          f"{threads}, repeats={args.repeats}, float32\n")
    rows = []
    for size in SIZES:
        work = Workload(size, args.seed)
        impls = {"ours": work.ours, "fused": work.torch_fused, "eager": work.torch_eager}
        results = {name: fn() for name, fn in impls.items()}  # warm-up (compiles our kernels) and check
        err_fused = _max_error(results["ours"], results["fused"])
        err_eager = _max_error(results["ours"], results["eager"])
        calls = {name: max(1, math.ceil(args.min_sample / _time(fn))) for name, fn in impls.items()}
        times: dict[str, list[float]] = {name: [] for name in impls}
        for _ in range(args.repeats):
            for name, fn in impls.items():
                times[name].append(_time(fn, calls[name]))
        med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
        spread = {name: (min(ts) * 1e3, max(ts) * 1e3) for name, ts in times.items()}
        rows.append((size, med, spread, err_fused, err_eager))
        ranges = ", ".join(f"{n} min/max {a:.3f}/{b:.3f} ms ({calls[n]} calls/sample)" for n, (a, b) in spread.items())
        print(f"size {size}: max rel err of gradients vs fused {err_fused:.1e}, vs eager {err_eager:.1e}; {ranges}",
              flush=True)
    print()
    print("| I, H, B, T | ours (ms) | torch nn.LSTM fused (ms) | torch LSTMCell eager loop (ms) "
          "| eager / ours | fused / ours | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    for size, med, _, _, _ in rows:
        o, f, e = med["ours"], med["fused"], med["eager"]
        text, check = TARGETS[size]
        print(f"| {', '.join(map(str, size))} | {o:.3f} | {f:.3f} | {e:.3f} | {e / o:.1f}x | {f / o:.2f}x "
              f"| {text} | {'yes' if check(o, f, e) else 'NO'} |")


if __name__ == "__main__":
    main()
