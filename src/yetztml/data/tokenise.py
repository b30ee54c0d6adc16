"""The tokeniser: a text becomes a list of tokens by fixed, documented rules (no model, no randomness).

Rules, applied in this order:

    (TK1)  Unicode NFC normalisation: a letter followed by a combining accent becomes the composed letter
          ("e" + U+0301 → "é"), so that the two spellings give one token.
    (TK2)  The typographic apostrophes ’ (U+2019) and ʼ (U+02BC) become ' (U+0027).
    (TK3)  ``lowercase=True`` (default): ``str.lower()``.
    (TK4)  mode ``"words"`` (default): tokens are, left to right,
            - a word: a maximal run of word characters (letters, digits, underscore: Python's Unicode
              ``\\w``), where single apostrophes *between* word characters stay inside the word
              ("son's", "rock'n'roll", "o'brien", "don't");
            - any other character that is not white space, alone: punctuation and symbols ("," "-" "$"
              "'" "🙂"); so an apostrophe that opens or closes a quotation is a token of its own.
          White space only separates. Numbers split at their punctuation ("3.5" → "3" "." "5").
          mode ``"whitespace"``: tokens are the white-space-separated pieces, nothing else is split (for
          text tokenised already, e.g. Multi30k's ``tok/`` files).
    (TK5)  mode ``"clitics"``: the words of (TK4), then an English clitic that ends a word becomes a token of
          its own (the Penn Treebank's convention): ``'s``, ``'re``, ``'ve``, ``'ll``, ``'d``, ``'m`` after an
          apostrophe, and ``n't`` ("son's" → "son" "'s", "isn't" → "is" "n't", "can't" → "ca" "n't"); only
          the last one of a word, and only when something stays before it ("'s" alone is left as it is). So a
          name and its possessive share the name's token.

Every non-space character of a text belongs to exactly one token in mode "words", so a text with any
non-space character has at least one token.

>>> Tokeniser()("The 'Roseanne' revival: mom's web-series, 2.0!")
['the', "'", 'roseanne', "'", 'revival', ':', "mom's", 'web', '-', 'series', ',', '2', '.', '0', '!']
>>> Tokeniser(lowercase=False, mode="whitespace")("A man &apos;s  dog .")
['A', 'man', '&apos;s', 'dog', '.']
>>> Tokeniser(mode="clitics")("Trump's wall isn't done, o'brien's we'd")
['trump', "'s", 'wall', 'is', "n't", 'done', ',', "o'brien", "'s", 'we', "'d"]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.errors import CheckpointError, DTypeError, message
from ..core.validation import check_choice

MODES = ("words", "whitespace", "clitics")
WORD_OR_SYMBOL = re.compile(r"\w+(?:'\w+)*|[^\w\s]")  # (TK4)
CLITIC = re.compile(r"(\w.*?)(n't|'s|'re|'ve|'ll|'d|'m)")  # (TK5), matched against a whole word
APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})  # (TK2)


def _split_clitic(word: str) -> tuple[str, ...]:
    """(TK5): (stem, clitic) when ``word`` ends in an English clitic after at least one word character, else
    (word,). The lazy stem leaves the clitic as long as it can be: "isn't" splits at "n't", not at "'t"."""
    found = CLITIC.fullmatch(word)
    return (found.group(1), found.group(2)) if found else (word,)


class Tokeniser:
    """Split texts into tokens by rules (TK1)–(TK5) of this module; see its docstring for the examples."""

    def __init__(self, lowercase: bool = True, mode: str = "words") -> None:
        if not isinstance(lowercase, bool):
            raise DTypeError(message("Tokeniser(lowercase)", "True or False", repr(lowercase)))
        self.lowercase = lowercase
        self.mode = str(check_choice("Tokeniser(mode)", mode, MODES))

    def __call__(self, text: str) -> list[str]:
        """The tokens of one text."""
        text = unicodedata.normalize("NFC", text).translate(APOSTROPHES)  # (TK1) (TK2)
        if self.lowercase:
            text = text.lower()  # (TK3)
        if self.mode == "words":
            return WORD_OR_SYMBOL.findall(text)  # (TK4)
        if self.mode == "clitics":
            return [piece for word in WORD_OR_SYMBOL.findall(text) for piece in _split_clitic(word)]  # (TK5)
        return text.split()  # (TK4) whitespace

    def tokenise(self, texts: Iterable[str]) -> list[list[str]]:
        """The tokens of each text, in order."""
        return [self(text) for text in texts]

    def __repr__(self) -> str:
        return f"Tokeniser(lowercase={self.lowercase}, mode={self.mode!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokeniser) and self.to_json() == other.to_json()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``{"lowercase": true, "mode": "words"}``) that :meth:`from_json` reads."""
        return {"lowercase": self.lowercase, "mode": self.mode}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Tokeniser:
        """The tokeniser described by :meth:`to_json`'s dict; anything else is a :class:`CheckpointError`."""
        if not isinstance(obj, Mapping) or set(obj) != {"lowercase", "mode"}:
            got = sorted(obj) if isinstance(obj, Mapping) else type(obj).__name__
            raise CheckpointError(message("tokeniser JSON", "keys ['lowercase', 'mode']", got))
        if obj["mode"] not in MODES or not isinstance(obj["lowercase"], bool):
            raise CheckpointError(
                message("tokeniser JSON", f"mode one of {MODES} and lowercase a bool", dict(obj))
            )
        return cls(lowercase=obj["lowercase"], mode=obj["mode"])
