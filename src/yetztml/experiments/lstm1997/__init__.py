"""Reproduction of Hochreiter & Schmidhuber (1997), §5: every row of Tables 1–9 as a runnable config.

>>> from yetztml.experiments.lstm1997 import resolve_row
>>> row = resolve_row("4", T=100)
>>> row.id, row.net.weights, row.alpha, row.stop["window"], row.paper["sequences"]
('4-1', 93, 0.5, 2000, 74000)

* :data:`ROWS` — the rows (:mod:`.rows`), :data:`VARIANTS` — named alternative readings (:mod:`.variants`).
* :func:`resolve_row` — a row from an experiment id (``"4"``, ``"2c"``…) or a table id (``"4-1"``,
  ``"2c-5"``, ``"2a-rtrl-1"``) and parameters (T, N, p, q, alpha, blocks, block_size, n_seq, method).
* :func:`reproduce` — run the trials of a row in parallel into a folder (resumable) and write
  ``result.json``; :func:`summarize` — the summary of a set of trial records.
* :func:`quick_trial` — one short trial of Exp 4 for demonstrations.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...core.errors import OptionError, message
from ...core.validation import check_int, check_seed
from ...tasks import make_task
from ..runner import TrialPlan, available_cores, check_counts, run_trials, write_result
from .rows import DEFAULT_ROW, PARAMETERS, ROWS, Row
from .trial import run_trial
from .variants import VARIANTS, get_variant

#: Parameter name → the Row / Net attribute it selects on.
_SELECT = {
    "T": lambda r: r.task.get("T"),
    "N": lambda r: r.task.get("N"),
    "p": lambda r: r.task.get("p"),
    "q": lambda r: r.task.get("q"),
    "alpha": lambda r: r.alpha,
    "blocks": lambda r: r.net.blocks if r.net else None,
    "block_size": lambda r: r.net.block_size if r.net else None,
    "n_seq": lambda r: r.stop.get("max_wrong") if r.exp == "5" else None,
    "method": lambda r: r.method,
}


def experiments() -> list[str]:
    """Experiment ids in paper order."""
    return list(DEFAULT_ROW)


def resolve_row(exp: str, **params: Any) -> Row:
    """The row selected by ``exp`` (experiment or table id) and parameters; unset parameters are free.

    A parameter combination that is no paper row is built from the experiment's first row where the
    parameter is free (Exp 3: T, N; Exp 4: T; Exp 2c: p, q) and carries no paper values.
    """
    params = {k: v for k, v in params.items() if v is not None}
    exp = str(exp)
    if exp in ROWS and (exp not in DEFAULT_ROW or not params):
        if params:
            raise OptionError(
                message(f"row {exp!r}", "no further parameters (a table id names one row)",
                        ", ".join(f"--{k}" for k in params), f"Use --exp {ROWS[exp].exp} with parameters instead.")
            )
        return ROWS[exp]
    if exp not in DEFAULT_ROW:
        raise OptionError(
            message("experiment", "an experiment id (" + ", ".join(DEFAULT_ROW) + ") or a table id ("
                    + ", ".join(r for r in ROWS if r not in DEFAULT_ROW) + ")", repr(exp),
                    "See `yetztml reproduce lstm1997 --list`.")
        )
    allowed = PARAMETERS[exp]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise OptionError(
            message(f"parameters of experiment {exp}", "a subset of " + (", ".join(allowed) or "none"),
                    ", ".join(unknown))
        )
    if not params:
        return ROWS[DEFAULT_ROW[exp]]
    candidates = [r for r in ROWS.values() if r.exp == exp]
    if "method" in allowed:
        params.setdefault("method", "lstm")
    found = [r for r in candidates if all(_SELECT[k](r) == v for k, v in params.items())]
    if len(found) >= 1:
        return found[0]
    return _custom(exp, params, candidates)


def _custom(exp: str, params: dict[str, Any], candidates: list[Row]) -> Row:
    """A row outside the paper's tables: only free task parameters may differ from a paper row.

    The experiments with free parameters take no other parameters and have memory-cell rows only, so the
    new row is built from the experiment's first row.
    """
    free = {"3a": ("T", "N"), "3b": ("T", "N"), "3c": ("T", "N"), "4": ("T",), "2c": ("p", "q")}.get(exp, ())
    if not free:
        rows = "; ".join(f"{r.id}: " + ", ".join(f"{k}={_SELECT[k](r)}" for k in PARAMETERS[exp]) for r in candidates)
        raise OptionError(message(f"experiment {exp} with " + ", ".join(f"{k}={v}" for k, v in params.items()),
                                  f"one of the paper's rows ({rows})", "no such row"))
    row = candidates[0]
    task = dict(row.task)
    task.update({k: params[k] for k in free if k in params})
    make_task(exp, seed=0, **task)  # the task's own validation (e.g. T >= 20 for the adding problem)
    net = row.net
    if exp == "2c":
        net = replace(net, inputs=task["p"] + 4, weights=6 * task["p"] + 64)
    label = ", ".join(f"{k} = {v}" for k, v in task.items())
    return replace(row, id=f"{exp}-custom", label=label, task=task, net=net, paper={},
                   notes="not a row of the paper's tables; no paper values")


def config_of(row: Row, variant: str, seed: int, max_sequences: int | None) -> dict[str, Any]:
    """Everything that changes a trial's result (the runner's resume key)."""
    return {
        "paper": "lstm1997", "row": row.to_dict(), "variant": variant, "seed": int(seed),
        "max_sequences": int(max_sequences if max_sequences is not None else row.max_sequences),
    }


def _trial(trial: int, row: Row, seed: int, max_sequences: int | None) -> dict[str, Any]:
    return run_trial(row, trial, seed, max_sequences)


#: Fields every trial record has (checked when records are read back for a resume).
REQUIRED = {"success": bool, "sequences": int, "steps": int, "wall_s": (int, float)}


def trial_plan(row: Row, variant: str = "as-written", seed: int = 0,
               max_sequences: int | None = None) -> TrialPlan:
    """The trials of ``row`` under ``variant`` as the runner runs them (trial i from the seed sequence
    (seed, i)): what :func:`reproduce` and ``yetztml sweep`` hand to a backend."""
    varied = get_variant(variant).apply(row)
    return TrialPlan(_trial, {"row": varied, "seed": seed, "max_sequences": max_sequences},
                     config_of(row, variant, seed, max_sequences), REQUIRED)


def summarize(records: list[dict[str, Any]], row: Row) -> dict[str, Any]:
    """% success, mean / median / range of sequences over successful trials, test errors, timings."""
    ok = [r for r in records if r["success"]]
    seqs = [r["sequences"] for r in ok]
    out: dict[str, Any] = {
        "trials": len(records),
        "successes": len(ok),
        "success_pct": 100.0 * len(ok) / len(records) if records else math.nan,
        "sequences_mean": statistics.fmean(seqs) if seqs else None,
        "sequences_median": statistics.median(seqs) if seqs else None,
        "sequences_min": min(seqs) if seqs else None,
        "sequences_max": max(seqs) if seqs else None,
        "wall_s_total": sum(r["wall_s"] for r in records),
        "us_per_step": (1e6 * sum(r["wall_s"] for r in records) / max(1, sum(r["steps"] for r in records))),
    }
    tests = [r["test"] for r in ok if r.get("test")]
    if tests and "wrong" in tests[0]:
        out["wrong_mean"] = statistics.fmean(t["wrong"] for t in tests)
        out["wrong_max"] = max(t["wrong"] for t in tests)
        out["test_size"] = tests[0]["size"]
    if tests and "mse" in tests[0]:
        out["test_mae_mean"] = statistics.fmean(t["mae"] for t in tests)
        out["test_mse_mean"] = statistics.fmean(t["mse"] for t in tests)
    for key in ("st1", "st2", "fraction_misclassified", "mean_difference"):
        values = [r[key] for r in ok if r.get(key) is not None]
        if values:
            out[f"{key}_mean"] = statistics.fmean(values)
    return out


def reproduce(
    row: Row,
    *,
    variant: str = "as-written",
    trials: int | None = None,
    seed: int = 0,
    out: str | Path,
    jobs: int | None = None,
    max_sequences: int | None = None,
    on_record=None,
    on_progress=None,
    backend=None,
) -> dict[str, Any]:
    """Run ``trials`` trials (default: the paper's count) of ``row`` under ``variant`` into ``out``.

    Finished trials are kept in ``out/trials.jsonl``; rerunning resumes. Writes and returns
    ``out/result.json``: config, per-trial records, summary, the paper's values. ``on_record``,
    ``on_progress`` and ``backend`` (default: local processes, ``jobs`` at a time) are passed to
    :func:`yetztml.experiments.runner.run_trials`.
    """
    seed = check_seed("seed", seed)
    spec = get_variant(variant)
    varied = spec.apply(row)
    trials, caps = check_counts(trials, row.trials, max_sequences=max_sequences)
    jobs = available_cores() if jobs is None else check_int("jobs", jobs, minimum=1)
    plan = trial_plan(row, variant, seed, **caps)
    started = time.perf_counter()
    records = run_trials(plan.fn, trials, out, plan.config, plan.kwargs, jobs, on_record,
                         warm_up=lambda: run_trial(varied, 0, seed, 1), on_progress=on_progress, backend=backend,
                         required=plan.required)
    head = {
        "paper": "Hochreiter & Schmidhuber 1997",
        "row": row.id,
        "table": row.table,
        "experiment": row.exp,
        "label": row.label,
        "variant": {"name": variant, "summary": spec.summary, "reason": spec.reason},
    }
    about = {
        "conventions": {
            "learning_rate": "paper α as in eqs. 19–28: e_k = f'_k (t − y), Δw = α e y (error_scale "
                             f"{varied.error_scale}, output derivative "
                             f"{'kept' if varied.output_derivative else 'dropped'}, output unit {varied.net.output})"
                             if varied.net else "paper α, e_k = f'_k (t − y), Δw = α e y",
            "update": "online, after every step with error (one change per sequence where error is at the end)",
            "reset": "activations and partials 0 before every sequence",
        },
        "paper_values": row.paper,
    }
    return write_result(out, head=head, config={**plan.config, "trials": trials, "jobs": jobs}, about=about,
                        summary=summarize(records, row), records=records, seconds=time.perf_counter() - started)


def quick_trial(
    variant: str = "as-written", *, T: int = 100, seed: int = 0, budget: int = 100_000, trial: int = 0
) -> dict[str, Any]:
    """One trial of Exp 4 (adding problem) capped at ``budget`` sequences: the trial record of
    :func:`~yetztml.experiments.lstm1997.trial.run_trial` (``success``, ``sequences``, ``test`` on 2560
    fresh sequences, ``curve`` = training error per block of sequences, timings).
    """
    row = resolve_row("4", T=T)
    budget = check_int("budget", budget, minimum=1)
    return run_trial(get_variant(variant).apply(row), trial, seed, budget)


__all__ = ["DEFAULT_ROW", "PARAMETERS", "REQUIRED", "ROWS", "VARIANTS", "Row", "config_of", "experiments",
           "quick_trial", "reproduce", "resolve_row", "summarize", "trial_plan"]
