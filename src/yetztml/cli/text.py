"""``yetztml text train | evaluate | predict``: sequence classification of the user's labelled text."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ..apps.text.config import CELLS, DTYPES, POOLS, TOKENISE, TextConfig
from . import translate
from .parsers import command, group

DEFAULTS = TextConfig()
#: What --model must name.
MODEL = "a model directory written by `yetztml text train`"
TRAIN = (
    "Read FILE (CSV, TSV or JSON lines), split it (seeded, stratified 80/10/10 unless --val/--test "
    "are given), build the vocabulary from the training split, train Embedding → (Bi)recurrent "
    "layers → pooling → Linear with Adam and early stopping on validation accuracy, and write OUT: "
    "the model (model.json, weights.npz, vocab.json), result.json (validation and test measures), "
    "report.md with figures. Rerunning the same command resumes an interrupted run; --force "
    "starts over."
)
PREDICT = (
    "Print one line per text: the predicted label, then the probability of each class (in the order "
    "of the header line), then the text. --input - reads standard input, one text a line."
)
#: The sub-commands' --help shows every option's default.
SHOW_DEFAULTS = argparse.ArgumentDefaultsHelpFormatter


def add_parser(sub: argparse._SubParsersAction) -> None:
    commands = group(sub, "text", "text classification: train on a labelled CSV/TSV/JSON-lines file, evaluate, predict",
                     "Recurrent text classifiers trained with the library's hand-derived gradients (docs/text.md).",
                     "text_command", "COMMAND")
    train = command(commands, "train", "train a classifier and write a model directory with result.json and report.md",
                    TRAIN, handle_train, formatter_class=SHOW_DEFAULTS)
    add_data_arguments(train, labels=True)
    train.add_argument("--out", required=True, help="the model directory to write")
    train.add_argument("--val", help="validation file (same columns); default: split from --data")
    train.add_argument("--test", help="test file (same columns); default: split from --data")
    add_model_arguments(train)
    translate.add_train_arguments(train)

    evaluate = command(commands, "evaluate", "measure a trained model on a labelled file",
                       "Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix of MODEL on FILE.",
                       handle_evaluate, formatter_class=SHOW_DEFAULTS)
    evaluate.add_argument("--model", required=True, help=MODEL)
    add_data_arguments(evaluate, labels=True)
    evaluate.add_argument("--json", help="also write the measures to this JSON file")
    translate.add_evaluate_arguments(evaluate)

    predict = command(commands, "predict", "label new texts", PREDICT, handle_predict, formatter_class=SHOW_DEFAULTS)
    predict.add_argument("--model", required=True, help=MODEL)
    predict.add_argument("--input", required=True, help="a text file (one text a line), '-', or a CSV/JSON file")
    predict.add_argument("--text-column", help="the column/key holding the text in a CSV/TSV/JSON-lines input")

    translate.add_translate_command(commands)


def add_data_arguments(p: argparse.ArgumentParser, labels: bool) -> None:
    # optional on the parser (translation has none); classification refuses its absence in the handlers
    p.add_argument("--data", help="a labelled file: .csv, .tsv or .jsonl (optionally .gz)")
    p.add_argument("--text-column", default="text", help="column (or JSON key) holding the text")
    if labels:
        p.add_argument("--label-column", default="label", help="column (or JSON key) holding the label")
    p.add_argument("--delimiter", help="CSV delimiter (default: from the extension, else sniffed)")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("--cell", choices=CELLS, default=d.cell, help="the recurrent cell (docs/text.md)")
    p.add_argument("--hidden", type=int, default=d.hidden, help="hidden units per direction")
    p.add_argument("--layers", type=int, default=d.layers, help="recurrent layers")
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=d.bidirectional,
                   help="read each text in both directions")
    p.add_argument("--embed-dim", type=int, default=d.embed_dim, help="word embedding size")
    p.add_argument("--vectors", help="initial word vectors, a GloVe-format text file of --embed-dim values")
    p.add_argument("--dropout", type=float, default=d.dropout, help="dropout rate")
    p.add_argument("--pool", choices=POOLS, default=d.pool, help="how a text's steps become one vector")
    p.add_argument("--epochs", type=int, default=d.epochs, help="maximum epochs")
    p.add_argument("--patience", type=int, default=d.patience, help="epochs without improvement before stopping")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="texts per batch")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam's learning rate")
    p.add_argument("--lr-decay", type=float, default=d.lr_decay,
                   help="multiply the learning rate by this per epoch (smoothly, after every text; 1 = constant)")
    p.add_argument("--clip-norm", type=float, default=d.clip_norm, help="gradient clipping by global norm")
    p.add_argument("--max-length", type=int, default=d.max_length, help="longer texts keep their first tokens")
    p.add_argument("--min-freq", type=int, default=d.min_freq, help="words seen fewer times become <unk>")
    p.add_argument("--max-vocab", type=int, default=d.max_vocab, help="largest vocabulary (with <pad>, <unk>)")
    p.add_argument("--no-lowercase", dest="lowercase", action="store_false", help="keep the texts' case")
    p.add_argument("--tokenise", choices=TOKENISE, default=None,
                   help="how texts become tokens: by the word rules, by them with English clitics split off "
                        "(son's → son 's), or at spaces (text tokenised already); default: words for "
                        "classify, whitespace for translate (docs/text.md)")
    p.add_argument("--dtype", choices=DTYPES, default=d.dtype, help="floating-point precision")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the split, the weights, dropout, batches")
    p.add_argument("--force", action="store_true", help="start over in a directory that holds a run")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write report.md without figures")


def config_from_args(args: argparse.Namespace) -> TextConfig:
    values = {f.name: getattr(args, f.name) for f in fields(TextConfig)}
    if values["tokenise"] is None:  # --tokenise is shared with translation, whose default differs
        values["tokenise"] = DEFAULTS.tokenise
    return TextConfig(**values)


def read(path: str, args: argparse.Namespace):
    from ..data import read_labelled

    return read_labelled(path, text_column=args.text_column, label_column=args.label_column,
                         delimiter=args.delimiter)


def vectors_loader(path: str | None, config: TextConfig):
    if path is None:
        return None

    def load(vocab):
        import numpy as np

        from ..data import read_word_vectors

        found = read_word_vectors(path, vocab, config.embed_dim, dtype=np.dtype(config.dtype))
        print(f"word vectors: {found.found_count:,} of {len(vocab):,} words found in {path}", flush=True)
        table = np.random.default_rng([config.seed, 2]).standard_normal((len(vocab), config.embed_dim))
        table[found.found] = found.matrix[found.found]
        return table.astype(config.dtype)

    return load


def run_training(args: argparse.Namespace, config: TextConfig, data_path: str) -> dict:
    from ..apps.text import train_classifier
    from ..report.text import write_text_report
    from . import paths

    paths.in_file("--data", data_path)
    for option in ("val", "test", "vectors"):
        if getattr(args, option) is not None:
            paths.in_file(f"--{option}", getattr(args, option))
    out = paths.out_folder("--out", args.out)
    print("text train: " + " ".join(f"{k}={v}" for k, v in config.to_json().items()), flush=True)
    train = read(data_path, args)
    val = read(args.val, args) if args.val is not None else None
    test = read(args.test, args) if args.test is not None else None
    for part in (train, val, test):
        if part is not None and part.skipped_empty:
            print(f"{part.path}: {part.skipped_empty} empty texts skipped", flush=True)
    result = train_classifier(config, train, out, val=val, test=test, vectors=vectors_loader(args.vectors, config),
                              force=args.force, log=lambda line: print(line, flush=True))
    if result["data"]["truncated_train"]:
        print(f"{result['data']['truncated_train']} training texts longer than --max-length "
              f"{config.max_length} tokens were truncated", flush=True)
    report = write_text_report(result, out, figures=args.figures)
    line = f"validation accuracy {result['val_accuracy']:.4f}, macro-F1 {result['val_macro_f1']:.4f}"
    if "test_accuracy" in result:
        line += f"; test accuracy {result['test_accuracy']:.4f}, macro-F1 {result['test_macro_f1']:.4f}"
    print(line)
    print(f"model: {out}; report: {report}")
    return result


def handle_train(args: argparse.Namespace) -> int:
    if args.task == "translate":
        return translate.handle_train(args)
    translate.refuse_data_less_classify(args)
    run_training(args, config_from_args(args), args.data)
    return 0


def handle_evaluate(args: argparse.Namespace) -> int:
    from ..apps.text import load_classifier
    from ..core.results import write_json
    from . import paths

    if args.src is not None or args.ref is not None:
        return translate.handle_evaluate(args)
    translate.refuse_data_less_classify(args)
    paths.in_folder("--model", args.model, MODEL)
    paths.in_file("--data", args.data)
    if args.json is not None:
        paths.out_file("--json", args.json)
    classifier = load_classifier(args.model)
    data = read(args.data, args)
    measures = classifier.evaluate(data.texts, data.labels)
    print(f"{args.data}: {measures['examples']:,} texts, accuracy {measures['accuracy']:.4f}, "
          f"macro-F1 {measures['macro_f1']:.4f}")
    for label, row in measures["per_class"].items():
        print(f"  class {label}: precision {row['precision']:.4f}, recall {row['recall']:.4f}, "
              f"F1 {row['f1']:.4f}, support {row['support']}")
    print("confusion (rows true, columns predicted, classes " + ", ".join(measures["classes"]) + "):")
    for row in measures["confusion"]:
        print("  " + " ".join(f"{v:6d}" for v in row))
    if args.json is not None:
        write_json(Path(args.json), measures)
    return 0


def handle_predict(args: argparse.Namespace) -> int:
    from ..apps.text import load_classifier
    from ..data import read_texts
    from . import paths

    paths.in_folder("--model", args.model, MODEL)
    paths.in_file("--input", args.input, stdin=True)
    classifier = load_classifier(args.model)
    texts = read_texts(args.input, args.text_column).texts
    classes = [str(c) for c in classifier.labels.classes]
    print("label\t" + "\t".join(f"p({c})" for c in classes) + "\ttext")
    for text, (label, probs) in zip(texts, classifier.predict(texts), strict=True):
        print(f"{label}\t" + "\t".join(f"{p:.4f}" for p in probs) + "\t" + json.dumps(text, ensure_ascii=False)[1:-1])
    sys.stdout.flush()
    return 0
