"""Sweeps: one command's options over a grid (or a list) of values and seeds, every trial of every point a
task on one backend, collected into one table.

A sweep is described by a TOML file::

    command = "reproduce lstm1997"      # what each point runs (see COMMANDS)

    [base]                              # options every point shares: the command's option names
    exp = "4"                           # (dashes or underscores: max-sequences = max_sequences)
    T = 100
    trials = 2
    max-sequences = 2000

    [grid]                              # every combination of these values ...
    variant = ["as-written", "linear-output"]
    seed = [0, 1]

    [[points]]                          # ... and points listed one by one (each over [base])
    variant = "no-fprime"

With neither ``[grid]`` nor ``[[points]]`` the sweep is the one point ``[base]``. A point is named by the
options that vary across points (``variant=linear-output,seed=1``) and kept in ``OUT/points/<name>/`` as a
run folder of the multi-trial runner (``config.json``, ``trials.jsonl``, ``result.json``): rerunning the
sweep resumes every point, and adding values adds points (adding another varying option renames the points,
so their new folders start empty). The trials of all points are submitted together,
so a cluster stays busy however few trials each point has.

A command is a :class:`SweepCommand` in :data:`COMMANDS`: its options and their types, how a point's options
become the runner's :class:`~yetztml.experiments.runner.TrialPlan`, how a finished point is summarised and
which summary fields make the table's columns. Commands of the layers beside this one register themselves
with :func:`register` (``text train``: :mod:`yetztml.cli.sweep_text`, which the command line loads).
"""

from __future__ import annotations

import csv
import itertools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import OptionError, message
from ..core.results import read_json, write_json
from ..core.validation import check_seed
from .backends import Backend, LocalBackend, Task
from .runner import TRIALS_FILE, TrialPlan, append_record, prepare

SWEEP_FILE = "sweep.json"
TABLE_FILE = "sweep.csv"
POINTS_DIR = "points"
#: Top-level keys of a sweep file.
SPEC_KEYS = ("command", "base", "grid", "points")


@dataclass(frozen=True)
class SweepCommand:
    """A command a sweep can run: ``options`` (name → accepted type or types), ``plan(options)`` → (the
    runner's plan, number of trials), ``finish(options, folder)`` → the point's result (its trials all
    finished), ``columns`` (summary fields in the table), ``figure`` (the summary fields plotted),
    ``warm_up(options)`` (run once before forked workers start), ``needed`` (options every point must have),
    ``line(record)`` (a few words on a finished trial for the progress display)."""

    name: str
    options: dict[str, type | tuple[type, ...]]
    plan: Callable[[dict[str, Any]], tuple[TrialPlan, int]]
    finish: Callable[[dict[str, Any], Path], dict[str, Any]]
    columns: tuple[str, ...]
    figure: tuple[str, ...]
    warm_up: Callable[[dict[str, Any]], object] | None = None
    needed: tuple[str, ...] = ()
    line: Callable[[dict[str, Any]], str] | None = None

    def describe(self, record: dict[str, Any]) -> str:
        """A few words on the finished trial ``record``."""
        if self.line is not None:
            return self.line(record)
        return "success" if record.get("success") else "no success"


def _lstm1997_row(opts: dict[str, Any]):
    from .lstm1997 import resolve_row
    from .lstm1997.variants import get_variant

    params = {k: opts.get(k) for k in ("T", "N", "p", "q", "alpha", "blocks", "block_size", "n_seq", "method")}
    row = resolve_row(str(opts["exp"]), **params)
    get_variant(opts.get("variant", "as-written"))
    return row


def _lstm1997_plan(opts: dict[str, Any]) -> tuple[TrialPlan, int]:
    from .lstm1997 import trial_plan

    row = _lstm1997_row(opts)
    plan = trial_plan(row, opts.get("variant", "as-written"), opts.get("seed", 0), opts.get("max_sequences"))
    return plan, opts.get("trials", row.trials)


def _lstm1997_finish(opts: dict[str, Any], folder: Path) -> dict[str, Any]:
    from .lstm1997 import reproduce

    return reproduce(_lstm1997_row(opts), variant=opts.get("variant", "as-written"), trials=opts.get("trials"),
                     seed=opts.get("seed", 0), out=folder, jobs=1, max_sequences=opts.get("max_sequences"),
                     backend=LocalBackend(1))


def _lstm1997_warm_up(opts: dict[str, Any]) -> object:
    plan, _ = _lstm1997_plan(opts)
    return plan.fn(trial=0, **{**plan.kwargs, "max_sequences": 1})


def _gers2000_plan(opts: dict[str, Any]) -> tuple[TrialPlan, int]:
    from . import gers2000

    row = gers2000.get_row(opts["row"])
    return (gers2000.trial_plan(row, opts.get("seed", 0), opts.get("max_streams"), opts.get("max_steps")),
            opts.get("trials", row.trials))


def _gers2000_finish(opts: dict[str, Any], folder: Path) -> dict[str, Any]:
    from . import gers2000

    return gers2000.reproduce(gers2000.get_row(opts["row"]), trials=opts.get("trials"), seed=opts.get("seed", 0),
                              out=folder, jobs=1, max_streams=opts.get("max_streams"),
                              max_steps=opts.get("max_steps"), backend=LocalBackend(1))


