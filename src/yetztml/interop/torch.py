"""PyTorch interop: ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` ⇄ yetztml's :class:`~yetztml.cells.rnn.RNN`,
:class:`~yetztml.cells.lstm.LSTM` and :class:`~yetztml.cells.gru.GRU`.

The cells use PyTorch's parameter names, shapes and gate order (``weight_ih_l0``, ``bias_hh_l1_reverse``…;
LSTM rows i, f, g, o; GRU rows r, z, n), so a conversion is an exact copy of every weight, in the
module's dtype (float32 or float64). torch is imported inside the functions: yetztml runs without it.

Differences that a conversion refuses or ignores:

* ``proj_size > 0`` (LSTM projections), float16/bfloat16 weights and tensor subclasses other than
  the plain modules raise :class:`~yetztml.core.errors.UnsupportedError` naming the option.
* ``dropout`` is not applied by yetztml cells: a converted cell computes what the module computes in
  eval mode (``module.eval()``) or with ``dropout=0``. ``to_torch`` builds modules with ``dropout=0``.
* An RNN with ``nonlinearity="logistic"`` has no PyTorch counterpart; ``to_torch`` refuses it.

>>> import torch
>>> module = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
>>> cell = from_torch(module)
>>> (type(cell).__name__, cell.dtype.name, cell.num_weights == sum(p.numel() for p in module.parameters()))
('LSTM', 'float32', True)
>>> back = to_torch(cell)
>>> all(torch.equal(back.state_dict()[k], v) for k, v in module.state_dict().items())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cells.gru import GRU
from ..cells.lstm import LSTM
from ..cells.rnn import RNN
from ..core.errors import DTypeError, UnsupportedError, message

Recurrent = RNN | LSTM | GRU


def _torch() -> Any:
    import torch

    return torch


def from_torch(module: Any) -> Recurrent:
    """The yetztml cell equal to ``module`` (an ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``), weights copied.

    Whole models (``nn.Linear``, ``nn.Embedding`` and the containers made by :func:`to_torch`) go through
    :func:`yetztml.interop.torch_models.model_from_torch`.

    The cell's dtype is the module's (float32 or float64); its options (``num_layers``,
    ``bidirectional``, ``batch_first``, ``bias``, ``nonlinearity``) are the module's. Dropout is not
    applied (the cell equals the module in eval mode).
    """
    torch = _torch()
    nn = torch.nn
    thing = "from_torch(module)"
    if isinstance(module, nn.LSTM):
        cls, extra = LSTM, {}
    elif isinstance(module, nn.GRU):
        cls, extra = GRU, {}
    elif isinstance(module, nn.RNN):
        cls, extra = RNN, {"nonlinearity": module.nonlinearity}
    else:
        from .torch_models import model_from_torch

        return model_from_torch(module)
    if getattr(module, "proj_size", 0):
        raise UnsupportedError(
            message(f"{thing}.proj_size", "0 (LSTM projections are not supported)", module.proj_size)
        )
    state = module.state_dict()
    dtypes = {v.dtype for v in state.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (torch.float32, torch.float64):
        raise UnsupportedError(
            message(f"{thing} dtype", "float32 or float64 weights", ", ".join(sorted(str(d) for d in dtypes)),
                    "Convert with module.float() or module.double().")
        )
    dtype = np.float32 if next(iter(dtypes)) == torch.float32 else np.float64
    cell = cls(
        module.input_size,
        module.hidden_size,
        module.num_layers,
        bias=bool(module.bias),
        batch_first=bool(module.batch_first),
        bidirectional=bool(module.bidirectional),
        seed=0,
        dtype=dtype,
        **extra,
    )
    cell.load_params({k: v.detach().cpu().numpy() for k, v in state.items()})
    return cell


def to_torch(cell: Recurrent) -> Any:
    """The ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` equal to ``cell``, in the cell's dtype, on the CPU.

    Layers and models (``Sequential``, ``Bidirectional``, ``Linear``, ``Embedding``, ``Dropout``,
    ``Pool``) become the modules listed in :mod:`yetztml.interop.torch_models`.

    The module is created without drawing from torch's global random generator and has ``dropout=0``.
    """
    torch = _torch()
    nn = torch.nn
    thing = "to_torch(cell)"
    if isinstance(cell, LSTM):
        cls, extra = nn.LSTM, {}
    elif isinstance(cell, GRU):
        cls, extra = nn.GRU, {}
    elif isinstance(cell, RNN):
        if cell.nonlinearity not in ("tanh", "relu"):
            raise UnsupportedError(
                message(f"{thing}.nonlinearity", "'tanh' or 'relu' (torch.nn.RNN has no other)",
                        repr(cell.nonlinearity))
            )
        cls, extra = nn.RNN, {"nonlinearity": cell.nonlinearity}
    else:
        from ..layers.base import Layer
        from ..models import Bidirectional, Sequential
        from .torch_models import model_to_torch

        if isinstance(cell, (Layer, Sequential, Bidirectional)):
            return model_to_torch(cell)
        raise DTypeError(
            message(thing, "a yetztml RNN, LSTM or GRU, a layer or a model of them", type(cell).__name__)
        )
    dtype = torch.float32 if cell.dtype == np.float32 else torch.float64
    module = cls(
        cell.input_size,
        cell.hidden_size,
        cell.num_layers,
        bias=cell.bias,
        batch_first=cell.batch_first,
        bidirectional=cell.bidirectional,
        dtype=dtype,
        device="meta",  # no initialisation: no draw from torch's global generator
        **extra,
    ).to_empty(device="cpu")
    module.load_state_dict({k: torch.from_numpy(np.array(v, copy=True)) for k, v in cell.params.items()})
    return module
