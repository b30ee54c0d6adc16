"""Readers of labelled texts: CSV/TSV with chosen columns, JSON lines with chosen keys, one dispatcher.

Formats (see ``docs/text-data.md``):

* **CSV / TSV** — a header line naming the columns, then one row per example; quoting as in RFC 4180
  (Python's :mod:`csv`). The delimiter is ``delimiter`` when given, else ``\\t`` for ``.tsv``/``.tab``,
  ``,`` for ``.csv`` (also under ``.gz``), else sniffed from the first lines among ``, \\t ; |``.
* **JSON lines** — one object per line, e.g. the original sarcasm release
  ``{"is_sarcastic": 0, "headline": "...", "article_link": "..."}``; other keys are ignored.

Rules shared by both: blank lines are ignored; texts are stripped of surrounding white space, and an
example whose text is then empty is skipped and counted (``skipped_empty``, ``skipped_lines``); a missing
or empty label is an error. Labels keep the file's type: in a CSV, if every label is an integer literal
(``0``, ``-1``, ``+2``) all become ``int``, otherwise all stay ``str``; in JSON lines, numbers are ``int``
(``true``/``false`` → 1/0) and strings stay ``str``, and a file mixing the two is refused. Every error
is one :class:`~yetztml.core.errors.DataError` line naming the file, the line and what was expected.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import DataError, message
from .files import decode, read_text, where

INT_LABEL = re.compile(r"[+-]?\d+\Z")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
SNIFF_DELIMITERS = ",\t;|"


@dataclass
class LabelledTexts:
    """Texts and their labels as read from one file.

    ``texts[i]`` has label ``labels[i]`` and came from line ``lines[i]`` (1-based, where its row starts).
    ``skipped_empty`` examples had an empty text and were left out; ``skipped_lines`` says where.
    """

    texts: list[str]
    labels: list[int] | list[str]
    path: str
    lines: list[int] = field(default_factory=list)
    skipped_empty: int = 0
    skipped_lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def classes(self) -> list[int] | list[str]:
        """The distinct labels, sorted (numbers numerically, strings by code point)."""
        return sorted(set(self.labels))

    def subset(self, index: Iterable[int], what: str) -> LabelledTexts:
        """The examples at ``index``, in its order; the path says ``what`` they are ("validation split")."""
        index = list(index)
        return LabelledTexts([self.texts[i] for i in index], [self.labels[i] for i in index], f"{self.path} ({what})")


class _Kept:
    """The texts a reader keeps, with their labels and lines, and the lines it skips as empty."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.labels: list[Any] = []
        self.lines: list[int] = []
        self.skipped: list[int] = []

    def add(self, line: int, body: str, label: object = None) -> None:
        """Keep ``body`` (already stripped) from ``line`` with ``label`` (None: unlabelled); skip it if empty."""
        if not body:
            self.skipped.append(line)
            return
        self.texts.append(body)
        if label is not None:
            self.labels.append(label)
        self.lines.append(line)

    def result(self, path: str | os.PathLike, labels: list[Any] | None = None) -> LabelledTexts:
        labels = self.labels if labels is None else labels
        return LabelledTexts(self.texts, labels, os.fspath(path), self.lines, len(self.skipped), self.skipped)