_NUMBER = (int, float)
#: Integer options that count something (at least 1).
COUNTS = ("trials", "max_sequences", "max_streams", "max_steps")
COMMANDS: dict[str, SweepCommand] = {
    "reproduce lstm1997": SweepCommand(
        "reproduce lstm1997",
        {"exp": (str, int), "T": int, "N": int, "p": int, "q": int, "alpha": _NUMBER, "blocks": int,
         "block_size": int, "n_seq": int, "method": str, "variant": str, "max_sequences": int, "trials": int,
         "seed": int},
        _lstm1997_plan, _lstm1997_finish,
        ("trials", "successes", "success_pct", "sequences_mean", "sequences_median", "wrong_mean", "wall_s_total"),
        ("success_pct", "sequences_mean"), _lstm1997_warm_up, ("exp",),
    ),
    "reproduce gers2000": SweepCommand(
        "reproduce gers2000",
        {"row": str, "max_streams": int, "max_steps": int, "trials": int, "seed": int},
        _gers2000_plan, _gers2000_finish,
        ("trials", "perfect_pct", "perfect_streams_mean", "good_pct", "good_length_mean", "rest_pct",
         "rest_length_mean", "wall_s_total"),
        ("perfect_pct", "perfect_streams_mean"), needed=("row",),
    ),
}


def register(command: SweepCommand) -> SweepCommand:
    """Make ``command`` available to sweep files (``command = "<its name>"``); registering again replaces it."""
    COMMANDS[command.name] = command
    return command


@dataclass
class Point:
    """One point of a sweep: its name (the options that vary), all its options, its folder."""

    name: str
    options: dict[str, Any]
    folder: Path
    plan: TrialPlan | None = field(default=None, repr=False)
    trials: int = 0


