"""yetztml.cli.demo and yetztml.cli.demo_bss, option by option: the parsers (names, defaults, types, choices,
help), the keyword arguments ``demo bss`` hands :func:`~yetztml.experiments.bss.run_bss` (a recording stand-in:
nothing trains here), its printed lines and its interrupt message, and what ``demo sarcasm`` hands the text
trainer (also a stand-in) or refuses."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from yetztml.cli import demo, demo_bss
from yetztml.cli.main import main
from yetztml.experiments import bss

# --- the parsers --------------------------------------------------------------------------------------------

BSS_OPTIONS = [
    (("--model",), "model", "modulation", None, ("modulation", "spatial", "dale"), "_StoreAction",
     "closed-loop model (default: %(default)s)"),
    (("--batches",), "batches", None, int, None, "_StoreAction",
     "training batches of 32 × 1000 steps (default: 6,000, the measured configuration; 10,000 with "
     "--paper-protocol)"),
    (("--paper-protocol",), "paper_protocol", False, None, None, "_StoreTrueAction",
     "train the authors' 10,000 batches (about 1.7 times as long) unless --batches is given"),
    (("--seed",), "seed", 0, int, None, "_StoreAction",
     "seed of model, data and analyses, >= 0 (default: %(default)s)"),
    (("--out",), "out", "bss-run", None, None, "_StoreAction",
     "run folder for checkpoint.npz, result.json, figures, report.md; rerunning the same command into it resumes "
     "the run there, another configuration is refused (default: %(default)s)"),
    (("--resume",), "resume", False, None, None, "_StoreTrueAction",
     "insist on continuing: refuse to start when OUT holds no checkpoint (a rerun resumes anyway)"),
    (("--force",), "force", False, None, None, "_StoreTrueAction",
     "start over in OUT, deleting the run there (its checkpoint and results)"),
    (("--sources",), "sources", "chords", None, ("chords", "sines", "ica"), "_StoreAction",
     "source set (default: %(default)s)"),
    (("--n-sources",), "n_sources", 2, int, None, "_StoreAction",
     "number of sources (3 only with --sources ica; default: %(default)s)"),
    (("--tau",), "tau", None, float, None, "_StoreAction",
     "modulation time constant in samples, >= 1 (default: 1 for modulation, 100 for spatial and dale)"),
    (("--lstm-input",), "lstm_input", "xy", None, ("xy", "x", "y"), "_StoreAction",
     "what the LSTM hears (default: %(default)s)"),
    (("--mode",), "mode", "multiplicative", None, ("multiplicative", "additive"), "_StoreAction",
     "ModulationNet modulation (default: %(default)s)"),
    (("--n-units",), "n_units", 100, int, None, "_StoreAction", "SpatialNet population size Z (default: %(default)s)"),
    (("--n-feedback",), "n_feedback", 4, int, None, "_StoreAction", "feedback signals U (default: %(default)s)"),
    (("--kernel",), "kernel", "von_mises", None, ("von_mises", "box", "uniform"), "_StoreAction",
     "modulation kernel (default: %(default)s)"),
    (("--width",), "width", 0.2, float, None, "_StoreAction", "von Mises kernel width σ² (default: %(default)s)"),
    (("--target",), "target", "gain", None, ("gain", "excitation", "inhibition"), "_StoreAction",
     "what the Dale feedback scales (default: %(default)s)"),
    (("--lambda-out",), "lambda_out", 1e-05, float, None, "_StoreAction",
     "Dale L1 penalty on u (default: %(default)s)"),
    (("--batch-size",), "batch_size", 32, int, None, "_StoreAction", "trials per batch (default: %(default)s)"),
    (("--n-steps",), "n_steps", 1000, int, None, "_StoreAction", "samples per context (default: %(default)s)"),
    (("--noise",), "noise", 0.001, float, None, "_StoreAction", "stimulus noise std σ_n (default: %(default)s)"),
    (("--hidden-size",), "hidden_size", 100, int, None, "_StoreAction", "LSTM units (default: %(default)s)"),
    (("--lr",), "lr", 0.001, float, None, "_StoreAction", "Adam learning rate (default: %(default)s)"),
    (("--n-test",), "n_test", 20, int, None, "_StoreAction", "test contexts (default: %(default)s)"),
    (("--eval-every",), "eval_every", 250, int, None, "_StoreAction",
     "batches between clarity checks (default: %(default)s)"),
    (("--checkpoint-every",), "checkpoint_every", 250, int, None, "_StoreAction",
     "batches between checkpoints (default: %(default)s)"),
    (("--dtype",), "dtype", "float32", None, ("float32", "float64"), "_StoreAction",
     "training precision (default: %(default)s)"),
    (("--tanh",), "tanh", "fast", None, ("fast", "exact"), "_StoreAction",
     "tanh/σ in the LSTM: vectorised rational (|err| < 4e-9) or libm (default: %(default)s)"),
    (("--threads",), "threads", None, int, None, "_StoreAction",
     "threads, each training a share of the batch's trials (default: the cores available, 5 here)"),
    (("--blas-threads",), "blas_threads", 1, int, None, "_StoreAction",
     "BLAS threads per thread (default: %(default)s)"),
    (("--analyses", "--no-analyses"), "analyses", True, None, None, "BooleanOptionalAction",
     "run decoding, freeze and noise analyses after training (default: on)"),
    (("--figures", "--no-figures"), "figures", True, None, None, "BooleanOptionalAction",
     "write figures (default: on)"),
]

SARCASM_OPTIONS = [
    (("--data",), "data", None, None, None, "_StoreAction",
     "Sarcasm_Headlines_Dataset.csv (default: the fetched copy)"),
    (("--out",), "out", "sarcasm-model", None, None, "_StoreAction", "the model directory to write"),
    (("--seed",), "seed", 0, int, None, "_StoreAction", "seed of the split, weights, dropout and batches"),
    (("--cell",), "cell", "lstm", None, None, "_StoreAction", "lstm, gru, rnn, lstm1997 or peephole"),
    (("--epochs",), "epochs", 12, int, None, "_StoreAction", "maximum epochs"),
    (("--force",), "force", False, None, None, "_StoreTrueAction", "start over in a directory that holds a run"),
    (("--no-figures",), "figures", True, None, None, "_StoreFalseAction", "no figures in report.md"),
]


def _options(parser: argparse.ArgumentParser) -> list[tuple]:
    return [(tuple(a.option_strings), a.dest, a.default, a.type, a.choices, type(a).__name__, a.help)
            for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _demo_parsers(monkeypatch) -> tuple[argparse._SubParsersAction, argparse.ArgumentParser, dict]:
    monkeypatch.setattr(demo_bss, "available_cores", lambda: 5)
    top = argparse.ArgumentParser(prog="yetztml")
    sub = top.add_subparsers(dest="command")
    demo.add_parser(sub)
    command = sub.choices["demo"]
    (demos,) = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
    return sub, command, demos


def test_the_demo_command_and_its_demos(monkeypatch):
    sub, command, demos = _demo_parsers(monkeypatch)
    assert [a.help for a in sub._choices_actions] == [
        "demonstrations built on the cells (bss: LSTM feedback modulation, eLife 2022; sarcasm: text "
        "classification of news headlines)"]
    assert command.description == "Demonstrations built on the cells."
    assert (demos.dest, demos.metavar, demos.required) == ("demo", "DEMO", True)
    assert [(a.dest, a.help) for a in demos._choices_actions] == [
        ("bss", "dynamic blind source separation by LSTM feedback modulation (eLife 2022)"),
        ("sarcasm", "sarcasm detection on news headlines: the measured text-classification configuration"),
        ("translate", "German→English on Multi30k: the measured translation configuration")]
    assert demos.choices["bss"].description == (
        "Train a closed-loop model (an LSTM that watches the mixed signals and its own output and re-weights a "
        "feedforward net) on dynamic blind source separation, test it on 20 new contexts, and write "
        "OUT/result.json, OUT/report.md (the reference numbers beside ours), the figures and OUT/checkpoint.npz. "
        "Run folders: rerunning the same command resumes the run in OUT (after Ctrl-C too: every finished batch "
        "is kept); a run of another configuration there is refused; --force starts over. See docs/bss.md and "
        "docs/guarantees.md.")
    assert demos.choices["sarcasm"].description == (
        "Train the measured configuration (a bidirectional LSTM over word embeddings, max pooling; docs/text.md) "
        "on the sarcasm headlines (columns is_sarcastic, text) with a seeded stratified 80/10/10 split, and write "
        "OUT like `yetztml text train`: the model, result.json (validation and test accuracy and macro-F1), "
        "report.md beside the published references. Without --data the file fetched by `yetztml data fetch "
        "sarcasm` is used.")
    assert demos.choices["bss"].get_default("handler") is demo.handle
    assert demos.choices["sarcasm"].get_default("handler") is demo.handle_sarcasm


def test_demo_without_a_demo_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["demo"])
    assert stop.value.code == 2
    assert "the following arguments are required: DEMO" in capsys.readouterr().err


def test_bss_options(monkeypatch):
    _, _, demos = _demo_parsers(monkeypatch)
    assert _options(demos.choices["bss"]) == BSS_OPTIONS


def test_sarcasm_options(monkeypatch):
    _, _, demos = _demo_parsers(monkeypatch)
    assert _options(demos.choices["sarcasm"]) == SARCASM_OPTIONS


def test_bss_help_fills_in_the_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit):
        main(["demo", "bss", "--help"])
    text = capsys.readouterr().out
    for part in ("closed-loop model (default: modulation)", "Dale L1 penalty on u (default: 1e-05)",
                 "resumes the run there, another configuration is refused (default: bss-run)"):
        assert part in text


# --- options_from_args ----------------------------------------------------------------------------------------

KEYS = ("model", "batches", "seed", "out", "resume", "force", "sources", "n_sources", "tau", "lstm_input", "mode",
        "n_units", "n_feedback", "kernel", "width", "target", "lambda_out", "batch_size", "n_steps", "noise",
        "hidden_size", "lr", "n_test", "eval_every", "checkpoint_every", "dtype", "tanh", "blas_threads", "threads",
        "analyses", "figures")


def test_options_from_args_takes_every_field_in_order(monkeypatch):
    monkeypatch.setattr(demo_bss, "default_threads", lambda batch_size: pytest.fail("threads were given"))
    args = argparse.Namespace(**{k: f"v-{k}" for k in KEYS}, paper_protocol=True, unrelated=1)
    options = demo_bss.options_from_args(args)
    assert list(options) == list(KEYS) and options == {k: f"v-{k}" for k in KEYS}


def test_options_from_args_fills_threads_and_batches(monkeypatch):
    asked: list = []
    monkeypatch.setattr(demo_bss, "default_threads", lambda batch_size: asked.append(batch_size) or 3)
    values = {k: None for k in KEYS} | {"batch_size": 17}
    options = demo_bss.options_from_args(argparse.Namespace(**values))  # no paper_protocol attribute at all
    assert (options["threads"], options["batches"], asked) == (3, 6000, [17])
    options = demo_bss.options_from_args(argparse.Namespace(**values, paper_protocol=False))
    assert options["batches"] == 6000
    options = demo_bss.options_from_args(argparse.Namespace(**values, paper_protocol=True))
    assert options["batches"] == 10000
    options = demo_bss.options_from_args(argparse.Namespace(**values | {"batches": 4}, paper_protocol=True))
    assert options["batches"] == 4
    assert (bss.MEASURED_BATCHES, bss.PAPER_BATCHES) == (6000, 10000)


# --- demo bss through main, with a recording run_bss ----------------------------------------------------------

RESULT = {"clarity_stimulus": 0.51234, "clarity_output": 0.96789, "seconds_per_batch": 0.12345, "batches": 7}


@pytest.fixture
def runs(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr(bss, "run_bss", lambda **options: calls.append(options) or RESULT)
    return calls


def test_demo_bss_hands_run_bss_the_options_and_prints_the_result(tmp_path, capsys, runs):
    out = str(tmp_path / "run")
    assert main(["demo", "bss", "--out", out, "--seed", "3", "--batches", "7", "--model", "dale", "--threads", "2",
                 "--no-analyses", "--tau", "5", "--resume"]) == 0
    (options,) = runs
    assert options == {
        "model": "dale", "batches": 7, "seed": 3, "out": out, "resume": True, "force": False, "sources": "chords",
        "n_sources": 2, "tau": 5.0, "lstm_input": "xy", "mode": "multiplicative", "n_units": 100, "n_feedback": 4,
        "kernel": "von_mises", "width": 0.2, "target": "gain", "lambda_out": 1e-05, "batch_size": 32,
        "n_steps": 1000, "noise": 0.001, "hidden_size": 100, "lr": 0.001, "n_test": 20, "eval_every": 250,
        "checkpoint_every": 250, "dtype": "float32", "tanh": "fast", "blas_threads": 1, "threads": 2,
        "analyses": False, "figures": True}
    assert capsys.readouterr().out == (
        f"demo bss: model=dale batches=7 seed=3 out={out} resume=True force=False sources=chords n_sources=2 "
        "tau=5.0 lstm_input=xy mode=multiplicative n_units=100 n_feedback=4 kernel=von_mises width=0.2 target=gain "
        "lambda_out=1e-05 batch_size=32 n_steps=1000 noise=0.001 hidden_size=100 lr=0.001 n_test=20 eval_every=250 "
        "checkpoint_every=250 dtype=float32 tanh=fast blas_threads=1 threads=2 analyses=False figures=True\n"
        "clarity: stimulus 0.512, output 0.968 (mean over the test contexts); 0.123 s per batch over 7 batches\n"
        f"report: {out}/report.md\n")


class FlushedStream(io.StringIO):
    """Standard output that notes where each flush happened."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.getvalue()))
        super().flush()


