"""Validation shared by the torch modules: options, devices, dtypes and shapes, before any kernel runs."""

from __future__ import annotations

from typing import Any

import torch

from ..core.errors import DTypeError, ShapeError, UnsupportedError, message
from ..core.validation import check_float, check_sizes

FLOATS = (torch.float32, torch.float64)


def options(cls: str, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional) -> tuple:
    """The constructor arguments checked and normalised (ints, bools, a probability)."""
    input_size, hidden_size, num_layers = check_sizes(
        cls, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers
    )
    dropout = check_float(f"{cls}(dropout=...)", dropout, minimum=0.0, maximum=1.0)
    flags = []
    for name, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
        if not isinstance(value, bool):
            raise DTypeError(message(f"{cls}({name}=...)", "True or False", repr(value)))
        flags.append(value)
    return input_size, hidden_size, num_layers, flags[0], flags[1], dropout, flags[2]


def dtype(cls: str, value: Any) -> torch.dtype:
    value = torch.get_default_dtype() if value is None else value
    if value not in FLOATS:
        raise DTypeError(message(f"{cls}(dtype=...)", "torch.float32 or torch.float64", value))
    return value


def tensor(thing: str, t: Any, want_dtype: torch.dtype) -> torch.Tensor:
    """A CPU tensor of the module's dtype; anything else raises with the fix."""
    if not isinstance(t, torch.Tensor):
        raise DTypeError(message(thing, "a torch.Tensor", type(t).__name__))
    if t.device.type != "cpu":
        raise UnsupportedError(
            message(thing, "a CPU tensor (yetztml's compiled kernels run on the CPU)", f"a tensor on {t.device}",
                    "Move the model and its inputs with .cpu().")
        )
    if t.dtype != want_dtype:
        raise DTypeError(
            message(thing, f"dtype {want_dtype} (the module's)", str(t.dtype),
                    "Convert the input with .to(dtype) or the module with .float() / .double().")
        )
    return t


def shape(thing: str, t: torch.Tensor, want: tuple[int, ...], names: str) -> torch.Tensor:
    if tuple(t.shape) != tuple(want):
        raise ShapeError(message(thing, f"shape {names} = {tuple(want)}", f"shape {tuple(t.shape)}"))
    return t