def _options(where: str, table: Any, command: SweepCommand) -> dict[str, Any]:
    """A TOML table of options, names normalised (dashes → underscores) and values type-checked."""
    if not isinstance(table, dict):
        raise OptionError(message(where, "a table of options", type(table).__name__))
    out = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in command.options:
            raise OptionError(message(f"{where}: option {key!r}", f"an option of `{command.name}` ("
                                      + ", ".join(command.options) + ")", repr(key)))
        kind = command.options[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
            raise OptionError(message(f"{where}: {key}", _kind_name(kind), repr(value)))
        if name == "seed":
            check_seed(f"{where}: seed", value)
        elif name in COUNTS and value < 1:
            raise OptionError(message(f"{where}: {key}", "an integer >= 1", value))
        out[name] = value
    return out


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({int: "an integer", float: "a number", str: "a string", bool: "true or false"}[k]
                       for k in kinds)


def read_spec(path: str | Path) -> dict[str, Any]:
    """The sweep file at ``path``, parsed (tomllib) and checked; see the module docstring."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            spec = tomllib.load(fh)
    except OSError as err:
        raise OptionError(message("SPEC", "a readable sweep file (TOML)", f"{str(path)!r} ({err.strerror})")) from None
    except tomllib.TOMLDecodeError as err:
        raise OptionError(message(f"sweep file {path}", "TOML", f"a syntax error ({err})")) from None
    return check_spec(spec, str(path))


def check_spec(spec: dict[str, Any], where: str = "sweep") -> dict[str, Any]:
    """``spec`` with its command checked and its option tables normalised."""
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise OptionError(message(f"{where}: key {unknown[0]!r}", "one of " + ", ".join(SPEC_KEYS), repr(unknown[0])))
    name = spec.get("command")
    if name not in COMMANDS:
        raise OptionError(message(f"{where}: command", "one of " + ", ".join(repr(c) for c in COMMANDS), repr(name)))
    command = COMMANDS[name]
    table = spec.get("grid", {})
    if not isinstance(table, dict):
        raise OptionError(message(f"{where} [grid]", "a table of options", type(table).__name__))
    grid = {}
    for key, values in table.items():
        if not isinstance(values, list) or not values:
            raise OptionError(message(f"{where} [grid] {key}", "a non-empty list of values", repr(values)))
        grid[key.replace("-", "_")] = [_options(f"{where} [grid]", {key: v}, command)[key.replace("-", "_")]
                                       for v in values]
    points = spec.get("points", [])
    if not isinstance(points, list):
        raise OptionError(message(f"{where}: points", "an array of tables ([[points]])", type(points).__name__))
    return {"command": name, "base": _options(f"{where} [base]", spec.get("base", {}), command), "grid": grid,
            "points": [_options(f"{where} [[points]] {i + 1}", p, command) for i, p in enumerate(points)]}


def expand(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every point's options: the grid's combinations, then the listed points (each over the base)."""
    base, grid = spec["base"], spec["grid"]
    listed = [{**base, **p} for p in spec["points"]]
    if not grid and listed:
        return listed
    return [{**base, **dict(zip(grid, values, strict=True))} for values in itertools.product(*grid.values())] + listed


def point_name(options: dict[str, Any], varying: list[str]) -> str:
    """A folder-safe name from the options that vary across the sweep (``"base"`` if none do)."""
    if not varying:
        return "base"
    text = ",".join(f"{k}={options[k]}" if k in options else f"{k}=-" for k in varying)
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", text)


def varying_options(points: list[dict[str, Any]]) -> list[str]:
    """Options whose value differs between points, in order of first appearance."""
    keys: list[str] = []
    for p in points:
        keys += [k for k in p if k not in keys]
    return [k for k in keys if len({repr(p.get(k)) for p in points}) > 1]


def plan_sweep(spec: dict[str, Any], out: str | Path) -> list[Point]:
    """The points of ``spec`` with their plans (rows resolved, options checked); nothing is written."""
    command = COMMANDS[spec["command"]]
    options = expand(spec)
    varying = varying_options(options)
    points, seen = [], {}
    for i, opts in enumerate(options):
        missing = [k for k in command.needed if k not in opts]
        if missing:
            raise OptionError(message(f"sweep point {i + 1}", f"the option {missing[0]!r} (in [base], [grid] or "
                                      "[[points]])", "none"))
        name = point_name(opts, varying)
        if name in seen:
            raise OptionError(message(f"sweep point {i + 1}", "options no other point has", f"the options of "
                                      f"point {seen[name] + 1} ({name})"))
        seen[name] = i
        plan, trials = command.plan(opts)
        if not isinstance(trials, int) or trials < 1:
            raise OptionError(message(f"sweep point {name}: trials", "an integer >= 1", trials))
        points.append(Point(name, opts, Path(out) / POINTS_DIR / name, plan, trials))
    return points


def run_sweep(spec: dict[str, Any], out: str | Path, backend: Backend | None = None,
              on_record: Callable[[Point, dict[str, Any], int, int], None] | None = None) -> dict[str, Any]:
    """Run every trial of every point of ``spec`` on ``backend`` (default: local processes), resuming what
    ``out`` holds; write each point's ``result.json``, ``out/sweep.csv`` and ``out/sweep.json``.

    ``on_record(point, record, finished, total)`` after each finished trial. Returns the sweep summary
    (``command``, ``options`` (the varying ones), ``columns``, ``rows``: one per point).
    """
    backend = backend or LocalBackend()
    command = COMMANDS[spec["command"]]
    points = plan_sweep(spec, out)
    out = Path(out)
    _check_sweep_file(out, spec)
    tasks, total, finished = [], 0, 0
    by_name = {p.name: p for p in points}
    for p in points:
        done = prepare(p.folder, p.plan.config, p.plan.required)
        total += p.trials
        finished += sum(1 for i in range(p.trials) if i in done)
        tasks += [Task((p.name, i), p.plan.fn, i, p.plan.kwargs) for i in range(p.trials) if i not in done]
    write_json(out / SWEEP_FILE, {"spec": spec, "points": [{"name": p.name, "options": p.options} for p in points]})

    def keep(task: Task, record: dict[str, Any]) -> None:
        nonlocal finished
        point = by_name[task.key[0]]
        append_record(point.folder / TRIALS_FILE, record)
        finished += 1
        if on_record is not None:
            on_record(point, record, finished, total)

    warm_up = (lambda: command.warm_up(points[0].options)) if command.warm_up and tasks else None
    backend.run(tasks, keep, warm_up=warm_up)
    varying = varying_options([p.options for p in points])
    rows = []
    for p in points:
        summary = command.finish(p.options, p.folder)["summary"]
        rows.append({"point": p.name, **{k: p.options.get(k) for k in varying},
                     **{c: summary.get(c) for c in command.columns}})
    table = {"command": command.name, "options": varying, "columns": list(command.columns),
             "figure": list(command.figure), "rows": rows, "base": spec["base"], "backend": backend.describe()}
    write_table(out / TABLE_FILE, rows)
    write_json(out / SWEEP_FILE, {"spec": spec, "points": [{"name": p.name, "options": p.options} for p in points],
                                  "table": table})
    return table


def _check_sweep_file(out: Path, spec: dict[str, Any]) -> None:
    """A folder holding another command's sweep is refused (points of the same command may be added)."""
    path = out / SWEEP_FILE
    if not path.exists():
        return
    try:
        before = read_json(path)["spec"]["command"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise OptionError(message(str(path), "a sweep file written by yetztml sweep", f"unreadable ({err})",
                                  "Use another --out.")) from None
    if before != spec["command"]:
        raise OptionError(message(f"output folder {out}", f"a sweep of `{spec['command']}` (to resume) or an empty "
                                  "folder", f"a sweep of `{before}`", "Use another --out."))


def write_table(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as CSV (empty cells for missing values)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)
    tmp.replace(path)
    return path


__all__ = ["COMMANDS", "POINTS_DIR", "SWEEP_FILE", "TABLE_FILE", "Point", "SweepCommand", "check_spec", "expand",
           "plan_sweep", "point_name", "read_spec", "register", "run_sweep", "varying_options", "write_table"]
