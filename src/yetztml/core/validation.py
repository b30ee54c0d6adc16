"""Validation helpers: check user input before any compiled code runs.

Every helper raises an error from :mod:`yetztml.core.errors` with a message naming what was expected,
what was received and, where there is one, the fix. No bare ``assert`` is used for user input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .errors import DTypeError, NonFiniteError, OptionError, ShapeError, message

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_choice(thing: str, value: object, allowed: Iterable[object]) -> object:
    """Return ``value`` if it is one of ``allowed``; otherwise raise :class:`OptionError` listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise OptionError(message(thing, f"one of {names}", repr(value)))
    return value


def check_int(thing: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as int if it is an integer (not bool) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DTypeError(message(thing, "an integer", f"{type(value).__name__} {value!r}"))
    value = int(value)
    if minimum is not None and value < minimum:
        raise OptionError(message(thing, f"an integer >= {minimum}", value))
    if maximum is not None and value > maximum:
        raise OptionError(message(thing, f"an integer <= {maximum}", value))
    return value


def check_sizes(owner: str, **sizes: object) -> tuple[int, ...]:
    """Each size (keyword order) as an int >= 1; an error names ``owner(name=...)``, the argument at fault."""
    return tuple(check_int(f"{owner}({name}=...)", value, minimum=1) for name, value in sizes.items())


def check_seed(thing: str, value: object) -> int:
    """Return ``value`` as int if it is a seed NumPy accepts: an integer (not bool) >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DTypeError(message(thing, "an integer seed >= 0", f"{type(value).__name__} {value!r}",
                                 "Pass seed=0 (or any int >= 0)."))
    if int(value) < 0:
        raise OptionError(message(thing, "an integer seed >= 0", int(value), "Seeds are non-negative; use e.g. 0."))
    return int(value)


def check_float(
    thing: str,
    value: object,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Return ``value`` as float if it is a finite real number in range (``> minimum`` if strict)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DTypeError(message(thing, "a real number", f"{type(value).__name__} {value!r}"))
    value = float(value)
    if not np.isfinite(value):
        raise NonFiniteError(message(thing, "a finite number", value))
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise OptionError(message(thing, f"a number > {minimum}", value))
        if not strict_minimum and value < minimum:
            raise OptionError(message(thing, f"a number >= {minimum}", value))
    if maximum is not None and value > maximum:
        raise OptionError(message(thing, f"a number <= {maximum}", value))
    return value


def check_dtype(thing: str, dtype: object) -> np.dtype:
    """Resolve a float dtype given as ``np.float32``, ``"float64"``, etc.; only float32/float64."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise DTypeError(message(thing, "float32 or float64", repr(dtype))) from err
    if resolved not in FLOAT_DTYPES:
        raise DTypeError(message(thing, "float32 or float64", str(resolved)))
    return resolved


def check_array(
    thing: str,
    array: object,
    shape: Sequence[int | None] | None = None,
    dtype: np.dtype | None = None,
    names: str | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Check an ndarray's rank, sizes, dtype and finiteness; return it unchanged.

    ``shape`` lists the expected size per axis, ``None`` for "any size >= 1"; ``names`` is the shape
    alphabet string used in messages (e.g. ``"(T, B, I)"``).
    """
    label = names or (str(tuple("?" if s is None else s for s in shape)) if shape is not None else "")
    if not isinstance(array, np.ndarray):
        raise DTypeError(
            message(thing, f"a numpy.ndarray {label}".rstrip(), type(array).__name__, "Wrap it in np.asarray(...).")
        )
    if array.dtype not in FLOAT_DTYPES:
        raise DTypeError(
            message(thing, "dtype float32 or float64", str(array.dtype), "Convert with .astype(np.float64).")
        )
    if dtype is not None and array.dtype != dtype:
        raise DTypeError(
            message(thing, f"dtype {dtype} (the cell's dtype)", str(array.dtype), f"Convert with .astype(np.{dtype}).")
        )
    if shape is not None:
        if array.ndim != len(shape):
            raise ShapeError(message(thing, f"{len(shape)} dimensions {label}", f"shape {array.shape}"))
        for axis, (want, have) in enumerate(zip(shape, array.shape, strict=True)):
            if want is None and have < 1:
                raise ShapeError(message(thing, f"size >= 1 on axis {axis} of {label}", f"shape {array.shape}"))
            if want is not None and have != want:
                raise ShapeError(message(thing, f"shape {label} = {_fill(shape)}", f"shape {array.shape}"))
    if finite and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise NonFiniteError(message(thing, "finite values", f"{bad} NaN/inf entries"))
    return array


def _fill(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
