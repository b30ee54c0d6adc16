"""Sweeps: the TOML file checked before any work, points named by what varies, each point's table row equal
to a direct reproduction of the same options, resume without rerunning, added values add points."""

from __future__ import annotations

import csv
import json

import pytest

from yetztml.cli.main import main
from yetztml.core.errors import OptionError
from yetztml.experiments.backends import LocalBackend
from yetztml.experiments.lstm1997 import reproduce, resolve_row
from yetztml.experiments.runner import TRIALS_FILE
from yetztml.experiments.sweep import check_spec, expand, plan_sweep, read_spec, run_sweep

SPEC = """\
command = "reproduce lstm1997"
[base]
exp = "4"
T = 100
trials = 2
max-sequences = 500
[grid]
seed = [0, 1]
"""


def test_grid_and_listed_points_are_expanded_and_named(tmp_path):
    spec = check_spec({"command": "reproduce lstm1997", "base": {"exp": "4", "T": 100},
                       "grid": {"variant": ["as-written", "linear-output"], "seed": [0, 1]},
                       "points": [{"variant": "no-fprime", "max-sequences": 10}]})
    assert [(p["variant"], p.get("seed")) for p in expand(spec)] == [
        ("as-written", 0), ("as-written", 1), ("linear-output", 0), ("linear-output", 1), ("no-fprime", None)]
    names = [p.name for p in plan_sweep(spec, tmp_path)]
    assert names == ["variant=as-written,seed=0,max_sequences=-", "variant=as-written,seed=1,max_sequences=-",
                     "variant=linear-output,seed=0,max_sequences=-", "variant=linear-output,seed=1,max_sequences=-",
                     "variant=no-fprime,seed=-,max_sequences=10"]
    only_listed = check_spec({"command": "reproduce lstm1997", "base": {"exp": "4"}, "points": [{"seed": 5}]})
    assert expand(only_listed) == [{"exp": "4", "seed": 5}]
    assert [p.name for p in plan_sweep(check_spec({"command": "reproduce gers2000", "base": {"row": "forget"}}),
                                       tmp_path)] == ["base"]
    assert not any(tmp_path.iterdir())  # planning writes nothing


