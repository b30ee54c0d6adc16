"""The command line against careless or hostile input: one line, exit status 2, no traceback, nothing written.

Every case runs ``main([...])`` in an empty folder and checks the exit status, the key words of the one
line on stderr and that the folder is unchanged afterwards (nothing written, no stray temporary file).
"""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from signalling import chained_interrupt
from yetztml.cli import main as cli_main
from yetztml.cli.main import main
from yetztml.core.errors import CheckpointError, OptionError
from yetztml.core.rng import make_rng
from yetztml.experiments.bss import run_bss

#: Tiny `demo bss` options: a run takes well under a second once compiled.
BSS = ["--batch-size", "2", "--n-steps", "40", "--hidden-size", "6", "--n-test", "2", "--no-analyses",
       "--no-figures", "--threads", "1"]


def tree(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size (folders too, size -1)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(argv, capsys, root: Path, *words: str) -> str:
    """``argv`` exits 2 with one line on stderr holding ``words``, and writes nothing under ``root``."""
    before = tree(root)
    code, _, err = run_cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert tree(root) == before
    return lines[0]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """An empty working folder holding one plain file ``f``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("hi\n")
    return tmp_path


# 1. Unusable paths: an existing file as a folder, a path under a file, a folder where a file is expected.
PATH_CASES = [
    (["reproduce", "lstm1997", "--exp", "4", "--trials", "1", "--out", "f"], ["--out", "'f'", "existing file"]),
    (["reproduce", "lstm1997", "--exp", "4", "--trials", "1", "--out", "f/x"], ["--out", "under the file 'f'"]),
    (["reproduce", "gers2000", "--row", "no-such", "--out", "f"], ["--out", "existing file"]),
    (["run", "--out", "f/x"], ["--out", "under the file 'f'"]),
    (["run", "--out", "f"], ["--out", "existing file"]),
    (["errorflow", "--out", "f/x"], ["--out", "under the file 'f'"]),
    (["errorflow", "--json", "."], ["--json", "a folder"]),
    (["demo", "bss", "--out", "f/x", *BSS], ["--out", "under the file 'f'"]),
    (["demo", "bss", "--out", "f", *BSS], ["--out", "existing file"]),
    (["gradcheck", "rnn", "--json", "."], ["--json", "a folder"]),
    (["gradcheck", "rnn", "--json", "f/x.json"], ["--json", "under the file 'f'"]),
]


@pytest.mark.parametrize(("argv", "words"), PATH_CASES, ids=[" ".join(a[:3]) for a, _ in PATH_CASES])
def test_unusable_paths_are_one_line_and_write_nothing(argv, words, folder, capsys):
    assert_refused(argv, capsys, folder, f"yetztml {argv[0]}: error:", *words)


# 2. Negative seeds, refused before any file (config.json included) is written.
SEED_CASES = [
    ["gradcheck", "rnn", "--seed", "-1"],
    ["reproduce", "lstm1997", "--exp", "4", "--trials", "1", "--seed", "-1", "--out", "r"],
    ["reproduce", "gers2000", "--row", "no-such", "--seed", "-1", "--out", "r"],
    ["run", "--seed", "-1", "--out", "r"],
    ["errorflow", "--seed", "-1", "--out", "r"],
    ["demo", "bss", "--seed", "-1", "--out", "r", *BSS],
]


@pytest.mark.parametrize("argv", SEED_CASES, ids=[a[0] + " " + a[1] for a in SEED_CASES])
def test_negative_seed_is_refused_before_anything_is_written(argv, folder, capsys):
    assert_refused(argv, capsys, folder, "--seed", "seed >= 0", "got -1")


def test_negative_seed_is_refused_by_the_api(tmp_path):
    from yetztml.cells.modulation import ModulationNet
    from yetztml.cells.rnn import RNN

    for build in (lambda: make_rng(-5), lambda: RNN(2, 3, seed=-5), lambda: ModulationNet(seed=-5)):
        with pytest.raises(OptionError, match="seed >= 0, got -5"):
            build()
    with pytest.raises(OptionError, match="seed"):
        run_bss(seed=-1, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()
    assert make_rng(0).integers(1000) == np.random.default_rng(0).integers(1000)


# 8. Smaller: --out "" is not the default, --workers -1 is an error, not a traceback.
SMALL_CASES = [
    (["reproduce", "lstm1997", "--exp", "4", "--trials", "1", "--out", ""], ["--out", "a folder name", "''"]),
    (["demo", "bss", "--out", "", *BSS], ["--out", "a folder name"]),
    (["run", "--out", ""], ["--out", "a folder name"]),
    (["run", "--workers", "-1"], ["--workers", "integer >= 0", "-1"]),
    (["errorflow", "--lags", "0"], ["--lags", "integer >= 1"]),
    (["reproduce", "gers2000", "--row", "x", "--max-steps", "0"], ["--max-steps", "integer >= 1"]),
    (["demo", "bss", "--batches", "0", "--out", "r", *BSS], ["batches", "integer >= 1"]),
    (["demo", "bss", "--seed", "x"], ["--seed", "invalid int value: 'x'", "--help"]),
    (["nope"], ["invalid choice: 'nope'"]),
]


@pytest.mark.parametrize(("argv", "words"), SMALL_CASES, ids=[" ".join(a[:3]) for a, _ in SMALL_CASES])
def test_bad_values_are_one_line(argv, words, folder, capsys):
    assert_refused(argv, capsys, folder, *words)


def test_os_errors_are_one_line_naming_the_path(folder, capsys, monkeypatch):
    """An OSError the checks cannot foresee (a full disk) is one line with the path and exit status 2."""
    from yetztml.cli import gradcheck

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(gradcheck, "gradient_check", lambda name, seed: {"configs": [], "max_error": 0.0})
    monkeypatch.setattr(gradcheck, "write_json", full_disk)
    line = assert_refused(["gradcheck", "rnn", "--json", "g.json"], capsys, folder)
    assert line.startswith("yetztml gradcheck: error: No space left on device: 'g.json'. Check that the path")


def test_interrupt_inside_compiled_code_is_an_interrupt(folder, capsys, monkeypatch):
    from yetztml.cli import describe

    monkeypatch.setattr(describe, "handle", chained_interrupt)
    code, _, err = run_cli(["describe", "rnn"], capsys)
    assert (code, err) == (130, "yetztml describe: interrupted\n")
    assert cli_main.interrupt_behind(SystemError("other")) is None

    def other(args):
        raise SystemError("a real bug")

    monkeypatch.setattr(describe, "handle", other)
    with pytest.raises(SystemError, match="a real bug"):
        main(["describe", "rnn"])


def test_terminated_is_status_143(folder, capsys, monkeypatch):
    from yetztml.cli import describe

    def terminated(args):
        cli_main._terminate(15, None)

    monkeypatch.setattr(describe, "handle", terminated)
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid())
    assert run_cli(["describe", "rnn"], capsys) == (143, "", "yetztml describe: terminated\n")
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored after the command


def test_forked_workers_leave_ctrl_c_to_the_command(monkeypatch):
    """In a process forked from the command (another pid), SIGINT is ignored rather than a traceback."""
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid() + 1)
    assert cli_main._interrupt(signal.SIGINT, None) is None
    monkeypatch.setitem(cli_main._owner, "pid", os.getpid())
    with pytest.raises(KeyboardInterrupt):
        cli_main._interrupt(signal.SIGINT, None)


# 3. Run folders: a rerun resumes, another configuration is refused, --force starts over.
def test_demo_bss_rerun_resumes_and_never_overwrites(folder, capsys):
    code, out, _ = run_cli(["demo", "bss", "--batches", "3", "--out", "r", *BSS], capsys)
    assert code == 0 and "over 3 batches" in out
    first = json.loads((folder / "r" / "result.json").read_text())
    assert first["training"]["resumed_from"] == 0 and first["config"]["threads"] == 1

    # fewer batches than the run there: refused, the 3-batch run untouched
    assert_refused(["demo", "bss", "--batches", "2", "--out", "r", *BSS], capsys, folder,
                   "3 batches done", "--batches 3 or more", "--force")
    # another configuration: refused, naming what differs
    assert_refused(["demo", "bss", "--batches", "3", "--seed", "1", "--out", "r", *BSS], capsys, folder,
                   "output folder 'r'", "seed (0 there, 1 here)", "--force")
    # the same command again: resumes (nothing to train) and gives the same result
    code, out, _ = run_cli(["demo", "bss", "--batches", "3", "--out", "r", *BSS], capsys)
    again = json.loads((folder / "r" / "result.json").read_text())
    assert code == 0 and again["training"]["resumed_from"] == 3
    assert again["training"]["loss"] == first["training"]["loss"]
    assert again["clarity_output"] == first["clarity_output"]
    # a longer run extends it
    code, out, _ = run_cli(["demo", "bss", "--batches", "4", "--out", "r", *BSS], capsys)
    longer = json.loads((folder / "r" / "result.json").read_text())
    assert longer["training"]["resumed_from"] == 3 and longer["training"]["loss"][:3] == first["training"]["loss"]
    # --force starts over
    code, out, _ = run_cli(["demo", "bss", "--batches", "2", "--seed", "1", "--out", "r", "--force", *BSS], capsys)
    forced = json.loads((folder / "r" / "result.json").read_text())
    assert code == 0 and forced["seed"] == 1 and forced["batches"] == 2 and forced["training"]["resumed_from"] == 0


def test_demo_bss_resume_needs_a_checkpoint(folder, capsys):
    assert_refused(["demo", "bss", "--resume", "--out", "r", *BSS], capsys, folder,
                   "a checkpoint to continue from in 'r'", "Drop --resume")
    assert_refused(["demo", "bss", "--resume", "--force", "--out", "r", *BSS], capsys, folder, "resume and force")
    (folder / "r").mkdir()
    (folder / "r" / "result.json").write_text("{}")
    assert_refused(["demo", "bss", "--out", "r", *BSS], capsys, folder, "result.json without its checkpoint.npz",
                   "--force")


def test_demo_bss_damaged_checkpoint_is_a_checkpoint_error(folder, capsys):
    (folder / "r").mkdir()
    (folder / "r" / "checkpoint.npz").write_bytes(b"")
    assert_refused(["demo", "bss", "--out", "r", *BSS], capsys, folder, "checkpoint 'r/checkpoint.npz'",
                   "a readable yetztml checkpoint", "got an empty file", "--force")
    (folder / "r" / "checkpoint.npz").write_bytes(b"PK\x03\x04 cut")
    assert_refused(["demo", "bss", "--out", "r", *BSS], capsys, folder, "got 8 bytes that are not an .npz")
    np.savez(folder / "r" / "checkpoint.npz", meta=np.array("{}"))
    assert_refused(["demo", "bss", "--out", "r", *BSS], capsys, folder, "a readable")
    with pytest.raises(CheckpointError, match="r/checkpoint.npz"):
        run_bss(out=folder / "r", progress=False, batches=1)


def test_run_refuses_a_report_of_another_seed(folder, capsys):
    (folder / "r").mkdir()
    (folder / "r" / "result.json").write_text(json.dumps({"job": "yetztml run", "seed": 3}))
    assert_refused(["run", "--out", "r"], capsys, folder, "output folder 'r'", "tour of seed 0", "seed 3", "--force")
    (folder / "r" / "result.json").write_text(json.dumps({"job": "yetztml demo bss", "seed": 0}))
    assert_refused(["run", "--out", "r"], capsys, folder, "'yetztml demo bss'")


def test_reproduce_force_deletes_only_the_run_files(folder, capsys, monkeypatch):
    """--force clears config.json, trials.jsonl, result.json and report.md (after the checks) and no other file."""
    from yetztml.cli import reproduce

    run = folder / "r"
    run.mkdir()
    for name in ("config.json", "trials.jsonl", "trials.torn", "result.json", "report.md", "notes.txt"):
        (run / name).write_text("x")
    assert_refused(["reproduce", "lstm1997", "--exp", "no-such", "--out", "r", "--force"], capsys, folder, "exp")
    reproduce._prepare_out("r", force=True)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_help_teaches_the_run_folder_rule(capsys):
    for argv in (["demo", "bss", "--help"], ["reproduce", "lstm1997", "--help"], ["run", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert "--force" in text and "start over" in text or "replace" in text, argv
        if argv[0] != "run":
            assert "rerunning the same command" in text and "resumes" in text, argv


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_folder_is_refused(folder, capsys):
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert_refused(["demo", "bss", "--out", "locked/r", *BSS], capsys, folder, "--out", "not writable")
    finally:
        locked.chmod(0o700)


def test_interrupt_during_bss_evaluation_keeps_the_trained_run(folder, capsys, monkeypatch):
    """Ctrl-C landing in compiled code after training (the evaluation, not held): status 130, the checkpoint
    named, and the rerun resumes with every batch done."""
    from yetztml.experiments import bss

    monkeypatch.setattr(bss, "evaluate", lambda *a, **k: chained_interrupt(None))
    code, _, err = run_cli(["demo", "bss", "--batches", "2", "--out", "r", *BSS], capsys)
    assert code == 130
    assert err.splitlines()[-2:] == [
        "interrupted: finished batches are kept in r/checkpoint.npz; rerun the same command to resume",
        "yetztml demo: interrupted",
    ]
    monkeypatch.undo()
    monkeypatch.chdir(folder)
    code, _, _ = run_cli(["demo", "bss", "--batches", "2", "--out", "r", *BSS], capsys)
    assert code == 0
    assert json.loads((folder / "r" / "result.json").read_text())["training"]["resumed_from"] == 2


def test_an_interrupt_ends_the_commands_workers(monkeypatch):
    """A signal sent to the command's process alone ends its worker processes at once, so that a pool shutting
    down does not wait for their jobs (measured before: `yetztml run` took 126 s to exit after SIGTERM)."""
    import multiprocessing
    import time

    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.start()
    try:
        monkeypatch.setitem(cli_main._owner, "pid", os.getpid())
        with pytest.raises(cli_main.Terminated):
            cli_main._terminate(signal.SIGTERM, None)
        worker.join(timeout=10)
        assert worker.exitcode == -signal.SIGTERM
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()


# Text and data: bad files, a corrupted model, an empty cache folder (one line, status 2, nothing written).
TEXT = ["--hidden", "4", "--embed-dim", "4", "--epochs", "1", "--batch-size", "8", "--no-figures"]


@pytest.fixture
def text_folder(folder):
    """``folder`` with a tiny labelled CSV, bad data files, and a copy of a model whose files are damaged."""
    rows = [f"{'good fine' if i % 2 else 'bad poor'} day {i},{'pos' if i % 2 else 'neg'}" for i in range(40)]
    (folder / "t.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    (folder / "empty.csv").write_text("")
    (folder / "nolabel.csv").write_text("text\na day\n")
    (folder / "bytes.csv").write_bytes(b"text,label\n\xff\xfe bad,neg\n")
    (folder / "d").mkdir()
    return folder


TEXT_CASES = [
    (["text", "train", "--data", "empty.csv", "--out", "o"], ["--data", "'empty.csv', an empty file"]),
    (["text", "train", "--data", "nolabel.csv", "--out", "o"], ["nolabel.csv", "label column 'label'"]),
    (["text", "train", "--data", "bytes.csv", "--out", "o"], ["bytes.csv, line 2", "utf-8"]),
    (["text", "train", "--data", "d", "--out", "o"], ["--data", "'d', a folder"]),
    (["text", "train", "--data", "", "--out", "o"], ["--data", "a file name, got ''"]),
    (["text", "train", "--data", "t.csv", "--out", "f/o"], ["--out", "under the file 'f'"]),
    (["text", "train", "--data", "t.csv", "--out", "o", "--seed", "-1"], ["--seed", "seed >= 0", "got -1"]),
    (["text", "train", "--data", "t.csv", "--out", "o", "--val", ""], ["--val", "a file name"]),
    (["text", "train", "--data", "t.csv", "--out", "o", "--test", "d"], ["--test", "a folder"]),
    (["text", "train", "--data", "t.csv", "--out", "o", "--vectors", "empty.csv"], ["--vectors", "an empty file"]),
    (["text", "evaluate", "--model", "", "--data", "t.csv"], ["--model", "a folder name"]),
    (["text", "evaluate", "--model", "f", "--data", "t.csv"], ["--model", "text train", "'f' (a file)"]),
    (["text", "evaluate", "--model", "d", "--data", "t.csv", "--json", "d"], ["--json", "a folder"]),
    (["text", "evaluate", "--model", "d", "--data", "t.csv", "--json", ""], ["--json", "a file name"]),
    (["text", "evaluate", "--model", "d", "--data", "missing.csv"], ["--data", "'missing.csv' (no such file)"]),
    (["text", "evaluate", "--model", "d", "--data", "t.csv"], ["model directory 'd'", "model.json"]),
    (["text", "predict", "--model", "d", "--input", "d"], ["--input", "a folder"]),
    (["demo", "sarcasm", "--data", "t.csv", "--out", "o", "--seed", "-2"], ["--seed", "got -2"]),
    (["demo", "sarcasm", "--data", "empty.csv", "--out", "o"], ["--data", "an empty file"]),
    (["demo", "sarcasm", "--data", "t.csv", "--out", ""], ["--out", "a folder name"]),
    (["data", "fetch", "sarcasm", "--dir", ""], ["--dir", "a folder name, got ''"]),
    (["data", "fetch", "sarcasm", "--dir", "f/x"], ["--dir", "under the file 'f'"]),
    (["data", "list", "--dir", "f"], ["--dir", "'f', an existing file"]),
]


@pytest.mark.parametrize(("argv", "words"), TEXT_CASES, ids=[" ".join(a[:4]) for a, _ in TEXT_CASES])
def test_text_and_data_bad_files_are_one_line(argv, words, text_folder, capsys, monkeypatch):
    import importlib

    fetching = importlib.import_module("yetztml.data.fetch")  # the module, not the function of that name
    monkeypatch.setattr(fetching, "_open", lambda *a, **k: pytest.fail("went to the network"))
    assert_refused(argv, capsys, text_folder, f"yetztml {argv[0]}: error:", *words)


def _damage(model: Path, case: str) -> None:
    spec = json.loads((model / "model.json").read_text())
    if case == "empty weights":
        (model / "weights.npz").write_bytes(b"")
    elif case == "cut weights":
        (model / "weights.npz").write_bytes((model / "weights.npz").read_bytes()[:100])
    elif case == "another version":
        spec["version"] = 99
    elif case == "no model entry":
        del spec["model"]
    elif case == "metadata not an object":
        spec["metadata"] = "x"
    elif case == "vocab cut":
        (model / "vocab.json").write_text((model / "vocab.json").read_text()[:20])
    (model / "model.json").write_text(json.dumps(spec))


MODEL_DAMAGE = {"empty weights": "weights.npz: expected a readable .npz file, got a corrupt file (EOFError",
                "cut weights": "weights.npz: expected a readable .npz file",
                "another version": "model.json: expected version 1, got 99",
                "no model entry": "model.json: expected an object under 'model', got NoneType",
                "metadata not an object": "expected an object under 'metadata', got str",
                "vocab cut": "vocab.json: expected a vocabulary JSON file"}


def test_text_damaged_model_is_one_line(text_folder, capsys):
    import shutil

    assert run_cli(["text", "train", "--data", "t.csv", "--out", "m", *TEXT], capsys)[0] == 0
    for case, words in MODEL_DAMAGE.items():
        shutil.copytree(text_folder / "m", text_folder / case)
        _damage(text_folder / case, case)
        for argv in (["text", "evaluate", "--model", case, "--data", "t.csv"],
                     ["text", "predict", "--model", case, "--input", "t.csv", "--text-column", "text"]):
            assert_refused(argv, capsys, text_folder, "yetztml text: error:", words)


def test_text_force_deletes_nothing_when_a_check_fails(text_folder, capsys):
    """--force clears the run folder only once the data has passed its checks."""
    assert run_cli(["text", "train", "--data", "t.csv", "--out", "m", *TEXT], capsys)[0] == 0
    (text_folder / "one.csv").write_text("text,label\na day,pos\nthe day,pos\n")
    assert_refused(["text", "train", "--data", "one.csv", "--out", "m", "--force", *TEXT], capsys, text_folder,
                   "at least 2 classes")
    assert (text_folder / "m" / "model.json").is_file()
