"""The sweep command ``text train``: every point one ``yetztml text train`` run, its measures in the table.

A point's options are ``yetztml text train``'s (``data``, ``val``, ``test``, ``text-column``,
``label-column``, ``delimiter`` and every model and training option, dashes or underscores); its one trial
is :func:`yetztml.apps.text.sweep.train_trial` with the point's configuration, so the point's accuracies
are those of ``yetztml text train`` with the same options. The data files are read here, once, and their
texts travel with the tasks. A point's ``config.json`` (the resume key) holds the configuration and each
file's size and SHA-256 (not its path: a moved file still resumes; a changed one is refused). The
registration lives in the command line because it joins two layers (the multi-trial runner of
``experiments`` and the text application of ``apps``), which do not import each other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..apps.text.config import TextConfig
from ..apps.text.sweep import COLUMNS, REQUIRED, summarize, train_trial
from ..core.results import write_json
from ..experiments.backends import LocalBackend
from ..experiments.runner import TrialPlan, run_trials
from ..experiments.sweep import COMMANDS, SweepCommand, register
from . import paths

NAME = "text train"
_NUMBER = (int, float)
#: Option name → accepted TOML type(s): the data options, then TextConfig's fields.
OPTIONS: dict[str, type | tuple[type, ...]] = {
    "data": str, "val": str, "test": str, "text_column": str, "label_column": str, "delimiter": str,
    "cell": str, "hidden": int, "layers": int, "bidirectional": bool, "embed_dim": int, "dropout": _NUMBER,
    "pool": str, "epochs": int, "batch_size": int, "lr": _NUMBER, "lr_decay": _NUMBER, "clip_norm": _NUMBER,
    "patience": int, "seed": int, "max_length": int, "min_freq": int, "max_vocab": int, "lowercase": bool,
    "tokenise": str, "dtype": str,
}
_FLOATS = ("dropout", "lr", "lr_decay", "clip_norm")
_FILES = ("data", "val", "test")


def _config(opts: dict[str, Any]) -> TextConfig:
    values = {k: (float(v) if k in _FLOATS else v) for k, v in opts.items() if k not in (*_FILES, "text_column",
                                                                                       "label_column", "delimiter")}
    return TextConfig(**values)


_READ: dict[tuple, tuple[Any, dict[str, Any]]] = {}


def _read(option: str, path: str, opts: dict[str, Any]):
    """The labelled texts of ``path`` and their fingerprint (read once per file and columns)."""
    from ..data import read_labelled

    file = paths.in_file(f"{option}", path)
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, opts.get("text_column", "text"),
           opts.get("label_column", "label"), opts.get("delimiter"))
    if key not in _READ:
        texts = read_labelled(file, text_column=key[3], label_column=key[4], delimiter=key[5])
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        _READ[key] = (texts, {"examples": len(texts), "bytes": stat.st_size, "sha256": digest})
    return _READ[key]


def _plan(opts: dict[str, Any]) -> tuple[TrialPlan, int]:
    config = _config(opts)  # every option checked before any file is read
    kwargs: dict[str, Any] = {"config": config.to_json()}
    files: dict[str, Any] = {}
    for option in _FILES:
        key = "train" if option == "data" else option  # train_trial's argument
        if opts.get(option) is None:
            kwargs[key] = None
            files[option] = None
            continue
        kwargs[key], files[option] = _read(option, opts[option], opts)
    columns = {k: opts.get(k) for k in ("text_column", "label_column", "delimiter")}
    plan = TrialPlan(train_trial, kwargs, {"command": NAME, "config": config.to_json(), "files": files,
                                           "columns": columns}, dict(REQUIRED))
    return plan, 1


def _finish(opts: dict[str, Any], folder: Path) -> dict[str, Any]:
    plan, trials = _plan(opts)
    records = run_trials(plan.fn, trials, folder, plan.config, plan.kwargs, backend=LocalBackend(1),
                         required=plan.required)
    result = {"command": NAME, "options": opts, "configuration": plan.config, "records": records,
              "summary": summarize(records)}
    write_json(folder / "result.json", result)
    return result


def _line(record: dict[str, Any]) -> str:
    text = f"validation accuracy {record['val_accuracy']:.4f}"
    if record.get("test_accuracy") is not None:
        text += f", test {record['test_accuracy']:.4f}"
    return text + f", best epoch {record['best_epoch']} of {record['epochs_run']}"


TEXT_TRAIN = SweepCommand(NAME, OPTIONS, _plan, _finish, COLUMNS, ("val_accuracy", "test_accuracy"),
                          needed=("data",), line=_line)


def register_text_train() -> SweepCommand:
    """Make ``command = "text train"`` available to sweep files (idempotent)."""
    return COMMANDS.get(NAME) or register(TEXT_TRAIN)


__all__ = ["NAME", "OPTIONS", "TEXT_TRAIN", "register_text_train"]
