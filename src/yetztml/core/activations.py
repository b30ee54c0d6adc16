"""Squashing functions and their derivatives, as scalar kernels usable inside compiled code.

Each function is selected by an integer code so one compiled kernel serves every choice:

==========  ====  ==============================  ===================================  ===========
name        code  f(x)                            f'(x) written with y = f(x)          range
==========  ====  ==============================  ===================================  ===========
identity    0     x                               1                                    (-inf, inf)
logistic    1     σ(x) = ½(1 + tanh(x/2))         y(1 − y)                             [0, 1]
tanh        2     tanh(x)                         1 − y²                               [-1, 1]
relu        3     max(0, x)                       1 if x > 0 else 0                    [0, inf)
g1997       4     4σ(x) − 2       [1997 eq. 5]    ¼(2 + y)(2 − y)                      [-2, 2]
h1997       5     2σ(x) − 1       [1997 eq. 4]    ½(1 + y)(1 − y)                      [-1, 1]
==========  ====  ==============================  ===================================  ===========

The logistic is evaluated through tanh, which is stable for every finite x (no overflow of exp): (A2) of
:mod:`yetztml.core.squash`, the one module of σ and tanh. :func:`apply_exp` evaluates the same functions
through one ``exp`` ((A3) there: σ, 4σ − 2, 2σ − 1), the form of the fused 1997 online kernel.
Derivatives are written in terms of the output y where that is exact, so backward passes reuse the
stored forward activations. ``relu``'s derivative at 0 is taken as 0 (PyTorch's convention).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import squash
from .errors import OptionError, message
from .squash import logistic_exp

IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
G1997 = 4
H1997 = 5

CODES: dict[str, int] = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "tanh": TANH,
    "relu": RELU,
    "g1997": G1997,
    "h1997": H1997,
}
NAMES: dict[int, str] = {v: k for k, v in CODES.items()}
ALIASES: dict[str, str] = {"sigmoid": "logistic", "linear": "identity"}


def code(thing: str, name: str, allowed: tuple[str, ...] | None = None) -> int:
    """Return the integer code of activation ``name`` (aliases: sigmoid, linear), checking it is allowed."""
    allowed = allowed or tuple(CODES)
    resolved = ALIASES.get(name, name) if isinstance(name, str) else name
    if resolved not in allowed:
        raise OptionError(message(thing, "one of " + ", ".join(repr(a) for a in allowed), repr(name)))
    return CODES[resolved]


@numba.njit(cache=True, inline="always")
def logistic(x):
    """σ(x) = 1/(1 + e^−x), computed as ½(1 + tanh(x/2)) for stability ((A2) of :mod:`~yetztml.core.squash`)."""
    return squash.logistic(x, False)


@numba.njit(cache=True, inline="always")
def apply(kind, x):
    """f(x) for the activation with code ``kind``."""
    if kind == LOGISTIC:
        return squash.logistic(x, False)
    if kind == TANH:
        return math.tanh(x)
    if kind == G1997:
        return 2.0 * math.tanh(0.5 * x)  # 4σ(x) − 2 = 2 tanh(x/2)
    if kind == H1997:
        return math.tanh(0.5 * x)  # 2σ(x) − 1 = tanh(x/2)
    if kind == RELU:
        return x if x > 0.0 else 0.0 * x
    return x


@numba.njit(cache=True, inline="always")
def apply_exp(kind, x):
    """f(x) through one ``exp`` for the squashing kinds ((A3) of :mod:`~yetztml.core.squash`); tanh is libm's."""
    if kind == LOGISTIC:
        return logistic_exp(x)
    if kind == G1997:
        return 4.0 / (1.0 + math.exp(-x)) - 2.0  # 4σ(x) − 2
    if kind == H1997:
        return 2.0 / (1.0 + math.exp(-x)) - 1.0  # 2σ(x) − 1
    if kind == TANH:
        return math.tanh(x)
    if kind == RELU:
        return x if x > 0.0 else 0.0 * x
    return x


@numba.njit(cache=True, inline="always")
def derivative(kind, x, y):
    """f'(x) for the activation with code ``kind``, given x and y = f(x)."""
    if kind == LOGISTIC:
        return y * (1.0 - y)
    if kind == TANH:
        return 1.0 - y * y
    if kind == G1997:
        return 0.25 * (2.0 + y) * (2.0 - y)  # d/dx 2 tanh(x/2) = 1 − tanh²(x/2) = ¼(4 − y²)
    if kind == H1997:
        return 0.5 * (1.0 + y) * (1.0 - y)  # d/dx tanh(x/2) = ½(1 − y²)
    if kind == RELU:
        return 1.0 if x > 0.0 else 0.0
    return 1.0 + 0.0 * x


def apply_np(kind: int, x: np.ndarray) -> np.ndarray:
    """Vectorised f(x) in plain NumPy (for analysis code and tests)."""
    x = np.asarray(x)
    if kind == LOGISTIC:
        return 0.5 * (1.0 + np.tanh(0.5 * x))
    if kind == TANH:
        return np.tanh(x)
    if kind == G1997:
        return 2.0 * np.tanh(0.5 * x)
    if kind == H1997:
        return np.tanh(0.5 * x)
    if kind == RELU:
        return np.maximum(x, 0.0)
    return x.copy()


def derivative_np(kind: int, x: np.ndarray) -> np.ndarray:
    """Vectorised f'(x) in plain NumPy."""
    x = np.asarray(x)
    y = apply_np(kind, x)
    if kind == LOGISTIC:
        return y * (1.0 - y)
    if kind == TANH:
        return 1.0 - y * y
    if kind == G1997:
        return 0.25 * (2.0 + y) * (2.0 - y)
    if kind == H1997:
        return 0.5 * (1.0 + y) * (1.0 - y)
    if kind == RELU:
        return (x > 0).astype(x.dtype)
    return np.ones_like(x)
