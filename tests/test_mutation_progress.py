"""yetztml.core.progress.ProgressBar in its three modes: disabled, plain lines off a terminal, a rich bar on one.

The plain line is asserted character for character with a controlled clock; the bar's task (count, total,
text) is read back from rich's ``Progress``.
"""

from __future__ import annotations

import pytest
from rich.console import Console

from yetztml.core import progress
from yetztml.core.progress import ProgressBar


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


@pytest.fixture
def off_terminal(monkeypatch):
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: False))


@pytest.fixture
def on_terminal(monkeypatch):
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))


def test_disabled_counts_and_draws_nothing(capsys):
    bar = ProgressBar("training", 10, done=4, enabled=False)
    with bar as entered:
        assert entered is bar
        bar.advance("loss 1")
        bar.advance()
        bar.line("loss 1")
    assert (bar.progress, bar.plain, bar.count, bar.first, bar.total) == (None, False, 6, 4, 10)
    assert capsys.readouterr() == ("", "")


def test_plain_line_counts_time_per_item_and_time_left(off_terminal, monkeypatch, capsys):
    monkeypatch.setattr(progress.time, "perf_counter", Clock(10.0, 20.0, 20.0, 10.5))
    bar = ProgressBar("training", 1000, done=100, unit="batch")
    assert (bar.plain, bar.progress, bar.label, bar.unit) == (True, None, "training", "batch")
    with bar:
        for _ in range(50):
            bar.advance("ignored off a terminal")
        bar.line("loss 0.5")            # 10 s for 50 batches: 0.2 s each, 850 left: 170 s
        bar.line("loss 0.4", done=300)  # 10 s for 200: 0.05 s each, 700 left: 35 s
        bar.line("first", done=101)     # 0.5 s for the first one, 899 left
    assert capsys.readouterr().err == (
        "training: batch 150/1,000  loss 0.5  0.200 s/batch  2.8 min left\n"
        "training: batch 300/1,000  loss 0.4  0.050 s/batch  0.6 min left\n"
        "training: batch 101/1,000  first  0.500 s/batch  7.5 min left\n"
    )


def test_plain_line_before_any_item_divides_by_one(off_terminal, monkeypatch, capsys):
    monkeypatch.setattr(progress.time, "perf_counter", Clock(0.0, 3.0))
    bar = ProgressBar("fetch", 4)
    bar.line("starting")
    assert bar.unit == "step"
    assert capsys.readouterr().err == "fetch: step 0/4  starting  3.000 s/step  0.2 min left\n"


def test_bar_on_a_terminal_tracks_count_total_and_text(on_terminal, capsys):
    bar = ProgressBar("training", 8, done=3)
    assert bar.plain is False
    task = bar.progress.tasks[0]
    assert (task.description, task.total, task.completed, task.fields) == ("training", 8, 3, {"info": ""})
    assert [type(c).__name__ for c in bar.progress.columns] == [
        "TextColumn", "BarColumn", "MofNCompleteColumn", "TimeRemainingColumn", "TextColumn"]
    assert (bar.progress.columns[0].text_format, bar.progress.columns[4].text_format) == (
        "training", "{task.fields[info]}")
    assert bar.progress.console.stderr is True
    with bar:
        assert bar.progress.live.is_started
        bar.advance("loss 0.25")
        bar.advance("loss 0.125")
        bar.line("not printed on a terminal")
    assert not bar.progress.live.is_started
    assert (task.completed, task.fields["info"], bar.count) == (5, "loss 0.125", 5)
    bar.advance()
    assert (task.completed, task.fields["info"]) == (6, "")
    assert "not printed" not in capsys.readouterr().err


def test_plain_line_is_flushed_at_once(off_terminal, monkeypatch):
    """A log file is block-buffered: each line is flushed as it is written, so ``tail -f`` sees it."""

    class Stream:
        def __init__(self) -> None:
            self.events: list[str] = []

        def write(self, text: str) -> None:
            self.events.append("write")

        def flush(self) -> None:
            self.events.append("flush")

    monkeypatch.setattr(progress.time, "perf_counter", Clock(0.0, 1.0))
    bar = ProgressBar("training", 4)
    stream = Stream()
    monkeypatch.setattr(progress.sys, "stderr", stream)
    bar.line("loss 1")
    assert stream.events[-1] == "flush" and "write" in stream.events
