"""Online training of the 1997 Exp 4 net with the truncated gradient: time per time step, against PyTorch eager.

The net of 1997 Experiment 4 (2 inputs, 2 blocks × 2 cells, 1 logistic output, connectivity "full", all
biases: 93 weights; U[−0.1, 0.1] with input-gate biases −3, −6) trained on adding-task sequences with
T = 100 (lengths 100…110, error at the last step only), squared error, learning rate 0.25 (the paper's
α = 0.5 with e_k = f'(t − y)), weights changed after every sequence's error. Paths timed:

* ``online_sgd``          the library's per-step online algorithm (one compiled call over all sequences,
                          padded to the longest with a mask: the padded steps are run and timed too);
* ``gradients + SGD``     one ``gradients(method="truncated1997")`` call and one ``SGD.step`` per sequence;
* ``fast kernel``         ``online1997_fast.train_online`` (sequences packed end to end), when present, with
                          ``error_scale=2`` so that its rule Δw = α e y is the squared error's gradient step;
* ``torch eager``         ``torch_lstm1997.TorchLSTM1997``: autograd, ``.detach()`` truncation, SGD per
                          sequence — on fewer sequences; its time per step is extrapolated from them (eager
                          cost is the same at every step, so time / steps carries over).

All paths start from the same initial weights and see the same sequences, generated before any timing
(data generation is excluded everywhere). Before timing, every path trains ``--check-sequences``
sequences in float64 and its weights must equal the PyTorch reference's to ≤ 1e-10: the comparison is
of equal work. Time per step = time / Σ sequence lengths. Each repeat times every path once in turn
(interleaved, so load from other processes hits all alike); the table gives medians over the repeats of
wall time and of the process's CPU time. One thread everywhere (BLAS/OpenMP variables below,
``torch.set_num_threads(1)``). Then: per-call overhead against per-step cost of each path (one sequence
per call, lengths 20 and 2000), and the throughput of independent trials run in 1 and 2 processes.

Run from the repository root::

    python benchmarks/bench_truncated1997.py                  # --repeats 7 --sequences 4000
"""

from __future__ import annotations

import argparse
import copy
import math
import multiprocessing
import os
import platform
import statistics
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch_lstm1997 import TorchLSTM1997, sequences  # noqa: E402

from yetztml.cells.lstm1997 import LSTM1997  # noqa: E402
from yetztml.learning import SGD, gradients, online_sgd  # noqa: E402
from yetztml.tasks import make_task  # noqa: E402
from yetztml.tasks.base import Sample  # noqa: E402

try:
    from yetztml.learning import online1997_fast as fast
except ImportError:
    fast = None

LR = 0.25
TARGET_US = 0.15
TARGET_RATIO = 500.0
EQUAL_WORK_TOL = 1e-10
DTYPES = {"float64": (np.float64, torch.float64), "float32": (np.float32, torch.float32)}


def make_cell(dtype=np.float64, seed: int = 1) -> LSTM1997:
    """The 93-weight Exp 4 net [1997 §5.4]."""
    return LSTM1997(2, 2, 2, 1, bias="all", init_range=0.1, input_gate_bias=[-3.0, -6.0], seed=seed, dtype=dtype)


class Data:
    """Adding-task sequences (T = 100) in every layout the paths need, built before any timing."""

    def __init__(self, n: int, n_api: int, n_torch: int, seed: int, dtypes: list[str]) -> None:
        task = make_task("4", seed=seed, T=100)
        self.samples = [task.sample() for _ in range(n)]
        self.n_api, self.n_torch = min(n_api, n), min(n_torch, n)
        lengths = np.array([s.length for s in self.samples])
        self.lengths = lengths
        self.steps = int(lengths.sum())
        self.steps_api = int(lengths[: self.n_api].sum())
        self.steps_torch = int(lengths[: self.n_torch].sum())
        self.padded_steps = int(lengths.max()) * n
        self.padded = {name: padded(self.samples, DTYPES[name][0]) for name in dtypes}
        self.single = {
            name: [(s.x[:, None].astype(DTYPES[name][0]), s.targets[:, None], s.mask[:, None])
                   for s in self.samples[: self.n_api]]
            for name in dtypes
        }
        self.torch = {name: sequences(self.samples[: self.n_torch], DTYPES[name][1]) for name in dtypes}
        self.packed = fast.pack(self.samples) if fast is not None else None