@pytest.mark.parametrize("text, expected", [
    ('command = "train"\n', "command: expected one of 'reproduce lstm1997', 'reproduce gers2000', got 'train'"),
    ('command = "reproduce lstm1997"\nseeds = [1]\n', "key 'seeds': expected one of command, base, grid, points"),
    ('command = "reproduce lstm1997"\n[base]\nexp = "4"\nlr = 1\n', "option 'lr': expected an option of"),
    ('command = "reproduce lstm1997"\n[base]\nexp = "4"\nT = "100"\n', "[base]: T: expected an integer, got '100'"),
    ('command = "reproduce lstm1997"\n[base]\nexp = "4"\n[grid]\nseed = 3\n', "[grid] seed: expected a non-empty "
     "list of values, got 3"),
    ('command = "reproduce lstm1997"\n[grid]\nseed = [0]\n', "sweep point 1: expected the option 'exp'"),
    ('command = "reproduce lstm1997"\n[base]\nexp = "4"\n[[points]]\nseed = 1\n[[points]]\nseed = 1\n',
     "sweep point 2: expected options no other point has, got the options of point 1 (base)"),
    ('command = "reproduce lstm1997"\n[base]\nexp = "9"\n', "experiment: expected an experiment id"),
    ('command = "reproduce lstm1997"\n[base]\nexp = "4"\n[grid]\nseed = [0, -1]\n', "[grid]: seed: expected an "
     "integer seed >= 0, got -1"),
    ('command = "reproduce gers2000"\n[base]\nrow = "forget"\nmax-steps = 0\n', "[base]: max-steps: expected an "
     "integer >= 1, got 0"),
    ('command = "reproduce lstm1997"\n[base\n', "expected TOML, got a syntax error"),
])
def test_bad_sweep_files_are_one_line_and_write_nothing(tmp_path, capsys, text, expected):
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("yetztml sweep: error: ") and expected in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _rows(path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_sweep_rows_equal_direct_reproductions_and_resume(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SPEC)
    out = tmp_path / "sweep"
    assert main(["sweep", str(tmp_path / "s.toml"), "--out", str(out), "--jobs", "2", "--no-figures"]) == 0
    rows = _rows(out / "sweep.csv")
    assert [(r["point"], r["seed"], r["trials"], r["successes"]) for r in rows] == [
        ("seed=0", "0", "2", "0"), ("seed=1", "1", "2", "0")]
    row = resolve_row("4", T=100)
    for seed in (0, 1):
        direct = reproduce(row, trials=2, seed=seed, out=tmp_path / f"direct{seed}", jobs=1, max_sequences=500)
        swept = json.loads((out / "points" / f"seed={seed}" / "result.json").read_text())
        assert [r["test"] for r in swept["trials"]] == [r["test"] for r in direct["trials"]]
        assert [r["curve"] for r in swept["trials"]] == [r["curve"] for r in direct["trials"]]
    assert "| seed=1 | 1 | 2 | 0 | 0 |" in (out / "report.md").read_text()
    capsys.readouterr()
    # resumed: nothing runs again; a new grid value adds one point
    (tmp_path / "s.toml").write_text(SPEC.replace("seed = [0, 1]", "seed = [0, 1, 2]"))
    seen = []
    table = run_sweep(read_spec(tmp_path / "s.toml"), out, on_record=lambda p, r, done, total: seen.append(
        (p.name, r["trial"], done, total)))
    assert sorted(seen) == [("seed=2", 0, 5, 6), ("seed=2", 1, 6, 6)] or sorted(seen) == [
        ("seed=2", 0, 6, 6), ("seed=2", 1, 5, 6)]
    assert [r["point"] for r in table["rows"]] == ["seed=0", "seed=1", "seed=2"]
    assert len((out / "points" / "seed=0" / TRIALS_FILE).read_text().splitlines()) == 2


def test_another_commands_sweep_folder_is_refused(tmp_path):
    (tmp_path / "s.toml").write_text(SPEC.replace("trials = 2", "trials = 1").replace("[0, 1]", "[0]"))
    run_sweep(read_spec(tmp_path / "s.toml"), tmp_path / "o")
    gers = check_spec({"command": "reproduce gers2000", "base": {"row": "forget", "trials": 1}})
    with pytest.raises(OptionError, match="expected a sweep of `reproduce gers2000`.*got a sweep of `reproduce "
                                          "lstm1997`"):
        run_sweep(gers, tmp_path / "o")


def test_report_has_the_table_and_the_figure(tmp_path):
    from yetztml.report.sweep import write_sweep_report

    table = {"command": "reproduce lstm1997", "options": ["seed"], "columns": ["success_pct", "sequences_mean"],
             "figure": ["success_pct", "sequences_mean"], "base": {"exp": "4"}, "backend": "local, 2 processes",
             "rows": [{"point": "seed=0", "seed": 0, "success_pct": 50.0, "sequences_mean": 1234.0},
                      {"point": "seed=1", "seed": 1, "success_pct": 0.0, "sequences_mean": None}]}
    text = write_sweep_report(tmp_path, table).read_text()
    assert "| seed=0 | 0 | 50.0 | 1,234 |\n| seed=1 | 1 | 0 | – |" in text
    assert "![sweep.png](sweep.png)" in text and (tmp_path / "sweep.png").stat().st_size > 5000


def test_gers2000_sweep_rows_equal_direct_runs(tmp_path):
    from yetztml.experiments import gers2000

    spec = check_spec({"command": "reproduce gers2000", "base": {"row": "forget", "trials": 2, "max-streams": 2,
                                                                "max-steps": 5000}, "grid": {"seed": [0, 1]}})
    table = run_sweep(spec, tmp_path / "s", LocalBackend(1))
    got = [(r["point"], r["trials"], r["perfect_pct"], r["rest_pct"], r["rest_length_mean"]) for r in table["rows"]]
    assert got == [("seed=0", 2, 0.0, 100.0, 1.0), ("seed=1", 2, 0.0, 100.0, 0.5)]
    direct = gers2000.reproduce(gers2000.get_row("forget"), trials=2, seed=1, out=tmp_path / "d", jobs=1,
                                max_streams=2, max_steps=5000)
    assert direct["summary"]["rest_length_mean"] == table["rows"][1]["rest_length_mean"]
    assert [r["test_lengths"] for r in direct["trials"]] == [
        r["test_lengths"] for r in json.loads((tmp_path / "s/points/seed=1/result.json").read_text())["trials"]]


def test_force_starts_over(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SPEC.replace("trials = 2", "trials = 1").replace("[0, 1]", "[0]"))
    out = tmp_path / "o"
    argv = ["sweep", str(tmp_path / "s.toml"), "--out", str(out), "--jobs", "1", "--no-figures"]
    assert main(argv) == 0
    (out / "points" / "base" / TRIALS_FILE).write_text('{"trial": 0}\n')  # a record no run would write
    assert main(argv) == 2
    assert "line 1: expected a trial record" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    assert "base trial   0: no success" in capsys.readouterr().out
    assert json.loads((out / "points" / "base" / TRIALS_FILE).read_text())["sequences"] == 500
