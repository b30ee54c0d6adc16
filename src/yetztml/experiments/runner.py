"""The multi-trial runner: independent trials in parallel on the available cores, each finished trial
appended atomically to ``DIR/trials.jsonl`` so that an interrupted run loses no finished trial and the same
command resumes it.

``DIR/config.json`` holds the configuration the trials belong to (anything that changes a trial's result:
row, variant, seed, caps). A rerun with the same configuration keeps the finished trials and runs only the
missing ones (asking for more trials adds them; trial i always has the same seed); a rerun with another
configuration into the same folder is refused.

Each line of ``trials.jsonl`` is one JSON record with at least ``trial`` (its index); a line cut short by
an interruption is ignored on reading. Lines are written with one ``write`` of the whole line followed
by ``flush`` and ``fsync``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue as queue_module
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..core.errors import CheckpointError, message
from ..core.results import read_json, write_json
from ..core.validation import check_int
from . import progress

TRIALS_FILE = "trials.jsonl"
CONFIG_FILE = "config.json"


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def read_trials(path: str | os.PathLike) -> dict[int, dict[str, Any]]:
    """Finished trial records by index; unreadable (cut) lines are skipped, the last record of an index wins."""
    path = Path(path)
    found: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return found
    with open(path) as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("trial"), int):
                found[record["trial"]] = record
    return found


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a single line, flushed and synced before returning."""
    line = json.dumps(record, default=_default) + "\n"
    with open(path, "a") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"trial record: cannot serialise {type(obj).__name__}")


def prepare(out: str | os.PathLike, config: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Create ``out``, check or write its configuration, return the trials already finished there."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / CONFIG_FILE
    canonical = json.loads(json.dumps(config, default=_default))
    if cfg_path.exists():
        try:
            existing = read_json(cfg_path)
        except (OSError, json.JSONDecodeError) as err:
            raise CheckpointError(message(str(cfg_path), "a readable configuration", str(err))) from err
        if existing != canonical:
            changed = sorted(k for k in set(existing) | set(canonical) if existing.get(k) != canonical.get(k))
            raise CheckpointError(
                message(
                    f"output folder {out}",
                    "results of the same configuration (to resume) or an empty folder",
                    "results of another configuration (differing in " + ", ".join(changed) + ")",
                    "Use another --out, or delete the folder to start over.",
                )
            )
    else:
        write_json(cfg_path, canonical)
    return read_trials(out / TRIALS_FILE)


def _call(job: tuple[Callable[..., dict[str, Any]], int, dict[str, Any]]) -> dict[str, Any]:
    fn, trial, kwargs = job
    return fn(trial=trial, **kwargs)


def run_trials(
    fn: Callable[..., dict[str, Any]],
    trials: int,
    out: str | os.PathLike,
    config: dict[str, Any],
    kwargs: dict[str, Any],
    jobs: int | None = None,
    on_record: Callable[[dict[str, Any], int, int], None] | None = None,
    warm_up: Callable[[], object] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run trials 0 … trials−1 of ``fn(trial=i, **kwargs)`` (a module-level function returning a JSON-able
    dict), ``jobs`` at a time (default: every available core), skipping those already in ``out``.

    Every finished record is appended to ``out/trials.jsonl`` before the next is awaited;
    ``on_record(record, finished, total)`` is called after each. Returns the records of trials
    0 … trials−1, ordered by index. KeyboardInterrupt stops the workers and propagates (finished trials
    are on disk). ``warm_up()`` runs once in this process before the workers start, so that forked
    workers inherit its compiled kernels instead of each loading them. ``on_progress(report)`` receives,
    in this process, the reports running trials make through :func:`yetztml.experiments.progress.report`.
    """
    trials = check_int("trials", trials, minimum=1)
    jobs = available_cores() if jobs is None else check_int("jobs", jobs, minimum=1)
    done = prepare(out, config)
    path = Path(out) / TRIALS_FILE
    pending = [i for i in range(trials) if i not in done]
    finished = trials - len(pending)
    work: Iterable[dict[str, Any]]
    if not pending:
        return [done[i] for i in range(trials)]
    if jobs == 1 or len(pending) == 1:
        work = (_call((fn, i, kwargs)) for i in pending)
        progress.set_sink(on_progress)
        try:
            for record in work:
                append_record(path, record)
                done[record["trial"]] = record
                finished += 1
                if on_record is not None:
                    on_record(record, finished, trials)
        finally:
            progress.set_sink(None)
        return [done[i] for i in range(trials)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    if warm_up is not None and method == "fork":
        warm_up()
    ctx = multiprocessing.get_context(method)
    reports = ctx.Queue() if on_progress is not None else None
    init = {"initializer": progress.queue_sink, "initargs": (reports,)} if reports is not None else {}
    pool = ctx.Pool(processes=min(jobs, len(pending)), **init)
    try:
        results = pool.imap_unordered(_call, [(fn, i, kwargs) for i in pending])
        while True:
            try:
                record = results.next(timeout=0.25)
            except multiprocessing.TimeoutError:
                _drain(reports, on_progress)
                continue
            except StopIteration:
                break
            _drain(reports, on_progress)
            append_record(path, record)
            done[record["trial"]] = record
            finished += 1
            if on_record is not None:
                on_record(record, finished, trials)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    _drain(reports, on_progress)  # what the workers sent before exiting (their queues flush at exit)
    return [done[i] for i in range(trials)]


def _drain(reports: Any, on_progress: Callable[[dict[str, Any]], None] | None) -> None:
    """Pass the progress reports waiting in ``reports`` to ``on_progress``."""
    if reports is None or on_progress is None:
        return
    while True:
        try:
            on_progress(reports.get_nowait())
        except queue_module.Empty:
            return


__all__ = ["CONFIG_FILE", "TRIALS_FILE", "append_record", "available_cores", "prepare", "read_trials",
           "run_trials"]
