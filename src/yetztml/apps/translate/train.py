"""One translation run: parallel text → vocabularies → Seq2Seq → the library's Trainer → result.json.

1. Tokenise both sides (``tokenise="whitespace"`` for text tokenised already, e.g. Multi30k's ``tok/``
   files; ``"words"`` for raw text), lowercase; vocabularies from the training pairs (``min_freq``), the
   target one with ``<bos>``/``<eos>``; words never seen become ``<unk>``. Sentences longer than
   ``max_length`` words keep their first ``max_length`` (counted).
2. Teacher forcing: the decoder reads ``<bos> y(0) … y(n−1)`` and is trained to emit ``y(0) … y(n−1)
   <eos>``; softmax cross-entropy over the non-pad target words (label smoothing optional, (TL1)–(TL3)),
   Adam, clipping by global norm, batches of similar source lengths.
3. Every ``val_every`` steps (default: an epoch) greedy BLEU on the validation pairs (the first
   ``val_limit``) and their perplexity; the best-BLEU weights are kept in ``DIR/best/`` and restored at
   the end; a perplexity no lower than every earlier one multiplies the learning rate by ``decay``;
   ``patience`` validations without a better BLEU stop the run; ``max_minutes`` of training stop it too.
4. The model directory, greedy and beam BLEU and perplexity on the validation pairs, a few greedy
   translations with their attention weights (for the report's heat maps), ``result.json``.

An interrupted run in the same directory with the same configuration resumes bit-identically from the
last checkpoint (written at every validation and on Ctrl-C); a finished run or another configuration's is
refused unless ``force=True``. Ctrl-C and SIGTERM wait for a validation that runs to end (it is recorded
whole, with the learning rate it sets); a run interrupted after the validation that stopped it trains no
further when resumed.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import CheckpointError, DataError, OptionError, message
from ...core.results import versions, write_json
from ...core.signals import HeldSignals
from ...data import Batches, ParallelTexts, Tokeniser, Vocab
from ...learning import Adam, Trainer
from ...learning import Batch as TrainBatch
from ...models import load as load_model
from ...models import save as save_model
from ...models.seq2seq import Seq2Seq, pack_pairs
from .config import TranslateConfig
from .loss import smoothed_cross_entropy
from .translator import TASK, Translator, bleu

__all__ = ["REFERENCES", "RUN_FILES", "train_translator"]

#: Published test_2016_flickr BLEU (German→English), ../shared/data/README.md and issue 14.
REFERENCES = {
    "attention GRU (other tokenisation)": "28.3",
    "convolutional seq2seq (other tokenisation)": "34.1",
    "Transformer (other tokenisation)": "36.5",
    "eager PyTorch Luong attention, greedy, 55 min on this machine (issue 14)": "35.7",
}

RUN_FILES = ("checkpoint.npz", "config.json", "history.json", "model.json", "weights.npz", "src_vocab.json",
             "tgt_vocab.json", "result.json", "report.md", "learning-curves.png", "attention.png")


def _prepare_folder(out: Path, signature: dict[str, Any], force: bool) -> bool:
    """Whether to resume the run in ``out``; refuses a finished run or another configuration's."""
    if out.exists() and not out.is_dir():
        raise OptionError(message(f"--out {str(out)!r}", "a directory", "an existing file", "Choose another --out."))
    if force:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "best", ignore_errors=True)
        return False
    if not (out / "checkpoint.npz").is_file():
        if (out / "model.json").is_file() or (out / "result.json").is_file():
            raise OptionError(message(f"--out {str(out)!r}", "a new directory or an interrupted run",
                                      "a finished run", "Use another --out, or --force to train again."))
        return False
    saved = out / "config.json"
    previous = json.loads(saved.read_text()) if saved.is_file() else {}
    if "config" in previous:  # a run written before a field existed ran with its older value
        previous["config"] = TranslateConfig.completed(previous["config"])
    if previous != json.loads(json.dumps(signature)):
        raise CheckpointError(message(f"--out {str(out)!r}", "an interrupted run of the same configuration",
                                      "a run of another configuration or data",
                                      "Rerun with that run's options, use another --out, or --force."))
    return True


def _pairs(tokeniser: Tokeniser, texts: ParallelTexts) -> tuple[list[list[str]], list[list[str]]]:
    return tokeniser.tokenise(texts.sources), tokeniser.tokenise(texts.targets)


