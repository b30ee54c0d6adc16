"""The one progress display of long in-process jobs: a rich bar on a terminal, plain lines elsewhere.

``ProgressBar(label, total, done)`` shows, on a terminal (or in Jupyter), a bar with the count, the time
left and an ``info`` text the job updates (loss, accuracy, speed); elsewhere (a log file, a pipe) it draws
nothing, and :meth:`ProgressBar.line` prints one plain line on stderr when the job has something to report
(the count done, the time per item and the time left, then the job's text). Disabled, it does nothing.
Multi-process jobs (the reproductions' trials) report into :mod:`yetztml.experiments.progress`, which
draws one bar per running worker the same way.
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """A bar over ``total`` items of which ``done`` are finished (see the module docstring)."""

    def __init__(self, label: str, total: int, done: int = 0, enabled: bool = True, unit: str = "step") -> None:
        self.label, self.total, self.first, self.unit = label, total, done, unit
        self.count = done
        self.started = time.perf_counter()
        self.progress = None
        self.plain = False
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            console = Console(stderr=True)
            if console.is_terminal or console.is_jupyter:
                self.progress = Progress(
                    TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"), console=console,
                )
                self.task = self.progress.add_task(label, total=total, completed=done, info="")
            else:
                self.plain = True

    def advance(self, info: str = "") -> None:
        """One more item finished; ``info`` replaces the bar's text."""
        self.count += 1
        if self.progress is not None:
            self.progress.update(self.task, advance=1, info=info)

    def line(self, info: str, done: int | None = None) -> None:
        """Off a terminal: one plain line — items ``done`` (default: counted) of the total, ``info``, the time
        per item and the time left."""
        if not self.plain:
            return
        done = self.count if done is None else done
        per_item = (time.perf_counter() - self.started) / max(1, done - self.first)
        left = per_item * (self.total - done)
        print(f"{self.label}: {self.unit} {done:,}/{self.total:,}  {info}  {per_item:.3f} s/{self.unit}  "
              f"{left / 60:.1f} min left", file=sys.stderr, flush=True)

    def __enter__(self) -> ProgressBar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
