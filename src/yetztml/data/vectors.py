"""Pretrained word vectors in GloVe's text format, looked up for the tokens of a vocabulary.

Format: one word a line, then its ``dim`` numbers, separated by white space
(``the 0.418 0.24968 -0.41242 …``); plain or ``.gz``. A first line of exactly two integers (word2vec's
text header ``count dim``) is read as a header and its ``dim`` must match. A word that contains spaces
(GloVe 840B has a few) is everything before the last ``dim`` fields; the first vector line must have
exactly ``dim + 1`` fields, which catches a wrong ``dim``. When a word occurs twice its first vector is
used. The specials (``<pad>``, ``<unk>``, …) never receive a vector.

Rows of words without a vector are left 0 and marked False in ``found``: initialising them (e.g. like
the rest of the embedding) is the caller's choice.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import DataError, message
from ..core.validation import check_int
from .files import GZIP_MAGIC, where
from .vocab import Vocab


@dataclass
class WordVectors:
    """``matrix`` (V, dim): row i is the vector of vocabulary id i where ``found[i]`` (V,) is True, else 0."""

    matrix: np.ndarray
    found: np.ndarray
    path: str

    @property
    def found_count(self) -> int:
        """How many vocabulary tokens received a vector."""
        return int(np.count_nonzero(self.found))


def _byte_lines(path: str | os.PathLike) -> Iterator[bytes]:
    p = Path(path)
    if not p.is_file():
        raise DataError(message(where(path), "an existing file", "no such file", "Check the path."))
    with open(p, "rb") as raw:
        gz = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if gz else open
    with opener(p, "rb") as f:
        try:
            yield from f
        except (OSError, EOFError) as err:
            raise DataError(message(where(path), "a complete gzip file", f"a damaged one ({err})")) from err


def read_word_vectors(
    path: str | os.PathLike,
    vocab: Vocab,
    dim: int,
    *,
    dtype: np.dtype | type = np.float32,
    encoding: str = "utf-8",
) -> WordVectors:
    """Vectors of ``vocab``'s tokens from a GloVe-format text file (rules in the module docstring)."""
    dim = check_int("read_word_vectors(dim)", dim, minimum=1)
    matrix = np.zeros((len(vocab), dim), dtype=dtype)
    found = np.zeros(len(vocab), dtype=bool)
    first = True
    for line, raw in enumerate(_byte_lines(path), start=1):
        parts = raw.split()
        if not parts:
            continue
        if first and line == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            if int(parts[1]) != dim:
                raise DataError(
                    message(
                        where(path, 1),
                        f"vectors of dimension {dim}",
                        f"a header saying {int(parts[1])}",
                        f"Pass dim={int(parts[1])}.",
                    )
                )
            continue
        if len(parts) < dim + 1 or (first and len(parts) != dim + 1):
            raise DataError(
                message(
                    where(path, line),
                    f"a word and {dim} numbers",
                    f"{len(parts)} fields",
                    f"Pass the file's dimension as dim (this line suggests {len(parts) - 1}).",
                )
            )
        first = False
        try:
            word = b" ".join(parts[:-dim]).decode(encoding)
        except UnicodeDecodeError as err:
            raise DataError(message(where(path, line), f"{encoding} text", "undecodable bytes")) from err
        if word not in vocab:
            continue
        i = vocab[word]
        if i < vocab.num_specials or found[i]:
            continue
        try:
            vector = np.array(parts[-dim:], dtype=np.float64)
        except ValueError as err:
            raise DataError(message(where(path, line), f"{dim} numbers after the word", str(err))) from err
        if not np.all(np.isfinite(vector)):
            raise DataError(message(where(path, line), "finite numbers", "NaN or inf"))
        matrix[i] = vector
        found[i] = True
    return WordVectors(matrix=matrix, found=found, path=os.fspath(path))
