"""What the signal tests share: a command started as a real process that acts on Ctrl-C, and a signal sent
when the command shows that it is mid-work (never after a fixed sleep a fast machine could outrun)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable


def start(cmd: list[str]) -> subprocess.Popen:
    """``cmd`` as a process with pipes, SIGINT at its default (a shell's background job ignores it, and
    an ignored SIGINT stays ignored in the child)."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def signal_at_line(process: subprocess.Popen, stream: str, marker: str, signum: int) -> list[str]:
    """Read ``stream`` ("stdout" or "stderr") of ``process`` until a line holding ``marker``, then send
    ``signum``; the lines read (the last holds the marker unless the stream ended first)."""
    lines = []
    for line in getattr(process, stream):
        lines.append(line)
        if marker in line:
            process.send_signal(signum)
            break
    return lines


def signal_when(process: subprocess.Popen, ready: Callable[[], bool], signum: int, timeout: float = 120) -> None:
    """Send ``signum`` as soon as ``ready()`` holds (polled every 10 ms), or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signum)


def chained_interrupt(*args: object, **kwargs: object) -> None:
    """Raise what Numba raises when Ctrl-C lands in a callback of compiled code: SystemErrors chained from
    the ``KeyboardInterrupt``."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as err:
            raise SystemError("<function _numba_unpickle> returned a result with an exception set") from err
    except SystemError as err:
        raise SystemError("<function _numba_unpickle> returned a result with an exception set") from err


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    """Wait for ``process``; its status and the rest of its stdout and stderr (killed after ``timeout``)."""
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err
