"""The configuration of a translation run: every choice, validated before anything is read."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.errors import OptionError, message
from ...core.validation import check_choice, check_float, check_int, check_seed
from ...models.seq2seq import ATTENTIONS, CELLS
from ..config import RunConfig

DTYPES = ("float32", "float64")
TOKENISE = ("whitespace", "words", "clitics")


@dataclass(frozen=True)
class TranslateConfig(RunConfig):
    """A run's choices. Defaults are the measured configuration of ``yetztml demo translate``."""

    cell: str = "lstm"
    attention: str = "luong-general"
    hidden: int = 256
    embed_dim: int = 256
    layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3
    #: every weight drawn from U(−r, r) (Luong et al. 2015); None keeps PyTorch's per-module defaults
    init_range: float | None = 0.1
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    clip_norm: float = 5.0
    label_smoothing: float = 0.0
    decay: float = 0.5
    patience: int = 3
    val_every: int | None = None
    val_limit: int | None = None
    max_minutes: float | None = None
    seed: int = 0
    max_length: int = 50
    max_output: int = 100
    min_freq: int = 2
    beam: int = 5
    length_penalty: float = 1.0
    lowercase: bool = True
    tokenise: str = "whitespace"
    dtype: str = "float32"

    KIND = "translation configuration"
    LATER = {"init_range": None}  # runs before --init-range kept each module's PyTorch initialisation

    def __post_init__(self) -> None:
        check_choice("--cell", self.cell, tuple(CELLS))
        check_choice("--attention", self.attention, ATTENTIONS)
        check_choice("--dtype", self.dtype, DTYPES)
        check_choice("--tokenise", self.tokenise, TOKENISE)
        for name in ("hidden", "layers", "embed_dim", "epochs", "batch_size", "patience", "max_length",
                     "max_output", "min_freq", "beam"):
            check_int(f"--{name.replace('_', '-')}", getattr(self, name), minimum=1)
        for name in ("val_every", "val_limit"):
            if getattr(self, name) is not None:
                check_int(f"--{name.replace('_', '-')}", getattr(self, name), minimum=1)
        if self.max_minutes is not None:
            check_float("--max-minutes", self.max_minutes, 0.0, strict_minimum=True)
        if self.attention == "luong-dot" and self.bidirectional:
            raise OptionError(message("--attention luong-dot", "a unidirectional encoder (--no-bidirectional), "
                                      "whose outputs have the decoder's size", "--bidirectional",
                                      "Use --attention luong-general or bahdanau with a bidirectional encoder."))
        check_seed("--seed", self.seed)
        check_float("--dropout", self.dropout, 0.0, 0.95)
        if self.init_range is not None:
            check_float("--init-range", self.init_range, 0.0, 1.0, strict_minimum=True)
        check_float("--label-smoothing", self.label_smoothing, 0.0, 0.5)
        check_float("--decay", self.decay, 0.0, 1.0, strict_minimum=True)
        check_float("--lr", self.lr, 0.0, strict_minimum=True)
        check_float("--clip-norm", self.clip_norm, 0.0, strict_minimum=True)
        check_float("--length-penalty", self.length_penalty, 0.0, 5.0)
        self._check_switches("bidirectional", "lowercase")