def test_the_options_line_is_flushed_before_the_run(tmp_path, runs, monkeypatch):
    """Off a terminal (a log file) the options line appears before the long run starts."""
    stream = FlushedStream()
    monkeypatch.setattr(sys, "stdout", stream)
    assert main(["demo", "bss", "--out", str(tmp_path), "--threads", "1"]) == 0
    first = stream.getvalue().splitlines()[0]
    assert first.startswith("demo bss: model=modulation batches=6000 ") and len(first) + 1 in stream.flushed_at


def test_demo_bss_defaults(tmp_path, capsys, runs, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_bss, "default_threads", lambda batch_size: 4)
    assert main(["demo", "bss", "--paper-protocol"]) == 0
    (options,) = runs
    assert (options["out"], options["seed"], options["batches"], options["threads"], options["resume"]) == (
        "bss-run", 0, 10000, 4, False)
    assert capsys.readouterr().out.endswith("report: bss-run/report.md\n")


@pytest.mark.parametrize(("argv", "line"), [
    (["--out", ""], "--out: expected a folder name, got ''. Give --out DIR."),
    (["--seed", "-2"], "--seed: expected an integer seed >= 0, got -2. Seeds are non-negative; use e.g. 0."),
])
def test_demo_bss_checks_before_running(argv, line, tmp_path, capsys, runs, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "bss", *argv]) == 2
    assert capsys.readouterr() == ("", f"yetztml demo: error: {line}\n")
    assert runs == [] and list(tmp_path.iterdir()) == []


