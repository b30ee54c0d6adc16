"""Parallel text for translation: two files, one sentence per line, line i of one translates line i of the other.

Both files are plain text or gzip (``.gz``, recognised by content), decoded strictly. Their line counts
must be equal (a final newline does not count as an extra line). A pair with an empty side (after
stripping white space) is skipped and counted, as the text readers do with empty texts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.errors import DataError, message
from .files import read_text, where


@dataclass
class ParallelTexts:
    """Sentence pairs: ``sources[i]`` translates to ``targets[i]``; both came from line ``lines[i]``."""

    sources: list[str]
    targets: list[str]
    src_path: str
    tgt_path: str
    lines: list[int] = field(default_factory=list)
    skipped_empty: int = 0
    skipped_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sources)


def _lines(path: str | os.PathLike, encoding: str) -> list[str]:
    text = read_text(path, encoding)
    if not text.strip():
        raise DataError(message(where(path), "one sentence per line", "an empty file"))
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")


def read_parallel(
    src_path: str | os.PathLike, tgt_path: str | os.PathLike, encoding: str = "utf-8"
) -> ParallelTexts:
    """Read two aligned files (plain or ``.gz``); refuse different line counts.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.de").write_text("Ein Hund.\\n\\nZwei Katzen.\\n")
    >>> _ = (d / "a.en").write_text("A dog.\\nNothing.\\nTwo cats.\\n")
    >>> p = read_parallel(d / "a.de", d / "a.en")
    >>> p.sources, p.targets, p.lines, p.skipped_lines
    (['Ein Hund.', 'Zwei Katzen.'], ['A dog.', 'Two cats.'], [1, 3], [2])
    """
    src, tgt = _lines(src_path, encoding), _lines(tgt_path, encoding)
    if len(src) != len(tgt):
        raise DataError(
            message(
                where(tgt_path),
                f"as many lines as {os.fspath(src_path)} ({len(src)})",
                len(tgt),
                "Parallel files pair line i with line i; check that they belong together.",
            )
        )
    sources: list[str] = []
    targets: list[str] = []
    lines: list[int] = []
    skipped: list[int] = []
    for i, (s, t) in enumerate(zip(src, tgt, strict=True), start=1):
        s, t = s.strip(), t.strip()
        if not s or not t:
            skipped.append(i)
            continue
        sources.append(s)
        targets.append(t)
        lines.append(i)
    if not sources:
        raise DataError(message(where(src_path), "at least one pair of non-empty lines", "none"))
    return ParallelTexts(
        sources, targets, os.fspath(src_path), os.fspath(tgt_path), lines, len(skipped), skipped
    )
