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
    ('command = "train"\n', "command: expected one of 'reproduce lstm1997', 'reproduce gers2000', 'text train', "
     "got 'train'"),
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
    ('command = "text train"\n[base]\nhidden = 4\n', "sweep point 1: expected the option 'data'"),
    ('command = "text train"\n[base]\ndata = "t.csv"\nbidirectional = 1\n', "[base]: bidirectional: expected "
     "true or false, got 1"),
    ('command = "text train"\n[base]\ndata = "t.csv"\n[grid]\ncell = ["transformer", "lstm"]\n', "--cell: "
     "expected one of"),
    ('command = "text train"\n[base]\ndata = "no-such.csv"\n', "data: expected an existing file, got "
     "'no-such.csv' (no such file)"),
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


TEXT_SPEC = """\
command = "text train"
[base]
data = "{data}"
hidden = 4
embed-dim = 4
bidirectional = false
epochs = 2
batch-size = 8
min-freq = 1
dtype = "float64"
[grid]
lr = [0.01, 0.1]
seed = [0, 1]
"""


def _texts(path) -> None:
    """60 short labelled texts: class 1 holds "good" or "fine", class 0 "bad" or "poor", among filler words."""
    words = ["the", "a", "film", "day", "food", "was", "very", "quite", "service", "room"]
    lines = ["text,label"]
    for i in range(60):
        cue = ["good", "fine", "bad", "poor"][i % 4]
        filler = [words[(i * 7 + j * 3) % len(words)] for j in range(2 + i % 3)]
        lines.append(f"{' '.join(filler[:1] + [cue] + filler[1:])},{int(cue in ('good', 'fine'))}")
    path.write_text("\n".join(lines) + "\n")


def test_text_train_sweep_rows_equal_direct_training_and_resume(tmp_path, capsys):
    data = tmp_path / "texts.csv"
    _texts(data)
    (tmp_path / "s.toml").write_text(TEXT_SPEC.format(data=data))
    out = tmp_path / "sweep"
    argv = ["sweep", str(tmp_path / "s.toml"), "--out", str(out), "--jobs", "2"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "sweep: text train, 4 points, 4 trials" in printed and printed.count("validation accuracy") == 4
    rows = _rows(out / "sweep.csv")
    assert [(r["point"], r["lr"], r["seed"]) for r in rows] == [
        ("lr=0.01,seed=0", "0.01", "0"), ("lr=0.01,seed=1", "0.01", "1"), ("lr=0.1,seed=0", "0.1", "0"),
        ("lr=0.1,seed=1", "0.1", "1")]
    assert list(rows[0]) == ["point", "lr", "seed", "val_accuracy", "val_macro_f1", "test_accuracy",
                             "test_macro_f1", "best_epoch", "epochs_run", "wall_s_total"]
    losses = set()
    for lr, seed in (("0.1", 1), ("0.01", 0)):
        direct = tmp_path / f"direct-{lr}-{seed}"
        assert main(["text", "train", "--data", str(data), "--out", str(direct), "--hidden", "4", "--embed-dim",
                     "4", "--no-bidirectional", "--epochs", "2", "--batch-size", "8", "--min-freq", "1", "--dtype",
                     "float64", "--lr", lr, "--seed", str(seed), "--no-figures"]) == 0
        want = json.loads((direct / "result.json").read_text())
        row = next(r for r in rows if r["point"] == f"lr={lr},seed={seed}")
        for key in ("val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1", "best_epoch"):
            assert float(row[key]) == want[key], key
        record = json.loads((out / "points" / row["point"] / TRIALS_FILE).read_text())
        assert [e["train_loss"] for e in record["epochs"]] == [e["train_loss"] for e in want["epochs"]]
        assert [e["val_loss"] for e in record["epochs"]] == [e["val_loss"] for e in want["epochs"]]
        losses.add(record["epochs"][-1]["train_loss"])
    assert len(losses) == 2  # the two points trained different nets
    report = (out / "report.md").read_text()
    assert "# Sweep: `text train`, 4 points" in report and "![sweep.png](sweep.png)" in report
    assert (out / "sweep.png").stat().st_size > 5000
    # rerun: every point resumed from its record, nothing trained again, the same table
    before = {p.name: (p / TRIALS_FILE).stat().st_mtime_ns for p in (out / "points").iterdir()}
    table_before = (out / "sweep.csv").read_text()
    capsys.readouterr()
    assert main([*argv, "--no-figures"]) == 0
    assert "validation accuracy" not in capsys.readouterr().out
    assert {p.name: (p / TRIALS_FILE).stat().st_mtime_ns for p in (out / "points").iterdir()} == before
    assert (out / "sweep.csv").read_text() == table_before


def test_text_train_sweep_refuses_a_changed_data_file(tmp_path):
    from yetztml.cli.sweep_text import register_text_train
    from yetztml.core.errors import CheckpointError

    register_text_train()
    data = tmp_path / "texts.csv"
    _texts(data)
    spec = read_spec_text(tmp_path, TEXT_SPEC.format(data=data).replace("lr = [0.01, 0.1]\n", "")
                          .replace("seed = [0, 1]", "seed = [3]"))
    run_sweep(spec, tmp_path / "o", LocalBackend(1))
    data.write_text(data.read_text().replace("film", "book"))
    with pytest.raises(CheckpointError, match="differing in files"):
        run_sweep(spec, tmp_path / "o", LocalBackend(1))


def read_spec_text(folder, text):
    (folder / "s.toml").write_text(text)
    return read_spec(folder / "s.toml")
