"""Seeded stratified split of a labelled data set into training, validation and test parts.

For each class c (in sorted order) with n_c examples, with fractions (f_train, f_val, f_test):

    (SP1)  n_val,c  = ⌊n_c · f_val + ½⌋,   n_test,c = ⌊n_c · f_test + ½⌋   (rounded half up),
           n_train,c = n_c − n_val,c − n_test,c;
    (SP2)  the class's indices are permuted by ``rng.permutation``; the first n_val,c go to validation,
           the next n_test,c to test, the rest to training;
    (SP3)  each part is returned as sorted indices (file order), int64.

So every class keeps its proportion in every part up to one example, and the split depends only on the
labels, the fractions and the generator's state. For the 26,709 sarcasm headlines (14,985 class 0,
11,724 class 1) and the default 80/10/10: training 21,367 (11,987 + 9,380), validation 2,671
(1,499 + 1,172), test 2,671 (1,499 + 1,172).

>>> s = stratified_split([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], seed=0, fractions=(0.6, 0.2, 0.2))
>>> len(s.train), len(s.val), len(s.test)
(6, 2, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core.errors import OptionError, message
from ..core.rng import make_rng

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass
class Split:
    """Indices (int64, sorted) of the training, validation and test examples."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def stratified_split(
    labels: Sequence[int | str] | np.ndarray,
    seed: int | np.random.Generator,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> Split:
    """Split indices 0…N−1 by rules (SP1)–(SP3), stratified by ``labels``, seeded by ``seed``."""
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise OptionError(
            message("stratified_split(fractions)", "three non-negative numbers summing to 1", fractions)
        )
    rng = make_rng(seed)
    labels = list(labels)
    by_class: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in sorted(by_class):
        idx = np.array(by_class[label], dtype=np.int64)
        n = len(idx)
        n_val = int(np.floor(n * fractions[1] + 0.5))  # (SP1)
        n_test = min(int(np.floor(n * fractions[2] + 0.5)), n - n_val)  # (SP1)
        perm = idx[rng.permutation(n)]  # (SP2)
        parts[1].append(perm[:n_val])
        parts[2].append(perm[n_val : n_val + n_test])
        parts[0].append(perm[n_val + n_test :])
    train, val, test = (np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)  # (SP3)
    return Split(train=train, val=val, test=test)
