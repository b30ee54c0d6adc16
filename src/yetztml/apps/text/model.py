"""The text classifier: token ids (T, B) with lengths → class logits (1, B, K).

    Embedding(V, E, padding 0) → Dropout(p) → L recurrent layers (each forward, or forward + reverse from
    each sentence's own last word, with Dropout(p) between layers) → Pool(last | mean | max over the
    valid words) → Dropout(p) → Linear(·, K)

The ``--cell`` choices as encoders of hidden size H:

* ``lstm``, ``gru``, ``rnn`` (tanh): the PyTorch-layout cells, ``LSTM(I, H)`` etc.;
* ``lstm1997``: ``LSTM1997(I, num_blocks=H, block_size=1, output_size=H, output="identity")`` — H memory
  cells with the paper's g and h, input and output gates, no forget gate, full recurrence, biases on all
  units; the output units are linear so the layer passes H values on like the other cells;
* ``peephole``: ``LSTMPeepholeStacked(I, H)`` — the LSTM with forget gates and diagonal peepholes from the
  cell state to its gates (Gers, Schraudolph & Schmidhuber 2002), g = h = tanh, in PyTorch's layout (the
  same function as the memory-block ``LSTMPeephole`` with one cell per block, run by batched kernels).

These sizes and settings are this project's choice for comparing the cells on text (documented in
``docs/text.md``); the papers define the cells, not a text classifier.
"""

from __future__ import annotations

import numpy as np

from ...cells import GRU, LSTM, LSTM1997, RNN, Cell, LSTMPeepholeStacked
from ...layers import Dropout, Embedding, Linear, Pool
from ...models import Bidirectional, Sequential
from .config import TextConfig

__all__ = ["build_classifier", "encoder_cell"]


def encoder_cell(kind: str, input_size: int, hidden: int, seed: int, dtype: str) -> Cell:
    """One unidirectional recurrent layer of ``kind`` (see the module docstring)."""
    if kind == "lstm":
        return LSTM(input_size, hidden, seed=seed, dtype=dtype)
    if kind == "gru":
        return GRU(input_size, hidden, seed=seed, dtype=dtype)
    if kind == "rnn":
        return RNN(input_size, hidden, seed=seed, dtype=dtype)
    if kind == "lstm1997":
        return LSTM1997(input_size, hidden, 1, hidden, output="identity", seed=seed, dtype=dtype)
    return LSTMPeepholeStacked(input_size, hidden, seed=seed, dtype=dtype)


def build_classifier(
    config: TextConfig, vocab_size: int, num_classes: int, vectors: np.ndarray | None = None
) -> Sequential:
    """The classifier for ``config``; ``vectors`` (V, E) initialise the embedding (e.g. GloVe rows)."""
    seeds = iter(np.random.SeedSequence(config.seed).generate_state(4 + 4 * config.layers).tolist())
    dt = config.dtype
    parts: list[Cell] = [
        Embedding(vocab_size, config.embed_dim, padding_idx=0, weights=vectors, seed=next(seeds), dtype=dt),
        Dropout(config.embed_dim, config.dropout, seed=next(seeds), dtype=dt),
    ]
    size = config.embed_dim
    for layer in range(config.layers):
        if layer:
            parts.append(Dropout(size, config.dropout, seed=next(seeds), dtype=dt))
        forward = encoder_cell(config.cell, size, config.hidden, next(seeds), dt)
        if config.bidirectional:
            parts.append(Bidirectional(forward, encoder_cell(config.cell, size, config.hidden, next(seeds), dt)))
        else:
            parts.append(forward)
        size = parts[-1].output_size
    parts.append(Pool(size, config.pool, dtype=dt))
    size = parts[-1].output_size
    parts += [
        Dropout(size, config.dropout, seed=next(seeds), dtype=dt),
        Linear(size, num_classes, seed=next(seeds), dtype=dt),
    ]
    return Sequential(*parts)
