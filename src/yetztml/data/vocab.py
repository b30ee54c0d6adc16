"""The vocabulary: tokens ↔ integer ids, built from token lists by fixed rules, stored as JSON.

Rules of :meth:`Vocab.build`:

    (V1)  ids 0 and 1 are the specials ``<pad>`` (padding) and ``<unk>`` (any token not in the
          vocabulary); with ``bos_eos=True``, ids 2 and 3 are ``<bos>`` and ``<eos>`` (begin and end of a
          sentence, for translation).
    (V2)  a token enters if it occurs at least ``min_freq`` times in the token lists (specials never
          enter as words);
    (V3)  entries are ordered by frequency, highest first; ties by the token itself (code-point order),
          so the result depends only on the counts, never on the order of the texts;
    (V4)  ``max_size`` (optional) caps the *whole* vocabulary, specials included: the embedding matrix
          has at most ``max_size`` rows.

:meth:`Vocab.encode` maps unknown tokens to 1; :meth:`Vocab.decode` drops ``<pad>`` and ``<bos>`` and
stops at the first ``<eos>``.

>>> v = Vocab.build([["b", "a", "c"], ["a", "c", "d"]], min_freq=1)
>>> v.tokens
['<pad>', '<unk>', 'a', 'c', 'b', 'd']
>>> v.encode(["a", "zebra", "d"]).tolist()
[2, 1, 5]
>>> Vocab.build([["b", "a", "c"], ["a", "c", "d"]], min_freq=2, bos_eos=True).tokens
['<pad>', '<unk>', '<bos>', '<eos>', 'a', 'c']
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import CheckpointError, OptionError, message
from ..core.validation import check_int

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
FORMAT = "yetztml-vocab"
VERSION = 1


class Vocab:
    """A token ↔ id table whose first entries are the specials of rule (V1).

    Build one with :meth:`build`; ``Vocab(tokens)`` takes the full id-ordered list (specials first).
    ``vocab[token]`` is the token's id (1 for an unknown token), ``token in vocab`` whether it has one,
    ``len(vocab)`` the number of ids.
    """

    def __init__(self, tokens: Sequence[str], *, min_freq: int = 1, max_size: int | None = None) -> None:
        tokens = list(tokens)
        bos_eos = tokens[2:4] == [BOS, EOS]
        specials = [PAD, UNK, BOS, EOS] if bos_eos else [PAD, UNK]
        if tokens[: len(specials)] != specials:
            raise CheckpointError(message("Vocab(tokens)", f"a list starting {specials}", tokens[:4]))
        if len(set(tokens)) != len(tokens) or not all(isinstance(t, str) for t in tokens):
            raise CheckpointError(message("Vocab(tokens)", "distinct strings", "duplicates or non-strings"))
        self._tokens = tokens
        self._ids = {t: i for i, t in enumerate(tokens)}
        self.bos_eos = bos_eos
        self.num_specials = len(specials)
        self.min_freq = min_freq
        self.max_size = max_size

    # -- building -----------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        bos_eos: bool = False,
    ) -> Vocab:
        """Count the tokens of ``token_lists`` and keep them by rules (V1)–(V4)."""
        min_freq = check_int("Vocab.build(min_freq)", min_freq, minimum=1)
        specials = [PAD, UNK, BOS, EOS] if bos_eos else [PAD, UNK]
        if max_size is not None:
            max_size = check_int("Vocab.build(max_size)", max_size, minimum=len(specials))
        counts = Counter(itertools.chain.from_iterable(token_lists))
        kept = [(-c, t) for t, c in counts.items() if c >= min_freq and t not in specials]  # (V2)
        kept.sort()  # (V3) frequency descending, then token
        if max_size is not None:
            kept = kept[: max_size - len(specials)]  # (V4)
        return cls(specials + [t for _, t in kept], min_freq=min_freq, max_size=max_size)  # (V1)

    # -- lookup ---------------------------------------------------------------------------------------
    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a copy)."""
        return list(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __getitem__(self, token: str) -> int:
        return self._ids.get(token, UNK_ID)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._tokens == other._tokens

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, bos_eos={self.bos_eos})"

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    @property
    def bos_id(self) -> int | None:
        return BOS_ID if self.bos_eos else None

    @property
    def eos_id(self) -> int | None:
        return EOS_ID if self.bos_eos else None

    def encode(self, tokens: Sequence[str], *, bos: bool = False, eos: bool = False) -> np.ndarray:
        """Ids of ``tokens`` as int64 (unknown → 1), with ``<bos>`` first / ``<eos>`` last if asked."""
        if (bos or eos) and not self.bos_eos:
            raise OptionError(
                message(
                    "Vocab.encode(bos/eos)",
                    "a vocabulary with <bos>/<eos>",
                    "one without",
                    "Build it with bos_eos=True.",
                )
            )
        ids = [self._ids.get(t, UNK_ID) for t in tokens]
        if bos:
            ids.insert(0, BOS_ID)
        if eos:
            ids.append(EOS_ID)
        return np.array(ids, dtype=np.int64)

    def encode_all(
        self, token_lists: Iterable[Sequence[str]], *, bos: bool = False, eos: bool = False
    ) -> list[np.ndarray]:
        """:meth:`encode` of each token list."""
        return [self.encode(tokens, bos=bos, eos=eos) for tokens in token_lists]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``: ``<pad>`` and ``<bos>`` dropped, cut at the first ``<eos>``."""
        out: list[str] = []
        n = len(self._tokens)
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise OptionError(message("Vocab.decode(ids)", f"ids in [0, {n})", i))
            if self.bos_eos and i == EOS_ID:
                break
            if i == PAD_ID or (self.bos_eos and i == BOS_ID):
                continue
            out.append(self._tokens[i])
        return out

    # -- files ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (format, version, the build options, the tokens in id order)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "min_freq": self.min_freq,
            "max_size": self.max_size,
            "tokens": list(self._tokens),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Vocab:
        """The vocabulary of :meth:`to_json`'s dict; another format or version is a :class:`CheckpointError`."""
        if not isinstance(obj, Mapping) or obj.get("format") != FORMAT:
            got = repr(obj.get("format")) if isinstance(obj, Mapping) else type(obj).__name__
            raise CheckpointError(message("vocabulary JSON 'format'", repr(FORMAT), got))
        if obj.get("version") != VERSION:
            raise CheckpointError(
                message(
                    "vocabulary JSON 'version'",
                    VERSION,
                    repr(obj.get("version")),
                    "It was written by another version of yetztml.",
                )
            )
        tokens = obj.get("tokens")
        if not isinstance(tokens, list):
            raise CheckpointError(
                message("vocabulary JSON 'tokens'", "a list of strings", type(tokens).__name__)
            )
        return cls(tokens, min_freq=obj.get("min_freq", 1), max_size=obj.get("max_size"))

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8 JSON)."""
        Path(path).write_text(
            json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a file written by :meth:`save`; a missing or damaged file is a :class:`CheckpointError`."""
        try:
            obj = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(
                message(os.fspath(path), "a vocabulary JSON file", f"{type(err).__name__}: {err}")
            ) from err
        return cls.from_json(obj)
