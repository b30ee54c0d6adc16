"""yetztml.cli.reproduce, option by option: the parsers' options (names, defaults, types, help), every check's
one-line refusal, what each handler passes to the paper's entry function (a recording stand-in, so that no
trial trains here), the first line, the finished-trial lines, the progress display on and off a terminal,
the run folder's --force, the warnings and the interrupt message."""

from __future__ import annotations

import argparse
import io
import sys
import warnings
from pathlib import Path

import pytest

from yetztml.cli import reproduce
from yetztml.cli.main import main
from yetztml.experiments import gers2000, lstm1997
from yetztml.experiments.backends import LocalBackend
from yetztml.report import reproduction

# --- the parsers --------------------------------------------------------------------------------------------

COMMON = [
    (("--trials",), "trials", None, int, None, "_StoreAction", "number of trials / nets (default: the paper's)"),
    (("--seed",), "seed", 0, int, None, "_StoreAction", "base seed, >= 0; trial i uses (seed, i) (default: 0)"),
    (("--out",), "out", None, None, "DIR", "_StoreAction",
     "run folder (default: {pattern}); rerunning the same command into it resumes, another configuration is "
     "refused"),
    (("--force",), "force", False, None, None, "_StoreTrueAction",
     "start over in DIR, deleting the finished trials and results of the run there"),
    (("--jobs",), "jobs", None, int, None, "_StoreAction",
     "parallel trials (default: all available cores; with --backend ray and no --address, the CPUs of the Ray "
     "instance started for the run)"),
    (("--backend",), "backend", "local", None, "local|ray", "_StoreAction",
     "where trials run: local processes (default) or Ray tasks (the extra yetztml[ray]); results are the same"),
    (("--address",), "address", None, None, "HOST:PORT|auto", "_StoreAction",
     "with --backend ray: the cluster's head (auto: the one running on this machine; default: a Ray instance "
     "started for this run)"),
    (("--no-figures",), "figures", True, None, None, "_StoreFalseAction", "skip the figures"),
]

LSTM1997 = [
    (("--list",), "list", False, None, None, "_StoreTrueAction",
     "list the rows, their parameters and the paper's values"),
    (("--exp",), "exp", None, None, "ID", "_StoreAction",
     "experiment id (1, 2a, 2b, 2c, 3a, 3b, 3c, 4, 5, 6a, 6b) or table id"),
    (("--T",), "T", None, int, None, "_StoreAction", "sequence length parameter T (Exps 3, 4)"),
    (("--N",), "N", None, int, None, "_StoreAction", "information elements N (Exp 3)"),
    (("--p",), "p", None, int, None, "_StoreAction", "p (Exp 2: lag / distractor symbols)"),
    (("--q",), "q", None, int, None, "_StoreAction", "q (Exp 2c: minimal lag − 1)"),
    (("--alpha",), "alpha", None, float, None, "_StoreAction", "learning rate α of the row (Exps 1, 2a)"),
    (("--blocks",), "blocks", None, int, None, "_StoreAction", "memory blocks (Exp 1: 3 or 4)"),
    (("--block-size",), "block_size", None, int, None, "_StoreAction", "cells per block (Exp 1)"),
    (("--n-seq",), "n_seq", None, int, None, "_StoreAction", "n_seq (Exp 5: 140 or 13)"),
    (("--method",), "method", None, None, None, "_StoreAction", "lstm (default), rtrl or bptt (Exp 2a baselines)"),
    (("--variant",), "variant", "as-written", None, None, "_StoreAction",
     "named variant (default: as-written); see --list"),
    (("--max-sequences",), "max_sequences", None, int, None, "_StoreAction",
     "cap on training sequences per trial (default: the row's)"),
]

GERS2000 = [
    (("--list",), "list", False, None, None, "_StoreTrueAction", "list the rows and the paper's values"),
    (("--row",), "row", None, None, "NAME", "_StoreAction", "row name (see --list)"),
    (("--max-streams",), "max_streams", None, int, None, "_StoreAction",
     "cap on training streams per net (default: the paper's 30,000)"),
    (("--max-steps",), "max_steps", None, int, None, "_StoreAction",
     "cap on time steps per net, training and tests together (default: none)"),
]


def _parsers() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction, argparse.ArgumentParser]:
    top = argparse.ArgumentParser(prog="yetztml")
    sub = top.add_subparsers(dest="command")
    reproduce.add_parser(sub)
    command = sub.choices["reproduce"]
    return top, sub, command


