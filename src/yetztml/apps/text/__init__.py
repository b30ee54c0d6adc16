"""Text classification: a labelled CSV / TSV / JSON-lines file in, a trained recurrent classifier out.

=========================  ===================================================================
``TextConfig``             every choice of a run (cell, sizes, training), validated, JSON
``build_classifier``       Embedding → Dropout → (Bi)recurrent layers → Pool → Dropout → Linear
``train_classifier``       the run: split, vocabulary, Trainer with early stopping, result.json
``load_classifier``        a trained model directory → :class:`Classifier`
``Classifier``             ``predict(texts)``, ``evaluate(texts, labels)``
``classification_metrics`` accuracy, macro-F1, per-class precision/recall/F1, confusion matrix
=========================  ===================================================================

``docs/text.md`` documents the pipeline, the model directory and the measured numbers.
"""

from .classifier import Classifier, load_classifier
from .config import CELLS, POOLS, TextConfig
from .metrics import classification_metrics
from .model import build_classifier
from .train import train_classifier

__all__ = [
    "CELLS",
    "POOLS",
    "Classifier",
    "TextConfig",
    "build_classifier",
    "classification_metrics",
    "load_classifier",
    "train_classifier",
]
