"""Training checkpoints: one ``.npz`` file written atomically, readable without pickle.

Layout of the file (NumPy ``savez``; every entry an array, so ``np.load(..., allow_pickle=False)`` reads it):

* ``meta`` — a 0-d unicode array holding JSON: ``format`` ("yetztml-checkpoint"), ``version``, the run's
  ``fingerprint`` (what must match to resume), the trainer's ``clock`` counters, ``base_lr``, the
  trainer's random generator state, the data source's state (``get_state()``), the optimiser's
  hyperparameters and step count, and ``arrays``: which entry holds which array;
* ``history`` — the loss of every completed step, float64;
* ``a0``, ``a1``, … — the cell's parameters and the optimiser's buffers, named in ``meta["arrays"]``.

A write goes to a temporary file in the same directory, is flushed to disk, then renamed over the old
checkpoint with ``os.replace``: a run killed at any moment leaves either the previous checkpoint or the
new one, never a partial file. States that are not JSON (ndarrays, tuples, NumPy scalars) are tagged and
restored to their types.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np

from ..core.errors import CheckpointError, message
from ..core.results import write_atomic

FORMAT = "yetztml-checkpoint"
VERSION = 1


def _encode(value: Any) -> Any:
    """JSON-ready form of a state: ndarrays and tuples are tagged, NumPy scalars become Python numbers."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CheckpointError(message("checkpoint state", "dicts with string keys", list(value)))
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(
        message(
            "checkpoint state",
            "numbers, strings, lists, dicts, tuples or ndarrays",
            type(value).__name__,
            "Make get_state() return plain data.",
        )
    )


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=value["dtype"]).reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def save(
    path: str | os.PathLike,
    params: dict[str, np.ndarray],
    optimiser: dict[str, Any],
    history: list[float],
    meta: dict[str, Any],
) -> None:
    """Write a checkpoint atomically (temporary file + ``os.replace``)."""
    arrays: dict[str, np.ndarray] = {}
    index: dict[str, Any] = {"params": {}, "optimiser": {}}
    for key, value in params.items():
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        index["params"][key] = name
    for buffer, entries in optimiser["buffers"].items():
        index["optimiser"][buffer] = {}
        for key, value in entries.items():
            name = f"a{len(arrays)}"
            arrays[name] = np.asarray(value)
            index["optimiser"][buffer][key] = name
    full_meta = {
        "format": FORMAT,
        "version": VERSION,
        **meta,
        "optimiser": {k: v for k, v in optimiser.items() if k != "buffers"},
        "arrays": index,
    }
    arrays["meta"] = np.array(json.dumps(_encode(full_meta)))
    arrays["history"] = np.asarray(history, dtype=np.float64)
    write_atomic(os.fspath(path), lambda handle: np.savez(handle, **arrays), binary=True)


def _unreadable(path: str, got: str) -> CheckpointError:
    return CheckpointError(message(f"checkpoint {path!r}", "a readable yetztml checkpoint", got,
                                   "Check the path, or start a new run (resume=False)."))


def load(
    path: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], dict[str, Any], list[float], dict[str, Any]]:
    """Read a checkpoint: (params, optimiser state_dict, loss history, meta).

    Every reading failure (no such file, an empty or cut file, bytes that are not an ``.npz``, an archive
    without ``meta`` or of another format or version) is a :class:`CheckpointError` naming the file; the
    file is closed whatever happens.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointError(
            message(f"checkpoint {path!r}", "an existing file", "no such file",
                    "Pass resume=False to start a new run.")
        )
    if os.path.isfile(path) and not zipfile.is_zipfile(path):  # empty or cut: refused before NumPy opens it
        size = os.path.getsize(path)
        raise _unreadable(path, "an empty file" if size == 0 else f"{size} bytes that are not an .npz")
    try:
        # the file is opened here, not by NumPy, so that it is closed however np.load fails
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            meta = _decode(json.loads(str(data["meta"])))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
                found = (f"{meta.get('format')!r} version {meta.get('version')!r}" if isinstance(meta, dict)
                         else f"meta of type {type(meta).__name__}")
                raise _unreadable(path, f"{found} (expected {FORMAT} version {VERSION})")
            index = meta.pop("arrays")
            params = {key: data[name].copy() for key, name in index["params"].items()}
            buffers = {
                buf: {key: data[name].copy() for key, name in entries.items()}
                for buf, entries in index["optimiser"].items()
            }
            history = [float(v) for v in data["history"]]
            optimiser = {**meta.pop("optimiser"), "buffers": buffers}
    except CheckpointError:
        raise
    except (OSError, EOFError, KeyError, ValueError, TypeError, AttributeError, zipfile.BadZipFile) as err:
        raise _unreadable(path, f"{type(err).__name__}: {err}") from err
    return params, optimiser, history, meta
