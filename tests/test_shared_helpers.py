"""The helpers several modules share: the atomic write, a pool's shutdown, a scenario's files."""

from __future__ import annotations

import os

import pytest

from yetztml.core.results import write_atomic
from yetztml.experiments.backends import ended
from yetztml.report.errorflow import write_figures


def test_write_atomic_replaces_the_file_or_leaves_it_and_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    write_atomic(path, lambda fh: fh.write(b"\x00one"), binary=True)
    assert path.read_bytes() == b"\x00one"

    def half_then_fail(fh):
        fh.write("two")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, half_then_fail)
    assert path.read_bytes() == b"\x00one"
    assert sorted(os.listdir(tmp_path)) == ["a.bin"]


class _Pool:
    def __init__(self):
        self.calls = []

    def close(self):
        self.calls.append("close")

    def terminate(self):
        self.calls.append("terminate")

    def join(self):
        self.calls.append("join")


def test_ended_closes_after_the_body_and_terminates_when_it_raises():
    pool = _Pool()
    with ended(pool) as inside:
        assert inside is pool and pool.calls == []
    assert pool.calls == ["close", "join"]
    pool = _Pool()
    with pytest.raises(KeyboardInterrupt), ended(pool):
        raise KeyboardInterrupt
    assert pool.calls == ["terminate", "join"]


def test_write_figures_draws_each_plot_in_order_then_the_json(tmp_path):
    drawn = []

    def plot(result, path):
        drawn.append(path.name)
        path.write_text("png")
        return path

    result = {"scenario": "s", "value": 1.5}
    files = write_figures(result, tmp_path / "out", None, [("b", plot), ("a", plot)])
    assert drawn == ["s-b.png", "s-a.png"]
    assert [f.name for f in files] == ["s-b.png", "s-a.png", "s.json"]
    assert write_figures(result, None, None, [("b", plot)]) == []
    only_json = write_figures(result, None, tmp_path / "x.json", [("b", plot)])
    assert [f.name for f in only_json] == ["x.json"] and drawn == ["s-b.png", "s-a.png"]
