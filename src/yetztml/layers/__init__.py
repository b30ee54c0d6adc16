"""Layers: the non-recurrent building blocks, with the cells' protocol (forward → trace, backward → grads).

==============  ===========================================================================
``Linear``      affine readout at every step, each sequence's last step, or chosen steps
``Embedding``   token id → vector (sparse gradient rows), optionally from word vectors
``Dropout``     inverted dropout, seeded, off in evaluation mode
``Pool``        last valid step, mean or max over each sequence's valid steps
``Attention``   additive (Bahdanau) or multiplicative (Luong) attention over a masked memory
==============  ===========================================================================

Compose them with cells in :class:`yetztml.models.Sequential`. See ``docs/protocol.md``.
"""

from .attention import Attention
from .base import Layer, check_lengths, valid_mask
from .dropout import Dropout
from .embedding import Embedding
from .linear import Linear
from .pool import Pool

__all__ = ["Attention", "Dropout", "Embedding", "Layer", "Linear", "Pool", "check_lengths", "valid_mask"]