def padded(samples, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (T, B, I) in ``dtype``, targets (T, B, K) and the (T, B) error mask, padded to the longest."""
    T, n = max(s.length for s in samples), len(samples)
    x, targets, mask = np.zeros((T, n, 2), dtype), np.zeros((T, n, 1)), np.zeros((T, n), bool)
    for i, s in enumerate(samples):
        x[: s.length, i], targets[: s.length, i], mask[: s.length, i] = s.x, s.targets, s.mask
    return x, targets, mask


# -- the paths: each trains a copy of ``cell`` and returns (wall s, CPU s, steps, trained params) ----------
def _clock(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_online(cell, data: Data, name: str, count: int | None = None):
    c = copy.deepcopy(cell)
    x, targets, mask = (a[:, :count] for a in data.padded[name])
    wall, cpu = _clock(lambda: online_sgd(c, x, targets, mask, lr=LR))
    return wall, cpu, int(data.lengths[:count].sum()), c.params


def run_api(cell, data: Data, name: str, count: int | None = None):
    c = copy.deepcopy(cell)
    optimiser = SGD(c.params, LR)
    items = data.single[name][: data.n_api if count is None else count]

    def train() -> None:
        for x, targets, mask in items:
            _, grads = gradients(c, x, targets, method="truncated1997", mask=mask)
            optimiser.step(grads)

    wall, cpu = _clock(train)
    return wall, cpu, sum(item[0].shape[0] for item in items), c.params


def run_fast(cell, data: Data, name: str, count: int | None = None):
    c = copy.deepcopy(cell)
    net = fast.FastNet(c)
    order = None if count is None else np.arange(count, dtype=np.int64)
    wall, cpu = _clock(lambda: fast.train_online(net, data.packed, lr=LR, error_scale=2.0, order=order))
    net.to_cell()
    n = data.packed.count if count is None else count
    return wall, cpu, int(data.packed.starts[n]), c.params


def run_torch(cell, data: Data, name: str, count: int | None = None):
    ref = TorchLSTM1997.from_cell(cell, dtype=DTYPES[name][1])
    xs, targets = data.torch[name]
    n = data.n_torch if count is None else count
    wall, cpu = _clock(lambda: ref.train(xs[:n], targets[:n], LR))
    return wall, cpu, sum(x.shape[0] for x in xs[:n]), ref.numpy_params()


def paths(dtype_name: str) -> dict[str, object]:
    found = {"online_sgd": run_online, "gradients + SGD": run_api}
    if fast is not None and dtype_name == "float64":
        found["fast kernel"] = run_fast
    found["torch eager"] = run_torch
    return found


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)))) for k in a)


def check_equal_work(seed: int, count: int, dtypes: list[str]) -> dict[str, dict[str, float]]:
    """Train ``count`` sequences with every path; max |w_path − w_torch| per dtype and path."""
    data = Data(count, count, count, seed + 1, dtypes)
    found: dict[str, dict[str, float]] = {}
    for name in dtypes:
        cell = make_cell(DTYPES[name][0])
        reference = run_torch(cell, data, name)[3]
        found[name] = {
            label: _max_diff(fn(cell, data, name)[3], reference)
            for label, fn in paths(name).items() if label != "torch eager"
        }
        found[name]["(moved)"] = _max_diff(cell.params, reference)
    return found


# -- per-call overhead against per-step cost -----------------------------------------------------------
def _one_sequence(length: int, dtype, seed: int) -> Sample:
    """An adding-task prefix of ``length`` steps with its error at the last step."""
    s = make_task("4", seed=seed, T=max(20, length)).sample()
    targets = np.zeros((length, 1))
    targets[-1, 0] = s.info["target"]
    mask = np.zeros(length, bool)
    mask[-1] = True
    return Sample(x=s.x[:length].astype(dtype), targets=targets, mask=mask)


def _caller(label: str, cell, s: Sample, tdtype):
    x, targets, mask = s.x[:, None], s.targets[:, None], s.mask[:, None]
    if label == "online_sgd":
        return lambda: online_sgd(cell, x, targets, mask, lr=LR)
    if label == "gradients + SGD":
        optimiser = SGD(cell.params, LR)
        return lambda: optimiser.step(gradients(cell, x, targets, method="truncated1997", mask=mask)[1])
    if label == "fast kernel":
        net, packed = fast.FastNet(cell), fast.pack([s])
        return lambda: fast.train_online(net, packed, lr=LR, error_scale=2.0)
    ref = TorchLSTM1997.from_cell(cell, dtype=tdtype)
    xs, ends = sequences([s], tdtype)
    return lambda: ref.train(xs, ends, LR)


def _per_call(fn, min_time: float, samples: int) -> float:
    """Least CPU seconds per call over ``samples`` samples of k back-to-back calls lasting ≥ ``min_time``.

    CPU time and the least sample: this table separates fixed from per-step costs, which wall time on a
    loaded machine blurs.
    """
    fn()
    k = 1
    while True:
        start = time.process_time()
        for _ in range(k):
            fn()
        elapsed = time.process_time() - start
        if elapsed >= min_time:
            break
        k = max(2 * k, math.ceil(k * min_time / max(elapsed, 1e-9)))
    times = [elapsed / k]
    for _ in range(samples - 1):
        start = time.process_time()
        for _ in range(k):
            fn()
        times.append((time.process_time() - start) / k)
    return min(times)


def overhead(seed: int) -> list[tuple[str, tuple[int, int], float, float]]:
    """(path, lengths, per-call CPU µs, per-step CPU µs) from one-sequence calls of two lengths (float64).

    Lengths 20 and 2000 (torch eager: 20 and 400); the line through the two times per call gives the fixed
    cost of a call (validation, dispatch, set-up) and the cost of one more step.
    """
    rows = []
    for label in paths("float64"):
        lengths = (20, 400) if label == "torch eager" else (20, 2000)
        per = []
        for length in lengths:
            cell = make_cell()
            fn = _caller(label, cell, _one_sequence(length, np.float64, seed), torch.float64)
            per.append(_per_call(fn, 0.1, 5))
        slope = (per[1] - per[0]) / (lengths[1] - lengths[0])
        rows.append((label, lengths, (per[0] - slope * lengths[0]) * 1e6, slope * 1e6))
    return rows


# -- independent trials in parallel ----------------------------------------------------------------------
def _trial_worker(label, seed, n, passes, barrier, queue) -> None:
    data = Data(n, 0, 0, seed, ["float64"])
    cell = make_cell(seed=seed)
    fn = {"online_sgd": run_online, "fast kernel": run_fast}[label]
    fn(cell, data, "float64", 2)  # warm (the kernels are compiled in the parent already)
    barrier.wait()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(passes):
        fn(cell, data, "float64")
    queue.put((start, time.perf_counter(), passes * data.steps, time.process_time() - cpu))


def parallel(label: str, n: int, passes: int, seed: int, procs: int) -> tuple[float, float]:
    """Steps per second of ``procs`` independent trials at once, and the mean CPU µs per step."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=_trial_worker, args=(label, seed + 100 * i, n, passes, barrier, queue))
               for i in range(procs)]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    span = max(r[1] for r in results) - min(r[0] for r in results)
    steps = sum(r[2] for r in results)
    return steps / span, 1e6 * sum(r[3] for r in results) / steps


