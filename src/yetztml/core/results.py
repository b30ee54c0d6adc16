"""Results are data: JSON files with configuration, seed, versions, metrics and timings."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


def versions() -> dict[str, str]:
    """Versions of Python and of the numerical packages a result depends on."""
    import numba

    from .. import __version__

    return {
        "yetztml": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
    }


def _default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"result JSON: cannot serialise {type(obj).__name__}")


def create_beside(path: str | os.PathLike) -> tuple[int, str]:
    """Create a new, empty temporary file in the folder of ``path`` and open it for writing: ``(fd, name)``.

    The file is made with ``os.open(..., 0o666)``, so that it gets the permissions of any other new file
    (the process's umask applies: 0644 under the usual 022), not ``mkstemp``'s 0600; the name is hidden
    (``.NAME.<random>.tmp``) and new (``O_EXCL``).
    """
    path = Path(path)
    while True:
        name = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue


def write_atomic(path: str | os.PathLike, write: Callable[[IO[Any]], object], binary: bool = False) -> None:
    """Replace ``path`` atomically by what ``write(handle)`` writes: into a temporary file beside ``path``
    (:func:`create_beside`), synced to disk, then renamed over ``path``. Whatever fails, the temporary file
    is removed and an earlier ``path`` is left as it was."""
    fd, tmp = create_beside(path)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON atomically (:func:`write_atomic`): the text is made first (a value that
    is not JSON fails before any file is touched)."""
    path = Path(path)
    text = json.dumps(data, indent=2, default=_default) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda fh: fh.write(text))
    return path


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a result JSON file."""
    with open(path) as fh:
        return json.load(fh)
