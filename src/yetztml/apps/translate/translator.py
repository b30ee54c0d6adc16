"""A trained translator: tokeniser, vocabularies and model; translate, BLEU and perplexity.

BLEU is sacrebleu's corpus BLEU on the lowercased, tokenised text (``tokenize="none"``: the words as our
tokeniser splits them, the setting of ``multi-bleu.perl`` on Multi30k's ``tok/`` files, which the
published numbers use). Perplexity is exp of the mean negative log-likelihood per reference word
(including ``<eos>``) under teacher forcing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import CheckpointError, OptionError, message
from ...data import Tokeniser, Vocab
from ...models import load as load_model
from ...models.seq2seq import Seq2Seq, pack_pairs
from .config import TranslateConfig
from .decode import decode
from .loss import word_log_probs

__all__ = ["TASK", "Translator", "bleu", "load_translator"]

TASK = "translate"


def bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU of tokenised, lowercased lines (sacrebleu, ``tokenize="none"``)."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none", force=True).score)


def _pad(seqs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in seqs], np.int64)
    out = np.zeros((int(lengths.max()), len(seqs)), np.int64)
    for j, s in enumerate(seqs):
        out[: len(s), j] = s
    return out, lengths


@dataclass
class Translator:
    model: Seq2Seq
    src_vocab: Vocab
    tgt_vocab: Vocab
    tokeniser: Tokeniser
    config: TranslateConfig

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        """Source ids, words never seen in training as ``<unk>``, cut to ``max_length`` words."""
        out = []
        for tokens in self.tokeniser.tokenise(texts):
            ids = self.src_vocab.encode(tokens)[: self.config.max_length]
            out.append(ids if ids.size else np.array([self.src_vocab.unk_id]))
        return out

    def translate_ids(self, ids: list[np.ndarray], beam: int | None = None, batch_size: int = 64,
                      max_output: int | None = None, attention: bool = False) -> tuple[list[str], int, list]:
        """Translations (tokenised, space-joined), the number cut at the maximum length, attention weights."""
        beam = self.config.beam if beam is None else beam
        max_output = self.config.max_output if max_output is None else max_output
        order = np.argsort([len(s) for s in ids], kind="stable")
        out: list[str] = [""] * len(ids)
        weights: list[Any] = [None] * len(ids)
        stopped = 0
        for start in range(0, len(ids), batch_size):
            chunk = order[start : start + batch_size]
            src, lengths = _pad([ids[i] for i in chunk])
            result = decode(self.model, src, lengths, self.tgt_vocab.bos_id, self.tgt_vocab.eos_id, beam=beam,
                            max_output=max_output, length_penalty=self.config.length_penalty)
            stopped += result.stopped
            for i, seq, w in zip(chunk, result.ids, result.attention, strict=True):
                out[i] = " ".join(self.tgt_vocab.decode(seq))
                weights[i] = w if attention else None
        return out, stopped, weights

    def translate(self, texts: list[str], beam: int | None = None, max_output: int | None = None):
        """One translation per text, same order; and how many stopped at the maximum output length."""
        hyps, stopped, _ = self.translate_ids(self.encode(texts), beam, max_output=max_output)
        return hyps, stopped

    def perplexity(self, src_ids: list[np.ndarray], references: list[str], batch_size: int = 64) -> float:
        """exp(mean −log p(reference word)) over every reference word and <eos>, teacher forced."""
        self.model.eval()
        tgt = [self.tgt_vocab.encode(t, bos=True, eos=True) for t in self.tokeniser.tokenise(references)]
        total, count = 0.0, 0
        for start in range(0, len(src_ids), batch_size):
            src, sl = _pad(src_ids[start : start + batch_size])
            y, tl = _pad(tgt[start : start + batch_size])
            x, lengths = pack_pairs(src, sl, y[:-1], tl - 1)
            log_p = word_log_probs(self.model.forward(x, lengths=lengths).outputs)
            picked = np.take_along_axis(log_p, y[1:, :, None], axis=-1)[..., 0]
            mask = np.arange(y.shape[0] - 1)[:, None] < (tl - 1)[None, :]
            total -= float(picked[mask].sum())
            count += int(mask.sum())
        return float(np.exp(total / max(count, 1)))

    def evaluate(self, sources: list[str], references: list[str], beam: int | None = None) -> dict[str, Any]:
        """BLEU (tokenised, lowercased), perplexity, the number of outputs cut at the maximum length."""
        ids = self.encode(sources)
        hyps, stopped, _ = self.translate_ids(ids, beam)
        refs = [" ".join(t) for t in self.tokeniser.tokenise(references)]
        return {"bleu": bleu(hyps, refs), "perplexity": self.perplexity(ids, references),
                "beam": self.config.beam if beam is None else beam, "sentences": len(sources),
                "stopped_at_max_length": stopped, "max_output": self.config.max_output,
                "bleu_kind": "sacrebleu corpus BLEU, tokenize='none', on lowercased tokenised text"}


def load_translator(path: str | os.PathLike) -> Translator:
    """The translator saved in model directory ``path`` by ``text train --task translate``."""
    folder = Path(path)
    model = load_model(folder)
    meta = getattr(model, "metadata", {}) or {}
    if meta.get("task") != TASK or not isinstance(model, Seq2Seq):
        raise CheckpointError(message(f"model directory {str(folder)!r}", "a translation model (task 'translate')",
                                      f"task {meta.get('task')!r}", "Train one with `yetztml text train --task "
                                      "translate`."))
    try:
        src_vocab = Vocab.load(folder / "src_vocab.json")
        tgt_vocab = Vocab.load(folder / "tgt_vocab.json")
        config = TranslateConfig.from_json(meta["config"])
        tokeniser = Tokeniser.from_json(meta["tokeniser"])
    except (OSError, KeyError, TypeError, OptionError, json.JSONDecodeError) as err:
        raise CheckpointError(message(f"model directory {str(folder)!r}", "readable vocabularies and metadata",
                                      f"{type(err).__name__}: {err}", "Train the model again.")) from None
    if len(src_vocab) != model.input_size or len(tgt_vocab) != model.output_size:
        raise CheckpointError(message(f"model directory {str(folder)!r}", f"vocabularies of {model.input_size} and "
                                      f"{model.output_size} words", f"{len(src_vocab)} and {len(tgt_vocab)}"))
    return Translator(model, src_vocab, tgt_vocab, tokeniser, config)
