"""Adam's compiled pass (``yetztml.learning.optimisers.adam_update``) against the same source compiled with
Python's error model (a zero-division check on each division, which keeps the loop from vectorising: how
the pass was compiled before), side by side in one run on the same arrays; results compared byte for byte.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_adam.py            # --weights 4000000 --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

from yetztml.learning.optimisers import adam_update

checked = numba.njit(error_model="python")(adam_update.py_func)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| dtype | roll-back copy | checked divisions (ms) | vectorised (ms) | vectorised / checked | equal bytes |")
    print("|---|---|---|---|---|---|")
    for dt in (np.float32, np.float64):
        start = [rng.standard_normal(args.weights).astype(dt) for _ in range(3)]
        start[2] = np.abs(start[2])  # v ≥ 0
        g = rng.standard_normal(args.weights).astype(dt)
        hyper = tuple(dt(x) for x in (0.9, 0.1, 0.999, 0.001, 1e-3, 0.5, 1e-8))
        for keep in (False, True):
            runs, results = {}, {}
            for name, fn in (("checked", checked), ("vectorised", adam_update)):
                p, m, v = (a.copy() for a in start)
                old = [np.empty_like(p) for _ in range(3)] if keep else [p[:0]] * 3
                stamp = np.zeros(1, np.int64)
                fn(p, g, m, v, *hyper, keep, *old, stamp, 1)  # compile, and the first step
                results[name] = (p.copy(), m.copy(), v.copy())
                samples = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    fn(p, g, m, v, *hyper, keep, *old, stamp, 1)
                    samples.append(time.perf_counter() - t)
                runs[name] = statistics.median(samples) * 1e3
            equal = all(a.tobytes() == b.tobytes() for a, b in zip(*results.values(), strict=True))
            print(f"| {dt.__name__} | {'yes' if keep else 'no'} | {runs['checked']:.2f} | {runs['vectorised']:.2f} "
                  f"| {runs['vectorised'] / runs['checked']:.2f}x | {equal} |")


if __name__ == "__main__":
    main()
