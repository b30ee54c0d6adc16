"""Checks of the command line's paths, seeds and counts, made before any work starts and any file is written.

Each check raises the catalogue's :class:`~yetztml.core.errors.OptionError` naming the option, what was
expected and the fix; ``yetztml`` prints it as one line and exits with status 2. Nothing here creates a
file or a folder: a path is usable when it (or the nearest folder above it that exists) is a writable
folder and nothing on the way is a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import OptionError, message
from ..core.validation import check_seed


def _nearest_existing(path: Path) -> Path:
    """The path itself or the nearest ancestor that exists (``.`` for a relative path with none)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _named(value: object) -> str:
    return repr(value) if value == "" else repr(str(value))


def _writable_under(option: str, value: object, folder: Path) -> None:
    """``folder`` exists as a writable folder or can be made: no file on the way, its nearest folder writable."""
    found = _nearest_existing(folder)
    if not found.is_dir():
        raise OptionError(message(option, "a path under a folder", f"{_named(value)}, under the file "
                                  f"{str(found)!r}", f"Choose another {option}."))
    if not os.access(found, os.W_OK | os.X_OK):
        raise OptionError(message(option, "a path in a folder yetztml may write in", f"{_named(value)} "
                                  f"({str(found)!r} is not writable)",
                                  f"Choose another {option}, or change the folder's permissions."))


def out_folder(option: str, value: object) -> Path:
    """A folder to write results into: an existing folder or a path where one can be made."""
    if value is None or str(value).strip() == "":
        raise OptionError(message(option, "a folder name", _named(value), f"Give {option} DIR."))
    path = Path(str(value))
    if path.exists() and not path.is_dir():
        raise OptionError(message(option, "a folder (or a path where one can be made)", f"{_named(value)}, "
                                  "an existing file", f"Choose another {option}."))
    _writable_under(option, value, path)
    return path


def folder(option: str, value: object) -> Path:
    """A folder that is read if it exists (a cache): a non-empty path, not a file and not under one."""
    if value is None or str(value).strip() == "":
        raise OptionError(message(option, "a folder name", _named(value), f"Give {option} DIR."))
    path = Path(str(value))
    found = _nearest_existing(path)
    if not found.is_dir():
        where = "an existing file" if found == path else f"under the file {str(found)!r}"
        raise OptionError(message(option, "a folder", f"{_named(value)}, {where}", f"Choose another {option}."))
    return path


def in_file(option: str, value: object, stdin: bool = False) -> Path:
    """A file to read: it exists, is a file (not a folder), may be read and is not empty (``-``, standard
    input, when ``stdin``)."""
    if value is None or str(value).strip() == "":
        raise OptionError(message(option, "a file name", _named(value), f"Give {option} PATH."))
    path = Path(str(value))
    if stdin and str(value) == "-":
        return path
    if path.is_dir():
        raise OptionError(message(option, "a file", f"{_named(value)}, a folder", "Name a file in it."))
    if not path.is_file():
        raise OptionError(message(option, "an existing file", f"{_named(value)} (no such file)", "Check the path."))
    if not os.access(path, os.R_OK):
        raise OptionError(message(option, "a file yetztml may read", f"{_named(value)} (not readable)",
                                  "Check the file's permissions."))
    if path.stat().st_size == 0:
        raise OptionError(message(option, "a file holding data", f"{_named(value)}, an empty file",
                                  "Check that the path names the data file."))
    return path


def in_folder(option: str, value: object, what: str = "an existing folder") -> Path:
    """A folder to read from: it exists and is a folder."""
    if value is None or str(value).strip() == "":
        raise OptionError(message(option, "a folder name", _named(value), f"Give {option} DIR."))
    path = Path(str(value))
    if not path.is_dir():
        got = "a file" if path.exists() else "no such folder"
        raise OptionError(message(option, what, f"{_named(value)} ({got})", "Check the path."))
    return path


def out_file(option: str, value: object) -> Path:
    """A file to write: not a folder, in a folder that exists or can be made and may be written."""
    if value is None or str(value).strip() == "":
        raise OptionError(message(option, "a file name", _named(value), f"Give {option} PATH."))
    path = Path(str(value))
    if path.is_dir() or str(value).endswith(os.sep):
        raise OptionError(message(option, "a file path", f"{_named(value)}, a folder",
                                  f"Name a file, e.g. {option} {path / 'result.json'}."))
    if path.exists() and not os.access(path, os.W_OK):
        raise OptionError(message(option, "a file yetztml may write", f"{_named(value)} (read-only)",
                                  f"Choose another {option}."))
    _writable_under(option, value, path.parent)
    return path


def seed(option: str, value: object) -> int:
    """A seed NumPy accepts: an integer >= 0."""
    return check_seed(option, value)


def count(option: str, value: int | None, minimum: int, none_means: str | None = None) -> int | None:
    """An integer option >= ``minimum`` (``None`` allowed when it means a default, described by ``none_means``)."""
    if value is None and none_means is not None:
        return None
    if value is None or value < minimum:
        raise OptionError(message(option, f"an integer >= {minimum}", value))
    return value
