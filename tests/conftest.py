"""Shared fixtures: seeded generators, strict floating-point errors in gradient tests, Hypothesis profiles.

Hypothesis draws the same examples on every run (profile ``default``: ``derandomize=True``), so the suite
is reproducible: a run never fails on an example no earlier run met. To search new examples, run
``python -m pytest --hypothesis-profile=explore`` (random draws, more of them); a failure found there is
kept in ``.hypothesis/`` and replayed by the next explore run.

The default run leaves out the tests marked ``slow`` (``addopts`` in ``pyproject.toml`` holds
``-m 'not slow'``); ``python -m pytest --runslow`` runs them too. An explicit ``-m`` on the command line
replaces the default one and is kept as given.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile("default")

DEFAULT_MARK_EXPRESSION = "not slow"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False,
                     help="run the tests marked slow as well (they are left out by default)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("runslow") and config.option.markexpr.strip() == DEFAULT_MARK_EXPRESSION:
        config.option.markexpr = ""


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (randomness is always passed in)."""
    return np.random.default_rng(12345)


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures as the report modules save them: (figure, path, dpi), drawn but not written."""
    import matplotlib.figure

    figures: list = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda fig, path, dpi=None: figures.append((fig, path, dpi)))
    return figures


@pytest.fixture
def reports() -> Iterator[list]:
    """The progress reports of this process (``yetztml.experiments.progress``), collected; the sink is removed
    afterwards."""
    from yetztml.experiments import progress

    got: list[dict] = []
    progress.set_sink(got.append)
    yield got
    progress.set_sink(None)
