"""Test helpers for the training applications (``apps/*/train.py``): an exact clock and a recorded Trainer.

``record_run(monkeypatch, module)`` replaces the module's ``time`` with a :class:`Clock` and its
``Trainer`` with one that records the options it is given, the progress text at the start and the trainer
built, so a test can assert every timing the run writes and what the loop was asked to do."""

from __future__ import annotations

from typing import Any


class Clock:
    """perf_counter advancing ``step`` seconds per call: every timing the run writes is a known number."""

    def __init__(self, step: float = 0.001) -> None:
        self.t, self.step = 0.0, step

    def perf_counter(self) -> float:
        self.t += self.step
        return self.t


def record_run(monkeypatch: Any, module: Any) -> dict[str, Any]:
    """Make ``module``'s clock exact and record the Trainer it builds (``options``, ``status_at_start``,
    ``trainer``) in the dict returned."""
    monkeypatch.setattr(module, "time", Clock())
    seen: dict[str, Any] = {}
    real = module.Trainer

    def trainer(model: Any, data: Any, **options: Any) -> Any:
        seen["options"] = options
        seen["status_at_start"] = options["status"]()
        seen["trainer"] = real(model, data, **options)
        return seen["trainer"]

    monkeypatch.setattr(module, "Trainer", trainer)
    return seen
