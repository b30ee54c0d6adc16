"""Class labels ↔ class ids, and the check that a data set has at least two classes.

Labels are ints or strings, as read from the file (:mod:`yetztml.data.readers`). Class ids are the
positions of the labels in sorted order (numbers numerically, strings by code point), so the mapping
depends only on the set of labels:

>>> index = LabelIndex.from_labels(["sarcastic", "plain", "sarcastic"])
>>> index.classes, index.encode(["plain", "sarcastic"]).tolist(), index.decode([1, 0])
(['plain', 'sarcastic'], [0, 1], ['sarcastic', 'plain'])
>>> check_classes([0, 1, 1, 0, 1])
{0: 2, 1: 3}
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.errors import CheckpointError, DataError, message

FORMAT = "yetztml-labels"
VERSION = 1


def check_classes(
    labels: Sequence[int | str], path: str | os.PathLike | None = None, minimum: int = 2
) -> dict[int | str, int]:
    """The count of each class, in sorted class order; a :class:`DataError` if fewer than ``minimum``.

    ``path`` names the file in the message (e.g. ``"h.csv: expected at least 2 classes, got 1 (every
    label is 0)"``).
    """
    counts = Counter(labels)
    if len(counts) < minimum:
        thing = os.fspath(path) if path is not None else "labels"
        if not counts:
            got = "no labels"
        elif len(counts) == 1:
            got = f"1 (every label is {next(iter(counts))!r})"
        else:
            got = f"{len(counts)} ({', '.join(repr(c) for c in sorted(counts))})"
        raise DataError(
            message(
                thing,
                f"at least {minimum} classes",
                got,
                "A classifier learns from examples of each class; check the label column.",
            )
        )
    return {c: counts[c] for c in sorted(counts)}


class LabelIndex:
    """Sorted distinct labels; ``encode`` gives class ids (int64), ``decode`` the labels back."""

    def __init__(self, classes: Sequence[int | str]) -> None:
        classes = [c.item() if isinstance(c, np.generic) else c for c in classes]
        kinds = {type(c) for c in classes}
        if not classes or not (kinds <= {int} or kinds <= {str}) or sorted(set(classes)) != classes:
            raise CheckpointError(
                message(
                    "LabelIndex(classes)", "distinct ints or distinct strings in sorted order", classes[:10]
                )
            )
        self.classes = classes
        self._ids = {c: i for i, c in enumerate(classes)}

    @classmethod
    def from_labels(cls, labels: Iterable[int | str]) -> LabelIndex:
        """The index of the distinct labels in ``labels``."""
        return cls(sorted(set(labels)))

    def __len__(self) -> int:
        return len(self.classes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelIndex) and self.classes == other.classes

    def __repr__(self) -> str:
        return f"LabelIndex({self.classes!r})"

    def encode(self, labels: Iterable[int | str], path: str | os.PathLike | None = None) -> np.ndarray:
        """Class ids of ``labels`` (int64); a label not in the index is a :class:`DataError`."""
        labels = [x.item() if isinstance(x, np.generic) else x for x in labels]
        try:
            return np.array([self._ids[label] for label in labels], dtype=np.int64)
        except KeyError as err:
            thing = os.fspath(path) if path is not None else "labels"
            raise DataError(
                message(
                    thing,
                    f"labels among {self.classes}",
                    repr(err.args[0]),
                    "Every class must occur in the training data.",
                )
            ) from err

    def decode(self, ids: Iterable[int]) -> list[int | str]:
        """Labels of class ids."""
        n = len(self.classes)
        out = []
        for i in ids:
            if not 0 <= int(i) < n:
                raise DataError(message("LabelIndex.decode(ids)", f"class ids in [0, {n})", int(i)))
            out.append(self.classes[int(i)])
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: format, version and the classes in id order."""
        return {"format": FORMAT, "version": VERSION, "classes": list(self.classes)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LabelIndex:
        """The index of :meth:`to_json`'s dict; another format or version is a :class:`CheckpointError`."""
        if not isinstance(obj, Mapping) or obj.get("format") != FORMAT or obj.get("version") != VERSION:
            got = (
                {k: obj.get(k) for k in ("format", "version")}
                if isinstance(obj, Mapping)
                else type(obj).__name__
            )
            raise CheckpointError(message("labels JSON", f"format {FORMAT!r} version {VERSION}", got))
        return cls(obj.get("classes") or [])
