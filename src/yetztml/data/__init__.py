"""Text data: readers of user files, tokeniser, vocabulary, labels, splits, batches, word vectors, fetch.

No model code lives here (``data`` depends on ``core`` only); ``docs/text-data.md`` documents formats
and rules.

=================================  ==========================================================
name                               what
=================================  ==========================================================
:func:`read_csv`                   CSV/TSV, text and label columns chosen by name
:func:`read_jsonl`                 JSON lines, text and label keys chosen by name
:func:`read_labelled`              either, chosen by extension or content → :class:`LabelledTexts`
:func:`read_texts`                 texts without labels (plain lines, stdin, or a column/key)
:func:`read_parallel`              two aligned sentence files (plain or .gz) → :class:`ParallelTexts`
:func:`check_classes`              count per class; refuses fewer than two classes
:class:`LabelIndex`                labels (int or str) ↔ class ids, JSON
:class:`Tokeniser`                 rules (TK1)–(TK4): NFC, apostrophes, lowercase, words/punctuation
:class:`Vocab`                     rules (V1)–(V4): ``<pad>`` = 0, ``<unk>`` = 1, frequency order, JSON
:func:`stratified_split`           rules (SP1)–(SP3): seeded stratified 80/10/10 → :class:`Split`
:class:`Batches`                   rules (BA1)–(BA4): bucketed, padded, time-major :class:`Batch`
:func:`read_word_vectors`          GloVe text format → :class:`WordVectors` (matrix, found mask)
:func:`fetch`                      download + sha256 + cache, rules (FE1)–(FE5); :data:`DATASETS`
=================================  ==========================================================

>>> tok = Tokeniser()
>>> texts = ["Mom's web series!", "Dog sues mom!", "mom"]
>>> vocab = Vocab.build(tok.tokenise(texts))
>>> vocab.tokens
['<pad>', '<unk>', '!', 'mom', 'dog', "mom's", 'series', 'sues', 'web']
>>> batches = Batches(vocab.encode_all(tok.tokenise(texts)), [1, 0, 0], batch_size=2, shuffle=False)
>>> batch = next(iter(batches))
>>> batch.tokens.tolist(), batch.lengths.tolist(), batch.labels.tolist(), batch.indices.tolist()  # (T, B)
([[3, 5], [0, 8], [0, 6], [0, 2]], [1, 4], [0, 1], [2, 0])
"""

from __future__ import annotations

from .batches import Batch, Batches, BatchStream
from .fetch import DATASETS, Dataset, Fetched, RemoteFile, cache_dir, fetch, sha256_of
from .labels import LabelIndex, check_classes
from .parallel import ParallelTexts, read_parallel
from .readers import LabelledTexts, read_csv, read_jsonl, read_labelled, read_texts
from .splits import Split, stratified_split
from .tokenise import Tokeniser
from .vectors import WordVectors, read_word_vectors
from .vocab import BOS, EOS, PAD, UNK, Vocab

__all__ = [
    "BOS",
    "DATASETS",
    "EOS",
    "PAD",
    "UNK",
    "Batch",
    "BatchStream",
    "Batches",
    "Dataset",
    "Fetched",
    "LabelIndex",
    "LabelledTexts",
    "ParallelTexts",
    "RemoteFile",
    "Split",
    "Tokeniser",
    "Vocab",
    "WordVectors",
    "cache_dir",
    "check_classes",
    "fetch",
    "read_csv",
    "read_jsonl",
    "read_labelled",
    "read_parallel",
    "read_texts",
    "read_word_vectors",
    "sha256_of",
    "stratified_split",
]
