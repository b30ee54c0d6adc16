"""Models: compositions of cells and layers whose backward chains the parts' hand-derived backwards.

==================  ======================================================================
``Sequential``      parts applied in sequence (SEQ1)–(SEQ3); parameters ``"<part>.<name>"``
``Bidirectional``   a forward and a reverse cell, the reverse from each sequence's last step
``Seq2Seq``         encoder, attention and input-feeding decoder (translation)
``save`` / ``load`` a directory with ``model.json`` + ``weights.npz`` (never pickle)
``check_model``     float64 finite differences against a model's backward
==================  ======================================================================

A bare cell is the one-part model: everything that takes a model (the training loop, ``save``, the PyTorch
export) takes a cell too. See ``docs/protocol.md``.
"""

from .bidirectional import Bidirectional
from .gradcheck import check_model
from .io import build, load, save
from .seq2seq import Seq2Seq
from .sequential import ModelTrace, Sequential

__all__ = ["Bidirectional", "ModelTrace", "Seq2Seq", "Sequential", "build", "check_model", "load", "save"]
