"""Reading a data file as text: plain or gzip-compressed, decoded strictly, errors naming file and line.

Every reader of :mod:`yetztml.data` goes through :func:`read_text`, so that a missing file, a broken
``.gz`` archive and undecodable bytes produce the same one-line :class:`~yetztml.core.errors.DataError`,
``"<file>, line <n>: expected <encoding> text, got undecodable bytes b'\\xe9'. <fix>"``.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

from ..core.errors import DataError, message

GZIP_MAGIC = b"\x1f\x8b"


def where(path: str | os.PathLike, line: int | None = None) -> str:
    """The ``thing`` of an error message: ``"data.csv"`` or ``"data.csv, line 7"``."""
    return f"{os.fspath(path)}, line {line}" if line is not None else os.fspath(path)


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed when it is gzip (by its first two bytes, whatever its name)."""
    p = Path(path)
    if not p.is_file():
        got = "a directory" if p.is_dir() else "no such file"
        raise DataError(message(where(path), "an existing file", got, "Check the path."))
    data = p.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(
                message(where(path), "a complete gzip file", f"a damaged one ({err})", "Download it again.")
            ) from err
    return data


def decode(data: bytes, path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """Decode ``data`` strictly (a UTF-8 byte-order mark is dropped); bad bytes name their line."""
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(
            message(
                where(path, line),
                f"{encoding} text",
                f"undecodable bytes {data[err.start : err.end]!r}",
                "Convert the file (e.g. `iconv -f latin1 -t utf-8`) or pass its encoding.",
            )
        ) from err
    except LookupError as err:
        raise DataError(message("encoding", "a codec Python knows", repr(encoding))) from err


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The whole file as one string (gzip handled, strict decoding, errors name the file and line)."""
    return decode(read_bytes(path), path, encoding)
