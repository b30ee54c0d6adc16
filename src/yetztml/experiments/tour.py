"""The main job, ``yetztml run``: a guided tour whose results become a report folder.

Jobs, run on a pool of worker processes (one per core, so kernels compile in parallel on a fresh
install), each timed and recorded in ``result.json``:

1. ``gradcheck`` — float64 finite-difference checks of every cell's hand-derived backward pass;
2. ``errorflow`` — why plain RNNs forget and the constant error carousel does not: the scenarios
   ``vanishing`` (logistic RNN under Hochreiter's bound), ``cec`` (flow exactly 1), ``cec-gated``
   (eq. 41: scaled only on entry and exit) and ``lstm-vs-rnn`` (same task, flow before and after training);
3. ``adding`` — the adding problem (1997 Exp 4, T = 100): LSTM1997 trained online with the paper's
   truncated gradient, as written and as the named variant ``linear-output``, each capped at
   ``lstm_budget`` sequences, next to an Elman RNN trained by full BPTT with Adam; the paper's Table 7
   row beside them;
4. ``conflict`` — the input and output weight conflict [1997 §3.2] (scenarios ``input-conflict`` and
   ``output-conflict``, T = lags + 1): a naive constant-error unit cannot both store (answer) and protect,
   the 1997 memory cell with an input (output) gate learns the task;
5. ``pictures`` (in this process, no training) — the anatomy of an Elman RNN with ``num_layers = 2`` and of
   LSTM1997 without a forget gate, from which the report draws the unfolded net and the inside of the cell.

The report (figures and ``report.md``) is drawn from the returned dict by :mod:`yetztml.report.tour`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..analysis.anatomy import anatomy, build
from ..analysis.scenarios import run_scenario
from ..cells.catalogue import CATALOGUE, gradient_check
from ..core.results import versions, write_json
from ..core.validation import check_int, check_seed
from .backends import ended
from .lstm1997 import quick_trial, resolve_row
from .rnn_adding import train_rnn_on_adding

#: Relative error under which a finite-difference check counts as passed.
GRADCHECK_TOLERANCE = 1e-6

#: Error-flow scenarios shown by the tour, with the largest lag each uses (None: the scenario's own).
ERRORFLOW_SCENARIOS = {"vanishing": 100, "cec": 100, "cec-gated": 100, "lstm-vs-rnn": None}

#: The LSTM1997 configurations shown on the adding problem.
ADDING_VARIANTS = ("as-written", "linear-output")

#: Weight-conflict scenarios shown by the tour, with their lag: T = lags + 1 = 11 steps, shorter than the
#: T = 21 of ``docs/errorflow/`` to keep the tour within its time.
CONFLICT_SCENARIOS = {"input-conflict": 10, "output-conflict": 10}

#: The configured cells the report draws (those of ``docs/errorflow/pictures.md``): name → build options.
PICTURES = {
    "rnn": {"input_size": 3, "hidden_size": 4, "num_layers": 2},
    "lstm1997": {"input_size": 3, "hidden_size": 2, "block_size": 2},
}

Progress = Callable[[str, int, int], None]


def _gradcheck_job(name: str, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    check = gradient_check(name, seed=seed)
    check["seconds"] = time.perf_counter() - t0
    check["passed"] = check["max_error"] <= GRADCHECK_TOLERANCE
    check["equations"] = CATALOGUE[name].load().__module__
    return check


def _errorflow_job(name: str, lags: int | None, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_scenario(name, lags=lags, seed=seed)
    result["seconds"] = time.perf_counter() - t0
    return result


def _conflict_job(name: str, lags: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_scenario(name, lags=lags, seed=seed)
    result["seconds"] = time.perf_counter() - t0
    result["figures"] = {"per_step": f"conflict/{name}-per-step.png", "training": f"conflict/{name}-training.png"}
    return result


def pictures() -> dict[str, dict[str, Any]]:
    """The anatomy of every cell in :data:`PICTURES`, with its options and the figure the report draws."""
    out = {}
    for name, options in PICTURES.items():
        a = anatomy(build(name, **options), name)
        suffix = f"num-layers-{a['num_layers']}" if a["kind"] == "stacked" else "no-forget-gate"
        out[name] = {**a, "options": options, "figure": f"pictures/{name}-{suffix}.png"}
    return out


def _lstm_adding_job(variant: str, budget: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    record = quick_trial(variant, T=100, seed=seed, budget=budget)
    record["variant"] = variant
    record["seconds"] = time.perf_counter() - t0
    return record


def _rnn_adding_job(sequences: int, seed: int) -> dict[str, Any]:
    return train_rnn_on_adding(T=100, sequences=sequences, seed=seed)


def _jobs(seed: int, lstm_budget: int, rnn_sequences: int) -> list[tuple[tuple[str, str], Callable, tuple]]:
    """(section, key), function, arguments, in submission order.

    The order keeps two workers from compiling the same kernel at once on a fresh install: the first
    LSTM1997 trial compiles the online kernel while the other worker compiles the memory-block kernel
    (gradcheck of the block cells), then the PyTorch-layout kernels; the second LSTM1997 trial and the
    Elman net come after the kernels they use are cached; the short error-flow and weight-conflict jobs go
    last, to whichever worker is free first.
    """
    first, *rest = ADDING_VARIANTS
    jobs: list[tuple[tuple[str, str], Callable, tuple]] = [
        (("adding", first), _lstm_adding_job, (first, lstm_budget, seed))
    ]
    blocks = ("lstm1997", "lstm_forget", "lstm_peephole")
    block_first = sorted(CATALOGUE, key=lambda n: CATALOGUE[n].module not in blocks)
    jobs += [(("gradcheck", n), _gradcheck_job, (n, seed)) for n in block_first]
    jobs.append((("adding", "rnn"), _rnn_adding_job, (rnn_sequences, seed)))
    jobs += [(("adding", v), _lstm_adding_job, (v, lstm_budget, seed)) for v in rest]
    jobs += [(("errorflow", n), _errorflow_job, (n, lags, seed)) for n, lags in ERRORFLOW_SCENARIOS.items()]
    jobs += [(("conflict", n), _conflict_job, (n, lags, seed)) for n, lags in CONFLICT_SCENARIOS.items()]
    return jobs


def _call(job: tuple[Any, Callable, tuple]) -> tuple[Any, Any]:
    name, fn, args = job
    return name, fn(*args)


def run_jobs(jobs: list[tuple[Any, Callable, tuple]], workers: int, keep: Callable[[Any, Any], None]) -> None:
    """Call ``keep(name, fn(*args))`` for each job ``(name, fn, args)`` as it finishes, on ``workers`` processes.

    The workers are started (``spawn``) with SIGINT ignored: a terminal's Ctrl-C, sent to every process of
    the group, is the caller's to act on, never a traceback from a worker. When the caller stops early (an
    interrupt, an error), the workers are ended at once rather than waited for.
    """
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(processes=max(1, min(workers, len(jobs))), initializer=signal.signal,
                        initargs=(signal.SIGINT, signal.SIG_IGN))
    with ended(pool):
        for name, value in pool.imap_unordered(_call, jobs):
            keep(name, value)


def run_tour(
    out: str | Path,
    seed: int = 0,
    progress: Progress | None = None,
    workers: int | None = None,
    lstm_budget: int = 200_000,
    rnn_sequences: int = 20_000,
) -> dict[str, Any]:
    """Run the tour, write ``out/result.json`` and return the result dict (the report is built from it).

    ``workers`` processes (default: the number of cores) run the jobs; ``workers=0`` runs them in this
    process. ``lstm_budget`` caps each LSTM1997 trial's training sequences; ``rnn_sequences`` is the
    Elman net's training length.
    """
    seed = check_seed("seed", seed)
    if workers is not None:
        workers = check_int("workers", workers, minimum=0)
    lstm_budget = check_int("lstm_budget", lstm_budget, minimum=1)
    rnn_sequences = check_int("rnn_sequences", rnn_sequences, minimum=1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda label, done, total: None)
    jobs = _jobs(seed, lstm_budget, rnn_sequences)
    results: dict[str, dict[str, Any]] = {"gradcheck": {}, "errorflow": {}, "adding": {}, "conflict": {}}
    started = time.perf_counter()
    workers = (os.cpu_count() or 1) if workers is None else workers
    progress("starting", 0, len(jobs))
    if workers == 0:
        for i, ((section, key), fn, args) in enumerate(jobs):
            progress(f"{section}: {key}", i, len(jobs))
            results[section][key] = fn(*args)
    else:
        finished = []

        def keep(name: tuple[str, str], value: Any) -> None:
            finished.append(name)
            results[name[0]][name[1]] = value
            progress(f"{name[0]}: {name[1]} done", len(finished), len(jobs))

        run_jobs(jobs, workers, keep)
    row = resolve_row("4", T=100)
    result = {
        "job": "yetztml run",
        "seed": seed,
        "workers": workers,
        "versions": versions(),
        "gradcheck": {
            "tolerance": GRADCHECK_TOLERANCE,
            "cells": [results["gradcheck"][n] for n in CATALOGUE],
        },
        "errorflow": {n: results["errorflow"][n] for n in ERRORFLOW_SCENARIOS},
        "adding": {
            "T": 100,
            "lstm_budget": lstm_budget,
            "paper": row.paper,
            "lstm1997": {v: results["adding"][v] for v in ADDING_VARIANTS},
            "rnn": results["adding"]["rnn"],
        },
        "conflict": {n: results["conflict"][n] for n in CONFLICT_SCENARIOS},
        "pictures": pictures(),
        "seconds": time.perf_counter() - started,
    }
    write_json(out / "result.json", result)
    return result
