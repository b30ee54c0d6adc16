"""One text-classification run: data → vocabulary → model → the library's Trainer → result.json.

The run, with its choices written down (``docs/text.md``):

1. Splits. Without validation and test files, a seeded stratified 80/10/10 split of the data
   (:func:`yetztml.data.stratified_split`, seed = ``config.seed``); with a test file but no validation
   file, a stratified 90/10 split of the training file gives the validation set.
2. The tokeniser (lowercase unless ``lowercase=False``) and the vocabulary from the training split only
   (``min_freq``, ``max_vocab``); words never seen in training become ``<unk>``. Texts longer than
   ``max_length`` tokens keep their first ``max_length`` (counted in ``result.json``).
3. Training: Adam, clipping by global norm, the rate multiplied by ``lr_decay`` per epoch (smoothly: by
   ``lr_decay ** (1 / N)`` after every one of the N training texts, schedule (S4); 1 keeps it constant),
   softmax cross-entropy over one label per sentence, batches of similar lengths
   (:class:`yetztml.data.Batches`) drawn by the :class:`~yetztml.learning.Trainer`, which checkpoints
   weights, optimiser, data position and dropout generators every epoch and on Ctrl-C.
4. After every epoch, accuracy and macro-F1 on the validation set; the best epoch's weights are kept in
   ``DIR/best/`` and restored at the end; ``patience`` epochs without improvement stop the run.
5. The final model directory (``model.json``, ``weights.npz``, ``vocab.json``), the measures on the
   validation and test sets, and ``result.json``.

Run directories follow the library's one habit (``docs/guarantees.md``): rerunning the same command into a
directory with an interrupted run resumes it bit-identically; a finished run, or a run of another
configuration, is refused; ``force=True`` (``--force``) starts over. Ctrl-C and SIGTERM wait for an
end-of-epoch validation that runs to end (it is recorded whole); a run interrupted after the epoch that
stopped it trains no further when resumed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import CheckpointError, OptionError, message
from ...core.results import versions, write_json
from ...core.signals import HeldSignals
from ...data import Batches, LabelIndex, LabelledTexts, Tokeniser, Vocab, check_classes, stratified_split
from ...learning import Adam, Trainer, decay_per_sequence
from ...learning import Batch as TrainBatch
from ...models import load as load_model
from ...models import save as save_model
from .classifier import TASK, Classifier
from .config import TextConfig
from .model import build_classifier

__all__ = ["REFERENCES", "RUN_FILES", "train_classifier"]

#: Published accuracies on the sarcasm headlines (../shared/data/README.md), for reports beside ours.
REFERENCES = {
    "majority class ('not sarcastic')": "0.561",
    "LSTM": "0.856–0.866",
    "BiLSTM": "0.867–0.870",
    "LSTM + attention": "0.865–0.870",
    "BERT": "0.909",
    "word embeddings + pooling": "≈ 0.85",
}


def _splits(train: LabelledTexts, val: LabelledTexts | None, test: LabelledTexts | None, seed: int):
    if val is None and test is None:
        split = stratified_split(train.labels, seed)  # (1) 80/10/10
        return (train.subset(split.train, "train split"), train.subset(split.val, "validation split"),
                train.subset(split.test, "test split"), "stratified 80/10/10 split of --data")
    if val is None:
        split = stratified_split(train.labels, seed, (0.9, 0.1, 0.0))  # (1) validation from training
        return (train.subset(split.train, "train split"), train.subset(split.val, "validation split"),
                test, "stratified 90/10 split of --data for validation; --test given")
    return train, val, test, "files given"


#: The files a run writes into its directory (``force=True`` removes them before starting over).
RUN_FILES = ("checkpoint.npz", "config.json", "history.json", "model.json", "weights.npz", "vocab.json",
             "result.json", "report.md", "learning-curves.png", "confusion.png")


def _clear(out: Path) -> None:
    """``force``: remove the run's own files from ``out`` (other files are left alone)."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "best", ignore_errors=True)


