"""yetztml.interop: conversions to and from other libraries (torch is imported lazily, inside functions).

* :mod:`yetztml.interop.torch` — ``from_torch(module)`` and ``to_torch(cell)`` for ``nn.RNN``,
  ``nn.LSTM`` and ``nn.GRU``.
"""
