"""Error-flow benchmark: all lags q = 1…1000 along a 1000-step trajectory, H = 100, on one core.

    python benchmarks/bench_errorflow.py [--hidden 100] [--steps 1000] [--repeats 3]

Times ``linearise`` + ``error_flow`` (the recursion (R1)–(R3) of :mod:`yetztml.analysis.errorflow`, summaries
only) for an Elman RNN (Hochreiter's net-to-net flow, n = H) and a PyTorch-layout LSTM (h(t) → h(t−q) and
c(t−q), n = 2H). The forward pass that records the trajectory is not timed. BLAS and Numba are pinned to
one thread before NumPy is imported. Goal: < 2 s per cell.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from yetztml.analysis.errorflow import error_flow  # noqa: E402
from yetztml.analysis.linearise import linearise  # noqa: E402
from yetztml.cells.lstm import LSTM  # noqa: E402
from yetztml.cells.rnn import RNN  # noqa: E402


def measure(cell, x, repeats: int, **flow_kwargs) -> tuple[float, float]:
    """Best and median wall time of linearise + error_flow over ``repeats`` runs."""
    trace = cell.forward(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        lin = linearise(cell, trace)
        flow = error_flow(lin, **flow_kwargs)
        times.append(time.perf_counter() - start)
    assert len(flow.lags) == flow_kwargs["lags"]
    return min(times), float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    H, T = args.hidden, args.steps
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, 1, 8))
    rows = [
        ("RNN tanh, net → net", RNN(8, H, seed=0), dict(lags=T - 1)),
        ("LSTM, h → h, c", LSTM(8, H, seed=0), dict(lags=T, source="h", targets=("h", "c"))),
    ]
    print(f"H = {H}, T = {T}, lags 1…{T} (RNN: 1…{T - 1}, the net target needs t − q ≥ 0), one thread")
    for label, cell, kwargs in rows:
        best, median = measure(cell, x, args.repeats, **kwargs)
        print(f"{label:<22} best {best:6.3f} s   median {median:6.3f} s")


if __name__ == "__main__":
    main()
