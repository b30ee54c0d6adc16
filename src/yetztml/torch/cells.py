"""One-step modules with ``torch.nn.LSTMCell``'s interface: ``forward(x, (h, c)) -> (h', c')``.

x is ``(B, I)`` (or ``(I,)`` unbatched), each state part ``(B, H)``; GRUCell takes and returns h alone.
Parameters have ``nn.LSTMCell``'s names (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``) plus the
variant's own, so ``LSTMCell`` and ``GRUCell`` load ``nn.LSTMCell`` / ``nn.GRUCell`` state_dicts and
back. A step is one call of the custom operator with T = 1: the same kernels as the sequence modules.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ..core.errors import DTypeError, ShapeError, message
from ..core.validation import check_sizes
from . import _checks, _kinds, _ops
from .modules import reset_parameters


class StepCell(nn.Module):
    """Shared machinery of the one-step modules."""

    _parts: ClassVar[int] = 2
    _spec: ClassVar[str] = "lstm"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, device: Any = None,
                 dtype: Any = None, generator: torch.Generator | None = None) -> None:
        super().__init__()
        cls = type(self).__name__
        self.input_size, self.hidden_size = check_sizes(cls, input_size=input_size, hidden_size=hidden_size)
        if not isinstance(bias, bool):
            raise DTypeError(message(f"{cls}(bias=...)", "True or False", repr(bias)))
        self.bias = bias
        dtype = _checks.dtype(cls, dtype)
        self.kind = _kinds.get(self._spec)
        self._names = []
        for base, shape in zip(self.kind.weight_names(bias), self.kind.weight_shapes(self.input_size,
                               self.hidden_size, bias), strict=True):
            name = base.removesuffix("_l0")
            self.register_parameter(name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
            self._names.append(name)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Every parameter U(−1/√H, 1/√H) in registration order, like ``nn.LSTMCell``."""
        reset_parameters(self, self.hidden_size, generator)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def forward(self, input: torch.Tensor, hx: Any = None):
        cls = type(self).__name__
        first = next(self.parameters())
        _checks.tensor(f"{cls} parameters", first, first.dtype)
        dtype = first.dtype
        _checks.tensor(f"{cls}.forward(input)", input, dtype)
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ShapeError(message(f"{cls}.forward(input)", f"shape (B, {self.input_size}) or ({self.input_size},)",
                                     f"shape {tuple(input.shape)}"))
        unbatched = input.dim() == 1
        x = input.reshape(1, 1 if unbatched else input.shape[0], self.input_size)  # (1, B, I)
        B, H = x.shape[1], self.hidden_size
        if hx is None:
            parts = [x.new_zeros((B, H)) for _ in range(self._parts)]
        else:
            given = list(hx) if self._parts == 2 else [hx]
            if self._parts == 2 and (not isinstance(hx, (tuple, list)) or len(given) != 2):
                raise DTypeError(message(f"{cls}.forward(hx)", "a pair (h, c)", type(hx).__name__))
            want = (H,) if unbatched else (B, H)
            parts = []
            for name, part in zip(("h", "c"), given, strict=False):
                _checks.tensor(f"{cls}.forward({name})", part, dtype)
                _checks.shape(f"{cls}.forward({name})", part, want, "(H,)" if unbatched else "(B, H)")
                parts.append(part.reshape(B, H).contiguous())
        weights = [getattr(self, n) for n in self._names]
        _, fin, _ = _ops.run(x, parts, weights, self.kind, False)
        if unbatched:
            fin = [f.reshape(H) for f in fin]
        return tuple(fin) if self._parts == 2 else fin[0]


class LSTMCell(StepCell):
    """Drop-in ``torch.nn.LSTMCell`` (:mod:`yetztml.cells.lstm`)."""


class GRUCell(StepCell):
    """Drop-in ``torch.nn.GRUCell`` (:mod:`yetztml.cells.gru`): ``forward(x, h) -> h'``."""

    _parts = 1
    _spec = "gru"


class PeepholeLSTMCell(StepCell):
    """One step of :class:`yetztml.torch.PeepholeLSTM` (``weight_peephole`` ``(3H,)``, rows i, f, o)."""

    _spec = "peephole"


class CIFGLSTMCell(StepCell):
    """One step of :class:`yetztml.torch.CIFGLSTM` (rows i, g, o; f = 1 − i)."""

    _spec = "cifg"


class LayerNormLSTMCell(StepCell):
    """One step of :class:`yetztml.torch.LayerNormLSTM` (``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``,
    ``ln_hh_bias``, ``ln_c_weight``, ``ln_c_bias`` beside ``nn.LSTMCell``'s parameters)."""

    _spec = "layernorm"