def _suffix(path: str | os.PathLike) -> str:
    """The extension that names the format, looking through a final ``.gz``."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _require_content(text: str, path: str | os.PathLike, what: str) -> None:
    if not text.strip():
        raise DataError(
            message(where(path), what, "an empty file", "Check that the path names the data file.")
        )


# -- CSV / TSV ----------------------------------------------------------------------------------------
def _delimiter(path: str | os.PathLike, text: str) -> str:
    known = CSV_SUFFIXES.get(_suffix(path))
    if known is not None:
        return known
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        return "\t" if "\t" in sample.split("\n", 1)[0] else ","


def _column(header: list[str], name: str, role: str, path: str | os.PathLike, delimiter: str) -> int:
    if header.count(name) == 1:
        return header.index(name)
    present = ", ".join(repr(h) for h in header)
    if header.count(name) > 1:
        raise DataError(message(where(path, 1), f"one column named {name!r}", f"{header.count(name)}"))
    fix = f"Choose the {role} column from the columns present."
    if len(header) == 1:
        fix += f" The header has one column: if the file is not separated by {delimiter!r}, pass delimiter."
    raise DataError(message(where(path), f"a {role} column {name!r}", f"columns {present}", fix))


def _int_labels(labels: list[str]) -> list[int] | list[str]:
    if labels and all(INT_LABEL.match(label) for label in labels):
        return [int(label) for label in labels]
    return labels


def parse_csv(
    text: str,
    path: str | os.PathLike,
    text_column: str,
    label_column: str | None,
    delimiter: str | None = None,
) -> LabelledTexts:
    """Parse CSV/TSV ``text`` (already read from ``path``, which only names it in errors).

    ``label_column=None`` reads texts alone (``labels`` stays empty)."""
    _require_content(text, path, "a header line and at least one row")
    delimiter = delimiter or _delimiter(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    kept = _Kept()
    header: list[str] | None = None
    rows = 0
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row:
                continue
            if header is None:
                header = [name.strip() for name in row]
                ti = _column(header, text_column, "text", path, delimiter)
                li = None if label_column is None else _column(header, label_column, "label", path, delimiter)
                continue
            rows += 1
            if len(row) != len(header):
                raise DataError(
                    message(
                        where(path, line),
                        f"{len(header)} fields separated by {delimiter!r} (as in the header)",
                        len(row),
                        "Quote fields that contain the delimiter.",
                    )
                )
            label = row[li].strip() if li is not None else None
            if label == "":
                raise DataError(
                    message(where(path, line), f"a label in column {label_column!r}", "an empty field")
                )
            kept.add(line, row[ti].strip(), label)
    except csv.Error as err:
        raise DataError(message(where(path, reader.line_num), "well-formed CSV", str(err))) from err
    if rows == 0:
        raise DataError(message(where(path), "at least one row after the header", "only the header"))
    if not kept.texts:
        raise DataError(message(where(path), "at least one non-empty text", f"{rows} rows, all texts empty"))
    return kept.result(path, _int_labels(kept.labels))


def read_csv(
    path: str | os.PathLike,
    text_column: str,
    label_column: str,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> LabelledTexts:
    """Read a CSV or TSV file (optionally ``.gz``) with a header; the columns are chosen by name.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.csv"
    >>> _ = p.write_text('is_sarcastic,text\\n1,"dog, again"\\n0,  \\n0,news\\n')
    >>> d = read_csv(p, "text", "is_sarcastic")
    >>> d.texts, d.labels, d.lines, d.skipped_empty, d.skipped_lines
    (['dog, again', 'news'], [1, 0], [2, 4], 1, [3])
    """
    return parse_csv(read_text(path, encoding), path, text_column, label_column, delimiter)


# -- JSON lines -----------------------------------------------------------------------------------------
def _json_label(value: object, line: int, path: str | os.PathLike, key: str) -> int | str:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise DataError(
        message(where(path, line), f"a label under {key!r} (an integer or a string)", repr(value))
    )


def parse_jsonl(text: str, path: str | os.PathLike, text_key: str, label_key: str | None) -> LabelledTexts:
    """Parse JSON-lines ``text`` (already read from ``path``, which only names it in errors).

    ``label_key=None`` reads texts alone (``labels`` stays empty)."""
    _require_content(text, path, "one JSON object per line")
    if text.lstrip()[:1] == "[":
        raise DataError(
            message(
                where(path),
                "one JSON object per line (JSON lines)",
                "a JSON array",
                "Write one object a line.",
            )
        )
    kept = _Kept()
    first_type: tuple[type, int] | None = None
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            got = f"invalid JSON ({err.msg} at column {err.colno})"
            raise DataError(message(where(path, line), "one JSON object per line", got)) from err
        if not isinstance(obj, dict):
            raise DataError(message(where(path, line), "one JSON object per line", type(obj).__name__))
        for key in (text_key,) if label_key is None else (text_key, label_key):
            if key not in obj:
                present = ", ".join(repr(k) for k in obj)
                raise DataError(
                    message(
                        where(path, line),
                        f"a key {key!r}",
                        f"keys {present}",
                        "Choose one of the keys present.",
                    )
                )
        label = None if label_key is None else _json_label(obj[label_key], line, path, label_key)
        if label is not None and first_type is None:
            first_type = (type(label), line)
        elif label is not None and type(label) is not first_type[0]:
            kind = "an integer" if first_type[0] is int else "a string"
            expected = f"{kind} label, as on line {first_type[1]}"
            raise DataError(
                message(where(path, line), expected, repr(label), "Use one label type in a file.")
            )
        body = obj[text_key]
        if body is not None and not isinstance(body, str):
            raise DataError(message(where(path, line), f"a string under {text_key!r}", type(body).__name__))
        kept.add(line, (body or "").strip(), label)
    if not kept.texts:
        raise DataError(message(where(path), "at least one non-empty text", f"{len(kept.skipped)} empty texts"))
    return kept.result(path)


def read_jsonl(
    path: str | os.PathLike, text_key: str, label_key: str, encoding: str = "utf-8"
) -> LabelledTexts:
    """Read a JSON-lines file (optionally ``.gz``): one object per line, text and label under the keys given.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "h.json"
    >>> _ = p.write_text('{"is_sarcastic": 1, "headline": "dog again", "article_link": "x"}\\n')
    >>> d = read_jsonl(p, "headline", "is_sarcastic")
    >>> d.texts, d.labels
    (['dog again'], [1])
    """
    return parse_jsonl(read_text(path, encoding), path, text_key, label_key)


# -- either -------------------------------------------------------------------------------------------------
def read_labelled(
    path: str | os.PathLike,
    *,
    text_column: str,
    label_column: str,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> LabelledTexts:
    """Read labelled texts from CSV/TSV or JSON lines, chosen by extension, else by content.

    ``.jsonl``, ``.ndjson``, ``.json`` → JSON lines (``text_column``/``label_column`` are the keys);
    ``.csv``, ``.tsv``, ``.tab`` → CSV/TSV; any other name → JSON lines if the first non-blank character
    is ``{``, else CSV with a sniffed delimiter. A final ``.gz`` is looked through.
    """
    text = read_text(path, encoding)
    suffix = _suffix(path)
    if suffix in JSONL_SUFFIXES or (suffix not in CSV_SUFFIXES and text.lstrip()[:1] == "{"):
        return parse_jsonl(text, path, text_column, label_column)
    return parse_csv(text, path, text_column, label_column, delimiter)


def read_texts(
    path: str | os.PathLike,
    text_column: str | None = None,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
) -> LabelledTexts:
    """Texts without labels (for prediction): ``labels`` is empty, empty texts are skipped and counted.

    ``text_column=None``: plain text, one text a line (``path`` ``"-"`` reads standard input); otherwise
    the column (CSV/TSV) or key (JSON lines) of that name, the format chosen as in :func:`read_labelled`.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "new.txt"
    >>> _ = p.write_text("dog sues mom\\n\\n  area man wins  \\n")
    >>> d = read_texts(p)
    >>> d.texts, d.labels, d.lines, d.skipped_lines
    (['dog sues mom', 'area man wins'], [], [1, 3], [2])
    """
    if os.fspath(path) == "-":
        text = decode(sys.stdin.buffer.read(), "<stdin>", encoding)
        path = "<stdin>"
    else:
        text = read_text(path, encoding)
    if text_column is None:
        _require_content(text, path, "one text per line")
        kept = _Kept()
        for line, raw in enumerate(text.splitlines(), start=1):
            kept.add(line, raw.strip())
        return kept.result(path)
    suffix = _suffix(path)
    if suffix in JSONL_SUFFIXES or (suffix not in CSV_SUFFIXES and text.lstrip()[:1] == "{"):
        return parse_jsonl(text, path, text_column, None)
    return parse_csv(text, path, text_column, None, delimiter)
