"""yetztml.experiments.sweep, piece by piece: every refusal of a sweep file word for word, how options are
normalised and type-checked, how points are expanded, named and planned, what the paper commands hand their
entry functions, and what :func:`run_sweep` writes and calls — with a registered stand-in command whose trials
are one line of arithmetic and a backend that runs them in this process, so nothing trains here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from yetztml.core.errors import CheckpointError, OptionError
from yetztml.experiments import gers2000, lstm1997, sweep
from yetztml.experiments.backends import Backend, LocalBackend
from yetztml.experiments.runner import TRIALS_FILE, TrialPlan, read_trials
from yetztml.experiments.sweep import (
    POINTS_DIR,
    SWEEP_FILE,
    TABLE_FILE,
    SweepCommand,
    check_spec,
    expand,
    plan_sweep,
    point_name,
    read_spec,
    run_sweep,
    varying_options,
    write_table,
)


def fake_trial(trial: int, scale: int) -> dict:
    return {"trial": trial, "success": trial % 2 == 0, "value": scale * 10 + trial}


def _fake_plan(opts: dict) -> tuple[TrialPlan, int]:
    scale = opts.get("scale", 1)
    return TrialPlan(fake_trial, {"scale": scale}, {"scale": scale}, {"value": int}), opts.get("trials", 2)


def _fake_finish(opts: dict, folder: Path) -> dict:
    records = read_trials(folder / TRIALS_FILE)
    return {"summary": {"total": sum(r["value"] for r in records.values()), "count": len(records), "gone": None,
                        "unused": 1}}


def fake_command(**changes) -> SweepCommand:
    fields = {"name": "fake run", "options": {"scale": int, "trials": int, "seed": int, "label": str, "flag": bool,
                                              "rate": (int, float), "max_steps": int, "needed": str,
                                              "mode": (bool, str)},
              "plan": _fake_plan, "finish": _fake_finish, "columns": ("total", "count", "gone"),
              "figure": ("total",)}
    return SweepCommand(**{**fields, **changes})


@pytest.fixture
def commands(monkeypatch) -> dict:
    """COMMANDS holding only the stand-in command (restored afterwards)."""
    table = {"fake run": fake_command()}
    monkeypatch.setattr(sweep, "COMMANDS", table)
    return table


class InlineBackend(Backend):
    """Runs the tasks here, in order, noting the keys and the warm-up it was given."""

    name = "inline"

    def __init__(self) -> None:
        self.keys: list = []
        self.warm_ups: list = []

    def describe(self) -> str:
        return "inline, here"

    def run(self, tasks, on_result, on_progress=None, warm_up=None) -> None:
        self.warm_ups.append(warm_up)
        if warm_up is not None:
            warm_up()
        for task in tasks:
            self.keys.append(task.key)
            on_result(task, task())


def refused(fn, *args) -> str:
    with pytest.raises(OptionError) as err:
        fn(*args)
    return str(err.value)


# --- a command ------------------------------------------------------------------------------------------------

def test_describe_is_the_commands_line_else_success():
    plain = fake_command()
    assert plain.describe({"success": True}) == "success"
    assert plain.describe({"success": False}) == "no success"
    assert plain.describe({}) == "no success"
    worded = fake_command(line=lambda record: f"value {record['value']}")
    assert worded.describe({"value": 3, "success": True}) == "value 3"
    assert (plain.warm_up, plain.needed, plain.line) == (None, (), None)


def test_register_adds_or_replaces_a_command(commands):
    other = fake_command(name="other run")
    assert sweep.register(other) is other and commands["other run"] is other
    again = fake_command(name="other run", columns=("count",))
    sweep.register(again)
    assert commands["other run"] is again and list(commands) == ["fake run", "other run"]


# --- options ---------------------------------------------------------------------------------------------------

def test_options_are_normalised_and_type_checked():
    command = fake_command()
    table = {"scale": 2, "max-steps": 3, "label": "a", "flag": True, "rate": 0.5, "seed": 0, "trials": 1}
    assert sweep._options("w", table, command) == {"scale": 2, "max_steps": 3, "label": "a", "flag": True,
                                                   "rate": 0.5, "seed": 0, "trials": 1}
    assert sweep._options("w", {"rate": 2, "flag": False}, command) == {"rate": 2, "flag": False}
    assert sweep._options("w", {"mode": True}, command) == {"mode": True}  # bool among the kinds of a tuple
    assert sweep._options("w", {"mode": "fast"}, command) == {"mode": "fast"}
    assert sweep._options("w", {}, command) == {}


@pytest.mark.parametrize(("table", "line"), [
    ([1], "here: expected a table of options, got list"),
    ({"speed": 1}, "here: option 'speed': expected an option of `fake run` (scale, trials, seed, label, flag, rate, "
                   "max_steps, needed, mode), got 'speed'"),
    ({"mode": 1}, "here: mode: expected true or false or a string, got 1"),
    ({"scale": "2"}, "here: scale: expected an integer, got '2'"),
    ({"scale": True}, "here: scale: expected an integer, got True"),
    ({"scale": 1.0}, "here: scale: expected an integer, got 1.0"),
    ({"rate": False}, "here: rate: expected an integer or a number, got False"),
    ({"rate": "x"}, "here: rate: expected an integer or a number, got 'x'"),
    ({"label": 3}, "here: label: expected a string, got 3"),
    ({"flag": 1}, "here: flag: expected true or false, got 1"),
    ({"seed": -1}, "here: seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
    ({"trials": 0}, "here: trials: expected an integer >= 1, got 0"),
    ({"max-steps": 0}, "here: max-steps: expected an integer >= 1, got 0"),
    ({"max_steps": -3}, "here: max_steps: expected an integer >= 1, got -3"),
])
def test_option_refusals_word_for_word(table, line):
    assert refused(sweep._options, "here", table, fake_command()) == line


def test_counts_and_seeds_at_their_least_are_accepted():
    assert sweep._options("w", {"trials": 1, "max_steps": 1, "seed": 0, "scale": 0}, fake_command()) == {
        "trials": 1, "max_steps": 1, "seed": 0, "scale": 0}
    assert sweep.COUNTS == ("trials", "max_sequences", "max_streams", "max_steps")


def test_kind_names():
    assert sweep._kind_name(int) == "an integer"
    assert sweep._kind_name(float) == "a number"
    assert sweep._kind_name(str) == "a string"
    assert sweep._kind_name(bool) == "true or false"
    assert sweep._kind_name((str, int)) == "a string or an integer"


# --- sweep files -----------------------------------------------------------------------------------------------

def test_check_spec_normalises_every_table(commands):
    spec = {"command": "fake run", "base": {"max-steps": 2}, "grid": {"max-steps": [1, 2], "scale": [3]},
            "points": [{"label": "p"}, {"trials": 4}]}
    assert check_spec(spec) == {"command": "fake run", "base": {"max_steps": 2},
                                "grid": {"max_steps": [1, 2], "scale": [3]},
                                "points": [{"label": "p"}, {"trials": 4}]}
    assert check_spec({"command": "fake run"}) == {"command": "fake run", "base": {}, "grid": {}, "points": []}


@pytest.mark.parametrize(("spec", "line"), [
    ({"command": "fake run", "seeds": 1, "axes": 2}, "sweep: key 'axes': expected one of command, base, grid, "
                                                     "points, got 'axes'"),
    ({"base": {}}, "sweep: command: expected one of 'fake run', got None"),
    ({"command": "fake"}, "sweep: command: expected one of 'fake run', got 'fake'"),
    ({"command": "fake run", "grid": [1]}, "sweep [grid]: expected a table of options, got list"),
    ({"command": "fake run", "grid": {"scale": 3}}, "sweep [grid] scale: expected a non-empty list of values, got 3"),
    ({"command": "fake run", "grid": {"scale": []}}, "sweep [grid] scale: expected a non-empty list of values, "
                                                     "got []"),
    ({"command": "fake run", "grid": {"scale": [1, "2"]}}, "sweep [grid]: scale: expected an integer, got '2'"),
    ({"command": "fake run", "grid": {"max-steps": [0]}}, "sweep [grid]: max-steps: expected an integer >= 1, "
                                                          "got 0"),
    ({"command": "fake run", "points": {"scale": 1}}, "sweep: points: expected an array of tables ([[points]]), "
                                                      "got dict"),
    ({"command": "fake run", "base": {"scale": "1"}}, "sweep [base]: scale: expected an integer, got '1'"),
    ({"command": "fake run", "base": [1]}, "sweep [base]: expected a table of options, got list"),
    ({"command": "fake run", "points": [{}, {"scale": "1"}]}, "sweep [[points]] 2: scale: expected an integer, "
                                                              "got '1'"),
])
def test_check_spec_refusals_word_for_word(spec, line, commands):
    assert refused(check_spec, spec) == line


def test_check_spec_names_where(commands):
    assert refused(check_spec, {"command": "x"}, "f.toml") == "f.toml: command: expected one of 'fake run', got 'x'"


def test_read_spec(tmp_path, commands):
    path = tmp_path / "s.toml"
    path.write_text('command = "fake run"\n[base]\nmax-steps = 2\n[grid]\nscale = [1, 2]\n[[points]]\nlabel = "a"\n')
    assert read_spec(str(path)) == {"command": "fake run", "base": {"max_steps": 2}, "grid": {"scale": [1, 2]},
                                    "points": [{"label": "a"}]}
    path.write_text('command = "fake run"\n[base]\nscale = "2"\n')
    assert refused(read_spec, path) == f"{path} [base]: scale: expected an integer, got '2'"
    path.write_text('command = "fake run"\n[base\n')
    assert refused(read_spec, path) == (f"sweep file {path}: expected TOML, got a syntax error (Expected ']' at the "
                                        "end of a table declaration (at line 2, column 6))")
    assert refused(read_spec, tmp_path / "none.toml") == (
        f"SPEC: expected a readable sweep file (TOML), got '{tmp_path / 'none.toml'}' (No such file or directory)")
    with pytest.raises(OptionError) as err:
        read_spec(tmp_path)  # a folder
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert str(err.value) == f"SPEC: expected a readable sweep file (TOML), got '{tmp_path}' (Is a directory)"


# --- points ------------------------------------------------------------------------------------------------------

def test_expand():
    base = {"a": 1}
    assert expand({"base": base, "grid": {}, "points": []}) == [{"a": 1}]
    assert expand({"base": base, "grid": {}, "points": [{"b": 2}, {"a": 3}]}) == [{"a": 1, "b": 2}, {"a": 3}]
    assert expand({"base": base, "grid": {"b": [1, 2], "c": ["x", "y"]}, "points": [{"d": 0}]}) == [
        {"a": 1, "b": 1, "c": "x"}, {"a": 1, "b": 1, "c": "y"}, {"a": 1, "b": 2, "c": "x"},
        {"a": 1, "b": 2, "c": "y"}, {"a": 1, "d": 0}]
    assert expand({"base": base, "grid": {"a": [5]}, "points": []}) == [{"a": 5}]


def test_point_names():
    assert point_name({"a": 1}, []) == "base"
    assert point_name({"a": 1, "b": "x y/z"}, ["b", "a", "c"]) == "b=x_y_z,a=1,c=-"
    assert point_name({"v": "a.b_c=d,e+f-g:h"}, ["v"]) == "v=a.b_c=d,e+f-g_h"
    assert point_name({"v": 0.5, "w": None}, ["v", "w"]) == "v=0.5,w=None"


def test_varying_options_in_order_of_first_appearance():
    points = [{"a": 1, "b": 2}, {"b": 3, "c": 4, "a": 1}, {"a": 1, "b": 2, "d": 5}]
    assert varying_options(points) == ["b", "c", "d"]
    assert varying_options([{"a": 1}, {"a": 1.0}, {"a": True}]) == ["a"]  # told apart by repr
    assert varying_options([{"a": 1}, {"a": 1}]) == []
    assert varying_options([{"a": 1}]) == []
    assert varying_options([]) == []


def test_plan_sweep_names_plans_and_places_the_points(tmp_path, commands):
    spec = check_spec({"command": "fake run", "base": {"trials": 3}, "grid": {"scale": [1, 2]},
                       "points": [{"scale": 1, "trials": 1}]})
    points = plan_sweep(spec, str(tmp_path))
    assert [(p.name, p.options, p.folder, p.trials) for p in points] == [
        ("trials=3,scale=1", {"trials": 3, "scale": 1}, tmp_path / POINTS_DIR / "trials=3,scale=1", 3),
        ("trials=3,scale=2", {"trials": 3, "scale": 2}, tmp_path / POINTS_DIR / "trials=3,scale=2", 3),
        ("trials=1,scale=1", {"scale": 1, "trials": 1}, tmp_path / POINTS_DIR / "trials=1,scale=1", 1)]
    assert [p.plan.kwargs for p in points] == [{"scale": 1}, {"scale": 2}, {"scale": 1}]
    assert list(tmp_path.iterdir()) == []
    assert "plan=" not in repr(points[0]) and POINTS_DIR == "points"


def test_plan_sweep_refusals_word_for_word(tmp_path, commands):
    commands["fake run"] = fake_command(needed=("label", "needed"))
    spec = check_spec({"command": "fake run", "base": {"label": "a"}, "grid": {"scale": [1, 2]}})
    assert refused(plan_sweep, spec, tmp_path) == ("sweep point 1: expected the option 'needed' (in [base], [grid] "
                                                   "or [[points]]), got none")
    spec = check_spec({"command": "fake run", "grid": {"scale": [1]}, "points": [{"scale": 1}]})
    assert refused(plan_sweep, {**spec, "command": "fake run"}, tmp_path) == (
        "sweep point 1: expected the option 'label' (in [base], [grid] or [[points]]), got none")
    commands["fake run"] = fake_command()
    spec = check_spec({"command": "fake run", "base": {"label": "a"}, "points": [{"scale": 1}, {"scale": 2},
                                                                                 {"scale": 1}]})
    assert refused(plan_sweep, spec, tmp_path) == ("sweep point 3: expected options no other point has, got the "
                                                   "options of point 1 (scale=1)")
    commands["fake run"] = fake_command(plan=lambda opts: (_fake_plan(opts)[0], opts["scale"]))
    spec = check_spec({"command": "fake run", "grid": {"scale": [1, 0]}})
    assert refused(plan_sweep, spec, tmp_path) == "sweep point scale=0: trials: expected an integer >= 1, got 0"
    commands["fake run"] = fake_command(plan=lambda opts: (_fake_plan(opts)[0], 2.0))
    assert refused(plan_sweep, check_spec({"command": "fake run"}), tmp_path) == (
        "sweep point base: trials: expected an integer >= 1, got 2.0")
    commands["fake run"] = fake_command(plan=lambda opts: (_fake_plan(opts)[0], 1))
    assert [p.trials for p in plan_sweep(check_spec({"command": "fake run"}), tmp_path)] == [1]
    assert list(tmp_path.iterdir()) == []


# --- the paper commands ------------------------------------------------------------------------------------------

def test_lstm1997_points_resolve_their_row_and_plan():
    command = sweep.COMMANDS["reproduce lstm1997"]
    plan, trials = command.plan({"exp": 4, "T": 100, "seed": 3, "max_sequences": 20, "variant": "linear-output"})
    assert trials == 10 and plan.kwargs["row"].id == "4-1" and plan.kwargs["row"].net.output == "identity"
    assert (plan.kwargs["seed"], plan.kwargs["max_sequences"]) == (3, 20)
    assert (plan.config["seed"], plan.config["max_sequences"]) == (3, 20)
    plan, trials = command.plan({"exp": "1", "blocks": 3, "block_size": 2, "alpha": 0.2, "trials": 2})
    assert trials == 2 and plan.kwargs["row"].id == "1-3" and plan.kwargs["row"].net.output == "logistic"
    assert (plan.kwargs["seed"], plan.kwargs["max_sequences"]) == (0, None)
    chosen = [({"exp": "2c", "p": 200, "q": 200}, "2c-3"), ({"exp": "2c", "p": 100, "q": 1000}, "2c-8"),
              ({"exp": "3b", "T": 100, "N": 1}, "3b-2"), ({"exp": "3b", "T": 1000, "N": 1}, "3b-3"),
              ({"exp": "4", "T": 500}, "4-2"), ({"exp": "5", "n_seq": 13}, "5-2"),
              ({"exp": "2a", "method": "rtrl", "p": 10}, "2a-rtrl-4"), ({"exp": "2a", "method": "bptt"}, "2a-bptt-1"),
              ({"exp": "1", "blocks": 3, "alpha": 0.5}, "1-5"), ({"exp": "1", "block_size": 2, "alpha": 0.5}, "1-5"),
              ({"exp": "1", "alpha": 0.2}, "1-3"), ({"exp": "2a", "method": "rtrl", "alpha": 10.0}, "2a-rtrl-3")]
    assert [command.plan(opts)[0].kwargs["row"].id for opts, _ in chosen] == [row for _, row in chosen]
    with pytest.raises(OptionError, match="variant: expected one of 'as-written'"):
        sweep._lstm1997_row({"exp": "4", "variant": "no-such"})


def test_lstm1997_finish_reproduces_the_point_in_its_folder(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(lstm1997, "reproduce", lambda row, **kw: calls.append((row.id, kw)) or {"summary": {}})
    command = sweep.COMMANDS["reproduce lstm1997"]
    assert command.finish({"exp": "4", "T": 500, "trials": 2, "seed": 4, "max_sequences": 9,
                           "variant": "no-fprime"}, tmp_path) == {"summary": {}}
    assert command.finish({"exp": "6a"}, tmp_path) == {"summary": {}}
    (row, first), (row2, second) = calls
    assert (row, row2) == ("4-2", "6a")
    backend = first.pop("backend")
    assert isinstance(backend, LocalBackend) and backend.jobs == 1
    assert first == {"variant": "no-fprime", "trials": 2, "seed": 4, "out": tmp_path, "jobs": 1, "max_sequences": 9}
    second.pop("backend")
    assert second == {"variant": "as-written", "trials": None, "seed": 0, "out": tmp_path, "jobs": 1,
                      "max_sequences": None}


def test_lstm1997_warm_up_runs_trial_0_for_one_sequence(monkeypatch):
    calls: list = []

    def plan(row, variant="as-written", seed=0, max_sequences=None):
        calls.append(("plan", row.id, variant, seed, max_sequences))
        return TrialPlan(lambda **kw: calls.append(("trial", kw)) or "ran", {"row": row.id, "seed": seed,
                                                                             "max_sequences": max_sequences}, {})

    monkeypatch.setattr(lstm1997, "trial_plan", plan)
    command = sweep.COMMANDS["reproduce lstm1997"]
    assert command.warm_up({"exp": "4", "seed": 2, "max_sequences": 500, "variant": "grad2"}) == "ran"
    assert calls == [("plan", "4-1", "grad2", 2, 500),
                     ("trial", {"trial": 0, "row": "4-1", "seed": 2, "max_sequences": 1})]


def test_gers2000_points_plan_and_finish(tmp_path, monkeypatch):
    command = sweep.COMMANDS["reproduce gers2000"]
    plan, trials = command.plan({"row": "forget", "seed": 5, "max_streams": 7, "max_steps": 90})
    assert trials == 100 and plan.kwargs["row"].id == "forget"
    assert (plan.kwargs["seed"], plan.kwargs["max_streams"], plan.kwargs["max_steps"]) == (5, 7, 90)
    plan, trials = command.plan({"row": "reset", "trials": 3})
    assert trials == 3 and (plan.kwargs["seed"], plan.kwargs["max_streams"], plan.kwargs["max_steps"]) == (
        0, None, None)
    calls: list = []
    monkeypatch.setattr(gers2000, "reproduce", lambda row, **kw: calls.append((row.id, kw)) or {"summary": {}})
    command.finish({"row": "standard", "trials": 2, "seed": 1, "max_streams": 3, "max_steps": 4}, tmp_path)
    command.finish({"row": "reset"}, tmp_path)
    (row, first), (row2, second) = calls
    assert (row, row2) == ("standard", "reset")
    backend = first.pop("backend")
    assert isinstance(backend, LocalBackend) and backend.jobs == 1
    assert first == {"trials": 2, "seed": 1, "out": tmp_path, "jobs": 1, "max_streams": 3, "max_steps": 4}
    second.pop("backend")
    assert second == {"trials": None, "seed": 0, "out": tmp_path, "jobs": 1, "max_streams": None, "max_steps": None}
    assert (command.warm_up, command.needed) == (None, ("row",))


# --- run_sweep ------------------------------------------------------------------------------------------------------

SPEC = {"command": "fake run", "base": {"trials": 2, "label": "b"}, "grid": {"scale": [1, 2]}, "points": []}


def test_run_sweep_runs_every_trial_and_writes_the_table(tmp_path, commands):
    backend, seen = InlineBackend(), []
    table = run_sweep(check_spec(SPEC), str(tmp_path), backend,
                      on_record=lambda point, record, n, total: seen.append((point.name, record["value"], n, total)))
    assert backend.keys == [("scale=1", 0), ("scale=1", 1), ("scale=2", 0), ("scale=2", 1)]
    assert backend.warm_ups == [None]  # the command has no warm-up
    assert seen == [("scale=1", 10, 1, 4), ("scale=1", 11, 2, 4), ("scale=2", 20, 3, 4), ("scale=2", 21, 4, 4)]
    rows = [{"point": "scale=1", "scale": 1, "total": 21, "count": 2, "gone": None},
            {"point": "scale=2", "scale": 2, "total": 41, "count": 2, "gone": None}]
    assert table == {"command": "fake run", "options": ["scale"], "columns": ["total", "count", "gone"],
                     "figure": ["total"], "rows": rows, "base": {"trials": 2, "label": "b"}, "backend": "inline, here"}
    assert (tmp_path / TABLE_FILE).read_bytes() == (b"point,scale,total,count,gone\r\nscale=1,1,21,2,\r\n"
                                                    b"scale=2,2,41,2,\r\n")
    written = json.loads((tmp_path / SWEEP_FILE).read_text())
    assert written == {"spec": check_spec(SPEC), "points": [{"name": "scale=1", "options": {"trials": 2, "label": "b",
                                                                                           "scale": 1}},
                                                            {"name": "scale=2", "options": {"trials": 2, "label": "b",
                                                                                           "scale": 2}}],
                       "table": table}
    for name, scale in (("scale=1", 1), ("scale=2", 2)):
        folder = tmp_path / POINTS_DIR / name
        assert json.loads((folder / "config.json").read_text()) == {"scale": scale}
        assert [json.loads(x)["value"] for x in (folder / TRIALS_FILE).read_text().splitlines()] == [
            scale * 10, scale * 10 + 1]


def test_an_interrupted_sweep_has_written_its_points_first(tmp_path, commands):
    def stop(point, record, finished, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(check_spec(SPEC), tmp_path, InlineBackend(), on_record=stop)
    assert json.loads((tmp_path / SWEEP_FILE).read_text()) == {
        "spec": check_spec(SPEC), "points": [{"name": "scale=1", "options": {"trials": 2, "label": "b", "scale": 1}},
                                             {"name": "scale=2", "options": {"trials": 2, "label": "b", "scale": 2}}]}
    assert (tmp_path / POINTS_DIR / "scale=1" / TRIALS_FILE).read_text() == (
        '{"trial": 0, "success": true, "value": 10}\n')
    assert not (tmp_path / TABLE_FILE).exists()


def test_run_sweep_resumes_and_adds_points(tmp_path, commands):
    run_sweep(check_spec(SPEC), tmp_path, InlineBackend())
    (tmp_path / POINTS_DIR / "scale=1" / TRIALS_FILE).write_text('{"trial": 0, "success": true, "value": 100}\n')
    backend, seen = InlineBackend(), []
    more = {**SPEC, "grid": {"scale": [1, 2, 3]}}
    table = run_sweep(check_spec(more), tmp_path, backend, on_record=lambda p, r, n, t: seen.append((p.name, n, t)))
    assert backend.keys == [("scale=1", 1), ("scale=3", 0), ("scale=3", 1)]
    assert seen == [("scale=1", 4, 6), ("scale=3", 5, 6), ("scale=3", 6, 6)]
    assert [(r["point"], r["total"]) for r in table["rows"]] == [("scale=1", 111), ("scale=2", 41), ("scale=3", 61)]
    done = InlineBackend()
    run_sweep(check_spec(more), tmp_path, done)
    assert done.keys == [] and done.warm_ups == [None]


def test_run_sweep_checks_the_fields_of_the_records_on_disk(tmp_path, commands):
    folder = tmp_path / POINTS_DIR / "scale=1"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"scale": 1}')
    (folder / TRIALS_FILE).write_text('{"trial": 0, "success": true}\n')
    with pytest.raises(CheckpointError, match=r"scale=1/trials.jsonl, line 1: expected a trial record \(a JSON "
                                              r"object with 'trial', 'value'\), got no 'value'"):
        run_sweep(check_spec(SPEC), tmp_path, InlineBackend())


def test_run_sweep_warms_up_with_the_first_points_options_only_when_trials_are_left(tmp_path, commands):
    warmed: list = []
    commands["fake run"] = fake_command(warm_up=lambda opts: warmed.append(opts))
    backend = InlineBackend()
    run_sweep(check_spec(SPEC), tmp_path, backend)
    assert warmed == [{"trials": 2, "label": "b", "scale": 1}] and backend.warm_ups[0] is not None
    backend = InlineBackend()
    run_sweep(check_spec(SPEC), tmp_path, backend)
    assert backend.warm_ups == [None] and len(warmed) == 1


def test_run_sweep_default_backend_is_local_on_every_core(tmp_path, commands, monkeypatch):
    monkeypatch.setattr("yetztml.experiments.backends.available_cores", lambda: 1)
    table = run_sweep(check_spec({"command": "fake run", "base": {"trials": 1}}), tmp_path)
    assert table["backend"] == "local, 1 process" and table["options"] == []
    assert table["rows"] == [{"point": "base", "total": 10, "count": 1, "gone": None}]


def test_run_sweep_refuses_another_commands_folder_before_writing(tmp_path, commands):
    commands["other run"] = fake_command(name="other run")
    run_sweep(check_spec(SPEC), tmp_path, InlineBackend())
    before = (tmp_path / SWEEP_FILE).read_text()
    assert refused(run_sweep, check_spec({**SPEC, "command": "other run"}), tmp_path, InlineBackend()) == (
        f"output folder {tmp_path}: expected a sweep of `other run` (to resume) or an empty folder, got a sweep of "
        "`fake run`. Use another --out.")
    assert (tmp_path / SWEEP_FILE).read_text() == before


@pytest.mark.parametrize(("text", "why"), [
    ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ('{"points": []}', "'spec'"),
    ('{"spec": []}', "list indices must be integers or slices, not str"),
])
def test_run_sweep_refuses_an_unreadable_sweep_file(tmp_path, commands, text, why):
    (tmp_path / SWEEP_FILE).write_text(text)
    assert refused(run_sweep, check_spec(SPEC), tmp_path, InlineBackend()) == (
        f"{tmp_path / SWEEP_FILE}: expected a sweep file written by yetztml sweep, got unreadable ({why}). Use "
        "another --out.")
    assert not (tmp_path / POINTS_DIR).exists()


def test_an_unreadable_sweep_file_hides_its_cause(tmp_path, commands):
    (tmp_path / SWEEP_FILE).mkdir()
    with pytest.raises(OptionError) as err:
        sweep._check_sweep_file(tmp_path, SPEC)
    assert "(Is a directory)" not in str(err.value) and "[Errno 21] Is a directory" in str(err.value)
    assert err.value.__suppress_context__ and err.value.__cause__ is None
    sweep._check_sweep_file(tmp_path / "none", SPEC)  # no sweep file yet: nothing to refuse


def test_write_table(tmp_path):
    rows = [{"point": "a", "x": None, "y": 1.5}, {"point": "b", "x": 0, "y": "q,r"}]
    assert write_table(tmp_path / "t.csv", rows) == tmp_path / "t.csv"
    with open(tmp_path / "t.csv", newline="") as fh:
        assert list(csv.reader(fh)) == [["point", "x", "y"], ["a", "", "1.5"], ["b", "0", "q,r"]]
    assert (tmp_path / "t.csv").read_bytes() == b'point,x,y\r\na,,1.5\r\nb,0,"q,r"\r\n'
    (tmp_path / "t.csv.tmp").write_text("stale")
    write_table(tmp_path / "t.csv", rows[:1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
    assert (SWEEP_FILE, TABLE_FILE) == ("sweep.json", "sweep.csv")
