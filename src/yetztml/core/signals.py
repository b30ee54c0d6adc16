"""Signals held while a unit of work must finish: a training batch, a validation whose result is recorded.

Python acts on a signal at the next Python code it runs. A Ctrl-C that lands in the middle of work whose
state is saved as a whole (a batch and its checkpoint, a validation and the history it appends to) would
leave that state half-written or lost; :class:`HeldSignals` records SIGINT and SIGTERM instead, and
:meth:`HeldSignals.deliver` passes them on once the work is done.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


class HeldSignals:
    """Hold SIGINT and SIGTERM inside the ``with`` block until :meth:`deliver` or the end of the block
    (main thread only; elsewhere a no-op). ``pending`` lists the signals received; a repeated signal is
    delivered at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}

    def _hold(self, signum: int, frame: object) -> None:
        if signum in self.pending:
            self.deliver()
        self.pending.append(signum)

    def _install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self.previous[signum] = signal.signal(signum, self._hold)

    def _restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def deliver(self) -> None:
        """Pass the first held signal to the handler that was installed before (it usually raises)."""
        if not self.pending:
            return
        previous = dict(self.previous)
        self._restore()
        self._pass_on(previous)
        self._install()

    def _pass_on(self, previous: dict[int, Any]) -> None:
        if not self.pending:
            return
        signum = self.pending[0]
        self.pending.clear()
        handler = previous.get(signum, signal.SIG_DFL)
        if callable(handler):
            handler(signum, None)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)

    def __enter__(self) -> HeldSignals:
        try:
            self._install()
        except BaseException:  # a signal passed on while the handlers were being swapped
            self._restore()
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        previous = dict(self.previous)
        self._restore()
        if exc_type is None:  # a signal that came after the last deliver(), or while leaving: not lost
            self._pass_on(previous)


__all__ = ["HeldSignals"]
