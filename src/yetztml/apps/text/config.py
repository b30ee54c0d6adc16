"""The configuration of a text-classification run: every choice, validated before anything is read."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.validation import check_choice, check_float, check_int, check_seed
from ..config import RunConfig

#: ``--cell`` choices: the library's cells as text encoders (``docs/text.md`` gives the exact settings).
CELLS = ("lstm", "gru", "rnn", "lstm1997", "peephole")
POOLS = ("last", "mean", "max", "maxmean")
#: ``--tokenise`` choices: the tokeniser's modes (``yetztml.data.tokenise``).
TOKENISE = ("words", "clitics", "whitespace")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class TextConfig(RunConfig):
    """A run's choices. Defaults are the measured configuration of ``yetztml demo sarcasm``."""

    cell: str = "lstm"
    hidden: int = 128
    layers: int = 2
    bidirectional: bool = True
    embed_dim: int = 128
    dropout: float = 0.5
    pool: str = "max"
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    lr_decay: float = 1.0
    clip_norm: float = 5.0
    patience: int = 3
    seed: int = 0
    max_length: int = 60
    min_freq: int = 2
    max_vocab: int | None = None
    lowercase: bool = True
    tokenise: str = "words"
    dtype: str = "float32"

    KIND = "text configuration"
    LATER = {"lr_decay": 1.0, "tokenise": "words"}  # what runs written before these options used

    def __post_init__(self) -> None:
        check_choice("--cell", self.cell, CELLS)
        check_choice("--pool", self.pool, POOLS)
        check_choice("--tokenise", self.tokenise, TOKENISE)
        check_choice("--dtype", self.dtype, DTYPES)
        for name, low in (("hidden", 1), ("layers", 1), ("embed_dim", 1), ("epochs", 1), ("batch_size", 1),
                          ("patience", 1), ("max_length", 1), ("min_freq", 1)):
            check_int(f"--{name.replace('_', '-')}", getattr(self, name), minimum=low)
        if self.max_vocab is not None:
            check_int("--max-vocab", self.max_vocab, minimum=3)
        check_seed("--seed", self.seed)
        check_float("--dropout", self.dropout, 0.0, 0.95)
        check_float("--lr", self.lr, 0.0, strict_minimum=True)
        check_float("--lr-decay", self.lr_decay, 0.0, 1.0, strict_minimum=True)
        check_float("--clip-norm", self.clip_norm, 0.0, strict_minimum=True)
        self._check_switches("bidirectional", "lowercase")
