"""The multi-trial runner: independent trials on a backend (local processes by default, or Ray), each
finished trial appended to ``DIR/trials.jsonl`` so that an interrupted run loses no finished trial and the
same command resumes it.

``DIR/config.json`` holds the configuration the trials belong to (anything that changes a trial's result:
row, variant, seed, caps). A rerun with the same configuration keeps the finished trials and runs only the
missing ones (asking for more trials adds them; trial i always has the same seed sequence (seed, i), so
its record does not depend on the backend or on which worker ran it); a rerun with another configuration
into the same folder is refused.

``DIR/result.json`` (:func:`write_result`): a reproduction's description, its configuration, the summary
of the records, the records, the versions and the seconds the run took.

``trials.jsonl``: one JSON record per line with at least ``trial`` (its index) and the fields the caller
requires. A line is written with one ``write``, then ``flush`` and ``fsync``, and always starts on a new
line. A line cut by a crash mid-write (not JSON) is set aside on the next start: moved to
``DIR/trials.torn`` with a :class:`TornRecordWarning`, and its trial runs again. A complete line that is
JSON but no trial record (no integer ``trial``, a required field missing or of the wrong type) stops the
run with a :class:`~yetztml.core.errors.CheckpointError` naming the file and line.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import CheckpointError, message
from ..core.results import read_json, versions, write_json
from ..core.validation import check_int
from .backends import Backend, LocalBackend, Task, available_cores

TRIALS_FILE = "trials.jsonl"
CONFIG_FILE = "config.json"
RESULT_FILE = "result.json"
TORN_FILE = "trials.torn"

#: Field name → accepted type(s); what every record must have (callers add their own fields).
Required = Mapping[str, type | tuple[type, ...]]
BASE_REQUIRED: Required = {"trial": int}


@dataclass(frozen=True)
class TrialPlan:
    """What the runner needs to run a set of trials: ``fn(trial=i, **kwargs)``, the configuration the
    records belong to (the resume key) and the fields every record has."""

    fn: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any]
    config: dict[str, Any]
    required: Required = field(default_factory=lambda: dict(BASE_REQUIRED))


class TornRecordWarning(UserWarning):
    """Lines of ``trials.jsonl`` cut by a crash mid-write were set aside; their trials run again."""


def _check_record(record: Any, required: Required) -> str | None:
    """What is wrong with ``record`` as a trial record, or None."""
    if not isinstance(record, dict):
        return f"a {type(record).__name__}"
    for key, kind in {**BASE_REQUIRED, **required}.items():
        if key not in record:
            return f"no {key!r}"
        value = record[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{key!r} = {value!r}"
    if record["trial"] < 0:
        return f"'trial' = {record['trial']}"
    return None


def _parse(line: bytes) -> tuple[bool, Any]:
    """(True, the JSON value) or (False, None) for a line that is no JSON (cut, or not even UTF-8)."""
    try:
        return True, json.loads(line)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return False, None


def _lines(data: bytes) -> list[bytes]:
    """The lines of ``data`` split at b"\\n" only, each with its newline (the last may lack it)."""
    parts = data.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def read_trials(path: str | os.PathLike, required: Required = BASE_REQUIRED) -> dict[int, dict[str, Any]]:
    """Finished trial records by index (the last record of an index wins).

    Lines that are not JSON (cut by a crash) are skipped; a JSON line that is no trial record with the
    ``required`` fields raises CheckpointError naming the file and line.
    """
    path = Path(path)
    found: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return found
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            ok, record = _parse(line)
            if not ok:
                continue
            wrong = _check_record(record, required)
            if wrong is not None:
                fields = ", ".join(repr(k) for k in {**BASE_REQUIRED, **required})
                raise CheckpointError(message(
                    f"{path}, line {number}", f"a trial record (a JSON object with {fields})", wrong,
                    "Delete that line (its trial runs again) or use another --out."))
            found[record["trial"]] = record
    return found


def set_aside_torn(path: str | os.PathLike) -> list[int]:
    """Move the lines of ``path`` that are not JSON (cut by a crash mid-write) to ``trials.torn`` beside it,
    rewrite ``path`` without them (atomically) and warn; the line numbers set aside."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = _lines(data)
    torn = [i for i, line in enumerate(lines) if line.strip() and not _parse(line)[0]]
    if not torn:
        if data and not data.endswith(b"\n"):  # a whole record whose newline was cut: complete it
            _append(path, b"\n")
        return []
    _append(path.with_name(TORN_FILE), b"".join(lines[i].rstrip(b"\n") + b"\n" for i in torn))
    keep = b"".join(line if line.endswith(b"\n") else line + b"\n"
                    for i, line in enumerate(lines) if i not in set(torn))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(keep)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    numbers = [i + 1 for i in torn]
    several = len(numbers) > 1
    warnings.warn(f"{path}: line{'s' if several else ''} {', '.join(map(str, numbers))} cut by an interruption, "
                  f"moved to {path.with_name(TORN_FILE)}; {'their trials run' if several else 'its trial runs'} "
                  "again", TornRecordWarning, stacklevel=2)
    return numbers


