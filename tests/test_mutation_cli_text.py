"""yetztml.cli.text through ``main([...])``: the parser of ``yetztml text`` as the user reads it, each option's
way into the configuration, and what train, evaluate and predict check, call and print.

The training, the model loading and the report are replaced by recorders (``train_classifier``,
``load_classifier``, ``write_text_report``): what is asserted is the command line's own work — which files
it checks and reads with which columns, which arguments it passes on, and every line it prints.
"""

from __future__ import annotations

import json
import sys
from io import BytesIO, TextIOWrapper
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import yetztml.apps.text as text_app
import yetztml.report.text as text_report
from cli_snapshot import command, flushed_lines, snapshot
from yetztml.apps.text.config import TextConfig
from yetztml.cli import text, translate
from yetztml.cli.main import build_parser, main
from yetztml.data import Vocab

TEXT_PARSER = {'description': "Recurrent text classifiers trained with the library's hand-derived gradients "
                    '(docs/text.md).',
     'epilog': None,
     'formatter': 'HelpFormatter',
     'text_command': {'metavar': 'COMMAND',
                      'required': True,
                      'train': ('train a classifier and write a model directory with result.json and report.md',
                                {'description': 'Read FILE (CSV, TSV or JSON lines), split it (seeded, '
                                                'stratified 80/10/10 unless --val/--test are given), build the '
                                                'vocabulary from the training split, train Embedding → '
                                                '(Bi)recurrent layers → pooling → Linear with Adam and early '
                                                'stopping on validation accuracy, and write OUT: the model '
                                                '(model.json, weights.npz, vocab.json), result.json '
                                                '(validation and test measures), report.md with figures. '
                                                'Rerunning the same command resumes an interrupted run; '
                                                '--force starts over.',
                                 'epilog': None,
                                 'formatter': 'ArgumentDefaultsHelpFormatter',
                                 '--data': {'kind': 'Given_StoreAction',
                                            'help': 'a labelled file: .csv, .tsv or .jsonl (optionally .gz)'},
                                 '--text-column': {'kind': 'Given_StoreAction',
                                                   'help': 'column (or JSON key) holding the text',
                                                   'default': 'text'},
                                 '--label-column': {'kind': 'Given_StoreAction',
                                                    'help': 'column (or JSON key) holding the label',
                                                    'default': 'label'},
                                 '--delimiter': {'kind': 'Given_StoreAction',
                                                 'help': 'CSV delimiter (default: from the extension, else '
                                                         'sniffed)'},
                                 '--out': {'kind': 'Given_StoreAction',
                                           'help': 'the model directory to write',
                                           'required': True},
                                 '--val': {'kind': 'Given_StoreAction',
                                           'help': 'validation file (same columns); default: split from '
                                                   '--data'},
                                 '--test': {'kind': 'Given_StoreAction',
                                            'help': 'test file (same columns); default: split from --data'},
                                 '--cell': {'kind': 'Given_StoreAction',
                                            'help': 'the recurrent cell (docs/text.md)',
                                            'default': 'lstm',
                                            'choices': ('lstm', 'gru', 'rnn', 'lstm1997', 'peephole')},
                                 '--hidden': {'kind': 'Given_StoreAction',
                                              'help': 'hidden units per direction',
                                              'type': 'int',
                                              'default': 128},
                                 '--layers': {'kind': 'Given_StoreAction',
                                              'help': 'recurrent layers',
                                              'type': 'int',
                                              'default': 2},
                                 '--bidirectional/--no-bidirectional': {'kind': 'GivenBooleanOptionalAction',
                                                                        'help': 'read each text in both '
                                                                                'directions',
                                                                        'default': True,
                                                                        'nargs': 0,
                                                                        'dest': 'bidirectional'},
                                 '--embed-dim': {'kind': 'Given_StoreAction',
                                                 'help': 'word embedding size',
                                                 'type': 'int',
                                                 'default': 128},
                                 '--vectors': {'kind': 'Given_StoreAction',
                                               'help': 'initial word vectors, a GloVe-format text file of '
                                                       '--embed-dim values'},
                                 '--dropout': {'kind': 'Given_StoreAction',
                                               'help': 'dropout rate',
                                               'type': 'float',
                                               'default': 0.5},
                                 '--pool': {'kind': 'Given_StoreAction',
                                            'help': "how a text's steps become one vector",
                                            'default': 'max',
                                            'choices': ('last', 'mean', 'max', 'maxmean')},
                                 '--epochs': {'kind': 'Given_StoreAction',
                                              'help': 'maximum epochs',
                                              'type': 'int',
                                              'default': 12},
                                 '--patience': {'kind': 'Given_StoreAction',
                                                'help': 'epochs without improvement before stopping',
                                                'type': 'int',
                                                'default': 3},
                                 '--batch-size': {'kind': 'Given_StoreAction',
                                                  'help': 'texts per batch',
                                                  'type': 'int',
                                                  'default': 64},
                                 '--lr': {'kind': 'Given_StoreAction',
                                          'help': "Adam's learning rate",
                                          'type': 'float',
                                          'default': 0.002},
                                 '--lr-decay': {'kind': 'Given_StoreAction',
                                                'help': 'multiply the learning rate by this per epoch (smoothly, '
                                                        'after every text; 1 = constant)',
                                                'type': 'float',
                                                'default': 1.0},
                                 '--clip-norm': {'kind': 'Given_StoreAction',
                                                 'help': 'gradient clipping by global norm',
                                                 'type': 'float',
                                                 'default': 5.0},
                                 '--max-length': {'kind': 'Given_StoreAction',
                                                  'help': 'longer texts keep their first tokens',
                                                  'type': 'int',
                                                  'default': 60},
                                 '--min-freq': {'kind': 'Given_StoreAction',
                                                'help': 'words seen fewer times become <unk>',
                                                'type': 'int',
                                                'default': 2},
                                 '--max-vocab': {'kind': 'Given_StoreAction',
                                                 'help': 'largest vocabulary (with <pad>, <unk>)',
                                                 'type': 'int'},
                                 '--no-lowercase': {'kind': 'Given_StoreFalseAction',
                                                    'help': "keep the texts' case",
                                                    'default': True,
                                                    'nargs': 0,
                                                    'const': False,
                                                    'dest': 'lowercase'},
                                 '--dtype': {'kind': 'Given_StoreAction',
                                             'help': 'floating-point precision',
                                             'default': 'float32',
                                             'choices': ('float32', 'float64')},
                                 '--seed': {'kind': 'Given_StoreAction',
                                            'help': 'seed of the split, the weights, dropout, batches',
                                            'type': 'int',
                                            'default': 0},
                                 '--force': {'kind': 'Given_StoreTrueAction',
                                             'help': 'start over in a directory that holds a run',
                                             'default': False,
                                             'nargs': 0,
                                             'const': True},
                                 '--no-figures': {'kind': 'Given_StoreFalseAction',
                                                  'help': 'write report.md without figures',
                                                  'default': True,
                                                  'nargs': 0,
                                                  'const': False,
                                                  'dest': 'figures'},
                                 '--task': {'kind': 'Given_StoreAction',
                                            'help': 'classify labelled texts (--data) or translate '
                                                    '(--src/--tgt/--val-src/--val-tgt)',
                                            'default': 'classify',
                                            'choices': ('classify', 'translate')},
                                 '--src': {'kind': 'Given_StoreAction',
                                           'help': 'translation: source-language training file, one sentence a '
                                                   'line (plain or .gz)',
                                           'type': 'str'},
                                 '--tgt': {'kind': 'Given_StoreAction',
                                           'help': 'translation: target-language training file, line i '
                                                   'translating --src line i',
                                           'type': 'str'},
                                 '--val-src': {'kind': 'Given_StoreAction',
                                               'help': 'translation: source-language validation file',
                                               'type': 'str'},
                                 '--val-tgt': {'kind': 'Given_StoreAction',
                                               'help': 'translation: target-language validation file',
                                               'type': 'str'},
                                 '--init-range': {'kind': 'Given_StoreAction',
                                                  'help': "translation: draw every weight from U(-R, R), or "
                                                          "'pytorch' for each module's PyTorch default (default 0.1)",
                                                  'type': '_init_range'},
                                 '--label-smoothing': {'kind': 'Given_StoreAction',
                                                       'help': 'translation: label smoothing ε (default 0.0)',
                                                       'type': 'float'},
                                 '--decay': {'kind': 'Given_StoreAction',
                                             'help': 'translation: learning-rate factor on a '
                                                     'validation-perplexity plateau (default 0.5)',
                                             'type': 'float'},
                                 '--val-every': {'kind': 'Given_StoreAction',
                                                 'help': 'translation: steps between validations (default: an '
                                                         'epoch)',
                                                 'type': 'int'},
                                 '--val-limit': {'kind': 'Given_StoreAction',
                                                 'help': 'translation: validate on the first N validation '
                                                         'pairs (default: all)',
                                                 'type': 'int'},
                                 '--max-minutes': {'kind': 'Given_StoreAction',
                                                   'help': 'translation: stop after this many minutes of '
                                                           'training',
                                                   'type': 'float'},
                                 '--max-output': {'kind': 'Given_StoreAction',
                                                  'help': 'translation: longest translation in words (default '
                                                          '100)',
                                                  'type': 'int'},
                                 '--beam': {'kind': 'Given_StoreAction',
                                            'help': 'translation: beam size of the final evaluation (default '
                                                    '5)',
                                            'type': 'int'},
                                 '--length-penalty': {'kind': 'Given_StoreAction',
                                                      'help': 'translation: beam scores divided by length^α '
                                                              '(default 1.0)',
                                                      'type': 'float'},
                                 '--attention': {'kind': 'Given_StoreAction',
                                                 'help': 'translation: the attention score (default '
                                                         'luong-general)',
                                                 'choices': ('luong-general', 'luong-dot', 'bahdanau', 'none')},
                                 '--tokenise': {'kind': 'Given_StoreAction',
                                                'help': "how texts become tokens: by the word rules, by them "
                                                        "with English clitics split off (son's → son 's), or "
                                                        "at spaces (text tokenised already); default: words "
                                                        "for classify, whitespace for translate "
                                                        "(docs/text.md)",
                                                'choices': ('words', 'clitics', 'whitespace')}}),
                      'evaluate': ('measure a trained model on a labelled file',
                                   {'description': 'Accuracy, macro-F1, per-class precision/recall/F1 and the '
                                                   'confusion matrix of MODEL on FILE.',
                                    'epilog': None,
                                    'formatter': 'ArgumentDefaultsHelpFormatter',
                                    '--model': {'kind': '_StoreAction',
                                                'help': 'a model directory written by `yetztml text train`',
                                                'required': True},
                                    '--data': {'kind': '_StoreAction',
                                               'help': 'a labelled file: .csv, .tsv or .jsonl (optionally '
                                                       '.gz)'},
                                    '--text-column': {'kind': '_StoreAction',
                                                      'help': 'column (or JSON key) holding the text',
                                                      'default': 'text'},
                                    '--label-column': {'kind': '_StoreAction',
                                                       'help': 'column (or JSON key) holding the label',
                                                       'default': 'label'},
                                    '--delimiter': {'kind': '_StoreAction',
                                                    'help': 'CSV delimiter (default: from the extension, else '
                                                            'sniffed)'},
                                    '--json': {'kind': '_StoreAction',
                                               'help': 'also write the measures to this JSON file'},
                                    '--src': {'kind': '_StoreAction',
                                              'help': 'translation: source sentences, one a line'},
                                    '--ref': {'kind': '_StoreAction',
                                              'help': "translation: reference translations, line i of --src's "
                                                      'line i'},
                                    '--beam': {'kind': '_StoreAction',
                                               'help': "translation: beam size (default: the model's)",
                                               'type': 'int'}}),
                      'predict': ('label new texts',
                                  {'description': 'Print one line per text: the predicted label, then the '
                                                  'probability of each class (in the order of the header '
                                                  'line), then the text. --input - reads standard input, one '
                                                  'text a line.',
                                   'epilog': None,
                                   'formatter': 'ArgumentDefaultsHelpFormatter',
                                   '--model': {'kind': '_StoreAction',
                                               'help': 'a model directory written by `yetztml text train`',
                                               'required': True},
                                   '--input': {'kind': '_StoreAction',
                                               'help': "a text file (one text a line), '-', or a CSV/JSON file",
                                               'required': True},
                                   '--text-column': {'kind': '_StoreAction',
                                                     'help': 'the column/key holding the text in a '
                                                             'CSV/TSV/JSON-lines input'}}),
                      'translate': ('translate sentences with a model from `text train --task translate`',
                                    {'description': 'One translation per input line, same order (tokenised, '
                                                    'lowercased like the training text). --input - reads '
                                                    'standard input.',
                                     'epilog': None,
                                     'formatter': 'ArgumentDefaultsHelpFormatter',
                                     '--model': {'kind': '_StoreAction',
                                                 'help': 'a model directory written by `yetztml text train '
                                                         '--task translate`',
                                                 'required': True},
                                     '--input': {'kind': '_StoreAction',
                                                 'help': "a text file, one sentence a line, or '-' for "
                                                         'standard input',
                                                 'required': True},
                                     '--output': {'kind': '_StoreAction',
                                                  'help': 'write the translations here instead of standard '
                                                          'output'},
                                     '--beam': {'kind': '_StoreAction',
                                                'help': "beam size (default: the model's; 1 is greedy)",
                                                'type': 'int'},
                                     '--max-output': {'kind': '_StoreAction',
                                                      'help': 'longest translation in words (default: the '
                                                              "model's)",
                                                      'type': 'int'}})}}


