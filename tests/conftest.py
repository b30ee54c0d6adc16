"""Shared fixtures: seeded generators, strict floating-point errors in gradient tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (randomness is always passed in)."""
    return np.random.default_rng(12345)
