"""The sarcasm headlines' first training batches as the measured configuration sees them: shared by the
benchmarks that time or replay its training steps (``bench_text.py``, ``profile_text_step.py``,
``blas_choice_training.py``; imported from the scripts' own folder).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from yetztml.apps.text import TextConfig
from yetztml.data import Batch, Batches, Tokeniser, Vocab, read_csv, stratified_split


class Headlines(NamedTuple):
    vocab_size: int
    per_epoch: int  # batches in one epoch
    plan: list[Batch]


def headline_batches(path: str, config: TextConfig, steps: int, bucket_batches: int | None = 50) -> Headlines:
    """The vocabulary size, the batches per epoch and the first ``steps`` batches of the training part of the
    seed-0 stratified split: the word tokeniser, ``config``'s vocabulary and batch rules, batch order from seed 1,
    length buckets over pools of ``bucket_batches`` batches (None: the whole split)."""
    data = read_csv(path, "text", "is_sarcastic")
    train = data.subset(stratified_split(data.labels, 0).train, "train split")
    tokens = Tokeniser().tokenise(train.texts)
    vocab = Vocab.build(tokens, min_freq=config.min_freq)
    batches = Batches(vocab.encode_all(tokens), np.array(train.labels, dtype=np.int64), batch_size=config.batch_size,
                      rng=np.random.default_rng(1), max_length=config.max_length, bucket_batches=bucket_batches)
    return Headlines(len(vocab), len(batches), [batches.next_batch() for _ in range(steps)])
