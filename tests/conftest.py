"""Shared fixtures: seeded generators, strict floating-point errors in gradient tests, Hypothesis profiles.

Hypothesis draws the same examples on every run (profile ``default``: ``derandomize=True``), so the suite
is reproducible: a run never fails on an example no earlier run met. To search new examples, run
``python -m pytest --hypothesis-profile=explore`` (random draws, more of them); a failure found there is
kept in ``.hypothesis/`` and replayed by the next explore run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile("default")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (randomness is always passed in)."""
    return np.random.default_rng(12345)