def _options(parser: argparse.ArgumentParser) -> list[tuple]:
    return [(tuple(a.option_strings), a.dest, a.default, a.type, a.metavar, type(a).__name__, a.help)
            for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def test_the_reproduce_command_and_its_papers():
    top, sub, command = _parsers()
    assert [a.help for a in sub._choices_actions] == [
        "reproduce a paper's tables: lstm1997 (Tables 1–9), gers2000 (Table 2)"]
    assert command.description == (
        "Run the trials of one table row (in parallel over the cores; rerunning the same command resumes an "
        "interrupted run) and write OUT/result.json and OUT/report.md with figures, the paper's values beside "
        "ours. `--list` shows the rows.")
    (papers,) = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
    assert (papers.dest, papers.metavar) == ("paper", "PAPER")
    assert [(a.dest, a.help) for a in papers._choices_actions] == [
        ("lstm1997", "Hochreiter & Schmidhuber 1997, Tables 1–9"),
        ("gers2000", "Gers, Schmidhuber & Cummins 2000, Table 2 (continual embedded Reber grammar)")]
    assert papers.choices["lstm1997"].description.startswith("Hochreiter & Schmidhuber 1997, §5. Select a row")
    assert papers.choices["gers2000"].description == (
        "Gers, Schmidhuber & Cummins 2000, Table 2 rows (CERG). Select with --row NAME.")
    assert papers.choices["lstm1997"].get_default("handler") is reproduce.handle_lstm1997
    assert papers.choices["gers2000"].get_default("handler") is reproduce.handle_gers2000


@pytest.mark.parametrize(("paper", "own", "pattern"), [("lstm1997", LSTM1997, "reproduce-<row>-<variant>"),
                                                         ("gers2000", GERS2000, "reproduce-gers2000-<row>")])
def test_each_paper_has_its_options_then_the_common_ones(paper, own, pattern):
    _, _, command = _parsers()
    (papers,) = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
    common = [(*row[:6], row[6].format(pattern=pattern)) for row in COMMON]
    assert _options(papers.choices[paper]) == own + common


def test_reproduce_without_a_paper_prints_the_help_and_fails(capsys):
    assert main(["reproduce"]) == 2
    printed = capsys.readouterr().out
    assert printed.startswith("usage: yetztml reproduce [-h] PAPER ...")
    assert "lstm1997" in printed and "gers2000" in printed


# --- the checks -----------------------------------------------------------------------------------------------

def _refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    return captured.err


@pytest.mark.parametrize(("argv", "line"), [
    (["lstm1997"], "--exp: expected an experiment or table id, got nothing. See `yetztml reproduce lstm1997 --list`."),
    (["lstm1997", "--exp", "4", "--trials", "0"], "--trials: expected an integer >= 1, got 0"),
    (["lstm1997", "--exp", "4", "--jobs", "0"], "--jobs: expected an integer >= 1, got 0"),
    (["lstm1997", "--exp", "4", "--max-sequences", "0"], "--max-sequences: expected an integer >= 1, got 0"),
    (["lstm1997", "--exp", "4", "--seed", "-1"],
     "--seed: expected an integer seed >= 0, got -1. Seeds are non-negative; use e.g. 0."),
    (["lstm1997", "--exp", "4", "--method", "sgd"], "--method: expected one of 'lstm', 'rtrl', 'bptt', got 'sgd'"),
    (["lstm1997", "--exp", "4", "--out", " "], "--out: expected a folder name, got ' '. Give --out DIR."),
    (["lstm1997", "--exp", "4", "--address", "auto"],
     "--address: expected no address with --backend local, got 'auto'. Add --backend ray to run on a Ray cluster."),
    (["lstm1997", "--exp", "4", "--backend", "dask"], "--backend: expected one of 'local', 'ray', got 'dask'"),
    (["lstm1997", "--exp", "2a", "--method", "rtrl", "--variant", "linear-output"],
     "variant 'linear-output' for row '2a-rtrl-1': expected variant 'as-written' for a baseline net, got "
     "linear-output"),
    (["gers2000"], "--row: expected a row name, got nothing. See `yetztml reproduce gers2000 --list`."),
    (["gers2000", "--row", "forget", "--max-streams", "0"], "--max-streams: expected an integer >= 1, got 0"),
    (["gers2000", "--row", "forget", "--max-steps", "0"], "--max-steps: expected an integer >= 1, got 0"),
    (["gers2000", "--row", "forget", "--trials", "0"], "--trials: expected an integer >= 1, got 0"),
    (["gers2000", "--row", "forget", "--jobs", "-2"], "--jobs: expected an integer >= 1, got -2"),
])
def test_each_check_is_one_line_before_anything_runs(argv, line, capsys, tmp_path, monkeypatch, entries):
    monkeypatch.chdir(tmp_path)
    assert _refused(["reproduce", *argv], capsys) == f"yetztml reproduce: error: {line}\n"
    assert entries == [] and list(tmp_path.iterdir()) == []


def test_the_smallest_counts_are_accepted(capsys, tmp_path, entries):
    assert main(["reproduce", "lstm1997", "--exp", "4", "--trials", "1", "--jobs", "1", "--max-sequences", "1",
                 "--out", str(tmp_path / "a")]) == 0
    assert main(["reproduce", "gers2000", "--row", "forget", "--trials", "1", "--jobs", "1", "--max-streams", "1",
                 "--max-steps", "1", "--out", str(tmp_path / "b")]) == 0
    assert [(e[2]["trials"], e[2]["jobs"]) for e in entries if e[0] != "report"] == [(1, 1), (1, 1)]


def test_check_paths_reads_only_the_options_the_paper_has():
    args = argparse.Namespace(seed=0, out=None)
    reproduce._check_paths(args)
    args = argparse.Namespace(seed=0, out=None, max_streams=None, max_steps=2)
    reproduce._check_paths(args)
    with pytest.raises(Exception, match="--max-steps: expected an integer >= 1, got 0"):
        reproduce._check_paths(argparse.Namespace(seed=0, out=None, max_streams=3, max_steps=0))


def test_force_deletes_only_the_run_files(tmp_path):
    for name in (*reproduce.RUN_FILES, "notes.txt", "curves.png"):
        (tmp_path / name).write_text("x")
    reproduce._prepare_out(str(tmp_path), force=False)
    assert len(list(tmp_path.iterdir())) == 7
    reproduce._prepare_out(str(tmp_path), force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "notes.txt"]
    reproduce._prepare_out(str(tmp_path), force=True)  # nothing left to delete is no error
    assert reproduce.RUN_FILES == ("config.json", "trials.jsonl", "trials.torn", "result.json", "report.md")
    with pytest.raises(Exception, match="--out: expected a folder .*an existing file"):
        reproduce._prepare_out(str(tmp_path / "notes.txt"), force=True)
    assert (tmp_path / "notes.txt").exists()


# --- the handlers, with a recording entry function -----------------------------------------------------------

RECORD_1997 = {"trial": 3, "success": True, "sequences": 12345, "test": {"wrong": 2}, "wall_s": 1.25}
RECORD_2000 = {"trial": 12, "success": False, "streams": 30000, "class": "rest", "test_length_mean": 1234.56,
               "wall_s": 61.04}


@pytest.fixture
def entries(monkeypatch) -> list:
    """The entry functions of both papers, the report writer and side_by_side replaced by recorders."""
    calls: list = []

    def entry(paper, record):
        def run(row, **kwargs):
            calls.append((paper, row, kwargs))
            kwargs["on_progress"]({"trial": record["trial"], "done": 1, "total": 9, "detail": "d", "unit": "u"})
            kwargs["on_record"](record, 5, 6)
            return {"paper": paper}
        return run

    monkeypatch.setattr(lstm1997, "reproduce", entry("lstm1997", RECORD_1997))
    monkeypatch.setattr(gers2000, "reproduce", entry("gers2000", RECORD_2000))
    monkeypatch.setattr(reproduction, "write_report",
                        lambda out, result, figures=True: calls.append(("report", out, result, figures))
                        or Path(out) / "report.md")
    monkeypatch.setattr(reproduction, "side_by_side", lambda result: [f"side {result['paper']}", "second"])
    return calls


def test_lstm1997_handler_passes_the_row_and_options_to_the_entry(tmp_path, capsys, entries):
    out = str(tmp_path / "run")
    assert main(["reproduce", "lstm1997", "--exp", "4", "--T", "100", "--seed", "7", "--trials", "3",
                 "--max-sequences", "50", "--jobs", "1", "--variant", "linear-output", "--no-figures",
                 "--out", out]) == 0
    (paper, row, kwargs), report = entries
    assert paper == "lstm1997" and row.id == "4-1"
    assert row.net.output == "logistic"  # the entry applies the variant; the handler only checks it
    backend = kwargs.pop("backend")
    assert isinstance(backend, LocalBackend) and backend.jobs == 1
    assert {k: v for k, v in kwargs.items() if k not in ("on_record", "on_progress")} == {
        "variant": "linear-output", "trials": 3, "seed": 7, "out": out, "jobs": 1, "max_sequences": 50}
    assert report == ("report", out, {"paper": "lstm1997"}, False)
    assert capsys.readouterr().out == (
        f"reproduce lstm1997: row 4-1 (Table 7, Exp 4: T = 100), variant linear-output, trials 3, seed 7, cap 50 "
        f"sequences, out {out}, backend local, 1 process\n"
        "  trial   3: success after 12,345 sequences, test wrong 2, 1.2 s  [5/6]\n"
        "  side lstm1997\n  second\n"
        f"report: {out}/report.md\n")


def test_lstm1997_defaults_the_row_gives(tmp_path, capsys, entries, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("yetztml.experiments.backends.available_cores", lambda: 3)
    assert main(["reproduce", "lstm1997", "--exp", "2a", "--method", "rtrl", "--p", "10", "--alpha", "1"]) == 0
    (paper, row, kwargs), report = entries
    assert row.id == "2a-rtrl-4" and kwargs["backend"].jobs == 3
    assert (kwargs["variant"], kwargs["trials"], kwargs["seed"], kwargs["out"], kwargs["jobs"],
            kwargs["max_sequences"]) == ("as-written", 18, 0, "reproduce-2a-rtrl-4-as-written", None, None)
    assert report[1:] == ("reproduce-2a-rtrl-4-as-written", {"paper": "lstm1997"}, True)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"reproduce lstm1997: row 2a-rtrl-4 (Table 2, Exp 2a: RTRL, p = 10, α = 1.0), variant "
                     f"as-written, trials 18, seed 0, cap {row.max_sequences:,} sequences, out "
                     "reproduce-2a-rtrl-4-as-written, backend local, 3 processes")


def test_the_default_folder_names_the_variant(tmp_path, entries, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "lstm1997", "--exp", "4", "--variant", "linear-output", "--jobs", "1"]) == 0
    assert entries[0][2]["out"] == "reproduce-4-1-linear-output"


