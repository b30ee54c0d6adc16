"""Core: shapes and types, the error catalogue, activations, initialisers, RNG, finite differences."""

from . import activations, errors, gradcheck, linalg, rng, validation
from .errors import (
    CheckpointError,
    DTypeError,
    NonFiniteError,
    OptionError,
    ShapeError,
    UnsupportedError,
    YetztmlError,
)

__all__ = [
    "activations",
    "errors",
    "gradcheck",
    "linalg",
    "rng",
    "validation",
    "CheckpointError",
    "DTypeError",
    "NonFiniteError",
    "OptionError",
    "ShapeError",
    "UnsupportedError",
    "YetztmlError",
]
