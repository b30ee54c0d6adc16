"""A trained text classifier read from its model directory: probabilities, predictions, evaluation.

The model directory (written by :func:`~yetztml.apps.text.train.train_classifier`) holds ``model.json`` +
``weights.npz`` (the network, :mod:`yetztml.models.io`), ``vocab.json`` (the vocabulary) and, in
``model.json``'s metadata, the tokeniser's rules, the class labels and the run's configuration.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import CheckpointError, OptionError, message
from ...data import Batches, LabelIndex, Tokeniser, Vocab
from ...models import Sequential
from ...models import load as load_model
from .config import TextConfig
from .metrics import classification_metrics

__all__ = ["Classifier", "load_classifier"]

TASK = "text-classification"


class Classifier:
    """The network with its vocabulary, tokeniser and labels."""

    def __init__(
        self, model: Sequential, vocab: Vocab, tokeniser: Tokeniser, labels: LabelIndex, config: TextConfig
    ) -> None:
        self.model, self.vocab, self.tokeniser, self.labels, self.config = model, vocab, tokeniser, labels, config

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text; a text with no token becomes one ``<unk>``."""
        ids = self.vocab.encode_all(self.tokeniser.tokenise(texts))
        return [seq if seq.size else np.array([self.vocab.unk_id], dtype=np.int64) for seq in ids]

    def probabilities(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(N, K) class probabilities (softmax of the logits), in the order of the texts."""
        return self.probabilities_of(self.encode(texts), batch_size)

    def probabilities_of(self, sequences: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """(N, K) class probabilities of encoded sequences (truncated to the run's ``max_length``)."""
        out = np.zeros((len(sequences), len(self.labels)))
        if not sequences:
            return out
        was_training = self.model.training
        self.model.eval()
        try:
            batches = Batches(sequences, batch_size=batch_size, shuffle=False, max_length=self.config.max_length)
            for batch in batches:
                logits = self.model.forward(batch.tokens, lengths=batch.lengths).outputs[0].astype(np.float64)
                z = np.exp(logits - logits.max(axis=1, keepdims=True))
                out[batch.indices] = z / z.sum(axis=1, keepdims=True)
        finally:
            self.model.train(was_training)
        return out

    def predict(self, texts: Sequence[str]) -> list[tuple[Any, np.ndarray]]:
        """(label, probabilities) per text."""
        probs = self.probabilities(texts)
        labels = self.labels.decode(probs.argmax(axis=1)) if len(texts) else []
        return list(zip(labels, probs, strict=True))

    def evaluate(self, texts: Sequence[str], labels: Sequence[Any], worst: int = 10) -> dict[str, Any]:
        """:func:`classification_metrics` on ``texts``, plus the ``worst`` most confidently wrong examples."""
        truth = self.labels.encode(labels)
        probs = self.probabilities(texts)
        predicted = probs.argmax(axis=1)
        result = classification_metrics(truth, predicted, self.labels.classes)
        wrong = np.flatnonzero(predicted != truth)
        order = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")][:worst]
        result["confidently_wrong"] = [
            {"text": texts[i], "label": str(self.labels.classes[truth[i]]),
             "predicted": str(self.labels.classes[predicted[i]]), "probability": float(probs[i, predicted[i]])}
            for i in order
        ]
        return result


def load_classifier(path: str | os.PathLike) -> Classifier:
    """The classifier saved in model directory ``path``; CheckpointError naming what is wrong otherwise."""
    folder = Path(path)
    model = load_model(folder)
    meta = getattr(model, "metadata", {})
    if meta.get("task") != TASK:
        raise CheckpointError(
            message(f"model directory {str(folder)!r}", f"a model written by `yetztml text train` (task {TASK!r})",
                    f"task {meta.get('task')!r}")
        )
    vocab_file = folder / "vocab.json"
    if not vocab_file.is_file():
        raise CheckpointError(message(f"model directory {str(folder)!r}", "a vocab.json file", "none"))
    try:
        vocab = Vocab.load(vocab_file)
        tokeniser = Tokeniser.from_json(meta["tokeniser"])
        labels = LabelIndex.from_json(meta["labels"])
        config = TextConfig.from_json(meta["config"])
    except (KeyError, TypeError, OptionError) as err:  # OptionError: a configuration key or value refused
        raise CheckpointError(message(str(folder / "model.json"), "the text classifier's metadata",
                                      f"a missing or malformed entry ({err})")) from None
    if model.parts[0].num_embeddings != len(vocab) or model.output_size != len(labels):
        raise CheckpointError(
            message(f"model directory {str(folder)!r}", f"{model.parts[0].num_embeddings} words and "
                    f"{model.output_size} classes", f"{len(vocab)} words in vocab.json and {len(labels)} labels")
        )
    return Classifier(model, vocab, tokeniser, labels, config)
