"""Whole models to and from PyTorch: every part of a :class:`~yetztml.models.Sequential` or
:class:`~yetztml.models.Bidirectional` becomes the PyTorch module that computes the same thing.

=================================  ==================================================================
yetztml                            PyTorch (``to_torch``), and back (``from_torch``)
=================================  ==================================================================
``RNN`` / ``LSTM`` / ``GRU``       ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (outputs kept, final state dropped)
``Linear`` (every step)            ``nn.Linear``
``Linear(steps=...)``              ``TorchSteps`` (the selected steps) + ``nn.Linear``
``Embedding``                      ``nn.Embedding`` (same ``padding_idx``)
``Dropout``                        ``nn.Dropout`` (the same rate; its masks come from torch's generator)
``Pool``                           ``TorchPool`` (last / mean / max / max beside mean over the valid steps)
``Bidirectional``                  ``TorchBidirectional`` (the reverse module reads each sequence
                                   reversed within its own length, as in (BI1)–(BI4))
``Sequential``                     ``TorchSequential``: ``forward(x, lengths=None)`` like ours
=================================  ==================================================================

The containers are small ``nn.Module`` subclasses defined here (created on first use, so torch stays
an optional import); ``from_torch`` accepts them and the plain modules above. The result computes what
the yetztml model computes, in its dtype, on the CPU (dropout in evaluation mode: masks differ).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..cells.base import Cell
from ..core.errors import DTypeError, UnsupportedError, message
from ..layers import Dropout, Embedding, Linear, Pool
from ..models import Bidirectional, Sequential
from .torch import _torch
from .torch import from_torch as _recurrent_from_torch
from .torch import to_torch as _recurrent_to_torch

__all__ = ["model_from_torch", "model_to_torch", "torch_classes"]


@functools.cache
def torch_classes() -> dict[str, type]:
    """The container modules (defined once torch is imported)."""
    torch = _torch()
    nn = torch.nn

    def reversal(lengths: Any, steps: int) -> Any:
        t = torch.arange(steps)[:, None]
        return torch.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)

    def gather(x: Any, index: Any, batch_first: bool) -> Any:
        if batch_first:
            return torch.gather(x, 1, index.T[:, :, None].expand(-1, -1, x.shape[-1]))
        return torch.gather(x, 0, index[:, :, None].expand(-1, -1, x.shape[-1]))

    def run(module: Any, x: Any, lengths: Any) -> Any:
        if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
            return module(x)[0]
        if isinstance(module, (TorchPool, TorchSteps, TorchBidirectional, TorchSequential)):
            return module(x, lengths)
        return module(x)

    class TimeMajor(nn.Module):
        """Picks steps of a sequence time-major: :meth:`pick` reads (T, B, ·) and returns (S, B, ·); with
        ``batch_first`` the input is (B, T, ·) and the result (B, S, ·)."""

        def __init__(self, batch_first: bool) -> None:
            super().__init__()
            self.batch_first = batch_first

        def forward(self, x: Any, lengths: Any = None) -> Any:
            y = self.pick(x.transpose(0, 1) if self.batch_first else x, lengths)
            return y.transpose(0, 1) if self.batch_first else y

    class TorchSteps(TimeMajor):
        """The selected steps of a sequence: every step, each sequence's last, or given indices."""

        def __init__(self, steps: Any, batch_first: bool = False) -> None:
            super().__init__(batch_first)
            self.steps = steps

        def pick(self, xt: Any, lengths: Any) -> Any:
            T, B = xt.shape[:2]
            if self.steps == "last":
                last = (torch.as_tensor(lengths) - 1) if lengths is not None else torch.full((B,), T - 1)
                return xt[last, torch.arange(B)][None]
            return xt[[t + T if t < 0 else t for t in self.steps]]

    class TorchPool(TimeMajor):
        """Last valid step, mean or max over valid steps, or max beside mean, as (POOL1)–(POOL3), (POOL7)."""

        def __init__(self, mode: str, batch_first: bool = False) -> None:
            super().__init__(batch_first)
            self.mode = mode

        def pick(self, xt: Any, lengths: Any) -> Any:
            T, B = xt.shape[:2]
            n = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths)
            valid = (torch.arange(T)[:, None] < n[None, :])[..., None]
            if self.mode == "last":
                return xt[n - 1, torch.arange(B)][None]
            parts = []
            if self.mode in ("max", "maxmean"):
                parts.append(torch.where(valid, xt, torch.full((), -torch.inf, dtype=xt.dtype)).max(0).values)
            if self.mode in ("mean", "maxmean"):
                parts.append(torch.where(valid, xt, torch.zeros((), dtype=xt.dtype)).sum(0) / n[:, None].to(xt.dtype))
            return torch.cat(parts, dim=-1)[None]

    class TorchBidirectional(nn.Module):
        """Forward and reverse modules, the reverse from each sequence's own last step (BI1)–(BI4)."""

        def __init__(self, forward_module: Any, reverse_module: Any) -> None:
            super().__init__()
            self.forward_module, self.reverse_module = forward_module, reverse_module
            self.batch_first = bool(getattr(forward_module, "batch_first", False))

        def forward(self, x: Any, lengths: Any = None) -> Any:
            T, B = (x.shape[1], x.shape[0]) if self.batch_first else x.shape[:2]
            n = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths)
            r = reversal(n, T)
            y_f = self.forward_module(x)[0]
            y_r = gather(self.reverse_module(gather(x, r, self.batch_first))[0], r, self.batch_first)
            return torch.cat([y_f, y_r], dim=-1)

    class TorchSequential(nn.Module):
        """Parts in sequence; ``lengths`` reach each part until one changes the number of steps."""

        def __init__(self, parts: list[Any], names: list[str], batch_first: bool = False) -> None:
            super().__init__()
            self.names, self.batch_first = list(names), batch_first
            self.parts = nn.ModuleList(parts)

        def forward(self, x: Any, lengths: Any = None) -> Any:
            axis = 1 if self.batch_first else 0
            for part in self.parts:
                steps = x.shape[axis] if x.ndim >= 2 else None
                x = run(part, x, lengths)
                if lengths is not None and x.ndim == 3 and x.shape[axis] != steps:
                    lengths = None
            return x

    return {"TorchSteps": TorchSteps, "TorchPool": TorchPool, "TorchBidirectional": TorchBidirectional,
            "TorchSequential": TorchSequential}