def _prepare_folder(out: Path, signature: dict[str, Any], force: bool) -> bool:
    """Whether to resume the run in ``out``; refuses a finished run or another configuration's. With ``force``
    nothing is refused and nothing resumed (the caller clears the folder once every other check has passed)."""
    if out.exists() and not out.is_dir():
        raise OptionError(message(f"--out {str(out)!r}", "a directory", "an existing file", "Choose another --out."))
    if force:
        return False
    if (out / "result.json").is_file() and not (out / "checkpoint.npz").is_file():
        raise OptionError(
            message(f"--out {str(out)!r}", "a new directory or an interrupted run", "a finished run",
                    "Use another --out, or --force to train again from scratch.")
        )
    if not (out / "checkpoint.npz").is_file():
        if (out / "model.json").is_file():
            raise OptionError(message(f"--out {str(out)!r}", "a new directory or an interrupted run",
                                      "a directory holding a model", "Use another --out, or --force."))
        return False
    saved = out / "config.json"
    previous = json.loads(saved.read_text()) if saved.is_file() else {}
    if "config" in previous:  # a run written before a field existed ran with its older value
        previous["config"] = TextConfig.completed(previous["config"])
    now = json.loads(json.dumps(signature))
    if previous != now:
        flat_prev = {**previous.get("config", {}), **previous.get("data", {})}
        flat_now = {**now["config"], **now["data"]}
        differ = sorted(k for k in set(flat_prev) | set(flat_now) if flat_prev.get(k) != flat_now.get(k))
        raise CheckpointError(
            message(f"--out {str(out)!r}", "an interrupted run of the same configuration",
                    f"a run with other values of {differ}",
                    "Rerun with that run's options to resume it, use another --out, or --force to start over.")
        )
    return True


