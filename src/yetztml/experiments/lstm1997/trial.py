"""One trial of one row: build the net, train it online by its protocol, test it, return a JSON record.

The protocols are described in :mod:`~yetztml.experiments.lstm1997.rows`. Randomness: a trial's seed
sequence is ``SeedSequence(seed, spawn_key=(trial,))``; its children draw the initial weights, the training
stream and the test sequences (and, for Exp 1, the training/test string sets, shared by groups of 10
trials: 3 set pairs × 10 initialisations in the paper). A trial is therefore the same whatever the number
of trials or the order in which they run.

Record fields: ``trial``, ``seed``, ``success`` (the stop criterion was met within ``max_sequences``),
``sequences`` (presentations until the stop, or until the cap), ``reason``, ``test`` (size, wrong, mean
absolute and squared error), protocol extras (``st1``, ``st2``, ``fraction_misclassified``…; Exp 1:
``train_correct``, ``test_correct`` and ``wrong_steps``, the failed steps of the final net by
:data:`REBER_POSITIONS`), ``steps``, ``wall_s``, ``us_per_step`` and ``curve`` (training error per block of
sequences).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ...core.errors import NonFiniteError
from ...learning.online1997_fast import CRITERION, FastNet, Packed, Window, evaluate, train_online
from .. import progress
from .rows import Row
from .sources import Source, make_source

#: Steps of training per kernel call (a learning-curve point is recorded after each call).
STEPS_PER_CALL = 200_000
#: Learning curves are thinned to at most this many points.
CURVE_POINTS = 250


def mean_length(row: Row) -> float:
    """Expected steps per sequence of the row's task (sizes the kernel calls)."""
    t = row.task
    if row.exp in ("3a", "3b", "3c", "4", "5"):
        return 1.05 * t["T"]
    if row.exp == "2c":
        return t["q"] + 12.0
    if row.exp in ("2a", "2b"):
        return float(t["p"])
    if row.exp == "1":
        return 12.0
    return 105.0


class Curve:
    """Training error per kernel call: sequences so far, mean criterion error, fraction wrong, mean SSE."""

    def __init__(self) -> None:
        self.points: list[tuple[int, int, float, float, float]] = []

    def add(self, seen: int, records: np.ndarray, tolerance: float) -> None:
        n = len(records)
        if n:
            wrong = float(np.count_nonzero(records[:, 1] >= tolerance))
            self.points.append((seen, n, float(records[:, 2].sum()), wrong, float(records[:, 0].sum())))

    def to_dict(self, limit: int = CURVE_POINTS) -> dict[str, list[float]]:
        pts = self.points
        groups = max(1, -(-len(pts) // limit))
        out: dict[str, list[float]] = {"sequences": [], "mae": [], "wrong_fraction": [], "sse": []}
        for i in range(0, len(pts), groups):
            part = pts[i : i + groups]
            n = sum(p[1] for p in part)
            out["sequences"].append(part[-1][0])
            out["mae"].append(sum(p[2] for p in part) / n)
            out["wrong_fraction"].append(sum(p[3] for p in part) / n)
            out["sse"].append(sum(p[4] for p in part) / n)
        return out


def _seeds(row: Row, trial: int, seed: int) -> dict[str, np.random.Generator]:
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(trial,))
    init, train, test = (np.random.default_rng(s) for s in ss.spawn(3))
    pool_key = 10_000 + trial // 10 if row.exp == "1" else 20_000 + trial
    pool = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(pool_key,)))
    return {"init": init, "train": train, "test": test, "pool": pool}


def _test(net: FastNet, source: Source, rng: np.random.Generator, size: int) -> dict[str, Any]:
    """Score ``size`` fresh sequences: wrong (largest criterion error ≥ tolerance), MAE, MSE per output."""
    data, order = source.chunk(rng, size)
    rec = evaluate(net, data, order=order).records
    return {
        "size": int(size),
        "wrong": int(np.count_nonzero(rec[:, 1] >= source.tolerance)),
        "mae": float(rec[:, 2].mean()),
        "mse": float(rec[:, 0].mean() / source.output_size),
    }


