"""Translation under ``yetztml text``: ``train --task translate``, ``translate``, ``evaluate --src/--ref``,
and ``yetztml demo translate``. Parsing and printing only; the pipeline is :mod:`yetztml.apps.translate`.

The options ``text train`` shares with classification (``--cell``, ``--hidden``, ``--embed-dim``,
``--layers``, ``--dropout``, ``--epochs``…) take the translation defaults of
:class:`~yetztml.apps.translate.TranslateConfig` unless given on the command line.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..apps.translate.config import TranslateConfig
from ..core.errors import OptionError, message
from ..models.seq2seq import ATTENTIONS
from .parsers import command


def _init_range(text: str) -> float | None:
    """``--init-range``: a number R > 0, or ``pytorch`` (None: each module's own initialisation)."""
    if text.strip().lower() == "pytorch":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number R > 0 or 'pytorch', got {text!r}") from None


DEFAULTS = TranslateConfig()
MODEL = "a model directory written by `yetztml text train --task translate`"
#: Options only translation has (dest, flags, type, help); the shared ones come from ``cli/text.py``.
_OWN = (
    ("src", "--src", str, "translation: source-language training file, one sentence a line (plain or .gz)"),
    ("tgt", "--tgt", str, "translation: target-language training file, line i translating --src line i"),
    ("val_src", "--val-src", str, "translation: source-language validation file"),
    ("val_tgt", "--val-tgt", str, "translation: target-language validation file"),
    ("init_range", "--init-range", _init_range,
     f"translation: draw every weight from U(-R, R), or 'pytorch' for each module's PyTorch default "
     f"(default {DEFAULTS.init_range})"),
    ("label_smoothing", "--label-smoothing", float,
     f"translation: label smoothing ε (default {DEFAULTS.label_smoothing})"),
    ("decay", "--decay", float, f"translation: learning-rate factor on a validation-perplexity plateau "
                                f"(default {DEFAULTS.decay})"),
    ("val_every", "--val-every", int, "translation: steps between validations (default: an epoch)"),
    ("val_limit", "--val-limit", int, "translation: validate on the first N validation pairs (default: all)"),
    ("max_minutes", "--max-minutes", float, "translation: stop after this many minutes of training"),
    ("max_output", "--max-output", int, f"translation: longest translation in words (default {DEFAULTS.max_output})"),
    ("beam", "--beam", int, f"translation: beam size of the final evaluation (default {DEFAULTS.beam})"),
    ("length_penalty", "--length-penalty", float,
     f"translation: beam scores divided by length^α (default {DEFAULTS.length_penalty})"),
)


def _recording(cls: type) -> type:
    """A subclass of an argparse action that notes its dest in ``namespace._given`` when the option is used."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: N807
        namespace.__dict__.setdefault("_given", set()).add(self.dest)
        return cls.__call__(self, parser, namespace, values, option_string)

    return type(f"Given{cls.__name__}", (cls,), {"__call__": __call__})


def add_train_arguments(train: argparse.ArgumentParser) -> None:
    """``--task`` and the translation options on ``text train`` (--data, optional on the parser, is required
    for classify by :func:`refuse_data_less_classify`)."""
    train.add_argument("--task", choices=("classify", "translate"), default="classify",
                       help="classify labelled texts (--data) or translate (--src/--tgt/--val-src/--val-tgt)")
    for dest, flag, kind, text in _OWN:
        train.add_argument(flag, dest=dest, type=kind, default=None, help=text)
    train.add_argument("--attention", choices=ATTENTIONS, default=None,
                       help=f"translation: the attention score (default {DEFAULTS.attention})")
    for action in train._actions:
        if action.option_strings and action.dest != "help":
            action.__class__ = _recording(type(action))


def add_evaluate_arguments(evaluate: argparse.ArgumentParser) -> None:
    """``--src``/``--ref``/``--beam`` on ``text evaluate`` (a translation model); --data for classifiers."""
    evaluate.add_argument("--src", help="translation: source sentences, one a line")
    evaluate.add_argument("--ref", help="translation: reference translations, line i of --src's line i")
    evaluate.add_argument("--beam", type=int, default=None, help="translation: beam size (default: the model's)")


def add_translate_command(commands: Any) -> None:
    p = command(commands, "translate", "translate sentences with a model from `text train --task translate`",
                "One translation per input line, same order (tokenised, lowercased like the training text). "
                "--input - reads standard input.", handle_translate,
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help=MODEL)
    p.add_argument("--input", required=True, help="a text file, one sentence a line, or '-' for standard input")
    p.add_argument("--output", help="write the translations here instead of standard output")
    p.add_argument("--beam", type=int, default=None, help="beam size (default: the model's; 1 is greedy)")
    p.add_argument("--max-output", type=int, default=None, help="longest translation in words (default: the model's)")


def add_demo(demos: Any) -> None:
    demo = command(demos, "translate", "German→English on Multi30k: the measured translation configuration",
                   "Train the measured configuration (docs/translate.md) on Multi30k's tokenised, lowercased "
                   "files (DIR/tok/train|val.lc.norm.tok.de|en) and write OUT like `text train --task "
                   "translate`, then report test_2016_flickr BLEU (greedy and beam).", handle_demo)
    demo.add_argument("--data", required=True, help="the Multi30k folder holding raw/ and tok/")
    demo.add_argument("--out", required=True, help="the model directory to write")
    demo.add_argument("--max-minutes", type=float, default=15.0, help="minutes of training")
    demo.add_argument("--seed", type=int, default=0, help="seed of the weights, dropout and batches")
    demo.add_argument("--force", action="store_true", help="start over in a directory that holds a run")


# -- handlers ---------------------------------------------------------------------------------------------
def config_from_args(args: argparse.Namespace) -> TranslateConfig:
    given = getattr(args, "_given", set())
    values = {f.name: getattr(args, f.name) for f in fields(TranslateConfig)
              if f.name in given and hasattr(args, f.name)}
    return TranslateConfig(**values)


def _read_pair(src_opt: str, src: str | None, tgt_opt: str, tgt: str | None):
    from ..data import read_parallel
    from . import paths

    paths.in_file(src_opt, src)
    paths.in_file(tgt_opt, tgt)
    pairs = read_parallel(src, tgt)
    if pairs.skipped_empty:
        print(f"{src} / {tgt}: {pairs.skipped_empty} pairs with an empty side skipped", flush=True)
    return pairs


def run_training(config: TranslateConfig, src, tgt, val_src, val_tgt, out_dir, force: bool, figures: bool,
                 test: tuple[str, str] | None = None) -> dict:
    from ..apps.translate import load_translator, train_translator
    from ..core.results import write_json
    from ..report.translate import write_translate_report
    from . import paths

    train = _read_pair("--src", src, "--tgt", tgt)
    val = _read_pair("--val-src", val_src, "--val-tgt", val_tgt)
    out = paths.out_folder("--out", out_dir)
    print("text train --task translate: " + " ".join(f"{k}={v}" for k, v in config.to_json().items()), flush=True)
    result = train_translator(config, train, val, out, force=force, log=lambda line: print(line, flush=True))
    print(f"validation BLEU {result['val_bleu_greedy']:.2f} greedy, {result['val_bleu']:.2f} beam {config.beam}")
    translator = load_translator(out)
    if test is not None:
        pairs = _read_pair("test source", test[0], "test reference", test[1])
        result["test"] = {"greedy": translator.evaluate(pairs.sources, pairs.targets, beam=1),
                          "beam": translator.evaluate(pairs.sources, pairs.targets)}
        result["test_bleu"] = result["test"]["beam"]["bleu"]
        result["test_bleu_greedy"] = result["test"]["greedy"]["bleu"]
        write_json(out / "result.json", result)
        print(f"test BLEU {result['test_bleu_greedy']:.2f} greedy, {result['test_bleu']:.2f} beam {config.beam}")
    report = write_translate_report(result, out, translator, val, figures=figures)
    print(f"model: {out}; report: {report}")
    return result


def handle_train(args: argparse.Namespace) -> int:
    missing = [flag for dest, flag in (("src", "--src"), ("tgt", "--tgt"), ("val_src", "--val-src"),
                                       ("val_tgt", "--val-tgt")) if getattr(args, dest) is None]
    if missing:
        raise OptionError(message("text train --task translate", "--src, --tgt, --val-src and --val-tgt",
                                  "no " + ", ".join(missing), "Give the four parallel files."))
    run_training(config_from_args(args), args.src, args.tgt, args.val_src, args.val_tgt, args.out, args.force,
                 args.figures)
    return 0


def refuse_data_less_classify(args: argparse.Namespace) -> None:
    """Classification still needs --data (it is optional on the parser for translation's sake)."""
    if args.data is None:
        raise OptionError(message("text " + args.text_command, "--data FILE (a labelled file)", "none",
                                  "Give --data, or for a translation model --task translate / --src and --ref."))


def handle_evaluate(args: argparse.Namespace) -> int:
    from ..apps.translate import load_translator
    from ..core.results import write_json
    from . import paths

    paths.in_folder("--model", args.model, MODEL)
    if args.json is not None:
        paths.out_file("--json", args.json)
    translator = load_translator(args.model)
    pairs = _read_pair("--src", args.src, "--ref", args.ref)
    measures = translator.evaluate(pairs.sources, pairs.targets, beam=args.beam)
    print(f"{args.src}: {measures['sentences']:,} sentences, BLEU {measures['bleu']:.2f} (beam {measures['beam']}; "
          f"{measures['bleu_kind']}), perplexity {measures['perplexity']:.2f}")
    if measures["stopped_at_max_length"]:
        print(f"{measures['stopped_at_max_length']} translations stopped at the maximum length "
              f"{measures['max_output']} words")
    if args.json is not None:
        write_json(Path(args.json), measures)
    return 0


def handle_translate(args: argparse.Namespace) -> int:
    from ..apps.translate import load_translator
    from . import paths

    paths.in_folder("--model", args.model, MODEL)
    paths.in_file("--input", args.input, stdin=True)
    if args.output is not None:
        paths.out_file("--output", args.output)
    translator = load_translator(args.model)
    if args.input == "-":
        lines = sys.stdin.read().splitlines()
    else:
        lines = Path(args.input).read_text(encoding="utf-8").splitlines()
    kept = [i for i, line in enumerate(lines) if line.strip()]
    hyps, stopped = translator.translate([lines[i] for i in kept], beam=args.beam, max_output=args.max_output)
    out = [""] * len(lines)
    for i, h in zip(kept, hyps, strict=True):
        out[i] = h
    text = "\n".join(out) + ("\n" if out else "")
    if args.output is None:
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    notes = []
    if len(kept) < len(lines):
        notes.append(f"{len(lines) - len(kept)} empty lines left empty")
    if stopped:
        limit = args.max_output or translator.config.max_output
        notes.append(f"{stopped} translations stopped at the maximum length {limit} words")
    if notes:
        print("text translate: " + "; ".join(notes), file=sys.stderr)
    return 0


def handle_demo(args: argparse.Namespace) -> int:
    from . import paths

    root = paths.in_folder("demo translate --data", args.data, "the Multi30k folder with tok/")
    tok = root / "tok"
    names = {k: tok / f"{k}.lc.norm.tok" for k in ("train", "val", "test_2016_flickr")}
    for path in names.values():
        for side in ("de", "en"):
            if not Path(f"{path}.{side}").is_file():
                raise OptionError(message("demo translate --data", f"a file {path}.{side}", "none",
                                          "Run `yetztml data fetch multi30k` and pass its folder."))
    config = TranslateConfig(hidden=256, embed_dim=256, dropout=0.3, lr=2e-3, val_every=227, val_limit=300,
                             max_minutes=args.max_minutes, epochs=50, patience=50, seed=args.seed)
    test = names["test_2016_flickr"]
    run_training(config, f"{names['train']}.de", f"{names['train']}.en", f"{names['val']}.de", f"{names['val']}.en",
                 args.out, args.force, True, test=(f"{test}.de", f"{test}.en"))
    return 0
