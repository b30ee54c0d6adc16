"""yetztml.cli.sweep and yetztml.cli.sweep_text through ``main([...])`` and directly: the parser as the user
reads it, the default folder, the checks made before anything is written, what ``--force`` deletes, every
line printed (plan, finished trials, table), the interrupt message; and for ``text train`` points the
configuration, the files read once with their fingerprint, the plan and the point's result.

The trials themselves are replaced by recorders (``run_sweep``, ``run_trials``, ``write_sweep_report``), so
each test takes milliseconds; whole sweeps run in ``test_experiments_sweep.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import pytest

import yetztml.experiments.sweep as sweep_exp
import yetztml.report.sweep as sweep_report
from cli_snapshot import command, flushed_lines, snapshot
from yetztml.apps.text.config import TextConfig
from yetztml.apps.text.sweep import REQUIRED, train_trial
from yetztml.cli import sweep, sweep_text
from yetztml.cli.main import main
from yetztml.experiments.backends import LocalBackend

CSV = "text,label\ngood film,pos\n,neg\nbad film,neg\nfine,pos\n"


def test_the_sweep_parser_is_the_one_documented():
    assert snapshot(command("sweep")) == {
        "description": "Run every point of the sweep file SPEC (a TOML grid or list over one command's options\n"
                       "and seeds), all trials of all points as tasks of one backend, and collect the points into\n"
                       "OUT/sweep.csv and OUT/report.md with a figure. Rerunning the same command resumes; --force\n"
                       "starts over.",
        "epilog": sweep.EXAMPLE,
        "formatter": "RawDescriptionHelpFormatter",
        "spec": {"kind": "_StoreAction", "help": "the sweep file (TOML; see the example below)",
                 "metavar": "SPEC.toml", "required": True},
        "--out": {"kind": "_StoreAction", "help": "sweep folder (default: sweep-<SPEC's name>)", "metavar": "DIR"},
        "--backend": {"kind": "_StoreAction", "help": "where trials run: local processes (default) or Ray tasks "
                                                      "(the extra yetztml[ray])",
                      "default": "local", "metavar": "local|ray"},
        "--address": {"kind": "_StoreAction",
                      "help": "with --backend ray: the cluster's head (auto: the one running on this machine; "
                              "default: a Ray instance started for this run)",
                      "metavar": "HOST:PORT|auto"},
        "--jobs": {"kind": "_StoreAction",
                   "help": "parallel trials (default: all available cores; with --backend ray and no --address, "
                           "the CPUs of the Ray instance started for the run)",
                   "type": "int"},
        "--force": {"kind": "_StoreTrueAction",
                    "help": "start over in DIR: delete the sweep's table and report and the finished trials and "
                            "results of its points there",
                    "default": False, "nargs": 0, "const": True},
        "--no-figures": {"kind": "_StoreFalseAction", "help": "skip the figure", "default": True, "nargs": 0,
                         "const": False, "dest": "figures"},
    }
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "sweep") == (
        "run a grid or list of reproduce or text-train options and seeds as tasks (local or Ray); one table and "
        "report")
    assert command("sweep")._defaults == {"handler": sweep.handle}


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A working folder with labelled texts ``d.csv`` and a sweep file ``s.toml`` of two ``text train``
    points (seed 0 and 1); the cache of read files is empty."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep_text, "_READ", {})
    (tmp_path / "d.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "s.toml").write_text('command = "text train"\n[base]\ndata = "d.csv"\nepochs = 2\n'
                                     '[grid]\nseed = [0, 1]\n', encoding="utf-8")
    return tmp_path


TABLE = {"command": "text train", "options": ["seed"], "columns": ["val_accuracy"], "figure": ["val_accuracy"],
         "rows": [{"point": "seed=0", "seed": 0, "val_accuracy": 0.5},
                  {"point": "seed=1", "seed": 1, "val_accuracy": 0.75}],
         "base": {"data": "d.csv"}, "backend": "local, 1 process"}


class Sweep:
    """``run_sweep`` and ``write_sweep_report`` replaced: the calls, a record per point, a warning."""

    def __init__(self, raises: BaseException | None = None):
        self.calls: list = []
        self.raises = raises

    def run(self, spec, out, backend, on_record=None):
        self.calls.append(("run", spec["command"], out, backend.describe()))
        points = sweep_exp.plan_sweep(spec, out)
        warnings.warn("a cut line set aside", UserWarning, stacklevel=1)
        for i, point in enumerate(points):
            on_record(point, {"trial": i, "wall_s": 1.25 + i, "val_accuracy": 0.5 + i / 4, "best_epoch": 1,
                              "epochs_run": 2, **({"test_accuracy": 0.625} if i else {})}, i + 1, len(points))
            if self.raises is not None:
                raise self.raises
        return TABLE

    def report(self, out, table, figures=True):
        self.calls.append(("report", out, table is TABLE, figures))
        return Path(out) / "report.md"


@pytest.fixture
def fake(monkeypatch) -> Sweep:
    rec = Sweep()
    monkeypatch.setattr(sweep_exp, "run_sweep", rec.run)
    monkeypatch.setattr(sweep_report, "write_sweep_report", rec.report)
    return rec


def test_a_sweep_prints_its_plan_each_trial_and_the_table(folder, fake, capsys, monkeypatch):
    monkeypatch.delitem(sweep_exp.COMMANDS, "text train", raising=False)
    lines = flushed_lines(monkeypatch, sweep)
    assert main(["sweep", "s.toml", "--jobs", "1"]) == 0
    assert fake.calls == [("run", "text train", "sweep-s", "local, 1 process"), ("report", "sweep-s", True, True)]
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "sweep: text train, 2 points, 2 trials, out sweep-s, backend local, 1 process",
        "  seed=0 trial   0: validation accuracy 0.5000, best epoch 1 of 2, 1.2 s  [1/2]",
        "  seed=1 trial   1: validation accuracy 0.7500, test 0.6250, best epoch 1 of 2, 2.2 s  [2/2]",
        "  | point | seed | val_accuracy |",
        "  |---|---|---|",
        "  | seed=0 | 0 | 0.5 |",
        "  | seed=1 | 1 | 0.75 |",
        "table: sweep-s/sweep.csv",
        "report: sweep-s/report.md",
    ]
    assert err == "yetztml sweep: warning: a cut line set aside\n"
    # the plan and each finished trial are flushed at once (a pipe shows them while the sweep runs)
    assert [flushed for _, flushed in lines] == [True, True, True, False, False, False, False, False]
    assert sweep_exp.COMMANDS["text train"] is sweep_text.TEXT_TRAIN


def test_out_backend_jobs_and_no_figures_are_passed_on(folder, fake):
    assert main(["sweep", "s.toml", "--out", "elsewhere", "--backend", "local", "--jobs", "2", "--no-figures"]) == 0
    assert fake.calls == [("run", "text train", "elsewhere", "local, 2 processes"),
                          ("report", "elsewhere", True, False)]


@pytest.mark.parametrize(("argv", "line"), [
    (["--jobs", "0"], "--jobs: expected an integer >= 1, got 0"),
    (["--out", "d.csv"], "--out: expected a folder (or a path where one can be made), got 'd.csv', an existing "
                         "file. Choose another --out."),
    (["--address", "h:1"], "--address: expected no address with --backend local, got 'h:1'. Add --backend ray "
                           "to run on a Ray cluster."),
])
def test_bad_options_are_refused_before_anything_is_written(argv, line, folder, fake, capsys):
    assert main(["sweep", "s.toml", *argv]) == 2
    assert capsys.readouterr().err == f"yetztml sweep: error: {line}\n"
    assert fake.calls == []
    assert sorted(p.name for p in folder.iterdir()) == ["d.csv", "s.toml"]


def test_force_deletes_the_sweeps_files_and_its_points_run_files_only(folder, fake):
    out = folder / "sweep-s"
    keep = [out / "notes.txt", out / "points" / "seed=0" / "model.npz", out / "points" / "other" / "result.json"]
    gone = [out / name for name in sweep.SWEEP_FILES] + [
        out / "points" / p / name for p in ("seed=0", "seed=1")
        for name in ("config.json", "trials.jsonl", "trials.torn", "result.json", "report.md")]
    for path in keep + gone:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    assert main(["sweep", "s.toml", "--jobs", "1"]) == 0
    assert all(p.exists() for p in keep + gone)
    assert main(["sweep", "s.toml", "--jobs", "1", "--force"]) == 0
    assert [p for p in keep if not p.exists()] == []
    assert [p for p in gone if p.exists()] == []
    assert sweep.SWEEP_FILES == ("sweep.json", "sweep.csv", "report.md", "sweep.png")


def test_start_over_needs_no_file_to_be_there(tmp_path):
    points = [sweep_exp.Point("a", {}, tmp_path / "points" / "a")]
    sweep._start_over(tmp_path, points)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_says_what_is_kept(folder, monkeypatch, capsys):
    rec = Sweep(raises=KeyboardInterrupt())
    monkeypatch.setattr(sweep_exp, "run_sweep", rec.run)
    monkeypatch.setattr(sweep_report, "write_sweep_report", rec.report)
    assert main(["sweep", "s.toml", "--jobs", "1", "--out", "o"]) == 130
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "interrupted: finished trials are kept in o/points/*/trials.jsonl; rerun the same command to resume",
        "yetztml sweep: interrupted"]
    assert [c[0] for c in rec.calls] == ["run"]


def test_another_error_passes_without_the_interrupt_message(folder, monkeypatch, capsys):
    rec = Sweep(raises=ValueError("a bug"))
    monkeypatch.setattr(sweep_exp, "run_sweep", rec.run)
    with pytest.raises(ValueError, match="a bug"):
        main(["sweep", "s.toml", "--jobs", "1"])
    assert "interrupted" not in capsys.readouterr().err


# --- text train points -----------------------------------------------------------------------------------

def test_config_turns_numbers_into_floats_and_leaves_out_files_and_columns():
    config = sweep_text._config({"data": "d.csv", "val": "v.csv", "test": "t.csv", "text_column": "t",
                                 "label_column": "l", "delimiter": ";", "lr": 1, "dropout": 0, "clip_norm": 2,
                                 "lr_decay": 1, "hidden": 4, "seed": 3})
    assert config == TextConfig(lr=1.0, dropout=0.0, clip_norm=2.0, lr_decay=1.0, hidden=4, seed=3)
    assert [type(getattr(config, k)) for k in ("lr", "dropout", "clip_norm", "lr_decay", "hidden")] == [
        float, float, float, float, int]
    assert sweep_text.OPTIONS["lr_decay"] == (int, float)


def test_read_reads_a_file_once_with_its_fingerprint(folder):
    texts, files = sweep_text._read("data", "d.csv", {})
    data = (folder / "d.csv").read_bytes()
    assert (texts.texts, texts.labels) == (["good film", "bad film", "fine"], ["pos", "neg", "pos"])
    assert files == {"examples": 3, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    again = sweep_text._read("val", "./d.csv", {})
    assert again[0] is texts
    assert list(sweep_text._READ) == [(str((folder / "d.csv").resolve()), len(data),
                                       os.stat(folder / "d.csv").st_mtime_ns, "text", "label", None)]


def test_read_uses_the_columns_and_reads_a_changed_file_again(folder):
    (folder / "c.csv").write_text("t;l\none;a\ntwo;b\n", encoding="utf-8")
    texts, files = sweep_text._read("data", "c.csv", {"text_column": "t", "label_column": "l", "delimiter": ";"})
    assert (texts.texts, texts.labels, files["examples"]) == (["one", "two"], ["a", "b"], 2)
    (folder / "c.csv").write_text("t;l\none;a\ntwo;b\nthree;a\n", encoding="utf-8")
    again, files = sweep_text._read("data", "c.csv", {"text_column": "t", "label_column": "l", "delimiter": ";"})
    assert (again.texts, files["examples"], len(sweep_text._READ)) == (["one", "two", "three"], 3, 2)


def test_read_names_the_option_of_a_missing_file(folder):
    with pytest.raises(Exception, match="^val: expected an existing file, got 'no.csv' "):
        sweep_text._read("val", "no.csv", {})


def test_plan_is_one_trial_of_train_trial_with_the_texts_and_the_resume_key(folder):
    (folder / "t.csv").write_text("text,label\nworse,neg\n", encoding="utf-8")
    opts = {"data": "d.csv", "test": "t.csv", "hidden": 4, "text_column": "text"}
    plan, trials = sweep_text._plan(opts)
    config = TextConfig(hidden=4).to_json()
    fingerprint = {"data": sweep_text._read("data", "d.csv", opts)[1], "val": None,
                   "test": sweep_text._read("test", "t.csv", opts)[1]}
    assert trials == 1
    assert plan.fn is train_trial
    assert plan.required == REQUIRED and plan.required is not REQUIRED
    assert plan.config == {"command": "text train", "config": config, "files": fingerprint,
                           "columns": {"text_column": "text", "label_column": None, "delimiter": None}}
    assert set(plan.kwargs) == {"config", "train", "val", "test"}
    assert (plan.kwargs["config"], plan.kwargs["val"], plan.kwargs["test"].texts, plan.kwargs["train"].texts) == (
        config, None, ["worse"], ["good film", "bad film", "fine"])


@pytest.mark.parametrize("option", ["data", "val", "test"])
def test_plan_names_the_option_of_a_missing_file(option, folder):
    opts = {"data": "d.csv", option: "no.csv"}
    with pytest.raises(Exception, match=f"^{option}: expected an existing file, got 'no.csv' "):
        sweep_text._plan(opts)


def test_plan_checks_the_options_before_reading_a_file(folder):
    with pytest.raises(Exception, match="^--hidden: "):
        sweep_text._plan({"data": "no.csv", "hidden": 0})


def test_finish_runs_the_one_trial_on_one_local_process_and_writes_the_result(folder, monkeypatch):
    calls = []
    record = {"trial": 0, "val_accuracy": 0.5, "val_macro_f1": 0.25, "best_epoch": 1, "epochs_run": 2, "wall_s": 3.0}

    def run_trials(fn, trials, out, config, kwargs, backend=None, required=None):
        calls.append((fn, trials, out, config, sorted(kwargs), type(backend), backend.jobs, required))
        return [record]

    monkeypatch.setattr(sweep_text, "run_trials", run_trials)
    (folder / "p").mkdir()
    opts = {"data": "d.csv", "hidden": 4}
    result = sweep_text._finish(opts, folder / "p")
    plan, _ = sweep_text._plan(opts)
    assert calls == [(train_trial, 1, folder / "p", plan.config, ["config", "test", "train", "val"], LocalBackend, 1,
                      REQUIRED)]
    assert result == {"command": "text train", "options": opts, "configuration": plan.config, "records": [record],
                      "summary": {"val_accuracy": 0.5, "val_macro_f1": 0.25, "test_accuracy": None,
                                  "test_macro_f1": None, "best_epoch": 1, "epochs_run": 2, "wall_s_total": 3.0}}
    assert json.loads((folder / "p" / "result.json").read_text()) == result


def test_line_of_a_record_with_and_without_a_test_split():
    record = {"val_accuracy": 0.8125, "best_epoch": 3, "epochs_run": 5}
    assert sweep_text._line(record) == "validation accuracy 0.8125, best epoch 3 of 5"
    assert sweep_text._line({**record, "test_accuracy": None}) == "validation accuracy 0.8125, best epoch 3 of 5"
    assert sweep_text._line({**record, "test_accuracy": 0.75}) == (
        "validation accuracy 0.8125, test 0.7500, best epoch 3 of 5")


def test_register_text_train_adds_the_command_once(monkeypatch):
    monkeypatch.delitem(sweep_exp.COMMANDS, "text train", raising=False)
    assert sweep_text.register_text_train() is sweep_text.TEXT_TRAIN
    assert sweep_exp.COMMANDS["text train"] is sweep_text.TEXT_TRAIN
    other = sweep_exp.SweepCommand("text train", {}, sweep_text._plan, sweep_text._finish, (), ())
    monkeypatch.setitem(sweep_exp.COMMANDS, "text train", other)
    assert sweep_text.register_text_train() is other
    assert sweep_exp.COMMANDS["text train"] is other