def examples(translator: Translator, sources: list[str], references: list[str]) -> list[dict[str, Any]]:
    """Greedy translations of a few sentences with the attention weights (target word × source word)."""
    ids = translator.encode(sources)
    hyps, _, weights = translator.translate_ids(ids, beam=1, attention=True)
    rows = []
    for src, ref, hyp, w, i in zip(sources, references, hyps, weights, ids, strict=True):
        rows.append({"source": " ".join(translator.src_vocab.decode(i)), "raw_source": src, "reference": ref,
                     "translation": hyp, "attention": None if w is None else np.round(w[:, : len(i)], 4).tolist()})
    return rows


def train_translator(
    config: TranslateConfig, train: ParallelTexts, val: ParallelTexts, out: str | Path, *,
    force: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a translator on ``train`` into ``out``; returns what ``result.json`` holds."""
    started = time.perf_counter()
    say = log or (lambda line: None)
    out = Path(out)
    for texts in (train, val):
        if len(texts.sources) != len(texts.targets):
            raise DataError(message(f"{texts.src_path} and {texts.tgt_path}", "one target sentence per source "
                                    "sentence", f"{len(texts.sources)} and {len(texts.targets)}"))
    signature = {"config": config.to_json(), "data": {"src": train.src_path, "tgt": train.tgt_path,
                 "pairs": len(train.sources), "val_src": val.src_path, "val_pairs": len(val.sources)}}
    resume = _prepare_folder(out, signature, force)
    tokeniser = Tokeniser(lowercase=config.lowercase, mode=config.tokenise)
    src_tok, tgt_tok = _pairs(tokeniser, train)
    src_vocab = Vocab.build(src_tok, min_freq=config.min_freq)
    tgt_vocab = Vocab.build(tgt_tok, min_freq=config.min_freq, bos_eos=True)
    src_ids = [s if s.size else np.array([src_vocab.unk_id]) for s in src_vocab.encode_all(src_tok)]
    tgt_ids = [tgt_vocab.encode(t[: config.max_length], bos=True, eos=True) for t in tgt_tok]  # <eos> kept
    batches = Batches(src_ids, targets=tgt_ids, batch_size=config.batch_size,
                      rng=np.random.default_rng([config.seed, 1]), max_length=config.max_length,
                      max_target_length=config.max_length + 2)
    steps_per_epoch = len(batches)
    val_every = config.val_every or steps_per_epoch
    dtype = np.dtype(config.dtype)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), config.embed_dim, config.hidden, cell=config.cell,
                    attention=config.attention, encoder_layers=config.layers, bidirectional=config.bidirectional,
                    dropout=config.dropout, init_range=config.init_range, seed=config.seed, dtype=dtype)
    translator = Translator(model, src_vocab, tgt_vocab, tokeniser, config)
    limit = len(val.sources) if config.val_limit is None else min(config.val_limit, len(val.sources))
    val_src_ids = translator.encode(val.sources[:limit])
    val_refs = [" ".join(t) for t in tokeniser.tokenise(val.targets[:limit])]

    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_json(out / "config.json", signature)
    src_vocab.save(out / "src_vocab.json")
    tgt_vocab.save(out / "tgt_vocab.json")
    history_file = out / "history.json"
    history: list[dict[str, Any]] = (
        json.loads(history_file.read_text())["checks"] if resume and history_file.is_file() else [])
    clock = {"start": time.perf_counter(), "words": 0, "before": history[-1]["minutes"] if history else 0.0}

    def minutes() -> float:
        return clock["before"] + (time.perf_counter() - clock["start"]) / 60.0

    def best() -> dict[str, Any] | None:
        return max(history, key=lambda e: (e["val_bleu"], -e["step"])) if history else None

    def status() -> str:
        rate = clock["words"] / max(time.perf_counter() - clock["start"], 1e-9)
        last = f"val BLEU {history[-1]['val_bleu']:.2f}  " if history else ""
        return f"{last}{rate:,.0f} target words/s"

    def convert(b: Any) -> TrainBatch:
        y, tl = b.targets, b.target_lengths - 1
        x, lengths = pack_pairs(b.tokens, b.lengths, y[:-1], tl)
        mask = np.arange(y.shape[0] - 1)[:, None] < tl[None, :]
        clock["words"] += int(tl.sum())
        return TrainBatch(x, y[1:], mask, lengths)

    def stopped() -> bool:
        """Whether the last validation recorded ended the run (patience, or time): a rerun trains no more."""
        stale = len(history) - 1 - history.index(best()) if history else 0
        out_of_time = bool(history) and config.max_minutes is not None and history[-1]["minutes"] >= config.max_minutes
        return stale >= config.patience or out_of_time

    def check(step: int, loss: float, net: Any, last: bool = False) -> bool:
        with HeldSignals():  # a validation cut short would be skipped by the rerun: Ctrl-C waits for its end
            return validate(step, loss, net, last)

    def validate(step: int, loss: float, net: Any, last: bool) -> bool:
        """Every ``val_every`` steps, when time is up, and after the ``last`` step: record one validation;
        whether the run stops."""
        out_of_time = config.max_minutes is not None and minutes() >= config.max_minutes
        if (step + 1) % val_every and not out_of_time and not last:
            return False
        losses = trainer.history[-val_every:]
        hyps, _, _ = translator.translate_ids(val_src_ids, beam=1)
        score = bleu(hyps, val_refs)
        ppl = translator.perplexity(val_src_ids, val.targets[:limit])
        net.train()
        del history[len([h for h in history if h["step"] <= step]):]
        history.append({"step": step + 1, "epoch": (step + 1) / steps_per_epoch, "minutes": minutes(),
                        "train_loss": float(np.mean(losses)), "val_bleu": score, "val_perplexity": ppl,
                        "lr": trainer.base_lr})
        is_best = best() is history[-1]
        if is_best:
            save_model(net, out / "best")
        write_json(history_file, {"checks": history})
        say(f"step {step + 1} (epoch {history[-1]['epoch']:.2f}, {history[-1]['minutes']:.1f} min): train loss "
            f"{history[-1]['train_loss']:.4f}, validation BLEU {score:.2f}, perplexity {ppl:.2f}"
            + ("  (best)" if is_best else ""))
        if len(history) > 1 and ppl >= min(h["val_perplexity"] for h in history[:-1]):
            trainer.base_lr *= config.decay  # learning-rate decay on a validation-perplexity plateau
        stale = len(history) - 1 - history.index(best())
        return out_of_time or stale >= config.patience

    trainer = Trainer(
        model, batches.stream(convert), optimiser=Adam(model.params, lr=config.lr),
        loss=smoothed_cross_entropy, gradient_options={"smoothing": config.label_smoothing},
        clip_norm=config.clip_norm, callbacks=[check], progress=progress, status=status,
        checkpoint=out / "checkpoint.npz", checkpoint_every=val_every, seed=config.seed,
    )
    ended = resume and stopped()  # interrupted after the validation that stopped it
    run = trainer.run(history[-1]["step"] if ended else config.epochs * steps_per_epoch, resume=resume)
    if not history or history[-1]["step"] != trainer.clock.step:
        check(trainer.clock.step - 1, 0.0, model, last=True)  # the last steps since a validation
    trained, train_seconds = minutes(), time.perf_counter() - clock["start"]
    chosen = best()
    model.load_params(load_model(out / "best").params)  # the best validation's weights
    model.eval()
    save_model(model, out, metadata={"task": TASK, "config": config.to_json(), "tokeniser": tokeniser.to_json(),
                                     "src_vocab_file": "src_vocab.json", "tgt_vocab_file": "tgt_vocab.json"})
    greedy = translator.evaluate(val.sources, val.targets, beam=1)
    beam = translator.evaluate(val.sources, val.targets) if config.beam > 1 else greedy
    result: dict[str, Any] = {
        "task": TASK, "config": config.to_json(),
        "data": {**signature["data"], "skipped_empty": train.skipped_empty, "val_skipped_empty": val.skipped_empty,
                 "truncated_sources": batches.truncated,
                 "truncated_targets": sum(len(t) > config.max_length for t in tgt_tok)},
        "vocabulary": {"source": len(src_vocab), "target": len(tgt_vocab)},
        "weights": model.num_weights, "checks": history, "best_step": chosen["step"],
        "stopped_early": run.stopped_by_callback or ended,
        "validation": {"greedy": greedy, "beam": beam},
        "val_bleu": beam["bleu"], "val_bleu_greedy": greedy["bleu"],
        "timing": {"seconds": time.perf_counter() - started, "training_minutes": trained,
                   "target_words_per_second": clock["words"] / max(train_seconds, 1e-9)},
        "versions": versions(), "references": REFERENCES,
    }
    result["examples"] = examples(translator, val.sources[:4], val.targets[:4])
    write_json(out / "result.json", result)
    (out / "checkpoint.npz").unlink(missing_ok=True)
    return result
