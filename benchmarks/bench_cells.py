"""Forward + backward of each stacked cell of ``yetztml.cells``, on NumPy arrays, wall and CPU time.

One layer, one direction, input 64, hidden 128, batch 32, length 100 (the size of the PyTorch bridge's
targets) by default; the cells' own kernels through their public ``forward`` / ``backward``, float32 (the
fast rational tanh) and float64 (libm). A sample is k back-to-back forward + backward calls (k chosen so a
sample lasts at least ``--min-sample`` seconds), reported per call; the cells are sampled in turn
(interleaved) and the table gives the median over ``--repeats`` samples of the wall time and of the
process's CPU time. ``benchmarks/compare_commits.py`` reads the table, so two commits can be timed side by
side.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_cells.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from yetztml.cells.gru import GRU  # noqa: E402
from yetztml.cells.lstm import LSTM  # noqa: E402
from yetztml.cells.lstm_cifg import LSTMCIFG  # noqa: E402
from yetztml.cells.lstm_layernorm import LSTMLayerNorm  # noqa: E402
from yetztml.cells.lstm_peephole_stacked import LSTMPeepholeStacked  # noqa: E402
from yetztml.cells.lstm_zoneout import LSTMZoneout  # noqa: E402
from yetztml.cells.rnn import RNN  # noqa: E402

CELLS = {
    "lstm": (LSTM, {}),
    "gru": (GRU, {}),
    "rnn": (RNN, {}),
    "peephole": (LSTMPeepholeStacked, {}),
    "cifg": (LSTMCIFG, {}),
    "layernorm": (LSTMLayerNorm, {}),
    "zoneout": (LSTMZoneout, {"zoneout_h": 0.1, "zoneout_c": 0.05, "recurrent_dropout": 0.1, "mask_seed": 1}),
}


def _sample(fn, min_sample: float) -> tuple[float, float]:
    """(wall, CPU) seconds per call of ``fn`` over one sample."""
    calls = 1
    while True:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall >= min_sample:
            return wall / calls, cpu / calls
        calls *= 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=4, default=(64, 128, 32, 100), metavar=("I", "H", "B", "T"))
    parser.add_argument("--repeats", type=int, default=5, help="samples per cell (default 5)")
    parser.add_argument("--min-sample", type=float, default=0.2, help="seconds per sample (default 0.2)")
    parser.add_argument("--cells", nargs="+", choices=tuple(CELLS), default=list(CELLS))
    parser.add_argument("--dtypes", nargs="+", choices=("float32", "float64"), default=["float32", "float64"])
    args = parser.parse_args()
    if args.repeats < 1 or args.min_sample <= 0:
        parser.error("--repeats must be at least 1 and --min-sample positive")
    I, H, B, T = args.size
    rng = np.random.default_rng(0)
    runs = {}
    for name in args.cells:
        cls, options = CELLS[name]
        for dtype in args.dtypes:
            cell = cls(I, H, 1, seed=0, dtype=np.dtype(dtype), **options)
            x = rng.standard_normal((T, B, I)).astype(dtype)
            d = rng.standard_normal((T, B, H)).astype(dtype)

            def step(cell=cell, x=x, d=d) -> None:
                cell.backward(cell.forward(x), d)

            step()  # compiles the kernels (cached afterwards)
            runs[(name, dtype)] = step
    times: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in runs}
    for _ in range(args.repeats):
        for key, step in runs.items():
            times[key].append(_sample(step, args.min_sample))
    print(f"cells forward + backward, I {I}, H {H}, B {B}, T {T}, one thread, medians of {args.repeats}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| cell | dtype | wall (ms) | CPU (ms) |")
    print("|---|---|---|---|")
    for (name, dtype), samples in times.items():
        wall = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"| {name} | {dtype} | {1e3 * wall:.2f} | {1e3 * cpu:.2f} |")


if __name__ == "__main__":
    main()