# -- machine speed yardstick -------------------------------------------------------------------------
@numba.njit(cache=False)
def _exp_loop(n, x0):
    acc = 0.0
    x = x0
    for _ in range(n):
        acc += math.exp(-x)
        x += 1e-9
    return acc


def exp_ns() -> tuple[float, float]:
    """Median wall and CPU ns of one libm exp in a compiled loop (the prototype's dominant cost)."""
    _exp_loop(10, 0.5)
    walls, cpus = [], []
    for _ in range(5):
        wall, cpu = _clock(lambda: _exp_loop(2_000_000, 0.5))
        walls.append(wall / 2e6 * 1e9)
        cpus.append(cpu / 2e6 * 1e9)
    return statistics.median(walls), statistics.median(cpus)


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (default 7, at least 5)")
    parser.add_argument("--sequences", type=int, default=4000, help="sequences per repeat, compiled paths")
    parser.add_argument("--api-sequences", type=int, default=300, help="sequences per repeat, gradients + SGD")
    parser.add_argument("--torch-sequences", type=int, default=30, help="sequences per repeat, torch eager")
    parser.add_argument("--check-sequences", type=int, default=20, help="sequences of the equal-work check")
    parser.add_argument("--passes", type=int, default=3, help="passes over the sequences per parallel trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data (weights: seed 1)")
    parser.add_argument("--no-float32", action="store_true", help="float64 only")
    parser.add_argument("--no-overhead", action="store_true", help="skip the per-call overhead table")
    parser.add_argument("--no-parallel", action="store_true", help="skip the 1 vs 2 process throughput")
    args = parser.parse_args()
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")
    torch.set_num_threads(1)
    dtypes = ["float64"] if args.no_float32 else ["float64", "float32"]
    threads = ", ".join(f"{v}={os.environ[v]}" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    print(f"# bench_truncated1997: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} thread), {threads}")
    print(f"# command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"# load average (1/5/15 min) at start: {_load()}; fast kernel "
          f"{'present' if fast is not None else 'absent'}")

    # equal work: every path against the PyTorch reference, from the same weights and sequences
    diffs = check_equal_work(args.seed, args.check_sequences, dtypes)
    for name, found in diffs.items():
        moved = found.pop("(moved)")
        text = ", ".join(f"{label} {d:.1e}" for label, d in found.items())
        print(f"# equal work, {name}, {args.check_sequences} sequences: max |w − w_torch| {text} "
              f"(weights moved by up to {moved:.2f})")
    bad = [label for label, d in diffs["float64"].items() if not d <= EQUAL_WORK_TOL]
    if bad:
        sys.exit(f"bench_truncated1997: float64 weights differ from the PyTorch reference by > "
                 f"{EQUAL_WORK_TOL:g} for {bad}; timings would not compare equal work")

    wall_exp, cpu_exp = exp_ns()
    print(f"# yardstick: one libm exp in a compiled loop {wall_exp:.1f} ns wall, {cpu_exp:.1f} ns CPU")

    data = Data(args.sequences, args.api_sequences, args.torch_sequences, args.seed, dtypes)
    print(f"# data: {args.sequences} sequences, {data.steps} steps (mean length {data.steps / args.sequences:.1f}; "
          f"online_sgd runs {data.padded_steps} padded steps); gradients + SGD {data.n_api} sequences "
          f"({data.steps_api} steps); torch eager {data.n_torch} sequences ({data.steps_torch} steps)")
    cells = {name: make_cell(DTYPES[name][0]) for name in dtypes}
    for name in dtypes:  # warm-up: compilation happens here
        for fn in paths(name).values():
            fn(cells[name], data, name, 2)
    times = {(name, label): ([], []) for name in dtypes for label in paths(name)}
    for _ in range(args.repeats):
        for name in dtypes:
            for label, fn in paths(name).items():
                wall, cpu, steps, _ = fn(cells[name], data, name)
                times[(name, label)][0].append(wall / steps * 1e6)
                times[(name, label)][1].append(cpu / steps * 1e6)
    print(f"# load average at the end of the timing: {_load()}\n")

    print("| dtype | path | sequences | µs/step wall, median (min–max) | µs/step CPU, median "
          "| torch / this (wall) | torch / this (CPU) | ≤ 0.15 µs (wall / CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    counts = {"online_sgd": args.sequences, "gradients + SGD": data.n_api, "fast kernel": args.sequences,
              "torch eager": data.n_torch}
    verdict = {}
    for name in dtypes:
        torch_wall = statistics.median(times[(name, "torch eager")][0])
        torch_cpu = statistics.median(times[(name, "torch eager")][1])
        for label in paths(name):
            walls, cpus = times[(name, label)]
            w, c = statistics.median(walls), statistics.median(cpus)
            met = "–" if label == "torch eager" else (
                f"{'yes' if w <= TARGET_US else 'no'} / {'yes' if c <= TARGET_US else 'no'}")
            ratio = "–" if label == "torch eager" else f"{torch_wall / w:.0f}x"
            ratio_cpu = "–" if label == "torch eager" else f"{torch_cpu / c:.0f}x"
            print(f"| {name} | {label} | {counts[label]} | {w:.3f} ({min(walls):.3f}–{max(walls):.3f}) | {c:.3f} "
                  f"| {ratio} | {ratio_cpu} | {met} |")
            if label != "torch eager":
                verdict[(name, label)] = (w, c, torch_wall / w, torch_cpu / c)
    best = min(verdict, key=lambda key: verdict[key][0])
    w, c, r, rc = verdict[best]
    print(f"\nbest path: {best[1]} ({best[0]}): {w:.3f} µs/step wall, {c:.3f} µs/step CPU; "
          f"target ≤ {TARGET_US} µs: {'MET' if w <= TARGET_US else 'NOT MET'} (wall), "
          f"{'MET' if c <= TARGET_US else 'NOT MET'} (CPU); {r:.0f}x (wall) / {rc:.0f}x (CPU) faster than torch "
          f"eager, target ≥ {TARGET_RATIO:.0f}x: {'MET' if min(r, rc) >= TARGET_RATIO else 'NOT MET'}")

    if not args.no_overhead:
        print(f"\n# one sequence per call: fixed cost per call against cost per step, float64, CPU time (least of 5 "
              f"samples); load {_load()}\n")
        print("| path | lengths timed | CPU µs per call (fixed) | CPU µs per step |")
        print("|---|---|---|---|")
        for label, lengths, fixed, step in overhead(args.seed + 2):
            print(f"| {label} | {lengths[0]}, {lengths[1]} | {fixed:.1f} | {step:.3f} |")

    if not args.no_parallel:
        print(f"\n# independent trials, float64, {args.sequences} sequences × {args.passes} passes each, "
              f"load {_load()}\n")
        print("| path | processes | steps/s (all trials) | CPU µs/step | speed-up over 1 process |")
        print("|---|---|---|---|---|")
        for label in [lab for lab in ("fast kernel", "online_sgd") if lab in paths("float64")]:
            one = None
            for procs in (1, 2):
                rate, cpu = parallel(label, args.sequences, args.passes, args.seed + 10, procs)
                one = rate if one is None else one
                print(f"| {label} | {procs} | {rate / 1e6:.2f} M | {cpu:.3f} | {rate / one:.2f}x |")
        print(f"\n# load average at the end: {_load()}")


if __name__ == "__main__":
    main()
