"""Saving and loading models as ``.npz`` + JSON (never pickle).

A saved model is a directory holding two files:

* ``model.json`` — ``format`` ("yetztml-model"), ``version`` (1), the library version that wrote it, the
  model's structure (``{"class": name, "config": {...}}``, nested for compositions), its dtype, the name,
  shape and dtype of every parameter, and any ``metadata`` the caller adds (a vocabulary, labels…);
* ``weights.npz`` — one array per parameter, keyed by the parameter's name.

Loading rebuilds the structure from the JSON with the registered classes (every cell of
:mod:`yetztml.cells`, every layer of :mod:`yetztml.layers`, the compositions here, and any class passed
in ``classes=``), then loads the weights (names and shapes checked). The weights are written first and
the JSON last, each atomically, so a directory with a ``model.json`` always has its weights.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import cells, layers
from ..cells.base import Cell
from ..core.errors import CheckpointError, UnsupportedError, message
from ..core.results import write_atomic
from .bidirectional import Bidirectional
from .seq2seq import Seq2Seq
from .sequential import Sequential

__all__ = ["FORMAT", "VERSION", "build", "load", "read_spec", "save"]

FORMAT = "yetztml-model"
VERSION = 1


def _lookup(name: object, extra: dict[str, type[Cell]] | None) -> type[Cell] | None:
    """The class registered as ``name``: the caller's, a composition, a layer or a cell (imported alone)."""
    if not isinstance(name, str):
        return None
    if extra and name in extra:
        return extra[name]
    compositions = {"Sequential": Sequential, "Bidirectional": Bidirectional, "Seq2Seq": Seq2Seq}
    if name in compositions:
        return compositions[name]
    for package in (layers, cells):
        if name in package.__all__:
            obj = getattr(package, name)
            if isinstance(obj, type) and issubclass(obj, Cell):
                return obj
    return None


def build(spec: dict[str, Any], classes: dict[str, type[Cell]] | None = None) -> Cell:
    """The model described by ``{"class": name, "config": {...}}`` (fresh weights; see :func:`load`)."""
    name = spec.get("class") if isinstance(spec, dict) else None
    cls = _lookup(name, classes)
    if cls is None:
        raise CheckpointError(
            message("model.json class", "a registered cell, layer or model class", repr(name),
                    "Pass your own classes to load(path, classes={'Name': Class}).")
        )
    config = dict(spec.get("config", {}))
    if name == "Sequential":
        parts = [build(p, classes) for p in config["parts"]]
        return Sequential(*parts, names=config["names"])
    if name == "Bidirectional":
        return Bidirectional(build(config["forward_cell"], classes), build(config["reverse_cell"], classes))
    return cls(**config)


def save(model: Cell, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` into directory ``path`` (created if needed): ``weights.npz`` then ``model.json``."""
    from .. import __version__

    if not isinstance(model, Cell):
        raise UnsupportedError(message("save(model)", "a yetztml cell, layer or model", type(model).__name__))
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(message(f"save({str(folder)!r})", "a directory path", "an existing file"))
    spec = {"class": type(model).__name__, "config": model.config()}
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "yetztml": __version__,
        "model": spec,
        "dtype": model.dtype.name,
        "params": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in model.params.items()},
        "metadata": metadata or {},
    }
    text = json.dumps(doc, indent=2)  # fails here, before writing, if metadata is not JSON
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "weights.npz", lambda fh: np.savez(fh, **model.params), binary=True)
    write_atomic(folder / "model.json", lambda fh: fh.write(text + "\n"))
    return folder


def read_spec(path: str | os.PathLike) -> dict[str, Any]:
    """The checked ``model.json`` of a saved model directory."""
    file = Path(path) / "model.json"
    thing = f"model directory {str(path)!r}"
    if not file.is_file():
        raise CheckpointError(message(thing, "a model.json file (written by save())", "none"))
    try:
        doc = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(message(str(file), "valid JSON", f"a corrupt file ({err})")) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CheckpointError(message(str(file), f"format {FORMAT!r}", repr(found)))
    if doc.get("version") != VERSION:
        raise CheckpointError(
            message(str(file), f"version {VERSION}", repr(doc.get("version")),
                    f"It was written by yetztml {doc.get('yetztml')}; load it with that version.")
        )
    for key, needed in (("model", True), ("metadata", False)):
        if (needed or key in doc) and not isinstance(doc.get(key), dict):
            raise CheckpointError(message(str(file), f"an object under {key!r}", type(doc.get(key)).__name__,
                                          "The file is damaged; save the model again."))
    return doc


def load(path: str | os.PathLike, classes: dict[str, type[Cell]] | None = None) -> Cell:
    """The model saved in directory ``path``, in evaluation mode; ``model.metadata`` holds the metadata."""
    doc = read_spec(path)
    file = Path(path) / "weights.npz"
    try:
        with open(file, "rb") as handle, np.load(handle, allow_pickle=False) as data:  # closed however it fails
            weights = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise CheckpointError(message(f"model directory {str(path)!r}", "a weights.npz file", "none")) from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise CheckpointError(message(str(file), "a readable .npz file",
                                      f"a corrupt file ({type(err).__name__}: {err})")) from None
    model = build(doc["model"], classes)
    model.load_params(weights)
    model.eval()
    model.metadata = doc.get("metadata", {})
    return model
