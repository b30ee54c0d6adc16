"""What sealing traces costs (yetztml.cells.sealing): LSTM forward + backward with the seal on and off.

The two settings alternate in blocks of 10 calls in one process (so that both see the same load), and
the medians are reported, with the sealing steps alone (copy of the input, seal, check, open and seal
again) timed on their own. Run with BLAS pinned to one thread::

    OMP_NUM_THREADS=1 python benchmarks/bench_trace_sealing.py      # --input 64 --hidden 128 --batch 64 --steps 10
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

from yetztml.cells import sealing
from yetztml.cells.lstm import LSTM

REAL = (sealing.copy_inputs, sealing.seal, sealing.check, sealing.Opened)


class _Open(contextlib.nullcontext):
    def __init__(self, trace: object) -> None:
        super().__init__()


def _setting(on: bool) -> None:
    """Sealing as shipped (on) or every step of it a no-op (off)."""
    if on:
        sealing.copy_inputs, sealing.seal, sealing.check, sealing.Opened = REAL
    else:
        sealing.copy_inputs, sealing.seal, sealing.check, sealing.Opened = (
            lambda value: value, lambda *a: None, lambda *a: None, _Open)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=40, help="blocks of 10 calls per setting")
    args = parser.parse_args()
    cell = LSTM(args.input, args.hidden, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.steps, args.batch, args.input))
    d = rng.standard_normal((args.steps, args.batch, args.hidden))

    def once() -> float:
        start = time.perf_counter()
        cell.backward(cell.forward(x), d)
        return time.perf_counter() - start

    times: dict[bool, list[float]] = {True: [], False: []}
    for on in (True, False):  # compile and warm up
        _setting(on)
        [once() for _ in range(10)]
    for _ in range(args.blocks):
        for on in (True, False):
            _setting(on)
            times[on] += [once() for _ in range(10)]
    _setting(True)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    trace = cell.forward(x)

    def steps() -> float:
        start = time.perf_counter()
        sealing.copy_inputs(((x,), {}))
        sealing.seal(trace, cell.params)
        sealing.check(cell, trace)
        with sealing.Opened(trace):
            pass
        return time.perf_counter() - start

    alone = statistics.median(steps() for _ in range(2000))
    print(f"LSTM I={args.input} H={args.hidden} B={args.batch} T={args.steps}, forward + backward, "
          f"medians of {10 * args.blocks} calls each")
    print(f"  sealing off  {off * 1e3:8.3f} ms")
    print(f"  sealing on   {on * 1e3:8.3f} ms   ratio {on / off:.4f}")
    print(f"  sealing steps alone {alone * 1e6:.1f} µs ({alone / off:.2%} of a call)")


if __name__ == "__main__":
    main()