@pytest.mark.parametrize("paper", [["lstm1997", "--exp", "4"], ["gers2000", "--row", "forget"]])
def test_warnings_of_a_run_are_one_line_each(paper, tmp_path, capsys, monkeypatch):
    from yetztml.experiments.runner import TornRecordWarning

    def warning_entry(row, **kwargs):
        warnings.warn("trials.jsonl: line 2 cut", TornRecordWarning, stacklevel=1)
        warnings.warn("trials.jsonl: line 2 cut", TornRecordWarning, stacklevel=1)
        return {"paper": "x"}

    monkeypatch.setattr(lstm1997, "reproduce", warning_entry)
    monkeypatch.setattr(gers2000, "reproduce", warning_entry)
    monkeypatch.setattr(reproduction, "write_report", lambda out, result, figures=True: "r.md")
    monkeypatch.setattr(reproduction, "side_by_side", lambda result: [])
    assert main(["reproduce", *paper, "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == "yetztml reproduce: warning: trials.jsonl: line 2 cut\n" * 2


@pytest.mark.parametrize(("argv", "row_id"), [
    (["--exp", "1", "--blocks", "3", "--alpha", "0.5"], "1-5"),
    (["--exp", "1", "--block-size", "2", "--alpha", "0.5"], "1-5"),
    (["--exp", "2c", "--p", "200", "--q", "200"], "2c-3"),
    (["--exp", "3b", "--T", "100", "--N", "1"], "3b-2"),
    (["--exp", "3b", "--T", "1000", "--N", "1"], "3b-3"),
    (["--exp", "2c", "--p", "100", "--q", "1000"], "2c-8"),
    (["--exp", "4", "--T", "500"], "4-2"),
    (["--exp", "5", "--n-seq", "13"], "5-2"),
    (["--exp", "2a", "--method", "bptt"], "2a-bptt-1"),
    (["--exp", "2a", "--method", "lstm"], "2a"),
])
def test_every_row_parameter_reaches_the_row(argv, row_id, tmp_path, entries):
    assert main(["reproduce", "lstm1997", *argv, "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert entries[0][1].id == row_id


def test_gers2000_handler_passes_the_row_and_options_to_the_entry(tmp_path, capsys, entries):
    out = str(tmp_path / "g")
    assert main(["reproduce", "gers2000", "--row", "forget-decay", "--seed", "4", "--trials", "2", "--jobs", "2",
                 "--max-streams", "5", "--max-steps", "300", "--out", out]) == 0
    (paper, row, kwargs), report = entries
    assert paper == "gers2000" and row.id == "forget-decay"
    backend = kwargs.pop("backend")
    assert isinstance(backend, LocalBackend) and backend.jobs == 2
    assert {k: v for k, v in kwargs.items() if k not in ("on_record", "on_progress")} == {
        "trials": 2, "seed": 4, "out": out, "jobs": 2, "max_streams": 5, "max_steps": 300}
    assert report == ("report", out, {"paper": "gers2000"}, True)
    assert capsys.readouterr().out == (
        f"reproduce gers2000: row forget-decay (LSTM with forget gates and sequential α decay), nets 2, seed 4, "
        f"out {out}, backend local, 2 processes\n"
        "  trial  12: no success after 30,000 streams, rest, mean test length 1,235, 61.0 s  [5/6]\n"
        "  side gers2000\n  second\n"
        f"report: {out}/report.md\n")


def test_gers2000_defaults_the_row_gives(tmp_path, entries, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "gers2000", "--row", "forget", "--jobs", "1", "--no-figures"]) == 0
    (_, row, kwargs), report = entries
    assert (kwargs["trials"], kwargs["seed"], kwargs["out"], kwargs["max_streams"], kwargs["max_steps"]) == (
        row.trials, 0, "reproduce-gers2000-forget", None, None)
    assert row.trials == 100 and report[3] is False


def test_force_is_applied_only_after_every_check(tmp_path, capsys, entries):
    for name in reproduce.RUN_FILES:
        (tmp_path / name).write_text("x")
    argv = ["reproduce", "lstm1997", "--exp", "4", "--jobs", "1", "--out", str(tmp_path), "--force"]
    assert main([*argv, "--method", "sgd"]) == 2
    assert len(list(tmp_path.iterdir())) == 5
    assert main(argv) == 0
    assert list(tmp_path.iterdir()) == []  # the recording entry writes nothing
    for name in reproduce.RUN_FILES:
        (tmp_path / name).write_text("x")
    assert main(["reproduce", "gers2000", "--row", "forget", "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.iterdir())) == 5
    assert main(["reproduce", "gers2000", "--row", "forget", "--jobs", "1", "--out", str(tmp_path), "--force"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_ray_backend_is_built_from_the_options(tmp_path, capsys, entries):
    pytest.importorskip("ray")
    assert main(["reproduce", "lstm1997", "--exp", "4", "--backend", "ray", "--address", "auto", "--jobs", "2",
                 "--out", str(tmp_path)]) == 0
    backend = entries[0][2]["backend"]
    assert (backend.name, backend.address, backend.num_cpus) == ("ray", "auto", 2)
    assert "backend ray, cluster at auto\n" in capsys.readouterr().out


def test_backend_of_checks_the_backend(monkeypatch):
    checked: list = []
    monkeypatch.setattr(LocalBackend, "check", lambda self: checked.append(self.jobs))
    backend = reproduce.backend_of(argparse.Namespace(backend="local", address=None, jobs=4))
    assert isinstance(backend, LocalBackend) and backend.jobs == 4 and checked == [4]


# --- listing the rows -------------------------------------------------------------------------------------------

def test_lstm1997_list(capsys, entries):
    assert main(["reproduce", "lstm1997", "--list", "--trials", "0"]) == 0  # --list answers before any check
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "Hochreiter & Schmidhuber 1997 rows (select with --exp ID or --exp EXP plus parameters):",
        "  id          table  exp  label                        weights     α trials  paper",
        "  1-1         1      1    4 blocks × 1, α = 0.1            264   0.1     30  success_pct=100, "
        "sequences=39,740",
    ]
    assert ("  2a-rtrl-5   2      2a   RTRL, p = 100, α = 1.0         10404   1.0     18  success_pct=0, sequences=–, "
            "weights=10,404") in lines
    assert ("Parameters per experiment: 1: blocks, block_size, alpha; 2a: p, method, alpha; 2b: p; 2c: p, q; 3a: T, "
            "N; 3b: T, N; 3c: T, N; 4: T; 5: n_seq; 6a: –; 6b: –") in lines
    variants = lines[lines.index("Variants:") + 1:]
    assert variants[0] == "  as-written     the spec as written (eqs. 19–28, logistic output)"
    assert len(variants) == len(lstm1997.VARIANTS) and len(lines) == 3 + len(lstm1997.ROWS) + 2 + len(variants) - 1
    assert entries == []


def test_gers2000_list(capsys, entries):
    assert main(["reproduce", "gers2000", "--list", "--max-steps", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Gers, Schmidhuber & Cummins 2000, Table 2 (CERG); select with --row NAME:"
    assert len(lines) == 1 + len(gers2000.ROWS) and entries == []


# --- lines, display, warnings, interrupts ---------------------------------------------------------------------

def test_finished_lines():
    assert reproduce._finished_line({"trial": 0, "success": False, "sequences": 7, "wall_s": 0.04}, 1, 10) == (
        "  trial   0: no success after 7 sequences, test wrong –, 0.0 s  [1/10]")
    assert reproduce._finished_line({**RECORD_1997, "test": None}, 2, 2) == (
        "  trial   3: success after 12,345 sequences, test wrong –, 1.2 s  [2/2]")
    assert reproduce._finished_line({**RECORD_2000, "success": True}, 100, 100) == (
        "  trial  12: success after 30,000 streams, rest, mean test length 1,235, 61.0 s  [100/100]")


def test_plain_display_prints_a_running_trial_at_most_once_a_minute(capsys, monkeypatch):
    clock = iter([100.0, 130.0, 159.9, 160.0, 161.0, 219.0, 220.5, 500.0])
    monkeypatch.setattr(reproduce.time, "monotonic", lambda: next(clock))
    report = {"trial": 2, "done": 1500, "total": 20000, "unit": "sequences", "detail": "error 0.5"}
    with reproduce._Display() as display:
        assert display.bars is None and display.live is False
        for done in (1500, 2000, 3000, 4000):
            display.progress({**report, "done": done})  # at 100, 130, 159.9 s: nothing; at 160 s: printed
        display.progress({**report, "trial": 4})  # another trial has its own clock (161 s: first report)
        display.progress({**report, "done": 5000})  # 219 s: 59 s after the last print
        display.progress({**report, "done": 6000})  # 220.5 s: printed
        display.record({**RECORD_1997, "trial": 2}, 1, 3)
        display.progress({**report, "done": 7000})  # a late report of a finished trial: dropped, no clock read
        display.progress({**report, "trial": 4, "done": 9})  # 500 s: printed
    assert capsys.readouterr().out.splitlines() == [
        "  trial   2: 4,000 of 20,000 sequences, error 0.5",
        "  trial   2: 6,000 of 20,000 sequences, error 0.5",
        "  trial   2: success after 12,345 sequences, test wrong 2, 1.2 s  [1/3]",
        "  trial   4: 9 of 20,000 sequences, error 0.5",
    ]
    assert reproduce.PLAIN_EVERY == 60.0


def test_live_display_shows_a_bar_per_running_trial(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with reproduce._Display() as display:
        assert display.live is True and display.bars.live.is_started and display.bars.live.transient is True
        columns = display.bars.columns
        assert [type(c).__name__ for c in columns] == ["TextColumn", "BarColumn", "MofNCompleteColumn", "TextColumn",
                                                       "TimeElapsedColumn"]
        assert (columns[0].text_format, columns[3].text_format) == ("  trial {task.fields[trial]:>3}",
                                                                    "{task.fields[unit]}  {task.fields[detail]}")
        display.progress({"trial": 1, "done": 3, "total": 10, "unit": "streams", "detail": "a"})
        display.progress({"trial": 1, "done": 4, "total": 12, "unit": "streams", "detail": "b"})
        display.progress({"trial": 2, "done": 1, "total": 5, "unit": "sequences", "detail": "c"})
        tasks = {t.fields["trial"]: t for t in display.bars.tasks}
        assert sorted(tasks) == [1, 2] and display.tasks == {1: tasks[1].id, 2: tasks[2].id}
        assert tasks[1].description == ""
        assert (tasks[1].completed, tasks[1].total, tasks[1].fields) == (4, 12, {"trial": 1, "unit": "streams",
                                                                                 "detail": "b"})
        assert (tasks[2].completed, tasks[2].total, tasks[2].fields["detail"]) == (1, 5, "c")  # its one report
        display.record({**RECORD_1997, "trial": 1}, 1, 2)
        assert [t.fields["trial"] for t in display.bars.tasks] == [2] and display.tasks == {2: tasks[2].id}
        display.progress({"trial": 1, "done": 5, "total": 12, "unit": "streams", "detail": "late"})
        assert [t.fields["trial"] for t in display.bars.tasks] == [2]
        display.record({**RECORD_1997, "trial": 7}, 2, 2)  # a trial that never reported
        bars = display.bars
    assert not bars.live.is_started
    out = capsys.readouterr().out
    assert "  trial   1: success after 12,345 sequences, test wrong 2, 1.2 s  [1/2]\n" in out  # not highlighted
    assert "  trial   7: success after 12,345 sequences, test wrong 2, 1.2 s  [2/2]\n" in out


class FlushedStream(io.StringIO):
    """Standard output off a terminal that notes where each flush happened."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.getvalue()))
        super().flush()

    def isatty(self) -> bool:
        return False

    def flushed_line(self, line: str) -> bool:
        text = self.getvalue()
        return text.index(line + "\n") + len(line) + 1 in self.flushed_at


def test_lines_are_flushed_as_they_are_printed(tmp_path, monkeypatch, entries):
    """Off a terminal (a log file) the first line, each finished trial and each progress line appear at once."""
    stream = FlushedStream()
    monkeypatch.setattr(sys, "stdout", stream)
    out = str(tmp_path / "a")
    assert main(["reproduce", "lstm1997", "--exp", "4", "--jobs", "1", "--trials", "1", "--out", out]) == 0
    assert main(["reproduce", "gers2000", "--row", "forget", "--jobs", "1", "--trials", "1", "--out", out]) == 0
    clock = iter([0.0, 61.0])
    monkeypatch.setattr(reproduce.time, "monotonic", lambda: next(clock))
    display = reproduce._Display()
    for _ in range(2):
        display.progress({"trial": 4, "done": 9, "total": 10, "unit": "streams", "detail": "d"})
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("reproduce lstm1997: row 4-1 ") and stream.flushed_line(lines[0])
    assert lines[1].startswith("  trial   3: success") and stream.flushed_line(lines[1])
    assert lines[5].startswith("reproduce gers2000: row forget ") and stream.flushed_line(lines[5])
    assert lines[6].startswith("  trial  12: no success") and stream.flushed_line(lines[6])
    assert lines[10] == "  trial   4: 9 of 10 streams, d" and stream.flushed_line(lines[10])


def test_warnings_inside_are_one_line_each(capsys):
    before = warnings.showwarning
    with reproduce.one_line_warnings("reproduce"):
        for _ in range(2):
            warnings.warn("trials.jsonl: line 2 cut", UserWarning, stacklevel=1)
    assert warnings.showwarning is before
    assert capsys.readouterr().err == ("yetztml reproduce: warning: trials.jsonl: line 2 cut\n"
                                       "yetztml reproduce: warning: trials.jsonl: line 2 cut\n")


def test_an_interrupt_says_where_the_finished_trials_are(capsys):
    with pytest.raises(KeyboardInterrupt), reproduce._resumable("runs/a"):
        raise KeyboardInterrupt
    assert capsys.readouterr().err == ("interrupted: finished trials are kept in runs/a/trials.jsonl; rerun the "
                                       "same command to resume\n")
    with pytest.raises(SystemError), reproduce._resumable("runs/b"):
        raise SystemError("compiled frame") from KeyboardInterrupt()
    assert "kept in runs/b/trials.jsonl" in capsys.readouterr().err
    with pytest.raises(ValueError), reproduce._resumable("runs/c"):
        raise ValueError("no interrupt")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("paper", [["lstm1997", "--exp", "4"], ["gers2000", "--row", "forget"]])
def test_an_interrupt_in_the_entry_reaches_main_with_the_message(paper, tmp_path, capsys, monkeypatch):
    def interrupted(row, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lstm1997, "reproduce", interrupted)
    monkeypatch.setattr(gers2000, "reproduce", interrupted)
    assert main(["reproduce", *paper, "--jobs", "1", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == (f"interrupted: finished trials are kept in {tmp_path}/trials.jsonl; rerun "
                                       "the same command to resume\nyetztml reproduce: interrupted\n")