def test_the_text_parser_is_the_one_documented():
    assert snapshot(command("text")) == TEXT_PARSER
    parent = next(a for a in command()._actions if a.dest == "command")
    assert next(c.help for c in parent._choices_actions if c.dest == "text") == (
        "text classification: train on a labelled CSV/TSV/JSON-lines file, evaluate, predict")
    train, evaluate, predict = (command("text", name) for name in ("train", "evaluate", "predict"))
    assert (train._defaults, evaluate._defaults, predict._defaults) == (
        {"handler": text.handle_train}, {"handler": text.handle_evaluate}, {"handler": text.handle_predict})


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """An empty working folder with a small CSV ``d.csv`` (one empty text) and a folder ``m``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("text,label\ngood film,pos\n,neg\nbad film,neg\n", encoding="utf-8")
    (tmp_path / "m").mkdir()
    return tmp_path


def test_every_model_option_reaches_the_configuration():
    args = build_parser().parse_args([
        "text", "train", "--data", "d.csv", "--out", "m", "--cell", "gru", "--hidden", "5", "--layers", "2",
        "--no-bidirectional", "--embed-dim", "6", "--dropout", "0.25", "--pool", "mean", "--epochs", "3",
        "--patience", "2", "--batch-size", "7", "--lr", "0.01", "--lr-decay", "0.75", "--clip-norm", "1.5",
        "--max-length", "9", "--min-freq", "1", "--max-vocab", "50", "--no-lowercase", "--dtype", "float64",
        "--seed", "4"])
    assert text.config_from_args(args) == TextConfig(
        cell="gru", hidden=5, layers=2, bidirectional=False, embed_dim=6, dropout=0.25, pool="mean", epochs=3,
        batch_size=7, lr=0.01, lr_decay=0.75, clip_norm=1.5, patience=2, seed=4, max_length=9, min_freq=1, max_vocab=50,
        lowercase=False, dtype="float64")
    plain = build_parser().parse_args(["text", "train", "--data", "d.csv", "--out", "m"])
    assert text.config_from_args(plain) == TextConfig()
    assert (plain.force, plain.figures, plain.vectors, plain.val, plain.test) == (False, True, None, None, None)


def test_read_uses_the_columns_and_the_delimiter(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("review;y\nfine film;pos\n;neg\nbad one;neg\n", encoding="utf-8")
    args = SimpleNamespace(text_column="review", label_column="y", delimiter=";")
    found = text.read(str(path), args)
    assert (found.texts, found.labels, found.skipped_empty, found.path) == (
        ["fine film", "bad one"], ["pos", "neg"], 1, str(path))


def test_vectors_loader_fills_the_found_words_and_draws_the_rest(tmp_path, capsys, monkeypatch):
    lines = flushed_lines(monkeypatch, text)
    assert text.vectors_loader(None, TextConfig()) is None
    path = tmp_path / "v.txt"
    path.write_text("film 0.5 -0.25 1\nnowhere 2 2 2\nbad 0.1 2 3\n", encoding="utf-8")
    config = TextConfig(embed_dim=3, dtype="float64", seed=7)
    vocab = Vocab.build([["film", "bad", "good"]])
    table = text.vectors_loader(str(path), config)(vocab)
    drawn = np.random.default_rng([7, 2]).standard_normal((5, 3))
    assert vocab.tokens == ["<pad>", "<unk>", "bad", "film", "good"]
    assert table.dtype == np.float64
    np.testing.assert_array_equal(table, np.vstack([drawn[:2], [0.1, 2, 3], [0.5, -0.25, 1], drawn[4:]]))
    assert capsys.readouterr().out == f"word vectors: 2 of 5 words found in {path}\n"
    assert lines == [(f"word vectors: 2 of 5 words found in {path}", True)]
    single = text.vectors_loader(str(path), TextConfig(embed_dim=3, seed=7))(vocab)
    assert single.dtype == np.float32
    np.testing.assert_array_equal(single, table.astype(np.float32))


class Recorder:
    """``train_classifier`` and ``write_text_report`` replaced: the calls, and a result to hand back."""

    def __init__(self, result: dict):
        self.result = result
        self.calls: list = []

    def train(self, config, train, out, **kwargs):
        self.calls.append(("train", config, train, out, kwargs))
        kwargs["log"]("epoch 1 of 1")
        return self.result

    def report(self, result, out, figures):
        self.calls.append(("report", result, out, figures))
        return Path(out) / "report.md"


RESULT = {"data": {"truncated_train": 0}, "val_accuracy": 0.75, "val_macro_f1": 0.5}


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    rec = Recorder(dict(RESULT))
    monkeypatch.setattr(text_app, "train_classifier", rec.train)
    monkeypatch.setattr(text_report, "write_text_report", rec.report)
    return rec


def test_train_reads_the_split_files_and_passes_every_choice_on(folder, recorder, capsys, monkeypatch):
    lines = flushed_lines(monkeypatch, text)
    (folder / "v.csv").write_text("txt|lab\nfine|pos\n", encoding="utf-8")
    (folder / "t.csv").write_text("txt|lab\npoor|neg\n|pos\n", encoding="utf-8")
    (folder / "vec.txt").write_text("film 1 2\n", encoding="utf-8")
    recorder.result.update(test_accuracy=0.625, test_macro_f1=0.25, data={"truncated_train": 3})
    assert main(["text", "train", "--data", "v.csv", "--val", "v.csv", "--test", "t.csv", "--vectors", "vec.txt",
                 "--text-column", "txt", "--label-column", "lab", "--delimiter", "|", "--out", "run",
                 "--embed-dim", "2", "--max-length", "5", "--force", "--no-figures"]) == 0
    (_, config, train, out, kwargs), report = recorder.calls
    assert config == TextConfig(embed_dim=2, max_length=5)
    assert (train.texts, train.labels, out) == (["fine"], ["pos"], Path("run"))
    assert (kwargs["val"].texts, kwargs["test"].texts, kwargs["test"].labels) == (["fine"], ["poor"], ["neg"])
    assert kwargs["force"] is True
    assert kwargs["vectors"](Vocab.build([["film"]]))[2].tolist() == [1.0, 2.0]
    assert report == ("report", recorder.result, Path("run"), False)
    assert capsys.readouterr().out.splitlines() == [
        "text train: " + " ".join(f"{k}={v}" for k, v in config.to_json().items()),
        "t.csv: 1 empty texts skipped",
        "epoch 1 of 1",
        "3 training texts longer than --max-length 5 tokens were truncated",
        "validation accuracy 0.7500, macro-F1 0.5000; test accuracy 0.6250, macro-F1 0.2500",
        "model: run; report: run/report.md",
        "word vectors: 1 of 3 words found in vec.txt",
    ]
    # the lines shown while the work runs are flushed at once; the summary at the end is not
    assert [flushed for _, flushed in lines] == [True, True, True, True, False, False, True]


def test_train_without_split_files_splits_data_and_draws_its_figures(folder, recorder, capsys):
    assert main(["text", "train", "--data", "d.csv", "--out", "run"]) == 0
    (_, config, train, _, kwargs), report = recorder.calls
    assert config == TextConfig()
    assert (train.texts, kwargs["val"], kwargs["test"], kwargs["vectors"], kwargs["force"]) == (
        ["good film", "bad film"], None, None, None, False)
    assert report[3] is True
    assert capsys.readouterr().out.splitlines()[1:] == [
        "d.csv: 1 empty texts skipped", "epoch 1 of 1", "validation accuracy 0.7500, macro-F1 0.5000",
        "model: run; report: run/report.md"]


@pytest.mark.parametrize("option", ["--data", "--val", "--test", "--vectors"])
def test_train_checks_each_input_file_before_training(option, folder, recorder, capsys):
    argv = ["text", "train", "--data", "d.csv", "--out", "run"]
    argv = [*argv[:2], *argv[4:]] + (["--data", "d.csv"] if option != "--data" else []) + [option, "no.csv"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"yetztml text: error: {option}: expected an existing file, got 'no.csv' "
                                       "(no such file). Check the path.\n")
    assert recorder.calls == []
    assert not (folder / "run").exists()


def test_train_checks_the_out_folder(folder, recorder, capsys):
    assert main(["text", "train", "--data", "d.csv", "--out", "d.csv"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: --out: expected a folder (or a path where one "
                                              "can be made), got 'd.csv', an existing file.")
    assert recorder.calls == []


def test_train_of_the_translate_task_is_translations(folder, monkeypatch):
    seen = []
    monkeypatch.setattr(translate, "handle_train", lambda args: seen.append(args.task) or 5)
    assert main(["text", "train", "--task", "translate", "--out", "run"]) == 5
    assert seen == ["translate"]


def test_train_without_data_is_refused(folder, recorder, capsys):
    assert main(["text", "train", "--out", "run"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: text train: expected --data FILE")
    assert recorder.calls == []


class FakeClassifier:
    """What ``load_classifier`` hands back: fixed measures and predictions, and the calls."""

    def __init__(self, path):
        self.path = path
        self.calls: list = []
        self.labels = SimpleNamespace(classes=[0, "b"])

    def evaluate(self, texts, labels):
        self.calls.append((texts, labels))
        return MEASURES

    def predict(self, texts):
        self.calls.append(texts)
        return [("b" if "é" in t else 0, [0.125 * (i + 1), 1 - 0.125 * (i + 1)]) for i, t in enumerate(texts)]


MEASURES = {"examples": 1234, "accuracy": 0.5, "macro_f1": 0.25, "classes": ["neg", "pos"],
            "per_class": {"neg": {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 2},
                          "pos": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 12}},
            "confusion": [[2, 0], [12, 0]]}


@pytest.fixture
def loaded(monkeypatch) -> list:
    models: list = []

    def load(path):
        models.append(FakeClassifier(path))
        return models[-1]

    monkeypatch.setattr(text_app, "load_classifier", load)
    return models


def test_evaluate_prints_every_measure_and_writes_them(folder, loaded, capsys):
    assert main(["text", "evaluate", "--model", "m", "--data", "d.csv", "--json", "out.json"]) == 0
    assert [(c.path, c.calls) for c in loaded] == [("m", [(["good film", "bad film"], ["pos", "neg"])])]
    assert capsys.readouterr().out.splitlines() == [
        "d.csv: 1,234 texts, accuracy 0.5000, macro-F1 0.2500",
        "  class neg: precision 0.5000, recall 1.0000, F1 0.6667, support 2",
        "  class pos: precision 0.0000, recall 0.0000, F1 0.0000, support 12",
        "confusion (rows true, columns predicted, classes neg, pos):",
        "       2      0",
        "      12      0",
    ]
    assert json.loads((folder / "out.json").read_text()) == MEASURES


def test_evaluate_uses_the_columns_and_writes_no_json_unasked(folder, loaded, capsys):
    (folder / "e.tsv").write_text("a\tb\nfine\tpos\n", encoding="utf-8")
    assert main(["text", "evaluate", "--model", "m", "--data", "e.tsv", "--text-column", "a",
                 "--label-column", "b"]) == 0
    assert loaded[0].calls == [(["fine"], ["pos"])]
    assert sorted(p.name for p in folder.iterdir()) == ["d.csv", "e.tsv", "m"]


@pytest.mark.parametrize(("argv", "line"), [
    (["--model", "nomodel", "--data", "d.csv"], "--model: expected a model directory written by `yetztml text "
                                                "train`, got 'nomodel' (no such folder). Check the path."),
    (["--model", "m", "--data", "no.csv"], "--data: expected an existing file, got 'no.csv' (no such file). "
                                           "Check the path."),
    (["--model", "m", "--data", "d.csv", "--json", "m"], "--json: expected a file path, got 'm', a folder. Name a "
                                                         "file, e.g. --json m/result.json."),
])
def test_evaluate_checks_its_paths_before_loading(argv, line, folder, loaded, capsys):
    assert main(["text", "evaluate", *argv]) == 2
    assert capsys.readouterr().err == f"yetztml text: error: {line}\n"
    assert loaded == []


@pytest.mark.parametrize("given", [["--src", "s.txt"], ["--ref", "r.txt"]])
def test_evaluate_with_src_or_ref_is_a_translation(given, folder, monkeypatch, loaded):
    seen = []
    monkeypatch.setattr(translate, "handle_evaluate", lambda args: seen.append((args.src, args.ref)) or 6)
    assert main(["text", "evaluate", "--model", "m", *given]) == 6
    assert seen == [("s.txt", None) if given[0] == "--src" else (None, "r.txt")]
    assert loaded == []


def test_evaluate_without_data_is_refused(folder, loaded, capsys):
    assert main(["text", "evaluate", "--model", "m"]) == 2
    assert capsys.readouterr().err.startswith("yetztml text: error: text evaluate: expected --data FILE")
    assert loaded == []


def test_predict_prints_a_header_and_one_line_per_text(folder, loaded, capsys):
    (folder / "in.txt").write_text('café "ok"\tnow\nplain\n', encoding="utf-8")
    assert main(["text", "predict", "--model", "m", "--input", "in.txt"]) == 0
    assert (loaded[0].path, loaded[0].calls) == ("m", [['café "ok"\tnow', "plain"]])
    assert capsys.readouterr().out == ('label\tp(0)\tp(b)\ttext\n'
                                       'b\t0.1250\t0.8750\tcafé \\"ok\\"\\tnow\n'
                                       '0\t0.2500\t0.7500\tplain\n')


def test_predict_reads_a_column_or_standard_input(folder, loaded, monkeypatch, capsys):
    assert main(["text", "predict", "--model", "m", "--input", "d.csv", "--text-column", "label"]) == 0
    monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO(b"from stdin\n")))
    assert main(["text", "predict", "--model", "m", "--input", "-"]) == 0
    assert [c.calls for c in loaded] == [[["pos", "neg", "neg"]], [["from stdin"]]]
    assert capsys.readouterr().out.splitlines()[-1] == "0\t0.1250\t0.8750\tfrom stdin"


@pytest.mark.parametrize(("argv", "line"), [
    (["--model", "nomodel", "--input", "d.csv"], "--model: expected a model directory written by `yetztml text "
                                                 "train`, got 'nomodel' (no such folder). Check the path."),
    (["--model", "m", "--input", "no.txt"], "--input: expected an existing file, got 'no.txt' (no such file). "
                                            "Check the path."),
])
def test_predict_checks_its_paths_before_loading(argv, line, folder, loaded, capsys):
    assert main(["text", "predict", *argv]) == 2
    assert capsys.readouterr().err == f"yetztml text: error: {line}\n"
    assert loaded == []