def train_classifier(
    config: TextConfig,
    train: LabelledTexts,
    out: str | os.PathLike,
    *,
    val: LabelledTexts | None = None,
    test: LabelledTexts | None = None,
    vectors: Callable[[Vocab], np.ndarray | None] | None = None,
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a classifier on ``train`` into directory ``out``; returns what ``result.json`` holds.

    ``vectors(vocab)`` may return (V, E) initial embeddings (e.g. from a GloVe file). ``log`` receives a
    line per epoch. An interrupted run in ``out`` (same configuration) is resumed bit-identically; a
    finished run or another configuration's is refused unless ``force=True``, which starts over.
    """
    started = time.perf_counter()
    say = log or (lambda line: None)
    out = Path(out)
    signature = {"config": config.to_json(), "data": {
        "data": train.path, "data_examples": len(train), "val": None if val is None else val.path,
        "val_examples": 0 if val is None else len(val), "test": None if test is None else test.path,
        "test_examples": 0 if test is None else len(test)}}
    resume = _prepare_folder(out, signature, force)
    counts = check_classes(train.labels, train.path)
    train, val, test, split_rule = _splits(train, val, test, config.seed)
    tokeniser = Tokeniser(lowercase=config.lowercase, mode=config.tokenise)
    train_tokens = tokeniser.tokenise(train.texts)
    vocab = Vocab.build(train_tokens, min_freq=config.min_freq, max_size=config.max_vocab)
    labels = LabelIndex.from_labels(train.labels)
    train_ids = [seq if seq.size else np.array([vocab.unk_id]) for seq in vocab.encode_all(train_tokens)]
    batches = Batches(train_ids, labels.encode(train.labels, train.path), batch_size=config.batch_size,
                      rng=np.random.default_rng([config.seed, 1]), max_length=config.max_length)
    steps_per_epoch = len(batches)
    words_per_step = sum(min(len(s), config.max_length) for s in train_ids) / steps_per_epoch
    model = build_classifier(config, len(vocab), len(labels), None if vectors is None else vectors(vocab))
    classifier = Classifier(model, vocab, tokeniser, labels, config)
    val_ids = classifier.encode(val.texts)
    val_truth = labels.encode(val.labels, val.path)

    if force:
        _clear(out)  # after the data, the vocabulary and the vectors have been checked
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_json(out / "config.json", signature)
    vocab.save(out / "vocab.json")
    history_file = out / "history.json"
    history: list[dict[str, Any]] = (
        json.loads(history_file.read_text())["epochs"] if resume and history_file.is_file() else []
    )
    clock = {"start": time.perf_counter(), "steps": 0}

    def best() -> dict[str, Any] | None:
        return max(history, key=lambda e: (e["val_accuracy"], -e["epoch"])) if history else None

    def status() -> str:
        rate = clock["steps"] * words_per_step / max(time.perf_counter() - clock["start"], 1e-9)
        last = f"val acc {history[-1]['val_accuracy']:.4f}  " if history else ""
        return f"{last}{rate:,.0f} words/s"

    def end_of_epoch(step: int, loss: float, net: Any) -> bool:
        clock["steps"] += 1
        if (step + 1) % steps_per_epoch:
            return False
        with HeldSignals():  # a validation cut short would be skipped by the rerun: Ctrl-C waits for its end
            return validate((step + 1) // steps_per_epoch, net)

    def validate(epoch: int, net: Any) -> bool:
        """Record one epoch's validation; whether the run stops (``patience`` epochs without a better one)."""
        losses = trainer.history[-steps_per_epoch:]
        probs = classifier.probabilities_of(val_ids)
        predicted = probs.argmax(axis=1)
        accuracy = float(np.mean(predicted == val_truth))
        nll = float(-np.mean(np.log(np.maximum(probs[np.arange(len(val_truth)), val_truth], 1e-300))))
        del history[epoch - 1:]  # an epoch recorded before a crash, before its checkpoint, is recorded again
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_accuracy": accuracy,
                        "val_loss": nll, "seconds": time.perf_counter() - started})
        if best()["epoch"] == epoch:
            save_model(net, out / "best")
        write_json(history_file, {"epochs": history})
        say(f"epoch {epoch}/{config.epochs}: train loss {history[-1]['train_loss']:.4f}, "
            f"validation accuracy {accuracy:.4f}, loss {nll:.4f}" + ("  (best)" if best()["epoch"] == epoch else ""))
        return epoch - best()["epoch"] >= config.patience

    trainer = Trainer(
        model,
        batches.stream(lambda b: TrainBatch(b.tokens, b.labels[None, :], None, b.lengths)),
        optimiser=Adam(model.params, lr=config.lr),
        loss="cross_entropy",
        schedule=None if config.lr_decay == 1.0 else decay_per_sequence(config.lr_decay ** (1.0 / len(train))),
        clip_norm=config.clip_norm,
        callbacks=[end_of_epoch],
        progress=progress,
        status=status,
        checkpoint=out / "checkpoint.npz",
        checkpoint_every=steps_per_epoch,
        seed=config.seed,
    )
    steps = config.epochs * steps_per_epoch
    finished = bool(history) and len(history) - best()["epoch"] >= config.patience
    if resume and finished:  # stopped early before the crash: the run ends where it had stopped
        steps = len(history) * steps_per_epoch
    run = trainer.run(steps, resume=resume)
    train_seconds = time.perf_counter() - clock["start"]
    chosen = best()
    if chosen is None:
        raise CheckpointError(message(f"run in {str(out)!r}", "at least one finished epoch", "none"))
    model.load_params(load_model(out / "best").params)  # (4) the best epoch's weights
    model.eval()
    save_model(model, out, metadata={
        "task": TASK, "config": config.to_json(), "tokeniser": tokeniser.to_json(), "labels": labels.to_json(),
        "vocab_file": "vocab.json",
    })
    result: dict[str, Any] = {
        "task": TASK,
        "config": config.to_json(),
        "data": {
            "train": train.path, "validation": val.path, "test": None if test is None else test.path,
            "split": split_rule, "examples": {"train": len(train), "validation": len(val),
                                              "test": 0 if test is None else len(test)},
            "classes": {str(k): v for k, v in counts.items()},
            "truncated_train": batches.truncated, "max_length": config.max_length,
        },
        "vocabulary": len(vocab),
        "weights": model.num_weights,
        "epochs": history,
        "best_epoch": chosen["epoch"],
        "stopped_early": run.stopped_by_callback or (resume and finished),
        "validation": classifier.evaluate(val.texts, val.labels),
        "timing": {"seconds": time.perf_counter() - started, "training_seconds_this_run": train_seconds,
                   "words_per_second": clock["steps"] * words_per_step / max(train_seconds, 1e-9)},
        "versions": versions(),
        "references": REFERENCES,
    }
    result["val_accuracy"] = result["validation"]["accuracy"]
    result["val_macro_f1"] = result["validation"]["macro_f1"]
    if test is not None and len(test):
        result["test"] = classifier.evaluate(test.texts, test.labels)
        result["test_accuracy"] = result["test"]["accuracy"]
        result["test_macro_f1"] = result["test"]["macro_f1"]
    write_json(out / "result.json", result)
    (out / "checkpoint.npz").unlink(missing_ok=True)
    shutil.rmtree(out / "best")  # read just above: it exists
    return result
