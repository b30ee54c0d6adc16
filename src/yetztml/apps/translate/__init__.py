"""Translation: an attention encoder–decoder trained on parallel text, decoded greedily or by beam search.

``train_translator(config, train, val, out)`` runs the pipeline of :mod:`.train`; ``load_translator(dir)``
gives a :class:`Translator` with ``translate`` and ``evaluate`` (BLEU, perplexity). See ``docs/translate.md``.
"""

from .config import TranslateConfig
from .decode import Decoded, decode
from .loss import smoothed_cross_entropy
from .train import REFERENCES, train_translator
from .translator import TASK, Translator, bleu, load_translator

__all__ = ["REFERENCES", "TASK", "Decoded", "TranslateConfig", "Translator", "bleu", "decode", "load_translator",
           "smoothed_cross_entropy", "train_translator"]