def _tensor(torch: Any, array: np.ndarray) -> Any:
    return torch.from_numpy(np.array(array, copy=True))


def model_to_torch(model: Cell) -> Any:
    """The PyTorch module computing what ``model`` computes (see the module docstring)."""
    torch = _torch()
    nn = torch.nn
    cls = torch_classes()
    dtype = torch.float32 if model.dtype == np.float32 else torch.float64
    if isinstance(model, Sequential):
        parts = [model_to_torch(p) for p in model.parts]
        return cls["TorchSequential"](parts, list(model.names), model.batch_first)
    if isinstance(model, Bidirectional):
        return cls["TorchBidirectional"](model_to_torch(model.forward_cell), model_to_torch(model.reverse_cell))
    if type(model) is Linear:
        linear = nn.Linear(model.input_size, model.output_size, bias=model.bias, dtype=dtype, device="meta")
        linear = linear.to_empty(device="cpu")
        linear.load_state_dict({k: _tensor(torch, v) for k, v in model.params.items()})
        if model.steps is None:
            return linear
        steps = model.steps if model.steps == "last" else list(model.steps)
        return nn.Sequential(cls["TorchSteps"](steps, model.batch_first), linear)
    if type(model) is Embedding:
        module = nn.Embedding(model.num_embeddings, model.embedding_dim, padding_idx=model.padding_idx,
                              dtype=dtype, device="meta").to_empty(device="cpu")
        module.load_state_dict({"weight": _tensor(torch, model.params["weight"])})
        return module
    if type(model) is Dropout:
        return nn.Dropout(model.p)
    if type(model) is Pool:
        return cls["TorchPool"](model.mode, model.batch_first)
    return _recurrent_to_torch(model)


def model_from_torch(module: Any, size: int | None = None, dtype: Any = None) -> Cell:
    """The yetztml model equal to ``module`` (one of the modules in the module docstring), weights copied.

    ``size`` and ``dtype`` are the feature size and dtype reaching a weightless part (dropout, pooling);
    inside a ``TorchSequential`` they come from the part before it.
    """
    torch = _torch()
    nn = torch.nn
    cls = torch_classes()
    if isinstance(module, cls["TorchSequential"]):
        parts: list[Cell] = []
        for part in module.parts:
            below = parts[-1] if parts else None
            parts.append(model_from_torch(part, below.output_size if below else None, below.dtype if below else None))
        return Sequential(*parts, names=module.names)
    if isinstance(module, (nn.Dropout, cls["TorchPool"])):
        if size is None:
            raise UnsupportedError(
                message(f"from_torch({type(module).__name__})", "a part inside a TorchSequential, after a part "
                        "with weights", "the module on its own", "Convert the TorchSequential that contains it.")
            )
        if isinstance(module, nn.Dropout):
            return Dropout(size, module.p, dtype=dtype)
        return Pool(size, module.mode, batch_first=module.batch_first, dtype=dtype)
    if isinstance(module, cls["TorchBidirectional"]):
        return Bidirectional(model_from_torch(module.forward_module), model_from_torch(module.reverse_module))
    if isinstance(module, nn.Sequential) and len(module) == 2 and isinstance(module[0], cls["TorchSteps"]):
        inner = model_from_torch(module[1])
        linear = Linear(inner.input_size, inner.output_size, bias=inner.bias, steps=module[0].steps,
                        batch_first=module[0].batch_first, dtype=inner.dtype)
        linear.load_params(inner.params)
        return linear
    if isinstance(module, (nn.Linear, nn.Embedding)):
        dtype = _dtype(module)
        if isinstance(module, nn.Linear):
            layer: Cell = Linear(module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype)
        else:
            layer = Embedding(module.num_embeddings, module.embedding_dim, padding_idx=module.padding_idx,
                              dtype=dtype)
        layer.load_params({k: v.detach().cpu().numpy() for k, v in module.state_dict().items()})
        return layer
    if isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        return _recurrent_from_torch(module)
    raise DTypeError(
        message("from_torch(module)", "nn.RNN/LSTM/GRU, nn.Linear, nn.Embedding or a module made by to_torch",
                type(module).__name__)
    )


def _dtype(module: Any) -> Any:
    torch = _torch()
    kinds = {p.dtype for p in module.parameters()}
    if kinds == {torch.float64}:
        return np.float64
    if kinds == {torch.float32}:
        return np.float32
    raise UnsupportedError(message("from_torch(module) dtype", "float32 or float64 weights", sorted(map(str, kinds))))