def _append(path: Path, text: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def append_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one record as a single line (on a line of its own), flushed and synced before returning."""
    line = json.dumps(record, default=_default) + "\n"
    path = Path(path)
    with open(path, "a+b") as fh:
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":  # the previous write was cut: never glue a record onto it
                line = "\n" + line
        fh.write(line.encode())
        fh.flush()
        os.fsync(fh.fileno())


def _default(obj: Any) -> Any:
    if hasattr(obj, "item") and getattr(obj, "size", 1) == 1:  # a NumPy scalar (an array of several: tolist)
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"trial record: cannot serialise {type(obj).__name__}")


def canonical(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as it reads back from JSON (the form compared on resume)."""
    return json.loads(json.dumps(config, default=_default))


def prepare(out: str | os.PathLike, config: dict[str, Any],
            required: Required = BASE_REQUIRED) -> dict[int, dict[str, Any]]:
    """Create ``out``, check or write its configuration, set aside cut lines, return the trials finished."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / CONFIG_FILE
    wanted = canonical(config)
    if cfg_path.exists():
        try:
            existing = read_json(cfg_path)
        except (OSError, json.JSONDecodeError) as err:
            raise CheckpointError(message(str(cfg_path), "a readable configuration", str(err))) from err
        if existing != wanted:
            changed = sorted(k for k in set(existing) | set(wanted) if existing.get(k) != wanted.get(k))
            raise CheckpointError(
                message(
                    f"output folder {out}",
                    "results of the same configuration (to resume) or an empty folder",
                    "results of another configuration (differing in " + ", ".join(changed) + ")",
                    "Use another --out, or delete the folder to start over.",
                )
            )
    else:
        write_json(cfg_path, wanted)
    set_aside_torn(out / TRIALS_FILE)
    return read_trials(out / TRIALS_FILE, required)


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
    backend: Backend | None = None,
    required: Required = BASE_REQUIRED,
) -> list[dict[str, Any]]:
    """Run trials 0 … trials−1 of ``fn(trial=i, **kwargs)`` (a module-level function returning a JSON-able
    dict) on ``backend`` (default: local processes, ``jobs`` at a time, every available core), skipping
    those already in ``out``.

    Every finished record is appended to ``out/trials.jsonl`` before the next is awaited;
    ``on_record(record, finished, total)`` is called after each. Returns the records of trials
    0 … trials−1, ordered by index. KeyboardInterrupt stops the workers and propagates (finished trials
    are on disk). ``warm_up()`` runs once in this process before forked workers start, so that they
    inherit its compiled kernels. ``on_progress(report)`` receives, in this process, the reports running
    trials make through :func:`yetztml.experiments.progress.report`. ``required`` names the fields (and
    their types) every record must have, checked on records read back from the folder.
    """
    trials = check_int("trials", trials, minimum=1)
    if backend is None:
        backend = LocalBackend(jobs)
    done = prepare(out, config, required)
    path = Path(out) / TRIALS_FILE
    pending = [i for i in range(trials) if i not in done]
    finished = trials - len(pending)

    def keep(task: Task, record: dict[str, Any]) -> None:
        nonlocal finished
        if record.get("trial") != task.trial:
            raise CheckpointError(message(f"record of trial {task.trial}", f"'trial' = {task.trial}",
                                          repr(record.get("trial"))))
        append_record(path, record)
        done[task.trial] = record
        finished += 1
        if on_record is not None:
            on_record(record, finished, trials)

    backend.run([Task(i, fn, i, kwargs) for i in pending], keep, on_progress=on_progress, warm_up=warm_up)
    return [done[i] for i in range(trials)]


def check_counts(trials: int | None, default: int, **caps: int | None) -> tuple[int, dict[str, int | None]]:
    """A reproduction's trial count (``default`` when None) and its ``caps`` (None kept: the row's own),
    checked in this order, each an int >= 1."""
    trials = default if trials is None else check_int("trials", trials, minimum=1)
    return trials, {name: None if cap is None else check_int(name, cap, minimum=1) for name, cap in caps.items()}


def write_result(out: str | os.PathLike, *, head: dict[str, Any], config: dict[str, Any], about: dict[str, Any],
                 summary: dict[str, Any], records: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Write and return a reproduction's ``out/result.json``, in this order: the fields of ``head`` (paper,
    row, …), ``config``, the fields of ``about`` (conventions, paper values, …), ``summary``, ``trials`` (the
    records), ``versions`` and ``seconds`` (the run's wall time)."""
    result = {**head, "config": config, **about, "summary": summary, "trials": records, "versions": versions(),
              "seconds": seconds}
    write_json(Path(out) / RESULT_FILE, result)
    return result


__all__ = ["CONFIG_FILE", "RESULT_FILE", "TORN_FILE", "TRIALS_FILE", "TornRecordWarning", "TrialPlan",
           "append_record", "available_cores", "canonical", "check_counts", "prepare", "read_trials", "run_trials",
           "set_aside_torn", "write_result"]
