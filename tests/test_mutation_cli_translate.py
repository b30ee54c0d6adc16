"""yetztml.cli.translate through ``main([...])``: which options reach a translation's configuration (only
those given), the parallel files checked and read, what train, evaluate, translate and ``demo translate``
pass on and print.

The training, the loading of a model and the report are replaced by recorders (``train_translator``,
``load_translator``, ``write_translate_report``); the parser of ``yetztml text`` as a whole, with the
translation options, is pinned in ``test_mutation_cli_text.py``.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
from io import BytesIO, TextIOWrapper
from pathlib import Path
from types import SimpleNamespace

import pytest

import yetztml.apps.translate as translate_app
import yetztml.report.translate as translate_report
from cli_snapshot import command, flushed_lines, snapshot
from yetztml.apps.translate.config import TranslateConfig
from yetztml.cli import translate
from yetztml.cli.main import build_parser, main

FILES = ["--src", "a.de", "--tgt", "a.en", "--val-src", "v.de", "--val-tgt", "v.en"]


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A working folder with parallel files a.de/a.en (one pair with an empty side), v.de/v.en, and ``m``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.de").write_text("ein hund\n\nzwei\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("a dog\nnothing\ntwo\n", encoding="utf-8")
    (tmp_path / "v.de").write_text("drei\n", encoding="utf-8")
    (tmp_path / "v.en").write_text("three\n", encoding="utf-8")
    (tmp_path / "m").mkdir()
    return tmp_path


def test_demo_translate_parser_is_the_one_documented():
    assert snapshot(command("demo", "translate")) == {
        "description": "Train the measured configuration (docs/translate.md) on Multi30k's tokenised, lowercased "
                       "files (DIR/tok/train|val.lc.norm.tok.de|en) and write OUT like `text train --task "
                       "translate`, then report test_2016_flickr BLEU (greedy and beam).",
        "epilog": None,
        "formatter": "HelpFormatter",
        "--data": {"kind": "_StoreAction", "help": "the Multi30k folder holding raw/ and tok/", "required": True},
        "--out": {"kind": "_StoreAction", "help": "the model directory to write", "required": True},
        "--max-minutes": {"kind": "_StoreAction", "help": "minutes of training", "type": "float", "default": 15.0},
        "--seed": {"kind": "_StoreAction", "help": "seed of the weights, dropout and batches", "type": "int",
                   "default": 0},
        "--force": {"kind": "_StoreTrueAction", "help": "start over in a directory that holds a run",
                    "default": False, "nargs": 0, "const": True},
    }
    assert command("demo", "translate")._defaults == {"handler": translate.handle_demo}
    demos = next(a for a in command("demo")._actions if a.dest == "demo")
    assert next(c.help for c in demos._choices_actions if c.dest == "translate") == (
        "German→English on Multi30k: the measured translation configuration")
    assert command("text", "translate")._defaults == {"handler": translate.handle_translate}


def test_only_the_options_of_text_train_record_that_they_were_given():
    actions = {a.dest: a for a in command("text", "train")._actions}
    assert type(actions["help"]) is argparse._HelpAction
    assert type(actions["src"]).__name__ == "Given_StoreAction"
    assert type(actions["src"]).__mro__[1] is argparse._StoreAction
    assert all(type(a).__name__.startswith("Given") for d, a in actions.items() if d != "help")
    args = build_parser().parse_args(["text", "train", "--hidden", "8", "--out", "m", "--no-figures"])
    assert args._given == {"hidden", "out", "figures"}
    assert (args.hidden, args.out, args.figures) == (8, "m", False)
    assert not hasattr(build_parser().parse_args(["text", "train", "--out", "m"]).__dict__.get("_given", set()),
                       "hidden")


def test_a_translation_takes_only_the_options_given():
    args = build_parser().parse_args([
        "text", "train", "--task", "translate", *FILES, "--out", "m", "--hidden", "8", "--label-smoothing", "0.1",
        "--decay", "0.25", "--val-every", "3", "--val-limit", "4", "--max-minutes", "1.5", "--max-output", "7",
        "--beam", "2", "--length-penalty", "0.5", "--attention", "bahdanau", "--tokenise", "words",
        "--no-bidirectional", "--seed", "3"])
    assert translate.config_from_args(args) == TranslateConfig(
        hidden=8, label_smoothing=0.1, decay=0.25, val_every=3, val_limit=4, max_minutes=1.5, max_output=7, beam=2,
        length_penalty=0.5, attention="bahdanau", tokenise="words", bidirectional=False, seed=3)
    plain = build_parser().parse_args(["text", "train", "--task", "translate", *FILES, "--out", "m"])
    assert translate.config_from_args(plain) == TranslateConfig()
    assert translate.config_from_args(argparse.Namespace(hidden=8)) == TranslateConfig()
    assert translate.config_from_args(argparse.Namespace(_given={"hidden", "beam"}, beam=3)) == TranslateConfig(
        beam=3)


def test_evaluate_and_translate_options_parse_to_their_values():
    args = build_parser().parse_args(["text", "evaluate", "--model", "m", "--src", "s", "--ref", "r", "--beam", "3"])
    assert (args.src, args.ref, args.beam, args.data) == ("s", "r", 3, None)
    args = build_parser().parse_args(["text", "translate", "--model", "m", "--input", "-", "--output", "o",
                                      "--beam", "1", "--max-output", "9"])
    assert (args.model, args.input, args.output, args.beam, args.max_output) == ("m", "-", "o", 1, 9)
    args = build_parser().parse_args(["demo", "translate", "--data", "d", "--out", "o"])
    assert (args.max_minutes, args.seed, args.force) == (15.0, 0, False)


def test_read_pair_checks_both_files_and_tells_the_skipped_pairs(folder, capsys):
    pairs = translate._read_pair("--src", "a.de", "--tgt", "a.en")
    assert (pairs.sources, pairs.targets) == (["ein hund", "zwei"], ["a dog", "two"])
    assert capsys.readouterr().out == "a.de / a.en: 1 pairs with an empty side skipped\n"
    translate._read_pair("--val-src", "v.de", "--val-tgt", "v.en")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("src", "tgt", "option", "name"), [("no.de", "a.en", "--src", "no.de"),
                                                             ("a.de", "no.en", "--tgt", "no.en")])
def test_read_pair_names_the_missing_file(src, tgt, option, name, folder):
    with pytest.raises(Exception, match=f"^{option}: expected an existing file, got '{name}' "):
        translate._read_pair("--src", src, "--tgt", tgt)


class Recorder:
    """``train_translator``, ``load_translator`` and ``write_translate_report`` replaced by recorders."""

    def __init__(self):
        self.calls: list = []
        self.config = TranslateConfig(max_output=11)

    def train(self, config, train, val, out, force=False, log=None):
        self.calls.append(("train", config, train.sources, val.sources, out, force))
        log("step 1")
        return {"val_bleu_greedy": 12.345, "val_bleu": 23.456}

    def load(self, path):
        self.calls.append(("load", str(path)))
        return self

    def evaluate(self, sources, targets, beam=None):
        self.calls.append(("evaluate", sources, targets, beam))
        return {"bleu": 30.0 + (beam or 0), "sentences": 1500, "beam": beam or 5, "bleu_kind": "corpus",
                "perplexity": 4.567, "stopped_at_max_length": 2 if beam == 4 else 0, "max_output": 11}

    def translate(self, texts, beam=None, max_output=None):
        self.calls.append(("translate", texts, beam, max_output))
        return [t.upper() for t in texts], (1 if "long" in " ".join(texts) else 0)

    def report(self, result, out, translator, val, figures):
        self.calls.append(("report", sorted(result), out, translator is self, val.sources, figures))
        return Path(out) / "report.md"


@pytest.fixture
def rec(monkeypatch) -> Recorder:
    r = Recorder()
    monkeypatch.setattr(translate_app, "train_translator", r.train)
    monkeypatch.setattr(translate_app, "load_translator", r.load)
    monkeypatch.setattr(translate_report, "write_translate_report", r.report)
    return r


def test_train_passes_the_files_the_configuration_and_force(folder, rec, capsys, monkeypatch):
    lines = flushed_lines(monkeypatch, translate)
    assert main(["text", "train", "--task", "translate", *FILES, "--out", "run", "--beam", "3", "--force",
                 "--no-figures"]) == 0
    config = TranslateConfig(beam=3)
    assert rec.calls == [
        ("train", config, ["ein hund", "zwei"], ["drei"], Path("run"), True), ("load", "run"),
        ("report", ["val_bleu", "val_bleu_greedy"], Path("run"), True, ["drei"], False)]
    assert capsys.readouterr().out.splitlines() == [
        "a.de / a.en: 1 pairs with an empty side skipped",
        "text train --task translate: " + " ".join(f"{k}={v}" for k, v in config.to_json().items()),
        "step 1",
        "validation BLEU 12.35 greedy, 23.46 beam 3",
        "model: run; report: run/report.md",
    ]
    # the lines shown while the work runs are flushed at once; the summary at the end is not
    assert [flushed for _, flushed in lines] == [True, True, True, False, False]


def test_train_draws_figures_unless_told_and_starts_over_only_with_force(folder, rec):
    assert main(["text", "train", "--task", "translate", *FILES, "--out", "run"]) == 0
    assert (rec.calls[0][-1], rec.calls[-1][-1]) == (False, True)


@pytest.mark.parametrize(("given", "missing"), [
    ([], "--src, --tgt, --val-src, --val-tgt"), (FILES[:4], "--val-src, --val-tgt"),
    (FILES[2:], "--src"), (FILES[:2] + FILES[4:6], "--tgt, --val-tgt")])
def test_train_names_the_missing_parallel_files(given, missing, folder, rec, capsys):
    assert main(["text", "train", "--task", "translate", *given, "--out", "run"]) == 2
    assert capsys.readouterr().err == (
        "yetztml text: error: text train --task translate: expected --src, --tgt, --val-src and --val-tgt, got no "
        f"{missing}. Give the four parallel files.\n")
    assert rec.calls == []


def test_train_checks_the_validation_files_and_the_out_folder(folder, rec, capsys):
    argv = ["text", "train", "--task", "translate", *FILES[:6], "--val-tgt", "none.en", "--out", "run"]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: --val-tgt: expected an existing file, got "
                                              "'none.en'")
    assert main(["text", "train", "--task", "translate", *FILES[:4], "--val-src", "x.de", "--val-tgt", "v.en",
                 "--out", "run"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: --val-src: expected an existing file, got "
                                              "'x.de'")
    assert main(["text", "train", "--task", "translate", "--src", "x.de", *FILES[2:], "--out", "run"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: --src: expected an existing file, got 'x.de'")
    assert main(["text", "train", "--task", "translate", *FILES[:2], "--tgt", "x.en", *FILES[4:], "--out", "run"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: --tgt: expected an existing file, got 'x.en'")
    assert main(["text", "train", "--task", "translate", *FILES, "--out", "a.de"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: --out: expected a folder")
    assert rec.calls == []


@pytest.mark.parametrize("subcommand", ["train", "evaluate"])
def test_classification_without_data_is_refused_with_the_way_out(subcommand, folder, capsys):
    extra = ["--out", "run"] if subcommand == "train" else ["--model", "m"]
    assert main(["text", subcommand, *extra]) == 2
    assert capsys.readouterr().err == (
        f"yetztml text: error: text {subcommand}: expected --data FILE (a labelled file), got none. Give --data, "
        "or for a translation model --task translate / --src and --ref.\n")


def test_run_training_with_a_test_pair_measures_it_and_writes_it(folder, rec, capsys):
    result = translate.run_training(TranslateConfig(beam=4), "a.de", "a.en", "v.de", "v.en", "run", False, True,
                                    test=("v.de", "v.en"))
    assert rec.calls[2:] == [("evaluate", ["drei"], ["three"], 1), ("evaluate", ["drei"], ["three"], None),
                             ("report", ["test", "test_bleu", "test_bleu_greedy", "val_bleu", "val_bleu_greedy"],
                              Path("run"), True, ["drei"], True)]
    assert (result["test_bleu"], result["test_bleu_greedy"]) == (30.0, 31.0)
    assert result["test"]["greedy"]["beam"] == 1 and result["test"]["beam"]["beam"] == 5
    assert json.loads((folder / "run" / "result.json").read_text()) == result
    assert capsys.readouterr().out.splitlines()[-2:] == ["test BLEU 31.00 greedy, 30.00 beam 4",
                                                         "model: run; report: run/report.md"]


def test_run_training_checks_the_test_pair(folder, rec):
    with pytest.raises(Exception, match="^test reference: expected an existing file, got 'none.en'"):
        translate.run_training(TranslateConfig(), "a.de", "a.en", "v.de", "v.en", "run", False, True,
                               test=("v.de", "none.en"))
    with pytest.raises(Exception, match="^test source: expected an existing file, got 'none.de'"):
        translate.run_training(TranslateConfig(), "a.de", "a.en", "v.de", "v.en", "run", False, True,
                               test=("none.de", "v.en"))


def test_evaluate_prints_the_measures_and_writes_them(folder, rec, capsys):
    assert main(["text", "evaluate", "--model", "m", "--src", "a.de", "--ref", "a.en", "--beam", "4",
                 "--json", "e.json"]) == 0
    assert rec.calls == [("load", "m"), ("evaluate", ["ein hund", "zwei"], ["a dog", "two"], 4)]
    assert capsys.readouterr().out.splitlines() == [
        "a.de / a.en: 1 pairs with an empty side skipped",
        "a.de: 1,500 sentences, BLEU 34.00 (beam 4; corpus), perplexity 4.57",
        "2 translations stopped at the maximum length 11 words"]
    assert json.loads((folder / "e.json").read_text())["bleu"] == 34.0


def test_evaluate_without_json_writes_nothing_and_without_stops_says_nothing(folder, rec, capsys):
    assert main(["text", "evaluate", "--model", "m", "--src", "v.de", "--ref", "v.en"]) == 0
    assert rec.calls[-1] == ("evaluate", ["drei"], ["three"], None)
    assert capsys.readouterr().out == "v.de: 1,500 sentences, BLEU 30.00 (beam 5; corpus), perplexity 4.57\n"
    assert sorted(p.name for p in folder.iterdir()) == ["a.de", "a.en", "m", "v.de", "v.en"]


@pytest.mark.parametrize(("argv", "line"), [
    (["--model", "none", "--src", "v.de", "--ref", "v.en"],
     "--model: expected a model directory written by `yetztml text train --task translate`, got 'none' (no such "
     "folder). Check the path."),
    (["--model", "m", "--src", "v.de", "--ref", "v.en", "--json", "m"],
     "--json: expected a file path, got 'm', a folder. Name a file, e.g. --json m/result.json."),
    (["--model", "m", "--src", "v.de", "--ref", "none.en"],
     "--ref: expected an existing file, got 'none.en' (no such file). Check the path."),
    (["--model", "m", "--src", "none.de", "--ref", "v.en"],
     "--src: expected an existing file, got 'none.de' (no such file). Check the path."),
])
def test_evaluate_checks_its_paths(argv, line, folder, rec, capsys):
    assert main(["text", "evaluate", *argv]) == 2
    assert capsys.readouterr().err == f"yetztml text: error: {line}\n"
    assert [c for c in rec.calls if c[0] == "evaluate"] == []


def test_translate_keeps_the_lines_and_notes_empty_ones_and_stops(folder, rec, capsys):
    (folder / "in.txt").write_text("ein hund\n\n  \nlong one\n", encoding="utf-8")
    assert main(["text", "translate", "--model", "m", "--input", "in.txt", "--beam", "2"]) == 0
    assert rec.calls == [("load", "m"), ("translate", ["ein hund", "long one"], 2, None)]
    assert capsys.readouterr() == ("EIN HUND\n\n\nLONG ONE\n", "text translate: 2 empty lines left empty; 1 "
                                   "translations stopped at the maximum length 11 words\n")
    assert main(["text", "translate", "--model", "m", "--input", "in.txt", "--max-output", "6",
                 "--output", "out.txt"]) == 0
    assert rec.calls[-1] == ("translate", ["ein hund", "long one"], None, 6)
    assert capsys.readouterr() == ("", "text translate: 2 empty lines left empty; 1 translations stopped at the "
                                   "maximum length 6 words\n")
    assert (folder / "out.txt").read_text(encoding="utf-8") == "EIN HUND\n\n\nLONG ONE\n"


def test_translate_reads_standard_input_and_is_quiet_when_nothing_is_left_out(folder, rec, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO("é one\nzwei\n".encode())))
    assert main(["text", "translate", "--model", "m", "--input", "-"]) == 0
    assert capsys.readouterr() == ("É ONE\nZWEI\n", "")
    monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO(b"")))
    assert main(["text", "translate", "--model", "m", "--input", "-"]) == 0
    assert capsys.readouterr() == ("", "")


def test_translate_reads_and_writes_utf8_whatever_the_locale(folder, rec, monkeypatch):
    """The files are UTF-8 by rule, not by the locale's encoding: the encoding asked of ``Path.read_text``
    and ``Path.write_text`` is recorded (codec names compared as Python does, case-insensitively)."""
    asked = []
    read, write = Path.read_text, Path.write_text

    def read_text(self, encoding=None, errors=None):
        asked.append(("read", self.name, encoding and codecs.lookup(encoding).name))
        return read(self, encoding=encoding, errors=errors)

    def write_text(self, data, encoding=None, errors=None, newline=None):
        asked.append(("write", self.name, encoding and codecs.lookup(encoding).name))
        return write(self, data, encoding=encoding, errors=errors, newline=newline)

    (folder / "in.txt").write_bytes("grüße\n".encode())
    monkeypatch.setattr(Path, "read_text", read_text)
    monkeypatch.setattr(Path, "write_text", write_text)
    assert main(["text", "translate", "--model", "m", "--input", "in.txt", "--output", "o.txt"]) == 0
    assert asked == [("read", "in.txt", "utf-8"), ("write", "o.txt", "utf-8")]
    assert (folder / "o.txt").read_bytes() == "GRÜSSE\n".encode()


@pytest.mark.parametrize(("argv", "line"), [
    (["--model", "none", "--input", "v.de"], "--model: expected a model directory written by `yetztml text train "
                                             "--task translate`, got 'none' (no such folder). Check the path."),
    (["--model", "m", "--input", "none.de"], "--input: expected an existing file, got 'none.de' (no such file). "
                                             "Check the path."),
    (["--model", "m", "--input", "v.de", "--output", "m"], "--output: expected a file path, got 'm', a folder. "
                                                           "Name a file, e.g. --output m/result.json."),
])
def test_translate_checks_its_paths(argv, line, folder, rec, capsys):
    assert main(["text", "translate", *argv]) == 2
    assert capsys.readouterr().err == f"yetztml text: error: {line}\n"
    assert rec.calls == []


@pytest.fixture
def multi30k(folder) -> Path:
    """DIR/tok with the six files the demo needs."""
    tok = folder / "multi30k" / "tok"
    tok.mkdir(parents=True)
    for name in ("train", "val", "test_2016_flickr"):
        for side in ("de", "en"):
            (tok / f"{name}.lc.norm.tok.{side}").write_text("x\n", encoding="utf-8")
    return folder / "multi30k"


def test_demo_trains_the_measured_configuration_and_tests_on_flickr_2016(multi30k, monkeypatch):
    seen = []
    monkeypatch.setattr(translate, "run_training", lambda *a, **k: seen.append((a, k)))
    assert main(["demo", "translate", "--data", "multi30k", "--out", "run", "--max-minutes", "2.5", "--seed", "4",
                 "--force"]) == 0
    tok = "multi30k/tok"
    assert seen == [((TranslateConfig(hidden=256, embed_dim=256, dropout=0.3, lr=2e-3, val_every=227, val_limit=300,
                                      max_minutes=2.5, epochs=50, patience=50, seed=4),
                      f"{tok}/train.lc.norm.tok.de", f"{tok}/train.lc.norm.tok.en", f"{tok}/val.lc.norm.tok.de",
                      f"{tok}/val.lc.norm.tok.en", "run", True, True),
                     {"test": (f"{tok}/test_2016_flickr.lc.norm.tok.de", f"{tok}/test_2016_flickr.lc.norm.tok.en")})]
    main(["demo", "translate", "--data", "multi30k", "--out", "run"])
    assert (seen[1][0][0].max_minutes, seen[1][0][0].seed, seen[1][0][6]) == (15.0, 0, False)
    assert seen[1][0][0].init_range == 0.1 and seen[1][0][0].beam == 5


@pytest.mark.parametrize("missing", ["train.lc.norm.tok.de", "val.lc.norm.tok.en", "test_2016_flickr.lc.norm.tok.en"])
def test_demo_names_a_missing_file(missing, multi30k, monkeypatch, capsys):
    monkeypatch.setattr(translate, "run_training", lambda *a, **k: pytest.fail("trained without its files"))
    (multi30k / "tok" / missing).unlink()
    assert main(["demo", "translate", "--data", "multi30k", "--out", "run"]) == 2
    assert capsys.readouterr().err == (
        f"yetztml demo: error: demo translate --data: expected a file multi30k/tok/{missing}, got none. Run "
        "`yetztml data fetch multi30k` and pass its folder.\n")


def test_demo_checks_its_folder(folder, capsys):
    assert main(["demo", "translate", "--data", "nowhere", "--out", "run"]) == 2
    assert capsys.readouterr().err == (
        "yetztml demo: error: demo translate --data: expected the Multi30k folder with tok/, got 'nowhere' (no "
        "such folder). Check the path.\n")
    (folder / "multi30k").mkdir()
    (folder / "multi30k" / "tok").write_text("", encoding="utf-8")
    assert main(["demo", "translate", "--data", "multi30k", "--out", "run"]) == 2
    assert "expected a file multi30k/tok/train.lc.norm.tok.de, got none" in capsys.readouterr().err


def test_refuse_data_less_classify_passes_given_data():
    assert translate.refuse_data_less_classify(SimpleNamespace(data="d.csv", text_command="train")) is None
