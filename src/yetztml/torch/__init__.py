"""yetztml.torch: yetztml's cells as PyTorch modules, drop-in beside ``torch.nn.LSTM``.

``LSTM``, ``GRU``, ``RNN`` (state_dict-compatible with ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``),
``PeepholeLSTM`` and ``LSTM1997`` take ``nn.LSTM``'s arguments and return what it returns; each layer
and direction runs yetztml's compiled forward and hand-derived backward through a ``torch.library``
custom operator (CPU, float32 or float64). See docs/torch.md.

This package needs PyTorch (``pip install 'yetztml[torch]'``); the rest of yetztml never imports it.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised without torch installed
    raise ImportError(
        "yetztml.torch: expected PyTorch to be installed, got no module 'torch'. "
        "Install the extra: pip install 'yetztml[torch]'."
    ) from err

from .cells import CIFGLSTMCell, GRUCell, LayerNormLSTMCell, LSTMCell, PeepholeLSTMCell, StepCell
from .modules import CIFGLSTM, GRU, LSTM, LSTM1997, RNN, LayerNormLSTM, PeepholeLSTM, Recurrent

__all__ = [
    "GRU", "LSTM", "LSTM1997", "RNN", "CIFGLSTM", "LayerNormLSTM", "PeepholeLSTM", "Recurrent",
    "CIFGLSTMCell", "GRUCell", "LayerNormLSTMCell", "LSTMCell", "PeepholeLSTMCell", "StepCell",
]
