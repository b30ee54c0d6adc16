"""Seeded random number generators. Randomness is always passed in, never taken from global state."""

from __future__ import annotations

import numpy as np

from .errors import DTypeError, message
from .validation import check_seed


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a ``numpy.random.Generator``: the one given, or a new PCG64 seeded with ``seed``.

    ``None`` is refused: every random draw in yetztml must be reproducible from a recorded seed; so is a
    negative seed (NumPy cannot seed with one), with the catalogue's :class:`OptionError`.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise DTypeError(
            message("seed", "an int or a numpy.random.Generator", repr(seed), "Pass seed=0 (or any int).")
        )
    return np.random.default_rng(check_seed("seed", seed))


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """Split ``rng`` into ``n`` independent child generators (for trials run in parallel)."""
    return list(rng.spawn(n))


def uniform(rng: np.random.Generator, shape: tuple[int, ...], scale: float, dtype: np.dtype) -> np.ndarray:
    """Draw from U[−scale, scale] (the 1997 paper's initialisation, and PyTorch's ±1/√H)."""
    return rng.uniform(-scale, scale, size=shape).astype(dtype)