class _Run:
    """What every protocol shares: the net, the source, the stream, the counters."""

    def __init__(self, row: Row, trial: int, seed: int, max_sequences: int | None) -> None:
        self.row = row
        self.trial = trial
        self.rngs = _seeds(row, trial, seed)
        self.cell = row.net.build(self.rngs["init"])
        self.net = FastNet(self.cell)
        self.source = make_source(row.exp, pool_rng=self.rngs["pool"], **row.task)
        self.cap = int(max_sequences if max_sequences is not None else row.max_sequences)
        self.seen = 0
        self.steps = 0
        self.curve = Curve()
        self.chunk = int(min(20_000, max(10, STEPS_PER_CALL // mean_length(row))))

    def train(self, n: int, window: Window | None = None):
        data, order = self.source.chunk(self.rngs["train"], n)
        out = train_online(
            self.net, data, lr=self.row.alpha, order=order, tolerance=self.source.tolerance, window=window,
            error_scale=self.row.error_scale, output_derivative=self.row.output_derivative,
            per_sequence=self.row.per_sequence,
        )
        self.seen += out.done
        self.steps += int(out.records[:, 3].sum())
        self.curve.add(self.seen, out.records, self.source.tolerance)
        if len(out.records):
            progress.report(self.trial, self.seen, self.cap, f"training error {out.records[:, 2].mean():.3g}")
        return out


def _window(run: _Run) -> dict[str, Any]:
    stop = run.row.stop
    win = Window(stop["window"], stop["max_wrong"], stop["beta"])
    stopped = False
    while run.seen < run.cap and not stopped:
        stopped = run.train(min(run.chunk, run.cap - run.seen), win).reason == "window"
    test = _test(run.net, run.source, run.rngs["test"], stop["test_size"])
    return {"success": stopped, "test": test, "window": {"wrong": win.wrong, "mae": win.mean_error}}


def _st12(run: _Run) -> dict[str, Any]:
    stop = run.row.stop
    st1_set, order = run.source.chunk(run.rngs["test"], stop["st1_size"])
    st1 = st2 = None
    check = None
    while run.seen < run.cap:
        run.train(min(stop["check_every"], run.cap - run.seen))
        rec = evaluate(run.net, st1_set, order=order).records
        wrong = int(np.count_nonzero(rec[:, 1] >= run.source.tolerance))
        check = {"wrong": wrong, "mae": float(rec[:, 2].mean())}
        if wrong < stop["max_wrong_st1"]:
            st1 = run.seen if st1 is None else st1
            if check["mae"] < stop["st2"]:
                st2 = run.seen
                break
    test = _test(run.net, run.source, run.rngs["test"], stop["test_size"])
    return {
        "success": st2 is not None, "st1": st1, "st2": st2, "last_check": check, "test": test,
        "fraction_misclassified": test["wrong"] / test["size"], "mean_difference": test["mae"],
    }


def _abs_test(run: _Run) -> dict[str, Any]:
    stop = run.row.stop
    win = Window(stop["precheck"], 1)
    cells = slice(run.cell.input_size, run.cell.input_size + run.cell.num_cells)  # W_k columns of y^c
    phase1 = None
    if run.row.sequential:  # the cell and its gate join when the error stops decreasing
        saved = run.net.Wk[:, cells].copy()
        run.net.Wk[:, cells] = 0.0
        run.net.set_trainable("k", False, cells)
        run.net.set_trainable("c", False)
        run.net.set_trainable("in", False)
        previous = np.inf
        while run.seen < run.cap:
            rec = run.train(min(100, run.cap - run.seen), win).records
            block = float(rec[:, 0].mean())
            if block > 0.99 * previous:
                break
            previous = block
        run.net.Wk[:, cells] = saved
        run.net.set_trainable("k", True)
        run.net.set_trainable("c", True)
        run.net.set_trainable("in", True)
        phase1 = run.seen
    allowed = run.seen
    success = False
    tests = 0
    step = min(run.chunk, stop["check_every"]) if run.row.exp == "2a" else run.chunk
    while run.seen < run.cap:
        win.active = run.seen >= allowed
        out = run.train(min(step, run.cap - run.seen), win)
        if out.reason == "window":
            tests += 1
            last = _abs_check(run, stop["test_size"], until_wrong=True)
            if last["wrong"] == 0:
                success = True
                break
            allowed = run.seen + stop["check_every"]
    if not success:  # the record's test: every sequence of a fresh set, scored by the final net
        last = _abs_check(run, stop["test_size"])
    return {"success": success, "tests_run": tests, "phase1_sequences": phase1, "test": last}


def _abs_check(run: _Run, size: int, until_wrong: bool = False) -> dict[str, Any]:
    """2a: both sequences (pool); 2b, 2c: ``size`` successive random sequences.

    ``until_wrong`` ends the scoring at the first wrong sequence (the test has failed; ``scored`` says
    how many were scored). The test set is drawn in full either way, so the stream of test sequences,
    and with it every later test, is the same as with complete scoring.
    """
    if run.row.exp == "2a":
        rec = evaluate(run.net, run.source.pool).records
        return {"size": 2, "wrong": int(np.count_nonzero(rec[:, 1] >= run.source.tolerance)),
                "max_error": float(rec[:, 1].max())}
    if not until_wrong:
        return _test(run.net, run.source, run.rngs["test"], size)
    data, order = run.source.chunk(run.rngs["test"], size)
    out = evaluate(run.net, data, order=order, stop_tolerance=run.source.tolerance)
    wrong = int(np.count_nonzero(out.records[:, 1] >= run.source.tolerance))
    return {"size": int(size), "wrong": wrong, "scored": int(out.done)}


#: Where a step of an embedded Reber string sits, by the symbol it predicts: the second symbol (T|P after
#: the first B), the inner Reber string (from the inner B to the inner E), the outer T|P after the inner E
#: (the step that needs the second symbol remembered) and the final E.
REBER_POSITIONS = ("second", "inner", "long_lag", "final")


def reber_step_correct(outputs: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """(S,) bool: the legal next symbols' outputs are all strictly above every other output (1997 §5.1).

    ``outputs`` (S, K) and ``legal`` (S, K) bool, one row per step; a tie fails.
    """
    low = np.where(legal, outputs, np.inf).min(axis=1)
    high = np.where(legal, -np.inf, outputs).max(axis=1)
    return low > high


def reber_wrong_steps(ok: np.ndarray, starts: np.ndarray) -> dict[str, int]:
    """Failed steps of packed embedded Reber strings counted by :data:`REBER_POSITIONS`.

    ``ok`` (S,) from :func:`reber_step_correct`; ``starts`` (n + 1,) the strings' offsets. A string of
    L input steps has its second-symbol step at 0, its long-lag step at L − 2 and its final step at L − 1.
    """
    first = starts[:-1]
    last = starts[1:] - 1
    position = np.ones(ok.shape[0], np.int64)  # inner
    position[first] = 0
    position[last - 1] = 2
    position[last] = 3
    wrong = np.bincount(position[~ok], minlength=len(REBER_POSITIONS))
    return {name: int(n) for name, n in zip(REBER_POSITIONS, wrong, strict=True)}


def _reber_check(run: _Run, data: Packed, legal: np.ndarray) -> tuple[int, np.ndarray]:
    """Strings of ``data`` with every step correct (:func:`reber_step_correct`), and the steps' verdicts."""
    outputs = np.zeros((data.steps, run.cell.output_size))
    evaluate(run.net, data, outputs=outputs)
    ok = reber_step_correct(outputs, legal) | ((data.flags & CRITERION) == 0)
    return int(np.count_nonzero(np.logical_and.reduceat(ok, data.starts[:-1]))), ok


def _reber(run: _Run) -> dict[str, Any]:
    stop = run.row.stop
    task = run.source.pool_task
    legal_train = np.concatenate([s.info["legal"] for s in run.source.samples])
    legal_test = np.concatenate([s.info["legal"] for s in task.test_samples()])
    success = False
    while run.seen < run.cap:
        run.train(min(stop["check_every"], run.cap - run.seen))
        train_ok, _ = _reber_check(run, run.source.pool, legal_train)
        if train_ok == run.source.pool.count:
            test_ok, _ = _reber_check(run, run.source.test, legal_test)
            if test_ok == run.source.test.count:
                success = True
                break
    train_ok, ok_train = _reber_check(run, run.source.pool, legal_train)
    test_ok, ok_test = _reber_check(run, run.source.test, legal_test)
    wrong_steps = {"train": reber_wrong_steps(ok_train, run.source.pool.starts),
                   "test": reber_wrong_steps(ok_test, run.source.test.starts)}
    return {"success": success, "train_correct": train_ok, "test_correct": test_ok, "wrong_steps": wrong_steps,
            "test": {"size": run.source.test.count, "wrong": run.source.test.count - test_ok}}


PROTOCOLS = {"window": _window, "st12": _st12, "abs-test": _abs_test, "reber": _reber}


def run_trial(row: Row, trial: int, seed: int, max_sequences: int | None = None) -> dict[str, Any]:
    """Run trial ``trial`` of ``row`` (already varied) from ``seed``; return its JSON-able record."""
    if row.method != "lstm":
        from .baselines import run_baseline_trial

        return run_baseline_trial(row, trial, seed, max_sequences)
    started = time.perf_counter()
    run = _Run(row, trial, seed, max_sequences)
    try:
        result = PROTOCOLS[row.protocol](run)
    except NonFiniteError as err:  # the weights blew up: a failed trial, recorded as such
        result = {"success": False, "diverged": str(err), "test": None}
    wall = time.perf_counter() - started
    success = bool(result.pop("success"))
    return {
        "trial": int(trial),
        "seed": int(seed),
        "success": success,
        "sequences": int(run.seen),
        "reason": "criterion" if success else ("diverged" if "diverged" in result else "cap"),
        **result,
        "steps": int(run.steps),
        "wall_s": wall,
        "us_per_step": 1e6 * wall / max(1, run.steps),
        "curve": run.curve.to_dict(),
    }


__all__ = ["PROTOCOLS", "REBER_POSITIONS", "mean_length", "reber_step_correct", "reber_wrong_steps", "run_trial"]
