"""The Ray backend's overhead: one 1997 row through the local runner and through a local Ray cluster on the
same cores, side by side, identical results asserted.

The row: Exp 4 (adding problem), T = 100, as written, ``--trials`` trials (default 10, the paper's count)
from seed 0, each to the row's cap unless ``--max-sequences`` is given. Both sides run
:func:`yetztml.experiments.lstm1997.reproduce` into fresh folders:

* ``local``  the default backend: a pool of ``--cpus`` forked processes (kernels compiled before forking);
* ``ray``    :class:`~yetztml.experiments.ray_backend.RayBackend` on a Ray head started here with
             ``--cpus`` CPUs (``ray start --head --block``, 127.0.0.1). Its wall time includes everything a
             user waits for once the cluster is up: connecting the driver, starting the workers, their
             imports of yetztml and the compiled kernels, the tasks and the records coming back. The
             cluster's own start is timed apart (a cluster normally outlives many runs).

Each repeat runs both sides, in alternating order (local first in odd repeats, Ray first in even ones), so
that a change of load from other processes hits both alike; the table gives every repeat and the medians.
The per-trial records (all fields except ``wall_s`` and ``us_per_step``) must be identical on both sides.
Issue 16's target: ray / local ≤ 1.05.

Run from the repository root on an otherwise idle machine (the full measurement: 10 trials to the row's
cap, ≈ 7 minutes per side on 2 cores, so ≈ 30 minutes for the default 2 repeats)::

    python benchmarks/bench_ray_overhead.py                      # --trials 10 --cpus 2 --repeats 2

and a reduced check that the script works (about a minute)::

    python benchmarks/bench_ray_overhead.py --trials 2 --max-sequences 5000 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from yetztml.experiments.backends import LocalBackend  # noqa: E402
from yetztml.experiments.lstm1997 import reproduce, resolve_row  # noqa: E402
from yetztml.experiments.ray_backend import LocalHead, RayBackend  # noqa: E402

#: Record fields that measure time (they differ between any two runs, whatever the backend).
TIMINGS = ("wall_s", "us_per_step")


def untimed(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


def run_side(name: str, backend, args: argparse.Namespace, folder: Path) -> tuple[float, list[dict]]:
    row = resolve_row("4", T=args.T)
    started = time.perf_counter()
    result = reproduce(row, trials=args.trials, seed=args.seed, out=folder / name, jobs=args.cpus,
                       max_sequences=args.max_sequences, backend=backend)
    return time.perf_counter() - started, result["trials"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--max-sequences", dest="max_sequences", type=int, default=None,
                        help="cap per trial (default: the row's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpus", type=int, default=2, help="processes of the local runner = CPUs of the Ray head")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    cap = f"{args.max_sequences:,} sequences" if args.max_sequences else "the row's cap"
    print(f"Exp 4, T = {args.T}, {args.trials} trials, seed {args.seed}, {cap}, {args.cpus} CPUs; "
          f"{platform.processor() or platform.machine()}, load average before {os.getloadavg()[0]:.2f}", flush=True)
    row = resolve_row("4", T=args.T)
    reproduce(row, trials=1, seed=args.seed, out=tempfile.mkdtemp(prefix="bench-warm-"), jobs=1, max_sequences=1)
    with LocalHead(num_cpus=args.cpus) as head:
        print(f"Ray head {head.address} accepting connections after {head.seconds:.1f} s", flush=True)
        rows = []
        for repeat in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
                order = ["local", "ray"] if repeat % 2 == 0 else ["ray", "local"]
                walls, records = {}, {}
                for name in order:
                    backend = LocalBackend(args.cpus) if name == "local" else RayBackend(head.address)
                    walls[name], records[name] = run_side(name, backend, args, Path(tmp))
                    print(f"  repeat {repeat + 1}: {name:<5} {walls[name]:8.1f} s", flush=True)
                assert untimed(records["local"]) == untimed(records["ray"]), "the backends' records differ"
                rows.append((repeat + 1, " then ".join(order), walls["local"], walls["ray"],
                             walls["ray"] / walls["local"]))
    print(f"\nrecords identical on both sides in every repeat; load average after {os.getloadavg()[0]:.2f}\n")
    print("| repeat | order | local runner | Ray cluster | ray / local |")
    print("|---|---|---|---|---|")
    for repeat, order, local, ray, ratio in rows:
        print(f"| {repeat} | {order} | {local:.1f} s | {ray:.1f} s | {ratio:.3f} |")
    print(f"| median | | {statistics.median(r[2] for r in rows):.1f} s | {statistics.median(r[3] for r in rows):.1f} s "
          f"| {statistics.median(r[4] for r in rows):.3f} |")


if __name__ == "__main__":
    main()