def _interrupting(monkeypatch, error: BaseException) -> None:
    def run_bss(**options):
        raise error

    monkeypatch.setattr(bss, "run_bss", run_bss)


def _system_error_from_an_interrupt() -> SystemError:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise SystemError("returned a result with an exception set") from inner
    except SystemError as err:
        return err


@pytest.mark.parametrize("error", [KeyboardInterrupt(), _system_error_from_an_interrupt()])
def test_an_interrupt_with_a_checkpoint_says_how_to_resume(error, tmp_path, capsys, monkeypatch):
    (tmp_path / "checkpoint.npz").write_bytes(b"")
    _interrupting(monkeypatch, error)
    assert main(["demo", "bss", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == (f"interrupted: finished batches are kept in {tmp_path}/checkpoint.npz; rerun "
                                       "the same command to resume\nyetztml demo: interrupted\n")


def test_an_interrupt_before_any_checkpoint_says_nothing_of_resuming(tmp_path, capsys, monkeypatch):
    _interrupting(monkeypatch, KeyboardInterrupt())
    assert main(["demo", "bss", "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "yetztml demo: interrupted\n"


def test_an_error_that_is_no_interrupt_propagates_without_the_message(tmp_path, capsys, monkeypatch):
    (tmp_path / "checkpoint.npz").write_bytes(b"")
    _interrupting(monkeypatch, SystemError("a compiled kernel failed"))
    with pytest.raises(SystemError, match="a compiled kernel failed"):
        main(["demo", "bss", "--out", str(tmp_path)])
    assert capsys.readouterr().err == ""


# --- demo sarcasm ---------------------------------------------------------------------------------------------

@pytest.fixture
def trainings(monkeypatch) -> list:
    from yetztml.cli import text

    calls: list = []
    monkeypatch.setattr(text, "run_training", lambda args, config, data: calls.append((args, config, data)))
    return calls


def test_sarcasm_hands_the_trainer_the_configuration_and_the_columns(tmp_path, trainings):
    data = tmp_path / "s.csv"
    assert main(["demo", "sarcasm", "--data", str(data), "--cell", "gru", "--epochs", "3", "--seed", "9",
                 "--out", str(tmp_path / "m"), "--force", "--no-figures"]) == 0
    ((args, config, path),) = trainings
    assert path == str(data)
    assert (config.cell, config.epochs, config.seed) == ("gru", 3, 9)
    assert (args.text_column, args.label_column, args.delimiter) == ("text", "is_sarcastic", None)
    assert (args.val, args.test, args.vectors, args.out, args.force, args.figures) == (
        None, None, None, str(tmp_path / "m"), True, False)


def test_sarcasm_defaults_to_the_fetched_file(tmp_path, trainings, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fetched = tmp_path / "yetztml" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"
    fetched.parent.mkdir(parents=True)
    fetched.write_text("is_sarcastic,text\n")
    assert main(["demo", "sarcasm"]) == 0
    ((args, config, path),) = trainings
    assert path == str(fetched) and args.out == "sarcasm-model"
    assert (config.cell, config.epochs, config.seed) == ("lstm", 12, 0)


def test_sarcasm_without_the_fetched_file_is_one_line(tmp_path, capsys, trainings, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    expected = tmp_path / "yetztml" / "sarcasm" / "Sarcasm_Headlines_Dataset.csv"
    line = (f"yetztml demo: error: demo sarcasm --data: expected the sarcasm headlines CSV, got no file "
            f"'{expected}'. Run `yetztml data fetch sarcasm`, or pass --data PATH.\n")
    assert main(["demo", "sarcasm"]) == 2
    assert capsys.readouterr().err == line
    expected.mkdir(parents=True)  # a folder where the file should be is no file either
    assert main(["demo", "sarcasm"]) == 2
    assert capsys.readouterr().err == line
    assert trainings == []
